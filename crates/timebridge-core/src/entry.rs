//! The normalised time entry every connector reads into and writes from.
//!
//! The JSON shape is part of the public API contract (`Entry` in `docs/api.md`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A ticket an entry was booked on, as the source system names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TicketRef {
    /// The ticket's internal id in the source system.
    pub id: i64,
    /// The human ticket number (Zammad numbers are strings such as `"31001"`).
    pub number: String,
    pub title: String,
    /// A link to the ticket in the source system's UI, when known.
    pub url: Option<String>,
}

/// A reference to a master-data record (customer, project, activity) of one system.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NamedRef {
    /// The record's id in its system, as a string.
    pub key: String,
    pub name: Option<String>,
}

/// A person as one system knows them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserRef {
    /// The user's id in its system, as a string.
    pub key: String,
    /// E-mail address; the key for automatic user mapping across systems.
    pub email: Option<String>,
    pub name: Option<String>,
}

/// One time entry, normalised. Source entries carry source-system references
/// (e.g. a Zammad type id in `activity`); target entries carry target-system ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The connector kind the entry comes from (`"zammad"`, `"kimai"`, ...).
    pub system: String,
    /// Stable key of the entry in its system (e.g. the Zammad time accounting id).
    pub key: String,
    pub ticket: Option<TicketRef>,
    pub customer: Option<NamedRef>,
    pub project: Option<NamedRef>,
    pub activity: Option<NamedRef>,
    pub user: Option<UserRef>,
    /// Instant the work began (UTC inside the engine).
    pub begin: DateTime<Utc>,
    /// Instant the work ended (UTC inside the engine); `None` while the entry is running.
    pub end: Option<DateTime<Utc>>,
    /// Signed duration in seconds; zero and negative values are real data
    /// (Zammad corrections) and are never dropped. `None` while the entry is running.
    pub duration_seconds: Option<i64>,
    pub description: String,
    pub billable: Option<bool>,
    pub tags: Vec<String>,
    /// A timer still going: no `end` and no `duration_seconds` yet.
    #[serde(default)]
    pub running: bool,
}

/// A sync window: inclusive calendar dates in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Window {
    /// First instant inside the window.
    pub fn start(&self) -> DateTime<Utc> {
        self.from
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
    }

    /// First instant after the window (exclusive end).
    pub fn end_exclusive(&self) -> DateTime<Utc> {
        self.to
            .succ_opt()
            .unwrap_or(self.to)
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
    }

    /// Whether an instant falls inside the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.start() && at < self.end_exclusive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_contains_both_calendar_days_inclusively() {
        let w = Window {
            from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
        };
        assert!(w.contains("2026-03-01T00:00:00Z".parse().unwrap()));
        assert!(w.contains("2026-03-31T23:59:59Z".parse().unwrap()));
        assert!(!w.contains("2026-04-01T00:00:00Z".parse().unwrap()));
        assert!(!w.contains("2026-02-28T23:59:59Z".parse().unwrap()));
    }
}
