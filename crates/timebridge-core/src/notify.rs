//! Notifications as plain data: the events a pipeline can notify about, the message a
//! notifier delivers (the same value for every kind), and its wording as plain-text lines,
//! which every notifier reuses (Slack's fallback text, an e-mail's plain part).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What a notification is about (`notify[].events` of a pipeline; `event` of a message).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NotificationEvent {
    /// A run ended `failed`.
    RunFailed,
    /// A run ended `partial` (some entries could not be written).
    RunPartial,
    /// A run raised new conflicts (one message per run: counts by reason).
    ConflictsRaised,
    /// Once a day per pipeline: entries written, open conflicts, hours by project.
    DailySummary,
    /// A run found entries it wrote edited or deleted in the target since
    /// (`target_modified` / `target_deleted` raised anew): what changed, as far as the
    /// target says.
    DriftDetected,
    /// A test message (`POST /api/connectors/{id}/test`); never subscribed to.
    Test,
}

impl NotificationEvent {
    /// The events a pipeline can subscribe to.
    pub const SUBSCRIBABLE: [NotificationEvent; 5] = [
        NotificationEvent::RunFailed,
        NotificationEvent::RunPartial,
        NotificationEvent::ConflictsRaised,
        NotificationEvent::DailySummary,
        NotificationEvent::DriftDetected,
    ];

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationEvent::RunFailed => "run_failed",
            NotificationEvent::RunPartial => "run_partial",
            NotificationEvent::ConflictsRaised => "conflicts_raised",
            NotificationEvent::DailySummary => "daily_summary",
            NotificationEvent::DriftDetected => "drift_detected",
            NotificationEvent::Test => "test",
        }
    }

    /// Whether the event is bad news (a failure) rather than information.
    pub fn is_alert(self) -> bool {
        matches!(
            self,
            NotificationEvent::RunFailed | NotificationEvent::RunPartial
        )
    }
}

impl std::fmt::Display for NotificationEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for NotificationEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            NotificationEvent::RunFailed,
            NotificationEvent::RunPartial,
            NotificationEvent::ConflictsRaised,
            NotificationEvent::DailySummary,
            NotificationEvent::DriftDetected,
            NotificationEvent::Test,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
        .ok_or_else(|| format!("{s:?} is not a notification event"))
    }
}

/// The pipeline a notification is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotifiedPipeline {
    pub id: i64,
    pub name: String,
}

/// The run a notification is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotifiedRun {
    pub id: i64,
    /// The run's status as the API names it (`failed`, `partial`, `succeeded`); for
    /// people and receivers, never acted on by a notifier.
    pub status: String,
    /// What started it (`manual`, `schedule`, `webhook`).
    pub trigger: String,
    pub window_from: NaiveDate,
    pub window_to: NaiveDate,
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunCounts {
    pub fetched: u64,
    pub created: u64,
    pub updated: u64,
    pub in_sync: u64,
    pub skipped: u64,
    pub conflicts: u64,
    pub errors: u64,
}

/// Hours written into one project (daily summary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectHours {
    pub project: String,
    pub hours: f64,
}

/// What happened, as data: the parts that apply to the event are set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationSummary {
    /// One sentence saying what happened.
    pub headline: String,
    /// Why a run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A run's counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<RunCounts>,
    /// New conflicts of a run by reason (`conflicts_raised`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conflicts_by_reason: BTreeMap<String, u64>,
    /// The local date a daily summary covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// Entries written (created or updated) that day (`daily_summary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries_written: Option<u64>,
    /// Conflicts open now (`daily_summary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_conflicts: Option<u64>,
    /// Hours written by project that day (`daily_summary`), most first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hours_by_project: Vec<ProjectHours>,
    /// Synced entries someone edited or deleted in the target (`drift_detected`), at most
    /// 20 (`counts`/`conflicts_by_reason` say how many in all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<DriftItem>,
}

/// One synced entry changed in the target since a sync wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DriftItem {
    pub conflict_id: i64,
    /// `target_modified` or `target_deleted`.
    pub reason: String,
    pub source_key: String,
    /// The target's id of the entry.
    pub target_id: Option<String>,
    /// Whose entry it is in the target (its user), as far as the target says.
    pub user: Option<String>,
    /// When the entry begins.
    pub begin: Option<chrono::DateTime<chrono::Utc>>,
    /// The fields that differ from what the sync wrote (`target_modified`).
    pub fields: Vec<String>,
}

/// One message to deliver; every notifier kind renders the same value its own way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    pub event: NotificationEvent,
    /// Unique per message and notifier; the same on every attempt to deliver it, so that
    /// receivers can drop repeats.
    pub delivery_id: String,
    /// `None` only for a test message.
    pub pipeline: Option<NotifiedPipeline>,
    /// The run (run events).
    pub run: Option<NotifiedRun>,
    pub summary: NotificationSummary,
    /// Where a person sees the details in the UI (built from `PUBLIC_URL`).
    pub url: String,
}

