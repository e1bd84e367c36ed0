//! The TimeTracker simulator's data, its JSON views, and the control handle tests use to
//! read and change it (e.g. a person editing an entry in TimeTracker's web UI).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::clock::Clock;
use crate::faults::{Faults, Flavor, Infra, RequestLog};
use crate::{SimError, SimOptions, default_now};

/// The id of the admin user the main token belongs to.
pub const ADMIN_USER_ID: u64 = 1;

/// The scopes of the main token: `admin:all` (covers every route, the user list included).
pub const MAIN_TOKEN_SCOPES: &[&str] = &["admin:all"];

/// Which database the simulated instance runs on; it decides what happens to a time with
/// an offset in a request body (the recordings `offsets-sqlite.json` and
/// `offsets-postgresql.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite: the offset is dropped and the wall-clock digits are stored.
    Sqlite,
    /// PostgreSQL: the value is converted to the database session's zone.
    Postgres {
        /// The PostgreSQL session `TimeZone`.
        session_tz: Tz,
    },
}

/// The per-token rate limit (fixed windows aligned to the clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per clock minute.
    pub per_minute: u32,
    /// Requests per clock hour.
    pub per_hour: u32,
}

impl RateLimit {
    /// The server's defaults: 100 per minute and 1000 per hour.
    pub fn server_default() -> Self {
        RateLimit {
            per_minute: 100,
            per_hour: 1000,
        }
    }
}

/// The admin's "time entry requirements" settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirements {
    /// A task must be selected for project entries.
    pub require_task: bool,
    /// A description is required.
    pub require_description: bool,
    /// Minimum description length when one is required.
    pub description_min_length: usize,
}

impl Default for Requirements {
    fn default() -> Self {
        Requirements {
            require_task: false,
            require_description: false,
            description_min_length: 20,
        }
    }
}

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sees and edits every user's entries.
    Admin,
    /// Own entries only.
    User,
}

/// A TimeTracker user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Id.
    pub id: u64,
    /// Login name.
    pub username: String,
    /// E-mail.
    pub email: Option<String>,
    /// Full name.
    pub full_name: Option<String>,
    /// Role.
    pub role: Role,
    /// Active.
    pub is_active: bool,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
}

/// A new user for [`TimetrackerControl::add_user`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// E-mail.
    pub email: Option<String>,
    /// Full name.
    pub full_name: Option<String>,
    /// Role.
    pub role: Role,
}

/// An API token.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The user it acts as.
    pub user_id: u64,
    /// Its scopes, e.g. `read:time_entries`.
    pub scopes: Vec<String>,
    /// Revoked by an admin.
    pub revoked: bool,
    /// When it expires, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A client.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// Id.
    pub id: u64,
    /// Name (unique).
    pub name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Default hourly rate.
    pub default_hourly_rate: Option<f64>,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
}

/// A project.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Client id.
    pub client_id: Option<u64>,
    /// Billable.
    pub billable: bool,
    /// Hourly rate.
    pub hourly_rate: Option<f64>,
    /// Archived (`status: archived`).
    pub archived: bool,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
}

/// A task of a project.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Id.
    pub id: u64,
    /// The project it belongs to.
    pub project_id: u64,
    /// Name.
    pub name: String,
    /// Creator.
    pub created_by: u64,
    /// Creation time, naive local.
    pub created_at: NaiveDateTime,
}

/// A time entry as stored: naive wall times in the instance's zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Id.
    pub id: u64,
    /// Owner.
    pub user_id: u64,
    /// Project.
    pub project_id: Option<u64>,
    /// Client (set on client-only entries).
    pub client_id: Option<u64>,
    /// Task.
    pub task_id: Option<u64>,
    /// Start, naive local.
    pub start: NaiveDateTime,
    /// End, naive local; `None` while the timer runs.
    pub end: Option<NaiveDateTime>,
    /// Break, subtracted from the duration.
    pub break_seconds: i64,
    /// Notes (the description).
    pub notes: Option<String>,
    /// Tags, a comma-separated string.
    pub tags: Option<String>,
    /// `manual` or `auto` (timer).
    pub source: &'static str,
    /// Billable.
    pub billable: bool,
    /// Paid.
    pub paid: bool,
    /// Invoice number.
    pub invoice_number: Option<String>,
    /// Creation time, naive local.
    pub created_at: NaiveDateTime,
    /// Last change, naive local.
    pub updated_at: NaiveDateTime,
}

