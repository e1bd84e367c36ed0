//! Clockify as a target. A create is one request in the normal case: the master data
//! (users, projects, tags, tasks) is read once per instance, the entry is posted for the
//! token's user (`POST …/time-entries`) or another member (`POST …/user/{id}/time-entries`)
//! with the link marker in its description. Only when its outcome is unknown does the
//! connector search the user's entries for the marker before sending it again. An update
//! is one PUT when the run's read saw the entry (its user and lock kept in a `Seen` memo),
//! else a GET first.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{Duration, Timelike};
use serde_json::{Map, Value, json};
use timebridge_core::entry::{Entry, NamedRef, Window};
use timebridge_core::mapping::{
    Need, TargetDirectory, TargetProject, TargetRules, TargetSettings, TargetUser,
};
use timebridge_core::plan::TargetItem;
use timebridge_core::rates::{Rate, RateCard, RateRule, RateScope};

use super::api::{ApiEntry, ApiProject, ApiRate, ApiTag, ApiTask, ApiWorkspace};
use super::connector::{ClockifyConnector, Master, WriteFacts, path_id, stamp, task_key};
use crate::connector::TargetConnector;
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::Request;
use crate::marker::Marker;

/// How often a create whose outcome was unknown is tried again after the marker search
/// found nothing.
const CREATE_ATTEMPTS: u32 = 3;

fn rejected(message: String) -> ConnectorError {
    ConnectorError::Rejected {
        message,
        fields: Default::default(),
    }
}

impl ClockifyConnector {
    fn item(
        &self,
        m: &Master,
        tasks: &HashMap<&str, &ApiTask>,
        e: &ApiEntry,
        source_system: &str,
    ) -> ConnectorResult<TargetItem> {
        let (description, markers) = Marker::strip(e.description.as_deref().unwrap_or(""));
        let link_key = markers
            .into_iter()
            .find(|mk| mk.system == source_system)
            .map(|mk| mk.key);
        Ok(TargetItem {
            target_id: e.id.clone(),
            link_key,
            locked: e.is_locked.unwrap_or(false),
            entry: self.normalize(m, tasks, e, description)?,
        })
    }

    async fn items(
        &self,
        list: Vec<ApiEntry>,
        source_system: &str,
    ) -> ConnectorResult<Vec<TargetItem>> {
        let m = self.master().await?;
        let tasks = self.tasks().await?;
        let by_id: HashMap<&str, &ApiTask> = tasks.iter().map(|t| (t.id.as_str(), t)).collect();
        list.iter()
            .map(|e| self.item(&m, &by_id, e, source_system))
            .collect()
    }