impl Notification {
    /// A short title: the headline, prefixed by the event's word.
    pub fn title(&self) -> String {
        let prefix = match self.event {
            NotificationEvent::RunFailed => "Sync failed",
            NotificationEvent::RunPartial => "Sync partly failed",
            NotificationEvent::ConflictsRaised => "New conflicts",
            NotificationEvent::DailySummary => "Daily summary",
            NotificationEvent::DriftDetected => "Synced entries changed in the target",
            NotificationEvent::Test => "Test message",
        };
        match &self.pipeline {
            Some(p) => format!("{prefix}: {}", p.name),
            None => format!("{prefix} from timebridge"),
        }
    }

    /// The message as plain-text lines (no markup): headline, details, link.
    pub fn text_lines(&self) -> Vec<String> {
        let s = &self.summary;
        let mut lines = vec![s.headline.clone()];
        if let Some(e) = &s.error {
            lines.push(format!("Error: {e}"));
        }
        if let Some(c) = &s.counts {
            lines.push(format!(
                "Read {}, created {}, updated {}, in sync {}, skipped {}, conflicts {}, errors {}.",
                c.fetched, c.created, c.updated, c.in_sync, c.skipped, c.conflicts, c.errors
            ));
        }
        if !s.conflicts_by_reason.is_empty() {
            let parts: Vec<String> = s
                .conflicts_by_reason
                .iter()
                .map(|(reason, n)| format!("{reason}: {n}"))
                .collect();
            lines.push(format!("Conflicts by reason: {}.", parts.join(", ")));
        }
        if let Some(n) = s.entries_written {
            lines.push(format!("Entries written: {n}."));
        }
        if let Some(n) = s.open_conflicts {
            lines.push(format!("Open conflicts: {n}."));
        }
        if !s.hours_by_project.is_empty() {
            let parts: Vec<String> = s
                .hours_by_project
                .iter()
                .map(|p| format!("{} {:.2} h", p.project, p.hours))
                .collect();
            lines.push(format!("Hours by project: {}.", parts.join(", ")));
        }
        for d in &s.drift {
            let what = if d.reason == "target_deleted" {
                "deleted".to_owned()
            } else if d.fields.is_empty() {
                "edited".to_owned()
            } else {
                format!("edited ({})", d.fields.join(", "))
            };
            let mut line = format!(
                "Entry {} (source {}) {what}",
                d.target_id.as_deref().unwrap_or("?"),
                d.source_key
            );
            if let Some(u) = &d.user {
                line.push_str(&format!(", user {u}"));
            }
            if let Some(b) = d.begin {
                line.push_str(&format!(", begins {}", b.format("%Y-%m-%d %H:%M UTC")));
            }
            line.push('.');
            lines.push(line);
        }
        lines.push(format!("Details: {}", self.url));
        lines
    }

    /// The whole message as plain text.
    pub fn text(&self) -> String {
        let mut out = self.title();
        out.push('\n');
        out.push_str(&self.text_lines().join("\n"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_their_serialised_names() {
        for e in [
            NotificationEvent::RunFailed,
            NotificationEvent::RunPartial,
            NotificationEvent::ConflictsRaised,
            NotificationEvent::DailySummary,
            NotificationEvent::DriftDetected,
            NotificationEvent::Test,
        ] {
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
            assert_eq!(e.as_str().parse::<NotificationEvent>().unwrap(), e);
        }
        assert!("run_exploded".parse::<NotificationEvent>().is_err());
        assert!(!NotificationEvent::SUBSCRIBABLE.contains(&NotificationEvent::Test));
    }

    #[test]
    fn the_text_carries_the_headline_the_counts_and_the_link() {
        let n = Notification {
            event: NotificationEvent::ConflictsRaised,
            delivery_id: "d-1".into(),
            pipeline: Some(NotifiedPipeline {
                id: 3,
                name: "Zammad → Kimai".into(),
            }),
            run: None,
            summary: NotificationSummary {
                headline: "Run #7 raised 3 conflicts.".into(),
                conflicts_by_reason: [
                    ("unmapped_activity".to_owned(), 2),
                    ("target_modified".to_owned(), 1),
                ]
                .into_iter()
                .collect(),
                ..Default::default()
            },
            url: "https://tb.example/conflicts?pipeline_id=3".into(),
        };
        let text = n.text();
        assert!(text.starts_with("New conflicts: Zammad → Kimai\nRun #7 raised 3 conflicts."));
        assert!(
            text.contains("target_modified: 1, unmapped_activity: 2"),
            "{text}"
        );
        assert!(text.ends_with("Details: https://tb.example/conflicts?pipeline_id=3"));
    }
}