impl Entry {
    /// Net seconds (end − start − break, never below zero); `None` while running.
    pub fn duration_seconds(&self) -> Option<i64> {
        self.end.map(|e| {
            let gross = (e - self.start)
                .num_microseconds()
                .unwrap_or(0)
                .div_euclid(1_000_000);
            (gross - self.break_seconds).max(0)
        })
    }
}

/// A new entry for [`TimetrackerControl::insert_entry`] (no validation: what a person or
/// an import may leave in the database).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// Owner.
    pub user_id: u64,
    /// Project.
    pub project_id: Option<u64>,
    /// Task.
    pub task_id: Option<u64>,
    /// Start, naive local.
    pub start: NaiveDateTime,
    /// End, naive local; `None` for a running timer.
    pub end: Option<NaiveDateTime>,
    /// Notes.
    pub notes: Option<String>,
    /// Tags (comma-separated).
    pub tags: Option<String>,
    /// Billable.
    pub billable: bool,
    /// Break seconds.
    pub break_seconds: i64,
}

impl NewEntry {
    /// A finished, billable entry of `user_id` on `project_id`.
    pub fn new(user_id: u64, project_id: u64, start: NaiveDateTime, end: NaiveDateTime) -> Self {
        NewEntry {
            user_id,
            project_id: Some(project_id),
            task_id: None,
            start,
            end: Some(end),
            notes: None,
            tags: None,
            billable: true,
            break_seconds: 0,
        }
    }
}

/// An outgoing webhook subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Id (sent as `X-Webhook-ID`).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Receiver URL.
    pub url: String,
    /// Event names, or `*`.
    pub events: Vec<String>,
    /// The signing secret.
    pub secret: String,
}

impl Webhook {
    pub(crate) fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == event)
    }
}

/// An idempotency record: the stored answer of a successful create.
#[derive(Debug, Clone)]
pub(crate) struct StoredAnswer {
    pub status: u16,
    pub body: Value,
    pub stored_at: DateTime<Utc>,
}

/// Settings of the simulated instance.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub timezone: Tz,
    pub setup_required: bool,
    pub backend: Backend,
    pub rate_limit: Option<RateLimit>,
    pub idempotency_ttl: chrono::Duration,
    pub requirements: Requirements,
    /// A closed timesheet period (first and last date, inclusive).
    pub closed: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
}

#[derive(Debug)]
pub(crate) struct TtState {
    pub config: Config,
    pub users: BTreeMap<u64, User>,
    pub tokens: HashMap<String, Token>,
    pub clients: BTreeMap<u64, Client>,
    pub projects: BTreeMap<u64, Project>,
    pub tasks: BTreeMap<u64, Task>,
    pub entries: BTreeMap<u64, Entry>,
    pub webhooks: BTreeMap<u64, Webhook>,
    /// (token, key) → stored answer.
    pub idempotency: HashMap<(String, String), StoredAnswer>,
    /// token → (minute window, count, hour window, count).
    pub rate: HashMap<String, (i64, u32, i64, u32)>,
    pub next_entry: u64,
    pub next_client: u64,
    pub next_project: u64,
    pub next_task: u64,
    pub next_user: u64,
    pub next_webhook: u64,
}

/// Cloneable handle on a TimeTracker simulator's state, clock, faults and request log.
#[derive(Debug, Clone)]
pub struct TimetrackerControl {
    pub(crate) state: Arc<Mutex<TtState>>,
    pub(crate) clock: Clock,
    pub(crate) infra: Infra,
    pub(crate) deliveries: Arc<Mutex<Vec<super::webhook::WebhookDelivery>>>,
}

