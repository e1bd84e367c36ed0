//! TimeTracker as a target: entries are written with naive wall times in the instance's
//! zone, the link marker at the end of `notes`, the billable flag and tags; the user,
//! project and task come from the mapping.
//!
//! A create is one `POST` with an `Idempotency-Key` (the marker plus a random part per
//! call, at most 128 characters): the HTTP client may then repeat it after a lost answer
//! and TimeTracker answers the first entry instead of writing a second. The random part
//! keeps a deliberate re-create (after the entry was deleted) from being answered with
//! the deleted entry, which TimeTracker would replay for 24 hours; across runs, the engine
//! finds an interrupted create by its marker ([`TargetConnector::find_marked`]).
//! TimeTracker refuses `task_id` on create, so a task is set by a `PATCH` right after;
//! if that fails, the new entry is deleted again so that no half-written entry stays.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use timebridge_core::entry::{Entry, NamedRef, UserRef, Window};
use timebridge_core::mapping::{
    Need, TargetDirectory, TargetProject, TargetRules, TargetSettings, TargetUser,
};
use timebridge_core::plan::TargetItem;
use timebridge_core::rates::{Rate, RateCard, RateRule, RateScope, cents_of};

use super::api::{ApiEntry, Zone, wall_text};
use super::connector::{NO_TASK, TASK_NAME_PREFIX, TimetrackerConnector};
use crate::connector::TargetConnector;
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::Request;
use crate::marker::Marker;

/// The longest `Idempotency-Key` TimeTracker honours (a longer one is ignored silently).
const MAX_KEY: usize = 128;

/// The `Idempotency-Key` of one create: `timebridge-<system>-<key>-<nonce>`, or the
/// marker's SHA-256 when that would be too long.
pub(crate) fn idempotency_key(marker: &Marker, nonce: u64) -> String {
    let key = format!("timebridge-{}-{}-{nonce:016x}", marker.system, marker.key);
    if key.len() <= MAX_KEY {
        return key;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(marker.to_string().as_bytes());
    format!("timebridge-{}-{nonce:016x}", hex::encode(digest))
}

fn parse_id(what: &str, key: &str) -> ConnectorResult<i64> {
    key.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ConnectorError::Rejected {
            message: format!("{what} {key:?} is not a TimeTracker id"),
            fields: Default::default(),
        })
}

/// A target-side entry from an API entry (marker stripped from the notes).
fn target_item(e: &ApiEntry, zone: Zone, source_system: &str) -> TargetItem {
    let (description, markers) = Marker::strip(e.notes.as_deref().unwrap_or(""));
    let link_key = markers
        .into_iter()
        .find(|m| m.system == source_system)
        .map(|m| m.key);
    let begin = zone.instant(e.start_time);
    let end = e.end_time.map(|t| zone.instant(t));
    TargetItem {
        target_id: e.id.to_string(),
        link_key,
        locked: false,
        entry: Entry {
            system: "timetracker".into(),
            key: e.id.to_string(),
            ticket: None,
            customer: None,
            project: e.project_id.map(|p| NamedRef {
                key: p.to_string(),
                name: e.project.clone(),
            }),
            activity: Some(match e.task_id {
                Some(t) => NamedRef {
                    key: t.to_string(),
                    name: e.task.clone(),
                },
                None => NamedRef {
                    key: NO_TASK.into(),
                    name: Some("(no task)".into()),
                },
            }),
            user: Some(UserRef {
                key: e.user_id.to_string(),
                email: None,
                name: None,
            }),
            begin,
            end,
            duration_seconds: end
                .map(|end| super::source::net_seconds(begin, end, e.break_seconds)),
            description,
            billable: e.billable,
            tags: e.tag_list.clone(),
            running: e.end_time.is_none(),
        },
    }
}

fn entry_of(host: &str, body: &Value) -> ConnectorResult<ApiEntry> {
    serde_json::from_value(body["time_entry"].clone()).map_err(|e| ConnectorError::Protocol {
        host: host.to_owned(),
        message: format!("the written time entry is not the documented JSON ({e})"),
    })
}

