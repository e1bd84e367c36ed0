//! The Clockify simulator's data, its JSON views, and the control handle tests use to read
//! and change it (a person editing or locking an entry in Clockify's UI).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::faults::{Faults, Flavor, Infra, RequestLog};
use crate::{SimError, SimOptions, default_now};

/// A member's role in a workspace (what Clockify's permissions reduce to here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The workspace owner (an admin).
    Owner,
    /// An admin: reads and writes every member's entries.
    Admin,
    /// A regular member: only their own entries.
    User,
}

impl Role {
    /// Whether the role may read and write other members' entries.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// A Clockify user (ids are global across workspaces).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// 24-hex id.
    pub id: String,
    /// E-mail.
    pub email: String,
    /// Display name.
    pub name: String,
    /// `settings.timeZone`, which the window quirk reads lists in.
    pub timezone: Tz,
    /// `ACTIVE` or `INACTIVE`.
    pub active: bool,
}

/// A workspace with its members.
#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    /// 24-hex id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Members and their roles, in order.
    pub members: Vec<(String, Role)>,
    /// Default hourly rate in cents.
    pub hourly_rate: i64,
    /// Currency of the rates.
    pub currency: String,
    /// `workspaceSettings.forceProjects`: entries need a project.
    pub force_projects: bool,
}

/// A client.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// 24-hex id.
    pub id: String,
    /// Workspace id.
    pub workspace: String,
    /// Name.
    pub name: String,
    /// Archived.
    pub archived: bool,
}

/// A project.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// 24-hex id.
    pub id: String,
    /// Workspace id.
    pub workspace: String,
    /// Name.
    pub name: String,
    /// Client id, if any.
    pub client: Option<String>,
    /// Archived.
    pub archived: bool,
    /// Billable (new entries' default).
    pub billable: bool,
    /// Hourly rate in cents, if the project has its own.
    pub hourly_rate: Option<i64>,
    /// Colour.
    pub color: String,
    /// Public.
    pub public: bool,
}

/// A task of a project.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// 24-hex id.
    pub id: String,
    /// Workspace id.
    pub workspace: String,
    /// Project id.
    pub project: String,
    /// Name.
    pub name: String,
    /// `ACTIVE` (true) or `DONE`.
    pub active: bool,
}

/// A tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// 24-hex id.
    pub id: String,
    /// Workspace id.
    pub workspace: String,
    /// Name.
    pub name: String,
    /// Archived.
    pub archived: bool,
}

/// A time entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeEntry {
    /// 24-hex id.
    pub id: String,
    /// Workspace id.
    pub workspace: String,
    /// The user it belongs to.
    pub user: String,
    /// Project id.
    pub project: Option<String>,
    /// Task id.
    pub task: Option<String>,
    /// Tag ids.
    pub tags: Vec<String>,
    /// Description.
    pub description: String,
    /// Billable.
    pub billable: bool,
    /// Locked by approval or the workspace lock.
    pub locked: bool,
    /// Start instant (whole seconds).
    pub start: DateTime<Utc>,
    /// End instant; `None` while the timer runs.
    pub end: Option<DateTime<Utc>>,
    /// Hourly rate in cents at write time.
    pub hourly_rate: i64,
    /// Last change (not exposed).
    pub modified_at: DateTime<Utc>,
}

/// A new entry for [`ClockifyControl::add_entry`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// Workspace id.
    pub workspace: String,
    /// User id.
    pub user: String,
    /// Project id.
    pub project: Option<String>,
    /// Task id.
    pub task: Option<String>,
    /// Description.
    pub description: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// End; `None` starts a running timer.
    pub end: Option<DateTime<Utc>>,
    /// Billable.
    pub billable: bool,
}

pub(crate) struct CState {
    pub users: BTreeMap<String, User>,
    /// API key → user id.
    pub keys: HashMap<String, String>,
    /// Add-on token → user id.
    pub addon_tokens: HashMap<String, String>,
    pub workspaces: BTreeMap<String, Workspace>,
    pub clients: BTreeMap<String, Client>,
    pub projects: BTreeMap<String, Project>,
    pub tasks: BTreeMap<String, Task>,
    pub tags: BTreeMap<String, Tag>,
    pub entries: BTreeMap<String, TimeEntry>,
    next_id: u64,
    pub window_quirk: bool,
    pub max_page_size: usize,
    pub last_page_header: bool,
}

