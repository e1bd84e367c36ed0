//! Kimai's date-time handling: strict filter parsing, lenient body parsing, resolving wall
//! times in a zone like PHP's `DateTime`, rounding and the output format.
//!
//! PHP semantics reproduced for wall times a DST change makes odd:
//! - a time in a gap (does not exist, e.g. 02:30 on the spring-forward day in Berlin) is
//!   read with the offset in force before the gap, i.e. shifted forward by the gap
//!   (02:30 → 03:30 CEST);
//! - a time in a fold (exists twice, e.g. 02:30 on the fall-back day) takes the earlier
//!   occurrence, i.e. the DST (summer) offset.

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Parses a query filter value: exactly `YYYY-MM-DDTHH:MM:SS`, nothing else.
pub fn parse_strict(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok()
}

/// Parses a request body value like Kimai's form does: `YYYY-MM-DDTHH:MM[:SS]`, with an
/// optional fraction and an optional offset or `Z` which are IGNORED (the wall time is read
/// in the zone the call uses — the documented "wrong record" behaviour). Also accepts a
/// space instead of `T`.
pub fn parse_body(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.len() < 16 || !s.is_ascii() {
        return None;
    }
    let (head, tail) = s.split_at(16);
    let head = head.replacen(' ', "T", 1);
    let mut rest = tail;
    let mut secs = "00";
    if let Some(r) = rest.strip_prefix(':') {
        if r.len() < 2 || !r.as_bytes()[..2].iter().all(u8::is_ascii_digit) {
            return None;
        }
        secs = &r[..2];
        rest = &r[2..];
    }
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset_ok = rest.is_empty()
        || rest == "Z"
        || ((rest.starts_with('+') || rest.starts_with('-'))
            && rest[1..].chars().all(|c| c.is_ascii_digit() || c == ':')
            && (4..=5).contains(&rest[1..].len()));
    if !offset_ok {
        return None;
    }
    NaiveDateTime::parse_from_str(&format!("{head}:{secs}"), "%Y-%m-%dT%H:%M:%S").ok()
}

/// The instant a wall time in `tz` denotes, with PHP's gap and fold rules (module docs).
pub fn resolve(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(a, b) => a.with_timezone(&Utc).min(b.with_timezone(&Utc)),
        chrono::LocalResult::None => {
            // Offset in force before the gap.
            let before = tz
                .from_local_datetime(&(naive - Duration::hours(3)))
                .earliest()
                .map(|t| t.offset().fix().local_minus_utc())
                .unwrap_or(0);
            (naive - Duration::seconds(i64::from(before))).and_utc()
        }
    }
}

/// Rounds down to the full minute.
pub fn floor_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap() - Duration::seconds(i64::from(t.second()))
}

/// Rounds up to the full minute.
pub fn ceil_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    let f = floor_minute(t);
    if f == t { f } else { f + Duration::minutes(1) }
}

/// Kimai's output format `YYYY-MM-DDTHH:MM:SS±HHMM` in `tz`.
pub fn format(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn n(s: &str) -> NaiveDateTime {
        parse_strict(s).unwrap()
    }

    #[test]
    fn a_wall_time_in_the_spring_gap_is_shifted_forward_by_the_gap() {
        let t = resolve(n("2026-03-29T02:30:00"), Berlin);
        assert_eq!(format(t, Berlin), "2026-03-29T03:30:00+0200");
    }

    #[test]
    fn a_wall_time_in_the_autumn_fold_takes_the_earlier_occurrence() {
        let t = resolve(n("2026-10-25T02:30:00"), Berlin);
        assert_eq!(format(t, Berlin), "2026-10-25T02:30:00+0200");
    }

    #[test]
    fn body_parsing_ignores_offsets_and_accepts_minutes_only() {
        assert_eq!(
            parse_body("2026-03-02T08:00:00+05:00"),
            Some(n("2026-03-02T08:00:00"))
        );
        assert_eq!(
            parse_body("2026-03-02T08:00"),
            Some(n("2026-03-02T08:00:00"))
        );
        assert_eq!(
            parse_body("2026-03-02T08:00:00Z"),
            Some(n("2026-03-02T08:00:00"))
        );
        assert_eq!(parse_body("yesterday"), None);
        assert!(parse_strict("2026-03-02 08:00:00").is_none());
        assert!(parse_strict("2026-03-02T08:00").is_none());
    }
}
