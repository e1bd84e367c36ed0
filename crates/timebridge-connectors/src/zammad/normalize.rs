//! From a Zammad time accounting to the engine's entry: exact decimal arithmetic for the
//! unit factor, signed durations kept, instants on whole minutes.
//!
//! `time_unit` has no unit in Zammad (the admin's unit is only a label), so the connector
//! is told how many minutes one unit is (`time_unit_minutes`). Durations are computed in
//! integers from the decimal strings (`"0.1"` × 1 min = exactly 6 s) and rounded to the
//! second, half away from zero.
//!
//! Accountings have no start or end: the booking instant (`created_at`) becomes the end
//! (default) or the begin. It is floored to the whole minute: Kimai stores whole minutes
//! (it rounds begin down and end up), so whole-minute instants are what keeps "whole
//! minutes in, whole minutes out" exact; the seconds Zammad adds are when the agent
//! clicked, not part of the work.

use chrono::{DateTime, Duration, DurationRound, Utc};

/// Where the booking instant goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The entry ends when it was booked (default).
    EndAtCreated,
    /// The entry begins when it was booked.
    BeginAtCreated,
}

/// A decimal string as an integer of millionths (`"15.5"` → 15_500_000); `None` when it
/// is not a plain decimal or has more than six fraction digits that are not zeros.
pub fn parse_micros(s: &str) -> Option<i128> {
    let s = s.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 6 || int.len() > 18 {
        return None;
    }
    let int: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_val: i128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    let v = int * 1_000_000 + frac_val;
    Some(if negative { -v } else { v })
}

/// Seconds for `time_unit` units of `minutes_per_unit` minutes each, rounded half away
/// from zero; `None` when `time_unit` is not a decimal.
pub fn duration_seconds(time_unit: &str, minutes_per_unit: f64) -> Option<i64> {
    let units = parse_micros(time_unit)?;
    // The factor is configuration (e.g. 1, 15, 0.5): six decimals are exact enough.
    let factor = (minutes_per_unit * 1_000_000.0).round() as i128;
    // units × factor is in 10^-12 minutes; × 60 → 10^-12 seconds.
    let pico_seconds = units * factor * 60;
    let scale: i128 = 1_000_000_000_000;
    let half = scale / 2;
    let rounded = if pico_seconds >= 0 {
        (pico_seconds + half) / scale
    } else {
        -((-pico_seconds + half) / scale)
    };
    i64::try_from(rounded).ok()
}

/// Begin and end of an accounting booked at `created_at` with a signed duration. A zero
/// or negative duration (a correction) gets `begin == end`; the sign stays in the
/// duration.
pub fn place(
    created_at: DateTime<Utc>,
    duration_seconds: i64,
    placement: Placement,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = created_at
        .duration_trunc(Duration::minutes(1))
        .unwrap_or(created_at);
    let length = Duration::seconds(duration_seconds.max(0));
    match placement {
        Placement::EndAtCreated => (at - length, at),
        Placement::BeginAtCreated => (at, at + length),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimal_units_are_exact() {
        assert_eq!(duration_seconds("15.0", 1.0), Some(900));
        assert_eq!(duration_seconds("0.1", 1.0), Some(6));
        assert_eq!(duration_seconds("-5.0", 1.0), Some(-300));
        assert_eq!(duration_seconds("0.0", 1.0), Some(0));
        assert_eq!(duration_seconds("2", 15.0), Some(1800));
        assert_eq!(duration_seconds("1.5", 60.0), Some(5400));
        assert_eq!(duration_seconds("0.3333", 1.0), Some(20));
        assert_eq!(duration_seconds("0.0125", 1.0), Some(1));
        assert_eq!(duration_seconds("-0.0125", 1.0), Some(-1));
        assert_eq!(duration_seconds("abc", 1.0), None);
        assert_eq!(duration_seconds("1e3", 1.0), None);
        assert_eq!(duration_seconds("", 1.0), None);
    }

    #[test]
    fn the_booking_instant_ends_or_begins_the_entry_on_a_whole_minute() {
        let created: DateTime<Utc> = "2026-03-02T08:11:49.315Z".parse().unwrap();
        let (b, e) = place(created, 900, Placement::EndAtCreated);
        assert_eq!(e, "2026-03-02T08:11:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(b, "2026-03-02T07:56:00Z".parse::<DateTime<Utc>>().unwrap());
        let (b, e) = place(created, 900, Placement::BeginAtCreated);
        assert_eq!(b, "2026-03-02T08:11:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(e, "2026-03-02T08:26:00Z".parse::<DateTime<Utc>>().unwrap());
        let (b, e) = place(created, -300, Placement::EndAtCreated);
        assert_eq!(b, e);
    }

    proptest! {
        #[test]
        fn whole_units_of_whole_minutes_give_whole_minutes(units in -10_000i64..10_000, factor in 1u32..120) {
            let secs = duration_seconds(&format!("{units}.0"), f64::from(factor)).unwrap();
            prop_assert_eq!(secs, units * i64::from(factor) * 60);
        }
    }
}