impl std::fmt::Debug for CState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CState")
            .field("workspaces", &self.workspaces.len())
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// Clockify's instant format: UTC, `Z`, no fractions.
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// ISO-8601 duration as Clockify writes it (`PT1H30M`, `PT0S`).
pub(crate) fn iso_duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = "PT".to_owned();
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 || (h == 0 && m == 0) {
        out.push_str(&format!("{s}S"));
    }
    out
}

impl CState {
    pub fn new_id(&mut self, kind: u16) -> String {
        self.next_id += 1;
        format!("{kind:04x}{:020x}", self.next_id)
    }

    pub fn role(&self, ws: &str, user: &str) -> Option<Role> {
        self.workspaces
            .get(ws)?
            .members
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, r)| *r)
    }

    fn rate(&self, amount: i64, ws: &str) -> Value {
        let currency = self
            .workspaces
            .get(ws)
            .map_or("USD", |w| w.currency.as_str());
        json!({"amount": amount, "currency": currency})
    }

    pub fn user_json(&self, u: &User, ws: Option<&str>) -> Value {
        let default_ws = self
            .workspaces
            .values()
            .find(|w| w.members.iter().any(|(m, _)| *m == u.id))
            .map(|w| w.id.clone());
        let memberships: Vec<Value> = self
            .workspaces
            .values()
            .filter(|w| ws.is_none_or(|id| id == w.id))
            .filter(|w| w.members.iter().any(|(m, _)| *m == u.id))
            .map(|w| {
                json!({"userId": u.id, "targetId": w.id, "membershipType": "WORKSPACE",
                       "membershipStatus": "ACTIVE", "hourlyRate": null, "costRate": null})
            })
            .collect();
        json!({
            "id": u.id, "email": u.email, "name": u.name,
            "activeWorkspace": ws.map(str::to_owned).or(default_ws.clone()),
            "defaultWorkspace": default_ws,
            "profilePicture": "https://img.clockify.me/no-user-image.png",
            "status": if u.active { "ACTIVE" } else { "INACTIVE" },
            "settings": {"timeZone": u.timezone.name(), "weekStart": "MONDAY",
                         "timeFormat": "HOUR24", "dateFormat": "YYYY-MM-DD"},
            "memberships": memberships,
            "customFields": [],
        })
    }

    pub fn workspace_json(&self, w: &Workspace) -> Value {
        let memberships: Vec<Value> = w
            .members
            .iter()
            .map(|(u, _)| {
                json!({"userId": u, "targetId": w.id, "membershipType": "WORKSPACE",
                       "membershipStatus": "ACTIVE", "hourlyRate": null, "costRate": null})
            })
            .collect();
        json!({"id": w.id, "name": w.name, "hourlyRate": self.rate(w.hourly_rate, &w.id),
               "costRate": null, "memberships": memberships,
               "workspaceSettings": {"forceProjects": w.force_projects, "forceTasks": false,
                   "forceTags": false, "forceDescription": false, "lockTimeEntries": null,
                   "timeRoundingInReports": false},
               "imageUrl": "", "featureSubscriptionType": "PRO"})
    }

    pub fn client_json(c: &Client) -> Value {
        json!({"id": c.id, "name": c.name, "workspaceId": c.workspace, "archived": c.archived,
               "address": null, "email": null, "note": null, "currencyId": null})
    }

    pub fn project_json(&self, p: &Project) -> Value {
        let client_name = p
            .client
            .as_ref()
            .and_then(|c| self.clients.get(c))
            .map_or(String::new(), |c| c.name.clone());
        json!({
            "id": p.id, "name": p.name, "workspaceId": p.workspace,
            "clientId": p.client.clone().unwrap_or_default(), "clientName": client_name,
            "archived": p.archived, "billable": p.billable, "color": p.color,
            "public": p.public, "template": false, "note": "",
            "hourlyRate": p.hourly_rate.map(|r| self.rate(r, &p.workspace)),
            "costRate": null, "budgetEstimate": null, "timeEstimate": null,
            "duration": "PT0S", "memberships": [],
        })
    }

    pub fn task_json(t: &Task) -> Value {
        json!({"id": t.id, "name": t.name, "projectId": t.project,
               "status": if t.active { "ACTIVE" } else { "DONE" },
               "assigneeIds": [], "assigneeId": null, "userGroupIds": [],
               "estimate": "PT0S", "duration": null, "billable": true,
               "hourlyRate": null, "costRate": null})
    }

    pub fn tag_json(t: &Tag) -> Value {
        json!({"id": t.id, "name": t.name, "workspaceId": t.workspace, "archived": t.archived})
    }

    pub fn entry_json(&self, e: &TimeEntry, hydrated: bool) -> Value {
        let duration = e.end.map(|end| iso_duration((end - e.start).num_seconds()));
        let mut v = json!({
            "id": e.id, "description": e.description, "userId": e.user,
            "workspaceId": e.workspace, "projectId": e.project, "taskId": e.task,
            "tagIds": if e.tags.is_empty() { Value::Null } else { json!(e.tags) },
            "billable": e.billable, "isLocked": e.locked, "kioskId": null,
            "type": "REGULAR", "customFieldValues": [],
            "hourlyRate": self.rate(e.hourly_rate, &e.workspace),
            "costRate": self.rate(0, &e.workspace),
            "timeInterval": {"start": ts(e.start), "end": e.end.map(ts), "duration": duration},
        });
        if hydrated {
            let project = e.project.as_ref().and_then(|p| self.projects.get(p));
            v["project"] = project.map_or(Value::Null, |p| self.project_json(p));
            v["task"] = e
                .task
                .as_ref()
                .and_then(|t| self.tasks.get(t))
                .map_or(Value::Null, Self::task_json);
            v["tags"] = json!(
                e.tags
                    .iter()
                    .filter_map(|t| self.tags.get(t))
                    .map(Self::tag_json)
                    .collect::<Vec<_>>()
            );
            v["user"] = self.users.get(&e.user).map_or(
                Value::Null,
                |u| json!({"id": u.id, "name": u.name, "email": u.email}),
            );
        }
        v
    }

    /// The rate a new entry of `project` gets (the project's, else the workspace's).
    pub fn entry_rate(&self, ws: &str, project: Option<&str>) -> i64 {
        project
            .and_then(|p| self.projects.get(p))
            .and_then(|p| p.hourly_rate)
            .or_else(|| self.workspaces.get(ws).map(|w| w.hourly_rate))
            .unwrap_or(0)
    }

    /// Stops `user`'s running timer in `ws` at `at`, if one runs.
    pub fn stop_running(&mut self, ws: &str, user: &str, at: DateTime<Utc>) -> Option<String> {
        let id = self
            .entries
            .values()
            .find(|e| e.workspace == ws && e.user == user && e.end.is_none())
            .map(|e| e.id.clone())?;
        let e = self.entries.get_mut(&id)?;
        e.end = Some(at.max(e.start));
        e.modified_at = at;
        Some(id)
    }

    pub fn insert_entry(&mut self, new: NewEntry, now: DateTime<Utc>) -> TimeEntry {
        if new.end.is_none() {
            self.stop_running(&new.workspace, &new.user, new.start);
        }
        let id = self.new_id(0x65a0);
        let e = TimeEntry {
            id: id.clone(),
            hourly_rate: self.entry_rate(&new.workspace, new.project.as_deref()),
            workspace: new.workspace,
            user: new.user,
            project: new.project,
            task: new.task,
            tags: Vec::new(),
            description: new.description,
            billable: new.billable,
            locked: false,
            start: new.start,
            end: new.end,
            modified_at: now,
        };
        self.entries.insert(id, e.clone());
        e
    }
}