impl TimetrackerControl {
    pub(crate) fn new(opts: &SimOptions) -> Self {
        let now = opts.now.unwrap_or_else(default_now);
        let clock = if opts.running_clock {
            Clock::running(now)
        } else {
            Clock::fixed(now)
        };
        let created = now - chrono::Duration::days(400);
        let mut st = TtState {
            config: Config {
                timezone: chrono_tz::Europe::Berlin,
                setup_required: false,
                backend: Backend::Sqlite,
                rate_limit: None,
                idempotency_ttl: chrono::Duration::hours(24),
                requirements: Requirements::default(),
                closed: None,
            },
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            clients: BTreeMap::new(),
            projects: BTreeMap::new(),
            tasks: BTreeMap::new(),
            entries: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            idempotency: HashMap::new(),
            rate: HashMap::new(),
            next_entry: 1,
            next_client: 1,
            next_project: 1,
            next_task: 1,
            next_user: 2,
            next_webhook: 1,
        };
        st.users.insert(
            ADMIN_USER_ID,
            User {
                id: ADMIN_USER_ID,
                username: "admin".into(),
                email: Some("admin@example.com".into()),
                full_name: None,
                role: Role::Admin,
                is_active: true,
                created_at: created,
            },
        );
        st.tokens.insert(
            opts.token.clone(),
            Token {
                user_id: ADMIN_USER_ID,
                scopes: MAIN_TOKEN_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                revoked: false,
                expires_at: None,
            },
        );
        super::seed::load(&mut st, opts, now);
        Self {
            state: Arc::new(Mutex::new(st)),
            clock,
            infra: Infra::new(opts.rng_seed, opts.latency, Flavor::Timetracker),
            deliveries: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, TtState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_local(&self) -> NaiveDateTime {
        let now = self.clock.now();
        self.lock().now_local(now)
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

    /// The instance's zone (`GET /api/v1/info` `timezone`); times are stored in it.
    pub fn timezone(&self) -> Tz {
        self.lock().config.timezone
    }

    /// Changes the instance's zone (stored naive times keep their digits, as on the server).
    pub fn set_timezone(&self, tz: Tz) {
        self.lock().config.timezone = tz;
    }

    /// Whether the web setup wizard is still pending (every route but `/info` and
    /// `/health` then answers 302 → `/setup`).
    pub fn set_setup_required(&self, required: bool) {
        self.lock().config.setup_required = required;
    }

    /// The database the instance runs on (what an offset in a body turns into).
    pub fn set_backend(&self, backend: Backend) {
        self.lock().config.backend = backend;
    }

    /// The per-token rate limit; `None` (the default in the simulator, so that a test's
    /// standing clock never locks it out) disables it.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        let mut st = self.lock();
        st.config.rate_limit = limit;
        st.rate.clear();
    }

    /// How long an `Idempotency-Key` answer is kept (the server's default: 24 h).
    pub fn set_idempotency_ttl(&self, ttl: chrono::Duration) {
        self.lock().config.idempotency_ttl = ttl;
    }

    /// The time entry requirement settings.
    pub fn set_requirements(&self, requirements: Requirements) {
        self.lock().config.requirements = requirements;
    }

    /// Closes the timesheet period `from..=to` (local dates), or reopens it with `None`:
    /// creates in it are refused for everyone, updates and deletes for non-admins.
    pub fn set_closed_period(&self, period: Option<(chrono::NaiveDate, chrono::NaiveDate)>) {
        self.lock().config.closed = period;
    }

    /// Adds a user; its id is returned with it.
    pub fn add_user(&self, new: NewUser) -> User {
        let now = self.clock.now();
        let mut st = self.lock();
        let id = st.next_user;
        st.next_user += 1;
        let u = User {
            id,
            username: new.username,
            email: new.email,
            full_name: new.full_name,
            role: new.role,
            is_active: true,
            created_at: now,
        };
        st.users.insert(id, u.clone());
        u
    }

    /// Deactivates or reactivates a user.
    pub fn set_user_active(&self, id: u64, active: bool) -> Result<(), SimError> {
        let mut st = self.lock();
        let u = st
            .users
            .get_mut(&id)
            .ok_or_else(|| SimError::NotFound(format!("user {id}")))?;
        u.is_active = active;
        Ok(())
    }

    /// Every user.
    pub fn users(&self) -> Vec<User> {
        self.lock().users.values().cloned().collect()
    }

    /// The user with this e-mail (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Option<User> {
        self.lock()
            .users
            .values()
            .find(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .cloned()
    }

    /// Registers an API token of `user_id` with `scopes`.
    pub fn add_token(&self, token: &str, user_id: u64, scopes: &[&str]) -> Result<(), SimError> {
        let mut st = self.lock();
        if !st.users.contains_key(&user_id) {
            return Err(SimError::NotFound(format!("user {user_id}")));
        }
        st.tokens.insert(
            token.to_owned(),
            Token {
                user_id,
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                revoked: false,
                expires_at: None,
            },
        );
        Ok(())
    }

    /// Revokes a token.
    pub fn revoke_token(&self, token: &str) -> Result<(), SimError> {
        let mut st = self.lock();
        let t = st
            .tokens
            .get_mut(token)
            .ok_or_else(|| SimError::NotFound("token".into()))?;
        t.revoked = true;
        Ok(())
    }

    /// Lets a token expire at `at`.
    pub fn expire_token(&self, token: &str, at: DateTime<Utc>) -> Result<(), SimError> {
        let mut st = self.lock();
        let t = st
            .tokens
            .get_mut(token)
            .ok_or_else(|| SimError::NotFound("token".into()))?;
        t.expires_at = Some(at);
        Ok(())
    }

    /// Adds a client.
    pub fn add_client(&self, name: &str) -> Client {
        let now = self.clock.now();
        let mut st = self.lock();
        let id = st.next_client;
        st.next_client += 1;
        let c = Client {
            id,
            name: name.to_owned(),
            email: None,
            default_hourly_rate: None,
            created_at: now,
        };
        st.clients.insert(id, c.clone());
        c
    }

    /// Adds an active project.
    pub fn add_project(
        &self,
        name: &str,
        client_id: Option<u64>,
        billable: bool,
        hourly_rate: Option<f64>,
    ) -> Project {
        let now = self.clock.now();
        let mut st = self.lock();
        let id = st.next_project;
        st.next_project += 1;
        let p = Project {
            id,
            name: name.to_owned(),
            client_id,
            billable,
            hourly_rate,
            archived: false,
            created_at: now,
        };
        st.projects.insert(id, p.clone());
        p
    }

    /// Archives (or restores) a project.
    pub fn set_project_archived(&self, id: u64, archived: bool) -> Result<(), SimError> {
        let mut st = self.lock();
        let p = st
            .projects
            .get_mut(&id)
            .ok_or_else(|| SimError::NotFound(format!("project {id}")))?;
        p.archived = archived;
        Ok(())
    }

    /// Adds a task to a project.
    pub fn add_task(&self, project_id: u64, name: &str) -> Result<Task, SimError> {
        let now = self.now_local();
        let mut st = self.lock();
        if !st.projects.contains_key(&project_id) {
            return Err(SimError::NotFound(format!("project {project_id}")));
        }
        let id = st.next_task;
        st.next_task += 1;
        let t = Task {
            id,
            project_id,
            name: name.to_owned(),
            created_by: ADMIN_USER_ID,
            created_at: now,
        };
        st.tasks.insert(id, t.clone());
        Ok(t)
    }

    /// Every client.
    pub fn clients(&self) -> Vec<Client> {
        self.lock().clients.values().cloned().collect()
    }

    /// Every project, archived ones included.
    pub fn projects(&self) -> Vec<Project> {
        self.lock().projects.values().cloned().collect()
    }

    /// Every task.
    pub fn tasks(&self) -> Vec<Task> {
        self.lock().tasks.values().cloned().collect()
    }

    /// Stores an entry without any check (as a person or an import may leave it).
    pub fn insert_entry(&self, new: NewEntry) -> Result<Entry, SimError> {
        let now = self.now_local();
        let mut st = self.lock();
        if !st.users.contains_key(&new.user_id) {
            return Err(SimError::NotFound(format!("user {}", new.user_id)));
        }
        let e = Entry {
            id: 0,
            user_id: new.user_id,
            project_id: new.project_id,
            client_id: None,
            task_id: new.task_id,
            start: new.start,
            end: new.end,
            break_seconds: new.break_seconds,
            notes: new.notes,
            tags: new.tags,
            source: if new.end.is_some() { "manual" } else { "auto" },
            billable: new.billable,
            paid: false,
            invoice_number: None,
            created_at: now,
            updated_at: now,
        };
        Ok(st.insert_entry(e))
    }

    /// Changes an entry as a person would in the web UI (`updated_at` moves).
    pub fn edit_entry(&self, id: u64, edit: impl FnOnce(&mut Entry)) -> Result<Entry, SimError> {
        let now = self.now_local();
        let mut st = self.lock();
        let e = st
            .entries
            .get_mut(&id)
            .ok_or_else(|| SimError::NotFound(format!("time entry {id}")))?;
        edit(e);
        e.updated_at = now;
        Ok(e.clone())
    }

    /// Deletes an entry (a hard delete, as on the server).
    pub fn delete_entry(&self, id: u64) -> Result<Entry, SimError> {
        self.lock()
            .entries
            .remove(&id)
            .ok_or_else(|| SimError::NotFound(format!("time entry {id}")))
    }

    /// One entry.
    pub fn entry(&self, id: u64) -> Option<Entry> {
        self.lock().entries.get(&id).cloned()
    }

    /// Every entry, by id.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().entries.values().cloned().collect()
    }

    /// Number of entries.
    pub fn entry_count(&self) -> usize {
        self.lock().entries.len()
    }

    /// The entry's JSON as the API shows it.
    pub fn entry_json(&self, id: u64) -> Option<Value> {
        let st = self.lock();
        st.entries.get(&id).map(|e| st.entry_json(e))
    }

    /// Subscribes `url` to `events` (`*` for all), signed with `secret`; returns its id.
    pub fn add_webhook(&self, url: &str, secret: &str, events: &[&str]) -> u64 {
        let mut st = self.lock();
        let id = st.next_webhook;
        st.next_webhook += 1;
        st.webhooks.insert(
            id,
            Webhook {
                id,
                name: format!("webhook {id}"),
                url: url.to_owned(),
                events: events.iter().map(|e| (*e).to_owned()).collect(),
                secret: secret.to_owned(),
            },
        );
        id
    }

    /// Every delivery attempted so far (API-triggered ones are sent in the background).
    pub fn deliveries(&self) -> Vec<super::webhook::WebhookDelivery> {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends `event` (e.g. `time_entry.updated`) about entry `entry_id` (which may be
    /// deleted already: then only its id is named) to every subscribed webhook, now, and
    /// returns the deliveries.
    pub async fn send_event(
        &self,
        event: &str,
        entry_id: u64,
    ) -> Result<Vec<super::webhook::WebhookDelivery>, SimError> {
        let jobs = {
            let now = self.clock.now();
            let st = self.lock();
            super::webhook::jobs(&st, event, entry_id, ADMIN_USER_ID, now)
        };
        let mut out = Vec::new();
        for job in jobs {
            let d = super::webhook::send(job).await?;
            self.deliveries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(d.clone());
            out.push(d);
        }
        Ok(out)
    }

    /// Queues `event` deliveries in the background (what the API's writes do).
    pub(crate) fn dispatch(&self, event: &str, entry_id: u64, actor: u64) {
        let jobs = {
            let now = self.clock.now();
            let st = self.lock();
            if st.webhooks.is_empty() {
                return;
            }
            super::webhook::jobs(&st, event, entry_id, actor, now)
        };
        for job in jobs {
            let sink = self.deliveries.clone();
            tokio::spawn(async move {
                if let Ok(d) = super::webhook::send(job).await {
                    sink.lock().unwrap_or_else(PoisonError::into_inner).push(d);
                }
            });
        }
    }
}
