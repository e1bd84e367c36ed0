//! TimeTracker as a source: the window's entries (running ones included, so that the
//! engine can carry or wait for them), read once through the paged list, normalised to
//! UTC with the instance's zone; users, projects, tasks and clients read once per run.
//!
//! The list filters on local dates, so the read covers the window's local dates plus one
//! day before (zones east of UTC); entries read outside the window are reported as known.
//! Linked keys the read did not cover are looked up by id (a deleted one answers 404), so
//! an entry moved out of the window is never taken for deleted.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::Duration;
use timebridge_core::entry::{Entry, NamedRef, UserRef};

use super::api::{ApiEntry, ApiProject, ApiUser, Zone};
use super::connector::TimetrackerConnector;
use crate::connector::{ProjectCreator, SourceBatch, SourceConnector, SourceQuery, SourceScope};
use crate::error::ConnectorResult;
use crate::marker::Marker;

/// Master data an entry refers to, read once per run.
pub(crate) struct Names {
    pub users: HashMap<i64, ApiUser>,
    pub projects: HashMap<i64, ApiProject>,
    pub tasks: HashMap<i64, String>,
    pub clients: HashMap<i64, String>,
}

/// The entry's length: the time that really passed, less the break. TimeTracker's own
/// `duration_seconds` subtracts naive wall times, which is an hour off across a DST
/// change; the instants are the truth.
pub(crate) fn net_seconds(
    begin: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    break_seconds: Option<i64>,
) -> i64 {
    ((end - begin).num_seconds() - break_seconds.unwrap_or(0)).max(0)
}

/// A source entry from an API entry.
pub(crate) fn normalise(e: &ApiEntry, zone: Zone, names: &Names) -> Entry {
    let begin = zone.instant(e.start_time);
    let end = e.end_time.map(|t| zone.instant(t));
    let project = e.project_id.map(|p| NamedRef {
        key: p.to_string(),
        name: names
            .projects
            .get(&p)
            .map(|x| x.name.clone())
            .or_else(|| e.project.clone()),
    });
    let client_id = e
        .project_id
        .and_then(|p| names.projects.get(&p))
        .and_then(|p| p.client_id)
        .or(e.client_id);
    let customer = client_id.map(|c| NamedRef {
        key: c.to_string(),
        name: names.clients.get(&c).cloned().or_else(|| e.client.clone()),
    });
    let user = names.users.get(&e.user_id);
    // Our own link markers (an entry another pipeline wrote here) are not the person's text.
    let (description, _) = Marker::strip(e.notes.as_deref().unwrap_or(""));
    let duration = end.map(|end| net_seconds(begin, end, e.break_seconds));
    Entry {
        system: "timetracker".into(),
        key: e.id.to_string(),
        ticket: None,
        customer,
        project,
        activity: e.task_id.map(|t| NamedRef {
            key: t.to_string(),
            name: names.tasks.get(&t).cloned().or_else(|| e.task.clone()),
        }),
        user: Some(UserRef {
            key: e.user_id.to_string(),
            email: user.and_then(|u| u.email.clone()).filter(|m| !m.is_empty()),
            name: user.and_then(ApiUser::name),
        }),
        begin,
        end,
        duration_seconds: duration,
        description,
        billable: e.billable,
        tags: e.tag_list.clone(),
        running: e.end_time.is_none(),
    }
}

impl TimetrackerConnector {
    pub(crate) async fn names(&self) -> ConnectorResult<Names> {
        let ((users, _), projects, tasks, clients) = futures::try_join!(
            self.api.users(),
            self.api.projects(true),
            self.api.tasks(),
            self.api.clients(),
        )?;
        Ok(Names {
            users: users.into_iter().map(|u| (u.id, u)).collect(),
            projects: projects.into_iter().map(|p| (p.id, p)).collect(),
            tasks: tasks.into_iter().map(|t| (t.id, t.name)).collect(),
            clients: clients.into_iter().map(|c| (c.id, c.name)).collect(),
        })
    }
}

#[async_trait]
impl SourceConnector for TimetrackerConnector {
    async fn fetch(&self, query: &SourceQuery) -> ConnectorResult<SourceBatch> {
        let zone = self.api.zone().await?;
        let window = &query.window;
        let from = zone.date(window.start()) - Duration::days(1);
        let to = zone.date(window.end_exclusive());
        let (list, names) = futures::try_join!(self.api.entries(from, to, None), self.names())?;
        let mut entries = Vec::new();
        let mut known_keys = HashSet::new();
        let mut read: HashSet<String> = HashSet::new();
        for e in &list {
            read.insert(e.id.to_string());
            let entry = normalise(e, zone, &names);
            if window.contains(entry.begin) {
                entries.push(entry);
            } else {
                known_keys.insert(entry.key);
            }
        }
        let missing: Vec<String> = query
            .linked_keys
            .iter()
            .filter(|k| !read.contains(*k))
            .cloned()
            .collect();
        let mut notes = vec![format!(
            "read the time entries starting on {from} to {to} ({}), running ones included",
            zone.0.name()
        )];
        if !missing.is_empty() {
            for e in self.api.entries_by_id(&missing).await? {
                known_keys.insert(e.id.to_string());
            }
            notes.push(format!(
                "looked up {} synced entries outside the window by id",
                missing.len()
            ));
        }
        Ok(SourceBatch {
            entries,
            known_keys,
            scope: SourceScope::Everything,
            notes,
            memory: None,
        })
    }

    fn as_project_creator(&self) -> Option<&dyn ProjectCreator> {
        Some(self)
    }
}