impl TimetrackerConnector {
    /// The wall time to write for `at`, refusing what TimeTracker cannot keep exactly.
    fn wall(zone: Zone, at: DateTime<Utc>, what: &str) -> ConnectorResult<String> {
        zone.wall(at)
            .map(wall_text)
            .ok_or_else(|| ConnectorError::Unrepresentable {
                message: format!(
                    "the {what} {} falls in the second pass of a repeated hour in {}; TimeTracker \
                 keeps wall times without an offset and would read it back an hour earlier",
                    at.format("%Y-%m-%d %H:%M:%S UTC"),
                    zone.0.name()
                ),
            })
    }

    /// The fields a create or an update sends for `desired`.
    fn fields(
        zone: Zone,
        marker: &Marker,
        desired: &Entry,
        update: bool,
    ) -> ConnectorResult<Map<String, Value>> {
        let (Some(end), Some(duration)) = (desired.end, desired.duration_seconds) else {
            return Err(ConnectorError::Unrepresentable {
                message: "TimeTracker's API writes only finished entries (a running one needs \
                          its user's own timer)"
                    .into(),
            });
        };
        let mut body = Map::new();
        body.insert(
            "start_time".into(),
            json!(Self::wall(zone, desired.begin, "begin")?),
        );
        body.insert("end_time".into(), json!(Self::wall(zone, end, "end")?));
        let gross = (end - desired.begin).num_seconds();
        body.insert("break_seconds".into(), json!((gross - duration).max(0)));
        let project = desired
            .project
            .as_ref()
            .ok_or_else(|| ConnectorError::Rejected {
                message: "TimeTracker needs a project".into(),
                fields: Default::default(),
            })?;
        body.insert(
            "project_id".into(),
            json!(parse_id("project", &project.key)?),
        );
        if !update && let Some(user) = &desired.user {
            body.insert("user_id".into(), json!(parse_id("user", &user.key)?));
        }
        body.insert(
            "notes".into(),
            json!(marker.append_to(&desired.description)),
        );
        // `""` clears tags on an update (`null` would mean "not given").
        body.insert("tags".into(), json!(desired.tags.join(",")));
        if let Some(b) = desired.billable {
            body.insert("billable".into(), json!(b));
        }
        Ok(body)
    }

    /// The task to set for `desired` (`None`: none): a task id, or a task name resolved in
    /// the entry's project (tasks are read once per run).
    async fn task_of(&self, desired: &Entry) -> ConnectorResult<Option<i64>> {
        let Some(a) = desired.activity.as_ref().filter(|a| a.key != NO_TASK) else {
            return Ok(None);
        };
        let Some(name) = a.key.strip_prefix(TASK_NAME_PREFIX) else {
            return parse_id("task", &a.key).map(Some);
        };
        let project = match &desired.project {
            Some(p) => parse_id("project", &p.key)?,
            None => return Ok(None),
        };
        let wanted = name.trim().to_lowercase();
        self.api
            .tasks()
            .await?
            .iter()
            .find(|t| t.project_id == project && t.name.trim().to_lowercase() == wanted)
            .map(|t| Some(t.id))
            .ok_or_else(|| ConnectorError::Rejected {
                message: format!("project {project} has no task named {name:?}"),
                fields: Default::default(),
            })
    }

    async fn patch(&self, id: &str, body: Value) -> ConnectorResult<ApiEntry> {
        let resp: Value = self
            .api
            .client
            .json(Request::patch(
                "PATCH /api/v1/time-entries/{id}",
                format!("/api/v1/time-entries/{id}"),
                body,
            ))
            .await?;
        entry_of(self.api.client.host(), &resp)
    }

