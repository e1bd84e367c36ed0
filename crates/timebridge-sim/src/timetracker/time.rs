//! TimeTracker's times: naive wall times in the instance's zone, written like Python's
//! `isoformat()` (microseconds only when not zero), read like marshmallow's `DateTime`
//! (bodies) and `datetime.fromisoformat` (list filters).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// `2026-11-20T09:00:00`, or `2026-12-04T13:00:00.250000` with a fraction.
pub fn fmt_naive(t: NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// The wall time in `tz` at `at`.
pub fn local_naive(tz: Tz, at: DateTime<Utc>) -> NaiveDateTime {
    tz.from_utc_datetime(&at.naive_utc()).naive_local()
}

/// A request value: naive, or aware with its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyTime {
    /// No offset.
    Naive(NaiveDateTime),
    /// With an offset (`Z` included).
    Aware(DateTime<FixedOffset>),
}

fn split_offset(s: &str) -> (&str, Option<&str>) {
    if let Some(rest) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return (rest, Some("+00:00"));
    }
    // An offset is `±HH:MM` (or `±HHMM`) after the time part.
    if let Some(t) = s.find(['T', 't', ' ']) {
        let time = &s[t..];
        if let Some(pos) = time.rfind(['+', '-']) {
            return (&s[..t + pos], Some(&s[t + pos..]));
        }
    }
    (s, None)
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let s = s.replacen(' ', "T", 1);
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&s, f) {
            return Some(t);
        }
    }
    None
}

/// Parses a body datetime (`"Not a valid datetime."` when `None`).
pub fn parse_body_time(s: &str) -> Option<BodyTime> {
    let (naive, offset) = split_offset(s.trim());
    let t = parse_naive(naive)?;
    match offset {
        None => Some(BodyTime::Naive(t)),
        Some(o) => {
            let o = o.replace(':', "");
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let digits = o.trim_start_matches(['+', '-']);
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let h: i32 = digits[..2].parse().ok()?;
            let m: i32 = digits[2..].parse().ok()?;
            let off = FixedOffset::east_opt(sign * (h * 3600 + m * 60))?;
            off.from_local_datetime(&t).single().map(BodyTime::Aware)
        }
    }
}

/// A list filter value: `None` when unparsable (the server then drops the filter).
/// Date-only values are the day's start, or its last microsecond for an end filter;
/// values with an offset are converted to the app zone.
pub fn parse_filter(s: &str, tz: Tz, end: bool) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(if end {
            d.and_hms_micro_opt(23, 59, 59, 999_999)?
        } else {
            d.and_hms_opt(0, 0, 0)?
        });
    }
    match parse_body_time(s)? {
        BodyTime::Naive(t) => Some(t),
        BodyTime::Aware(t) => Some(local_naive(tz, t.with_timezone(&Utc))),
    }
}
