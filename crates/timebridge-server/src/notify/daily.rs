//! The daily summary: once per local date (settings `timezone`), at the pipeline's
//! `daily_summary_at` (else the settings' default, `08:00`), every enabled pipeline that
//! names notifiers for `daily_summary` gets one row per notifier, covering the 24 hours
//! before. The dedupe key holds the local date, so processes and restarts enqueue it once.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::json;
use timebridge_core::notify::NotificationEvent;
use timebridge_store::repo::notifications::subscribers;
use timebridge_store::{NewNotification, StoreResult};

use super::NotifyEnv;

/// Reads `HH:MM` (24 h).
pub fn parse_time(text: &str) -> Option<NaiveTime> {
    let t = text.trim();
    if t.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(t, "%H:%M").ok()
}

/// The local date whose summary is due at `now`, with the instant it was due: today's
/// date once the local time has passed `at`, else yesterday's. A local time that a DST
/// change skips counts from the first instant after the gap.
pub fn due(now: DateTime<Utc>, tz: Tz, at: NaiveTime) -> Option<(NaiveDate, DateTime<Utc>)> {
    let today = now.with_timezone(&tz).date_naive();
    // Today's summary once its time has passed, else yesterday's (a process that was down
    // at that time still owes it; the outbox's dedupe key makes it once per date).
    [Some(today), today.pred_opt()]
        .into_iter()
        .flatten()
        .filter_map(|date| Some((date, local_instant(tz, date, at)?)))
        .find(|(_, due_at)| now >= *due_at)
}

/// `at` on `date` in `tz` as an instant: the first of an ambiguous time, the time an hour
/// later when the clock change skips it.
fn local_instant(tz: Tz, date: NaiveDate, at: NaiveTime) -> Option<DateTime<Utc>> {
    let t = match tz.from_local_datetime(&date.and_time(at)) {
        chrono::LocalResult::Single(t) => t,
        chrono::LocalResult::Ambiguous(first, _) => first,
        chrono::LocalResult::None => tz
            .from_local_datetime(&(date.and_time(at) + chrono::Duration::hours(1)))
            .earliest()?,
    };
    Some(t.with_timezone(&Utc))
}

/// What this process already enqueued (pipeline, date), so that a tick costs no write.
#[derive(Debug, Default)]
pub struct Enqueued(Mutex<HashSet<(i64, NaiveDate)>>);

/// Enqueues the daily summaries due now; returns how many rows were new.
pub async fn enqueue_due(env: &NotifyEnv, done: &Enqueued) -> StoreResult<u64> {
    let now = env.clock.now();
    let settings = env.store.get_settings().await?;
    let tz: Tz = settings.timezone.parse().unwrap_or(Tz::UTC);
    let default_at = parse_time(&settings.daily_summary_at)
        .unwrap_or_else(|| NaiveTime::from_hms_opt(8, 0, 0).expect("a valid time"));
    let pipelines = env.store.all_pipelines().await?;
    let mut rows = Vec::new();
    let mut keys = Vec::new();
    for p in pipelines.into_iter().filter(|p| p.enabled) {
        let notifiers = subscribers(&p.options, NotificationEvent::DailySummary);
        if notifiers.is_empty() {
            continue;
        }
        let at = p.options["daily_summary_at"]
            .as_str()
            .and_then(parse_time)
            .unwrap_or(default_at);
        let Some((date, due_at)) = due(now, tz, at) else {
            continue;
        };
        if done
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&(p.id, date))
        {
            continue;
        }
        keys.push((p.id, date));
        for connector in notifiers {
            rows.push(NewNotification {
                dedupe_key: format!("daily_summary:{}:{date}:{connector}", p.id),
                connector_id: connector,
                pipeline_id: Some(p.id),
                run_id: None,
                event: NotificationEvent::DailySummary,
                payload: json!({"date": date, "from": due_at - chrono::Duration::days(1),
                                "to": due_at, "timezone": tz.name()}),
            });
        }
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let new = env.store.enqueue_notifications(&rows, now).await?;
    done.0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(keys);
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_summary_is_due_from_its_local_time_on() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let at = parse_time("08:00").unwrap();
        // 06:59 UTC is 08:59 in Berlin (summer time): due for that date since 06:00 UTC.
        let (date, due_at) = due(utc("2026-04-01T06:59:00Z"), berlin, at).unwrap();
        assert_eq!(date, NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
        assert_eq!(due_at, utc("2026-04-01T06:00:00Z"));
        // Before today's time, yesterday's summary is the one that is due.
        let (date, _) = due(utc("2026-04-01T05:59:00Z"), berlin, at).unwrap();
        assert_eq!(date, NaiveDate::from_ymd_opt(2026, 3, 31).unwrap());
        // Late in the evening UTC it is already the next local date.
        let (date, _) = due(utc("2026-04-01T22:30:00Z"), berlin, at).unwrap();
        assert_eq!(date, NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
        let (date, _) = due(utc("2026-04-02T06:30:00Z"), berlin, at).unwrap();
        assert_eq!(date, NaiveDate::from_ymd_opt(2026, 4, 2).unwrap());
    }

    #[test]
    fn a_time_the_clock_change_skips_is_due_after_the_gap() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let at = parse_time("02:30").unwrap();
        // 29 March 2026: 02:00 → 03:00 in Berlin.
        let (_, due_at) = due(utc("2026-03-29T02:00:00Z"), berlin, at).unwrap();
        assert_eq!(due_at, utc("2026-03-29T01:30:00Z"));
    }

    #[test]
    fn only_hh_mm_times_are_read() {
        assert!(parse_time("08:00").is_some());
        assert!(parse_time("23:59").is_some());
        for bad in ["8:00", "24:00", "08:60", "0800", "08:00:00", ""] {
            assert!(parse_time(bad).is_none(), "{bad}");
        }
    }
}