    async fn remove(&self, id: &str) -> ConnectorResult<()> {
        match self
            .api
            .client
            .send(Request::delete(
                "DELETE /api/v1/time-entries/{id}",
                format!("/api/v1/time-entries/{id}"),
            ))
            .await
        {
            Ok(_) | Err(ConnectorError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl TargetConnector for TimetrackerConnector {
    /// TimeTracker's hourly rates: a project's `hourly_rate`, else its client's
    /// `default_hourly_rate` (TimeTracker names no currency). Projects name their client
    /// here, as entries do not.
    async fn rates(&self) -> ConnectorResult<Option<RateCard>> {
        let (projects, clients) = futures::try_join!(self.api.projects(true), self.api.clients())?;
        let mut card = RateCard::default();
        let mut clients: Vec<_> = clients.into_iter().collect();
        clients.sort_by_key(|c| c.id);
        let mut projects: Vec<_> = projects.into_iter().collect();
        projects.sort_by_key(|p| p.id);
        for p in &projects {
            if let Some(cents) = p
                .hourly_rate
                .and_then(|r| cents_of(&json!(r)))
                .filter(|c| *c > 0)
            {
                card.rules.push(RateRule {
                    scope: RateScope::Project(p.id.to_string()),
                    user: None,
                    rate: Rate::hourly(cents, None),
                });
            }
            if let Some(client) = p.client_id {
                let name = clients
                    .iter()
                    .find(|c| c.id == client)
                    .map(|c| c.name.clone())
                    .or_else(|| p.client.clone());
                card.project_customers.insert(
                    p.id.to_string(),
                    NamedRef {
                        key: client.to_string(),
                        name,
                    },
                );
            }
        }
        for c in &clients {
            if let Some(cents) = c
                .default_hourly_rate
                .and_then(|r| cents_of(&json!(r)))
                .filter(|c| *c > 0)
            {
                card.rules.push(RateRule {
                    scope: RateScope::Customer(c.id.to_string()),
                    user: None,
                    rate: Rate::hourly(cents, None),
                });
            }
        }
        Ok(Some(card))
    }

    fn target_settings(&self) -> TargetSettings {
        // TimeTracker has a billable field: no billable tags.
        TargetSettings {
            system: "timetracker".into(),
            billable_tag: String::new(),
            non_billable_tag: String::new(),
            set_billable_field: true,
            // Every entry needs a project (or a client); a task is optional.
            project: Need::Required,
            activity: Need::Optional,
        }
    }

    async fn directory(&self) -> ConnectorResult<TargetDirectory> {
        let ((users, me), projects, tasks) =
            futures::try_join!(self.api.users(), self.api.projects(false), self.api.tasks(),)?;
        let active: HashSet<i64> = projects.iter().map(|p| p.id).collect();
        let mut rules = TargetRules::default();
        let mut activities = vec![NamedRef {
            key: NO_TASK.into(),
            name: Some("(no task)".into()),
        }];
        let mut names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
        names.sort_by_key(|n| n.to_lowercase());
        names.dedup_by_key(|n| n.to_lowercase());
        for name in names {
            activities.push(NamedRef {
                key: format!("{TASK_NAME_PREFIX}{name}"),
                name: Some(name.to_owned()),
            });
        }
        // A task by id is one project's task: named with its project, so that matching by
        // name finds the `name:` key (valid in every project) instead.
        for t in &tasks {
            rules
                .activity_projects
                .insert(t.id.to_string(), t.project_id.to_string());
            let project = projects.iter().find(|p| p.id == t.project_id);
            activities.push(NamedRef {
                key: t.id.to_string(),
                name: Some(match project {
                    Some(p) => format!("{} / {}", p.name, t.name),
                    None => t.name.clone(),
                }),
            });
        }
        Ok(TargetDirectory::new(
            users
                .into_iter()
                .filter(|u| u.is_active.unwrap_or(true))
                .map(|u| TargetUser {
                    key: u.id.to_string(),
                    name: u.name(),
                    email: u.email,
                }),
            projects
                .into_iter()
                .filter(|p| p.active() && active.contains(&p.id))
                .map(|p| TargetProject {
                    key: p.id.to_string(),
                    name: Some(p.name),
                    customer: None,
                }),
            activities,
            me.map(|u| u.id.to_string()),
        )
        .with_rules(rules))
    }

    async fn fetch(
        &self,
        window: &Window,
        source_system: &str,
    ) -> ConnectorResult<Vec<TargetItem>> {
        let zone = self.api.zone().await?;
        let from = zone.date(window.start()) - Duration::days(1);
        let to = zone.date(window.end_exclusive());
        Ok(self
            .api
            .entries(from, to, None)
            .await?
            .iter()
            .map(|e| target_item(e, zone, source_system))
            .filter(|t| window.contains(t.entry.begin))
            .collect())
    }

    async fn fetch_by_ids(
        &self,
        ids: &[String],
        source_system: &str,
    ) -> ConnectorResult<Vec<TargetItem>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let zone = self.api.zone().await?;
        Ok(self
            .api
            .entries_by_id(ids)
            .await?
            .iter()
            .map(|e| target_item(e, zone, source_system))
            .collect())
    }

    async fn find_marked(
        &self,
        marker: &Marker,
        desired: &Entry,
    ) -> ConnectorResult<Vec<TargetItem>> {
        let zone = self.api.zone().await?;
        let day = zone.date(desired.begin);
        let user = desired
            .user
            .as_ref()
            .map(|u| u.key.clone())
            .filter(|k| k.parse::<i64>().is_ok());
        let text = marker.to_string();
        let mut found: Vec<TargetItem> = self
            .api
            .entries(
                day - Duration::days(1),
                day + Duration::days(1),
                user.as_deref(),
            )
            .await?
            .iter()
            .filter(|e| e.notes.as_deref().is_some_and(|n| n.contains(&text)))
            .map(|e| target_item(e, zone, &marker.system))
            .collect();
        found.sort_by_key(|t| t.target_id.parse::<i64>().unwrap_or(i64::MAX));
        Ok(found)
    }

    async fn create(&self, marker: &Marker, desired: &Entry) -> ConnectorResult<TargetItem> {
        let zone = self.api.zone().await?;
        let body = Self::fields(zone, marker, desired, false)?;
        let task = self.task_of(desired).await?;
        let key = idempotency_key(marker, rand::random());
        let value = HeaderValue::from_str(&key).map_err(|_| {
            ConnectorError::Config("the idempotency key is not a header value".into())
        })?;
        let resp: Value = self
            .api
            .client
            .json(
                Request::post(
                    "POST /api/v1/time-entries",
                    "/api/v1/time-entries",
                    Value::Object(body),
                )
                .header(HeaderName::from_static("idempotency-key"), value)
                // The key makes a repeat answer the first entry: safe to retry.
                .idempotent(true),
            )
            .await?;
        let created = entry_of(self.api.client.host(), &resp)?;
        let id = created.id.to_string();
        let written = match task {
            None => created,
            Some(task) => match self.patch(&id, json!({"task_id": task})).await {
                Ok(e) => e,
                Err(e) => {
                    if let Err(undo) = self.remove(&id).await {
                        return Err(ConnectorError::Interrupted {
                            host: self.api.client.host().to_owned(),
                            message: format!(
                                "entry {id} was created, but neither its task could be set \
                                 ({e}) nor could it be deleted again ({undo})"
                            ),
                        });
                    }
                    return Err(e);
                }
            },
        };
        Ok(target_item(&written, zone, &marker.system))
    }

    async fn update(
        &self,
        target_id: &str,
        marker: &Marker,
        desired: &Entry,
    ) -> ConnectorResult<TargetItem> {
        let zone = self.api.zone().await?;
        let mut body = Self::fields(zone, marker, desired, true)?;
        if let Some(task) = self.task_of(desired).await? {
            body.insert("task_id".into(), json!(task));
        }
        let written = self.patch(target_id, Value::Object(body)).await?;
        if let Some(user) = &desired.user
            && user.key != written.user_id.to_string()
        {
            return Err(ConnectorError::Rejected {
                message: format!(
                    "entry {target_id} belongs to user {}; TimeTracker cannot move an entry to \
                     user {} (delete it and create it again)",
                    written.user_id, user.key
                ),
                fields: Default::default(),
            });
        }
        Ok(target_item(&written, zone, &marker.system))
    }

    async fn delete(&self, target_id: &str) -> ConnectorResult<()> {
        self.remove(target_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idempotency_key_names_the_marker_and_stays_within_128_characters() {
        let m = Marker::new("zammad", "4711").unwrap();
        let k = idempotency_key(&m, 1);
        assert_eq!(k, "timebridge-zammad-4711-0000000000000001");
        assert_ne!(k, idempotency_key(&m, 2));
        let long = Marker::new(&"s".repeat(64), &"k".repeat(64)).unwrap();
        let k = idempotency_key(&long, 7);
        assert!(k.len() <= 128, "{}", k.len());
        assert_eq!(k, idempotency_key(&long, 7));
    }
}