    /// Tag ids for tag names, creating the tags the workspace lacks (one request each,
    /// once per instance).
    async fn tag_ids_for(&self, names: &[String]) -> ConnectorResult<Vec<String>> {
        self.master().await?;
        let mut known = self.tag_ids.lock().await;
        let mut out = Vec::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let lower = name.to_lowercase();
            if let Some(id) = known.get(&lower) {
                out.push(id.clone());
                continue;
            }
            let created = self
                .client
                .json::<ApiTag>(Request::post(
                    "POST /workspaces/{ws}/tags",
                    self.ws_path("/tags"),
                    json!({"name": name}),
                ))
                .await;
            let tag = match created {
                Ok(t) => t,
                // Unknown outcome or "already exists": look it up.
                Err(e) if e.outcome_unknown() || matches!(e, ConnectorError::Rejected { .. }) => {
                    let found: Vec<ApiTag> = self
                        .list_all(
                            "GET /workspaces/{ws}/tags",
                            self.ws_path("/tags"),
                            vec![
                                ("name", name.to_owned()),
                                ("strict-name-search", "true".into()),
                            ],
                        )
                        .await?;
                    found
                        .into_iter()
                        .find(|t| t.name.trim().eq_ignore_ascii_case(name))
                        .ok_or(e)?
                }
                Err(e) => return Err(e),
            };
            known.insert(lower, tag.id.clone());
            out.push(tag.id);
        }
        Ok(out)
    }

    /// The create / PUT body for `desired` (times whole seconds in UTC, the marker
    /// appended to the description).
    async fn body(&self, marker: &Marker, desired: &Entry) -> ConnectorResult<Value> {
        let whole = |at: chrono::DateTime<chrono::Utc>| at.nanosecond() == 0;
        let end = if desired.running { None } else { desired.end };
        if !desired.running && end.is_none() {
            return Err(rejected("the entry has ended but has no end".into()));
        }
        if end.is_some_and(|e| e < desired.begin) {
            return Err(rejected("the entry ends before it begins".into()));
        }
        if !whole(desired.begin) || end.is_some_and(|e| !whole(e)) {
            return Err(ConnectorError::Unrepresentable {
                message: "Clockify keeps whole seconds, and this entry begins or ends within \
                          a second"
                    .into(),
            });
        }
        let mut body = Map::new();
        body.insert("start".into(), json!(stamp(desired.begin)));
        if let Some(end) = end {
            body.insert("end".into(), json!(stamp(end)));
        }
        body.insert(
            "description".into(),
            json!(marker.append_to(&desired.description)),
        );
        if let Some(p) = &desired.project {
            body.insert("projectId".into(), json!(path_id(&p.key)?));
        }
        if let Some(a) = &desired.activity {
            body.insert(
                "taskId".into(),
                json!(self.task_in_project(desired, &a.key).await?),
            );
        }
        if let Some(b) = desired.billable {
            body.insert("billable".into(), json!(b));
        }
        body.insert(
            "tagIds".into(),
            json!(self.tag_ids_for(&desired.tags).await?),
        );
        Ok(Value::Object(body))
    }

    /// The id of the task named `name` in `desired`'s project: a task key is a name,
    /// resolved within the entry's project; a project without it refuses the entry.
    async fn task_in_project(&self, desired: &Entry, name: &str) -> ConnectorResult<String> {
        let project = desired.project.as_ref().ok_or_else(|| {
            rejected(format!(
                "the entry has task {name:?} but no project; Clockify tasks belong to projects"
            ))
        })?;
        let tasks = self.tasks().await?;
        tasks
            .iter()
            .filter(|t| t.active() && t.project_id.as_deref() == Some(project.key.as_str()))
            .find(|t| task_key(&t.name).eq_ignore_ascii_case(name))
            .map(|t| t.id.clone())
            .ok_or_else(|| {
                rejected(format!(
                    "project {}{} has no active task named {name:?}",
                    project.key,
                    project
                        .name
                        .as_deref()
                        .map(|n| format!(" \"{n}\""))
                        .unwrap_or_default()
                ))
            })
    }

    /// The create request for `user` (the token's own route for itself).
    fn create_request(&self, me: &str, user: &str, body: &Value) -> ConnectorResult<Request> {
        Ok(if user == me {
            Request::post(
                "POST /workspaces/{ws}/time-entries",
                self.ws_path("/time-entries"),
                body.clone(),
            )
        } else {
            Request::post(
                "POST /workspaces/{ws}/user/{uid}/time-entries",
                self.ws_path(&format!("/user/{}/time-entries", path_id(user)?)),
                body.clone(),
            )
        })
    }

    /// Entries of `user` around `desired`'s begin whose description carries `marker`.
    async fn marked(&self, marker: &Marker, desired: &Entry) -> ConnectorResult<Vec<ApiEntry>> {
        let m = self.master().await?;
        let user = desired
            .user
            .as_ref()
            .map_or(m.me.id.as_str(), |u| u.key.as_str());
        let around = Duration::days(2);
        let list: Vec<ApiEntry> = self
            .list_all(
                "GET /workspaces/{ws}/user/{uid}/time-entries",
                self.ws_path(&format!("/user/{}/time-entries", path_id(user)?)),
                vec![
                    ("description", marker.to_string()),
                    ("start", stamp(desired.begin - around)),
                    ("end", stamp(desired.begin + around)),
                ],
            )
            .await?;
        let mut found: Vec<ApiEntry> = list
            .into_iter()
            .filter(|e| Marker::find_all(e.description.as_deref().unwrap_or("")).contains(marker))
            .collect();
        // Clockify ids are ObjectIds: their order is their creation order.
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }
}