/// Cloneable handle on the simulator's state, faults, request log and clock.
#[derive(Debug, Clone)]
pub struct ClockifyControl {
    pub(crate) state: Arc<Mutex<CState>>,
    pub(crate) clock: Clock,
    pub(crate) infra: Infra,
    /// The agency workspace's id.
    pub agency_workspace: String,
    /// The contractor workspace's id.
    pub contractor_workspace: String,
    /// The agency admin (owner of the main key).
    pub agency_admin: String,
    /// The contractor (owner of the contractor key and workspace).
    pub contractor: String,
    /// The contractor's own account in the agency workspace (another e-mail).
    pub contractor_at_agency: String,
}

/// The contractor's key for a main token.
pub(crate) fn contractor_token(main: &str) -> String {
    format!("{main}-contractor")
}

impl ClockifyControl {
    pub(crate) fn new(opts: &SimOptions) -> Self {
        let now = opts.now.unwrap_or_else(default_now);
        let clock = if opts.running_clock {
            Clock::running(now)
        } else {
            Clock::fixed(now)
        };
        let mut st = CState {
            users: BTreeMap::new(),
            keys: HashMap::new(),
            addon_tokens: HashMap::new(),
            workspaces: BTreeMap::new(),
            clients: BTreeMap::new(),
            projects: BTreeMap::new(),
            tasks: BTreeMap::new(),
            tags: BTreeMap::new(),
            entries: BTreeMap::new(),
            next_id: 0,
            window_quirk: false,
            max_page_size: 5000,
            last_page_header: true,
        };
        let ids = super::seed::populate(&mut st, opts, now);
        st.keys.insert(opts.token.clone(), ids.agency_admin.clone());
        st.keys
            .insert(contractor_token(&opts.token), ids.contractor.clone());
        Self {
            state: Arc::new(Mutex::new(st)),
            clock,
            infra: Infra::new(opts.rng_seed, opts.latency, Flavor::Clockify),
            agency_workspace: ids.agency_workspace,
            contractor_workspace: ids.contractor_workspace,
            agency_admin: ids.agency_admin,
            contractor: ids.contractor,
            contractor_at_agency: ids.contractor_at_agency,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, CState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The simulator's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Injected faults.
    pub fn faults(&self) -> &Faults {
        &self.infra.faults
    }

    /// The request log.
    pub fn log(&self) -> &RequestLog {
        &self.infra.log
    }

    /// Changes the latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.infra.set_latency(latency);
    }

    /// Reads list windows as wall clock in the key owner's zone (true) or literally (false).
    pub fn set_window_quirk(&self, on: bool) {
        self.lock().window_quirk = on;
    }

    /// Caps `page-size` (an UNCONFIRMED limit; 5000 by default).
    pub fn set_max_page_size(&self, max: usize) {
        self.lock().max_page_size = max.max(1);
    }

    /// Sends the `Last-Page` header on lists (true by default).
    pub fn set_last_page_header(&self, on: bool) {
        self.lock().last_page_header = on;
    }

    /// Registers an add-on token (`X-Addon-Token`) acting as `user`.
    pub fn add_addon_token(&self, token: &str, user: &str) {
        self.lock()
            .addon_tokens
            .insert(token.to_owned(), user.to_owned());
    }

    /// Registers another API key for `user`.
    pub fn add_api_key(&self, key: &str, user: &str) {
        self.lock().keys.insert(key.to_owned(), user.to_owned());
    }

    /// Sets `user`'s zone (`settings.timeZone`).
    pub fn set_user_timezone(&self, user: &str, tz: Tz) -> Result<(), SimError> {
        let mut st = self.lock();
        let u = st
            .users
            .get_mut(user)
            .ok_or_else(|| SimError::NotFound(format!("user {user}")))?;
        u.timezone = tz;
        Ok(())
    }

    /// Changes `user`'s role in `ws`.
    pub fn set_role(&self, ws: &str, user: &str, role: Role) -> Result<(), SimError> {
        let mut st = self.lock();
        let w = st
            .workspaces
            .get_mut(ws)
            .ok_or_else(|| SimError::NotFound(format!("workspace {ws}")))?;
        let m = w
            .members
            .iter_mut()
            .find(|(u, _)| u == user)
            .ok_or_else(|| SimError::NotFound(format!("member {user}")))?;
        m.1 = role;
        Ok(())
    }

    /// Every user.
    pub fn users(&self) -> Vec<User> {
        self.lock().users.values().cloned().collect()
    }

    /// The workspaces.
    pub fn workspaces(&self) -> Vec<Workspace> {
        self.lock().workspaces.values().cloned().collect()
    }

    /// The members of `ws`.
    pub fn members(&self, ws: &str) -> Vec<User> {
        let st = self.lock();
        st.workspaces.get(ws).map_or_else(Vec::new, |w| {
            w.members
                .iter()
                .filter_map(|(u, _)| st.users.get(u).cloned())
                .collect()
        })
    }

    /// The clients of `ws`.
    pub fn clients(&self, ws: &str) -> Vec<Client> {
        let st = self.lock();
        st.clients
            .values()
            .filter(|c| c.workspace == ws)
            .cloned()
            .collect()
    }

    /// The projects of `ws`.
    pub fn projects(&self, ws: &str) -> Vec<Project> {
        let st = self.lock();
        st.projects
            .values()
            .filter(|p| p.workspace == ws)
            .cloned()
            .collect()
    }

    /// Adds a project to `ws`.
    pub fn add_project(&self, ws: &str, name: &str, client: Option<&str>) -> Project {
        let mut st = self.lock();
        let id = st.new_id(0x64c0);
        let p = Project {
            id: id.clone(),
            workspace: ws.to_owned(),
            name: name.to_owned(),
            client: client.map(str::to_owned),
            archived: false,
            billable: true,
            hourly_rate: None,
            color: "#03A9F4".to_owned(),
            public: true,
        };
        st.projects.insert(id, p.clone());
        p
    }

    /// Archives or restores project `id`.
    pub fn set_project_archived(&self, id: &str, archived: bool) -> Result<(), SimError> {
        let mut st = self.lock();
        let p = st
            .projects
            .get_mut(id)
            .ok_or_else(|| SimError::NotFound(format!("project {id}")))?;
        p.archived = archived;
        Ok(())
    }

    /// The tasks of `ws`.
    pub fn tasks(&self, ws: &str) -> Vec<Task> {
        let st = self.lock();
        st.tasks
            .values()
            .filter(|t| t.workspace == ws)
            .cloned()
            .collect()
    }

    /// The tags of `ws`.
    pub fn tags(&self, ws: &str) -> Vec<Tag> {
        let st = self.lock();
        st.tags
            .values()
            .filter(|t| t.workspace == ws)
            .cloned()
            .collect()
    }

    /// Adds an entry as a person would in the UI (a running one stops the user's timer).
    pub fn add_entry(&self, new: NewEntry) -> Result<TimeEntry, SimError> {
        let now = self.clock.now();
        let mut st = self.lock();
        if st.role(&new.workspace, &new.user).is_none() {
            return Err(SimError::Invalid(format!(
                "user {} is not a member of {}",
                new.user, new.workspace
            )));
        }
        Ok(st.insert_entry(new, now))
    }

    /// Every entry of `ws`, oldest first.
    pub fn entries(&self, ws: &str) -> Vec<TimeEntry> {
        let st = self.lock();
        let mut v: Vec<TimeEntry> = st
            .entries
            .values()
            .filter(|e| e.workspace == ws)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
        v
    }

    /// Entry `id`, if it exists.
    pub fn entry(&self, id: &str) -> Option<TimeEntry> {
        self.lock().entries.get(id).cloned()
    }

    /// Changes entry `id` as a person would in the UI.
    pub fn edit_entry(
        &self,
        id: &str,
        f: impl FnOnce(&mut TimeEntry),
    ) -> Result<TimeEntry, SimError> {
        let now = self.clock.now();
        let mut st = self.lock();
        let e = st
            .entries
            .get_mut(id)
            .ok_or_else(|| SimError::NotFound(format!("time entry {id}")))?;
        f(e);
        e.modified_at = now;
        Ok(e.clone())
    }

    /// Locks or unlocks entry `id` (approval, workspace lock).
    pub fn set_locked(&self, id: &str, locked: bool) -> Result<TimeEntry, SimError> {
        self.edit_entry(id, |e| e.locked = locked)
    }

    /// Deletes entry `id`.
    pub fn delete_entry(&self, id: &str) -> Result<TimeEntry, SimError> {
        self.lock()
            .entries
            .remove(id)
            .ok_or_else(|| SimError::NotFound(format!("time entry {id}")))
    }

    /// Posts a webhook delivery for entry `id` to `url` as Clockify does: the entry JSON
    /// (hydrated), `Clockify-Signature: <token>` and `Clockify-Webhook-Event-Type: <event>`;
    /// returns the receiver's status.
    pub async fn deliver_webhook(
        &self,
        url: &str,
        token: &str,
        event: &str,
        id: &str,
    ) -> Result<u16, SimError> {
        let body = {
            let st = self.lock();
            let e = st
                .entries
                .get(id)
                .ok_or_else(|| SimError::NotFound(format!("time entry {id}")))?;
            serde_json::to_vec(&st.entry_json(e, true)).unwrap_or_default()
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let resp = client
            .post(url)
            .header("Content-Type", "application/json")
            .header("Clockify-Signature", token)
            .header("Clockify-Webhook-Event-Type", event)
            .body(body)
            .send()
            .await?;
        Ok(resp.status().as_u16())
    }
}
