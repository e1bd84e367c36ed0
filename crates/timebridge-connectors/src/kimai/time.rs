//! Kimai's times: it reads `begin`/`end` as wall time WITHOUT offset in a zone that depends
//! on the call (the API user's zone on create, the entry's stored zone on update), and
//! renders them as `YYYY-MM-DDTHH:MM:SS±HHMM`.
//!
//! An instant always has one wall time in a zone, but Kimai (PHP) reads a wall time back
//! as follows: a time in a DST gap is shifted forward by the gap, and a time in a fold (the
//! repeated hour) is taken as its EARLIER occurrence. So the later occurrence of a
//! repeated hour cannot be sent at all: writing it would record the work one hour early.
//! [`wall_time`] refuses it explicitly instead of shifting a minute of anyone's billing.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::ConnectorError;

/// The zone a wall time is read in: a named zone, or the fixed offset Kimai rendered an
/// entry with when its user's zone is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Named(Tz),
    Fixed(FixedOffset),
}

impl Zone {
    fn name(&self) -> String {
        match self {
            Zone::Named(tz) => tz.name().to_owned(),
            Zone::Fixed(o) => o.to_string(),
        }
    }
}

/// Kimai's input format.
pub const INPUT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// The wall time (`YYYY-MM-DDTHH:MM:SS`) that Kimai reads back in `zone` as exactly `at`,
/// or an error when there is none (the later occurrence of a repeated hour).
pub fn wall_time(at: DateTime<Utc>, zone: Zone) -> Result<String, ConnectorError> {
    let (naive, back) = match zone {
        Zone::Named(tz) => {
            let naive = at.with_timezone(&tz).naive_local();
            (naive, read_like_php(naive, tz))
        }
        Zone::Fixed(offset) => {
            let naive = at.with_timezone(&offset).naive_local();
            (
                naive,
                Some(offset.from_utc_datetime(&(naive - offset)).to_utc()),
            )
        }
    };
    if back.map(|b| b.timestamp()) != Some(at.timestamp()) {
        return Err(ConnectorError::Unrepresentable {
            message: format!(
                "{} falls in the hour that repeats when daylight saving time ends in {}; Kimai \
                 reads {} as the first occurrence, which would record the work one hour early",
                at.format("%Y-%m-%d %H:%M:%S UTC"),
                zone.name(),
                naive.format("%Y-%m-%d %H:%M")
            ),
        });
    }
    Ok(naive.format(INPUT_FORMAT).to_string())
}

/// The instant Kimai (PHP `DateTime`) gives a wall time in `tz`: gap → shifted forward by
/// the gap, fold → the earlier occurrence.
pub fn read_like_php(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.to_utc()),
        LocalResult::Ambiguous(a, b) => Some(a.to_utc().min(b.to_utc())),
        LocalResult::None => {
            // The offset in force before the gap (gaps are at most a few hours long).
            let before = tz
                .from_local_datetime(&(naive - chrono::Duration::hours(3)))
                .earliest()?;
            let offset = before.offset().fix();
            Some((naive - offset).and_utc())
        }
    }
}

/// Parses Kimai's output format (`2020-03-27T14:35:00+1300`; `+13:00` accepted too).
pub fn parse_output(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
}

/// The zone to write an existing entry's times in: its user's named zone when that zone
/// has the offset Kimai rendered the entry with, else that fixed offset.
pub fn entry_zone(user_zone: Option<Tz>, rendered_begin: DateTime<FixedOffset>) -> Zone {
    match user_zone {
        Some(tz)
            if tz
                .offset_from_utc_datetime(&rendered_begin.naive_utc())
                .fix()
                == *rendered_begin.offset() =>
        {
            Zone::Named(tz)
        }
        _ => Zone::Fixed(*rendered_begin.offset()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Berlin;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn an_instant_becomes_the_wall_time_of_the_zone() {
        let z = Zone::Named(Berlin);
        assert_eq!(
            wall_time(utc("2026-03-02T08:00:00Z"), z).unwrap(),
            "2026-03-02T09:00:00"
        );
        assert_eq!(
            wall_time(utc("2026-07-02T08:00:00Z"), z).unwrap(),
            "2026-07-02T10:00:00"
        );
        let ny = Zone::Named(New_York);
        assert_eq!(
            wall_time(utc("2026-03-02T14:00:00Z"), ny).unwrap(),
            "2026-03-02T09:00:00"
        );
    }

    #[test]
    fn instants_around_the_spring_gap_keep_their_exact_time() {
        // 01:00 UTC on 29 March 2026 is 03:00 CEST: the wall clock jumped from 02:00.
        let z = Zone::Named(Berlin);
        assert_eq!(
            wall_time(utc("2026-03-29T00:59:00Z"), z).unwrap(),
            "2026-03-29T01:59:00"
        );
        assert_eq!(
            wall_time(utc("2026-03-29T01:00:00Z"), z).unwrap(),
            "2026-03-29T03:00:00"
        );
        let ny = Zone::Named(New_York);
        assert_eq!(
            wall_time(utc("2026-03-08T07:00:00Z"), ny).unwrap(),
            "2026-03-08T03:00:00"
        );
    }

    #[test]
    fn the_first_pass_of_a_repeated_hour_is_written_and_the_second_refused() {
        let z = Zone::Named(Berlin);
        // 00:30 UTC on 25 Oct 2026 = 02:30 CEST (first pass); 01:30 UTC = 02:30 CET (second).
        assert_eq!(
            wall_time(utc("2026-10-25T00:30:00Z"), z).unwrap(),
            "2026-10-25T02:30:00"
        );
        let err = wall_time(utc("2026-10-25T01:30:00Z"), z).unwrap_err();
        assert!(matches!(err, ConnectorError::Unrepresentable { .. }));
        assert!(err.to_string().contains("Europe/Berlin"), "{err}");
        // Just after the fold the wall time is unique again.
        assert_eq!(
            wall_time(utc("2026-10-25T02:00:00Z"), z).unwrap(),
            "2026-10-25T03:00:00"
        );
    }

    #[test]
    fn a_fixed_offset_zone_writes_every_instant() {
        let z = Zone::Fixed(FixedOffset::east_opt(3600).unwrap());
        assert_eq!(
            wall_time(utc("2026-10-25T01:30:00Z"), z).unwrap(),
            "2026-10-25T02:30:00"
        );
    }

    #[test]
    fn kimai_output_parses_with_an_offset_without_colon() {
        let t = parse_output("2020-03-27T14:35:00+1300").unwrap();
        assert_eq!(t.to_utc(), utc("2020-03-27T01:35:00Z"));
        assert!(parse_output("2020-03-27 14:35").is_none());
    }

    #[test]
    fn an_entry_is_written_in_its_users_zone_when_the_offset_agrees() {
        let summer = parse_output("2026-07-01T10:00:00+0200").unwrap();
        assert_eq!(entry_zone(Some(Berlin), summer), Zone::Named(Berlin));
        assert_eq!(
            entry_zone(Some(New_York), summer),
            Zone::Fixed(FixedOffset::east_opt(7200).unwrap())
        );
        assert_eq!(
            entry_zone(None, summer),
            Zone::Fixed(FixedOffset::east_opt(7200).unwrap())
        );
    }
}