#[async_trait]
impl TargetConnector for ClockifyConnector {
    /// Clockify's billable rates, most specific first: a member's project rate, the
    /// project's rate, a member's workspace rate, the workspace's rate (amounts in cents,
    /// each with its currency). A rate of zero is Clockify's "none set" and counts as none.
    async fn rates(&self) -> ConnectorResult<Option<RateCard>> {
        let m = self.master().await?;
        let workspaces: Vec<ApiWorkspace> = self
            .client
            .json(Request::get("GET /workspaces", "/workspaces"))
            .await?;
        let mut rules = Vec::new();
        let mut projects: Vec<&ApiProject> = m.projects.values().collect();
        projects.sort_by(|a, b| a.id.cmp(&b.id));
        for p in projects {
            let scope = RateScope::Project(p.id.clone());
            for member in &p.memberships {
                rules.extend(rate_rule(
                    &scope,
                    Some(&member.user_id),
                    member.hourly_rate.as_ref(),
                ));
            }
            rules.extend(rate_rule(&scope, None, p.hourly_rate.as_ref()));
        }
        if let Some(w) = workspaces.iter().find(|w| w.id == self.workspace) {
            for member in &w.memberships {
                rules.extend(rate_rule(
                    &RateScope::Everything,
                    Some(&member.user_id),
                    member.hourly_rate.as_ref(),
                ));
            }
            rules.extend(rate_rule(
                &RateScope::Everything,
                None,
                w.hourly_rate.as_ref(),
            ));
        }
        Ok(Some(RateCard {
            rules,
            ..RateCard::default()
        }))
    }

    fn target_settings(&self) -> TargetSettings {
        TargetSettings {
            system: "clockify".into(),
            billable_tag: String::new(),
            non_billable_tag: String::new(),
            set_billable_field: true,
            // Clockify entries may lack a project unless the workspace forces one; timebridge
            // asks for one (billing needs it). A task is optional.
            project: Need::Required,
            activity: Need::Optional,
        }
    }

    async fn directory(&self) -> ConnectorResult<TargetDirectory> {
        let m = self.master().await?;
        let tasks = self.tasks().await?;
        // Activities are task names (see `task_key`); which project has which is checked
        // when an entry is written.
        let mut names: Vec<String> = tasks
            .iter()
            .filter(|t| t.active())
            .map(|t| task_key(&t.name))
            .collect();
        names.sort();
        names.dedup();
        let activities = names.into_iter().map(|n| NamedRef {
            name: Some(n.clone()),
            key: n,
        });
        let users = m.users.iter().filter(|u| u.active()).map(|u| TargetUser {
            key: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
        });
        let projects = m
            .projects
            .values()
            .filter(|p| !p.is_archived())
            .map(|p| TargetProject {
                key: p.id.clone(),
                name: Some(p.name.clone()),
                customer: p.client().map(|c| NamedRef {
                    key: c.to_owned(),
                    name: m.clients.get(c).map(|c| c.name.clone()),
                }),
            });
        Ok(
            TargetDirectory::new(users, projects, activities, Some(m.me.id.clone()))
                .with_rules(TargetRules::default()),
        )
    }

    async fn fetch(
        &self,
        window: &Window,
        source_system: &str,
    ) -> ConnectorResult<Vec<TargetItem>> {
        // A new read of the window: nothing an earlier read saw is used for writes.
        self.seen.restart();
        let m = self.master().await?;
        let users = m.users.iter().map(|u| u.id.clone()).collect();
        let list = self.entries_of_users(users, window, false, true).await?;
        let facts: Vec<WriteFacts> = list.iter().map(WriteFacts::of).collect();
        let items = self.items(list, source_system).await?;
        let (items, facts): (Vec<TargetItem>, Vec<_>) = items
            .into_iter()
            .zip(facts)
            .filter(|(i, _)| window.contains(i.entry.begin))
            .map(|(i, f)| {
                let id = i.target_id.clone();
                (i, (id, f))
            })
            .unzip();
        self.seen.note_all(facts);
        Ok(items)
    }

    async fn fetch_by_ids(
        &self,
        ids: &[String],
        source_system: &str,
    ) -> ConnectorResult<Vec<TargetItem>> {
        let list = self.entries_by_ids(ids).await?;
        self.seen
            .note_all(list.iter().map(|e| (e.id.clone(), WriteFacts::of(e))));
        self.items(list, source_system).await
    }

    async fn find_marked(
        &self,
        marker: &Marker,
        desired: &Entry,
    ) -> ConnectorResult<Vec<TargetItem>> {
        let list = self.marked(marker, desired).await?;
        self.items(list, &marker.system).await
    }

    async fn create(&self, marker: &Marker, desired: &Entry) -> ConnectorResult<TargetItem> {
        let m = self.master().await?;
        let body = self.body(marker, desired).await?;
        let user = desired
            .user
            .as_ref()
            .map_or(m.me.id.clone(), |u| u.key.clone());
        let mut attempt = 1;
        loop {
            let req = self.create_request(&m.me.id, &user, &body)?;
            match self.client.json::<ApiEntry>(req).await {
                Ok(e) => return Ok(self.items(vec![e], &marker.system).await?.remove(0)),
                Err(e) if e.outcome_unknown() => {
                    // The create may have happened: look before sending it again.
                    let mut found = self.marked(marker, desired).await?;
                    if !found.is_empty() {
                        tracing::warn!(
                            connector = %self.client.label(),
                            marker = %marker,
                            entry = %found[0].id,
                            "Create answered with an unknown outcome; adopted the entry it made."
                        );
                        let first = found.swap_remove(0);
                        return Ok(self.items(vec![first], &marker.system).await?.remove(0));
                    }
                    if attempt >= CREATE_ATTEMPTS {
                        return Err(e);
                    }
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn update(
        &self,
        target_id: &str,
        marker: &Marker,
        desired: &Entry,
    ) -> ConnectorResult<TargetItem> {
        // What this run's read saw of the entry, else a read now (an update of an entry
        // the run did not list, e.g. a conflict resolution's). The facts are those of the
        // read: an entry locked since then is refused by Clockify's PUT (400, code 501,
        // read as `Locked`); one moved to another user since keeps that user (a PUT does
        // not move entries), which the next read reports as a difference.
        let current = match self.seen.take(target_id) {
            Some(facts) => facts,
            None => self
                .entry(target_id)
                .await?
                .map(|e| WriteFacts::of(&e))
                .ok_or_else(|| ConnectorError::NotFound {
                    message: format!("time entry {target_id} no longer exists in Clockify"),
                })?,
        };
        if current.locked {
            return Err(ConnectorError::Locked {
                message: format!("time entry {target_id} is locked in Clockify"),
            });
        }
        if let Some(u) = desired.user.as_ref().filter(|u| u.key != current.user_id) {
            return Err(rejected(format!(
                "Clockify cannot move time entry {target_id} from user {} to user {}; \
                 delete it and let the next sync create it",
                current.user_id, u.key
            )));
        }
        let body = self.body(marker, desired).await?;
        let e: ApiEntry = self
            .client
            .json(Request::put(
                "PUT /workspaces/{ws}/time-entries/{id}",
                self.ws_path(&format!("/time-entries/{}", path_id(target_id)?)),
                body,
            ))
            .await?;
        Ok(self.items(vec![e], &marker.system).await?.remove(0))
    }

    async fn delete(&self, target_id: &str) -> ConnectorResult<()> {
        self.seen.forget(target_id);
        match self
            .client
            .send(Request::delete(
                "DELETE /workspaces/{ws}/time-entries/{id}",
                self.ws_path(&format!("/time-entries/{}", path_id(target_id)?)),
            ))
            .await
        {
            Ok(_) | Err(ConnectorError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A rule from a Clockify rate; none for a missing rate or one of zero.
fn rate_rule(scope: &RateScope, user: Option<&str>, rate: Option<&ApiRate>) -> Option<RateRule> {
    let rate = rate.filter(|r| r.amount > 0)?;
    Some(RateRule {
        scope: scope.clone(),
        user: user.map(str::to_owned),
        rate: Rate::hourly(rate.amount, rate.currency.clone()),
    })
}
