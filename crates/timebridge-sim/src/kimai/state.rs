//! The Kimai simulator's data, its JSON views, and the control handle tests use to read and
//! change it (e.g. a human editing a timesheet in the Kimai UI).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::time;
use crate::clock::Clock;
use crate::faults::{Faults, Flavor, Infra, RequestLog};
use crate::seed;
use crate::{SimError, SimOptions, default_now};

/// What a Kimai user may do (a simplification of Kimai's role permissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    /// `view_other_timesheet`: list/read other users' timesheets and the user list.
    pub view_other: bool,
    /// `create_other_timesheet`: set `user` on create.
    pub create_other: bool,
    /// `edit_other_timesheet`: edit/delete other users' timesheets.
    pub edit_other: bool,
    /// `edit_exported_timesheet`: edit/delete exported entries.
    pub edit_exported: bool,
    /// View rate fields (`rate`, `internalRate`, ...); without it they are absent.
    pub view_rate: bool,
    /// Set `fixedRate` / `hourlyRate`; without it those keys are extra fields.
    pub edit_rate: bool,
    /// Set `exported`; without it that key is an extra field.
    pub edit_export: bool,
}

impl Permissions {
    /// A plain user: own timesheets only, rates visible and editable.
    pub fn user() -> Self {
        Self {
            view_other: false,
            create_other: false,
            edit_other: false,
            edit_exported: false,
            view_rate: true,
            edit_rate: true,
            edit_export: false,
        }
    }

    /// The API user timebridge uses: may read and write for others, may set `exported`,
    /// but may NOT edit exported entries (flip with [`KimaiControl::set_permissions`]).
    pub fn api() -> Self {
        Self {
            view_other: true,
            create_other: true,
            edit_other: true,
            edit_exported: false,
            view_rate: true,
            edit_rate: true,
            edit_export: true,
        }
    }
}

/// A Kimai user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Id.
    pub id: u64,
    /// Username.
    pub username: String,
    /// Display name.
    pub alias: Option<String>,
    /// E-mail.
    pub email: String,
    /// Whether the account is enabled.
    pub enabled: bool,
    /// Time zone (entries are stored and shown in it).
    pub timezone: Tz,
    /// Language.
    pub language: String,
    /// Hourly rate used to compute `rate`.
    pub hourly_rate: f64,
    /// Permissions.
    pub permissions: Permissions,
}

/// A Kimai customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Number.
    pub number: String,
    /// Visible.
    pub visible: bool,
    /// Billable.
    pub billable: bool,
    /// ISO 4217 code its timesheets are billed in.
    pub currency: String,
}

/// What a Kimai rate belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateOwner {
    /// `/api/customers/{id}/rates`.
    Customer(u64),
    /// `/api/projects/{id}/rates`.
    Project(u64),
    /// `/api/activities/{id}/rates`.
    Activity(u64),
}

impl RateOwner {
    /// Kimai's score of the rate kind (customer 1, project 3, activity 5).
    fn score(self) -> u8 {
        match self {
            RateOwner::Customer(_) => 1,
            RateOwner::Project(_) => 3,
            RateOwner::Activity(_) => 5,
        }
    }
}

/// A Kimai rate of a customer, project or activity, for everyone or one user.
#[derive(Debug, Clone, PartialEq)]
pub struct RateDef {
    /// Id (unique per owner kind in Kimai; unique overall here).
    pub id: u64,
    /// What it belongs to.
    pub owner: RateOwner,
    /// Only for this user.
    pub user: Option<u64>,
    /// The rate (hourly, or per timesheet when `fixed`).
    pub rate: f64,
    /// The internal rate, if set.
    pub internal_rate: Option<f64>,
    /// A fixed rate per timesheet instead of an hourly one.
    pub fixed: bool,
}

/// A Kimai project.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Customer id.
    pub customer: u64,
    /// Number.
    pub number: String,
    /// Whether global activities may be used.
    pub global_activities: bool,
    /// Visible.
    pub visible: bool,
    /// Billable.
    pub billable: bool,
    /// First day it can be booked on.
    pub start: Option<NaiveDate>,
    /// Last day it can be booked on.
    pub end: Option<NaiveDate>,
}

/// A Kimai activity.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Project id, `None` for a global activity.
    pub project: Option<u64>,
    /// Visible.
    pub visible: bool,
    /// Billable.
    pub billable: bool,
}

/// A Kimai tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Color.
    pub color: Option<String>,
    /// Visible.
    pub visible: bool,
}

/// A Kimai timesheet as stored (instants in UTC plus the zone it is shown in).
#[derive(Debug, Clone, PartialEq)]
pub struct Timesheet {
    /// Id.
    pub id: u64,
    /// User id.
    pub user: u64,
    /// Project id.
    pub project: u64,
    /// Activity id.
    pub activity: u64,
    /// Begin instant.
    pub begin: DateTime<Utc>,
    /// End instant; `None` while running.
    pub end: Option<DateTime<Utc>>,
    /// Zone the entry is stored with (its user's zone at write time).
    pub timezone: Tz,
    /// Seconds, `None` while running.
    pub duration: Option<i64>,
    /// Description.
    pub description: Option<String>,
    /// Tag names.
    pub tags: Vec<String>,
    /// Meta fields.
    pub meta_fields: BTreeMap<String, String>,
    /// Rate.
    pub rate: f64,
    /// Internal rate.
    pub internal_rate: f64,
    /// Hourly rate.
    pub hourly_rate: f64,
    /// Fixed rate.
    pub fixed_rate: Option<f64>,
    /// Exported (locked for users without `edit_exported`).
    pub exported: bool,
    /// Billable.
    pub billable: bool,
    /// Break in seconds.
    pub break_secs: i64,
    /// Creation time (not exposed).
    pub created_at: DateTime<Utc>,
    /// Last modification time (not exposed; used by `modified_after`).
    pub modified_at: DateTime<Utc>,
}

impl Timesheet {
    /// Recomputes duration and rate from begin/end and the rates.
    pub(crate) fn recompute(&mut self) {
        self.duration = self
            .end
            .map(|e| (e - self.begin).num_seconds() - self.break_secs);
        let rate = match (self.fixed_rate, self.duration) {
            (Some(f), _) => f,
            (None, Some(d)) => (self.hourly_rate * d as f64 / 3600.0 * 100.0).round() / 100.0,
            (None, None) => 0.0,
        };
        self.rate = rate;
        self.internal_rate = rate;
    }
}

/// Input of [`KimaiControl::insert_timesheet`]: a timesheet created directly (as in the
/// Kimai UI), without API validation or rounding.
#[derive(Debug, Clone)]
pub struct NewTimesheet {
    /// User id (the entry takes this user's zone).
    pub user: u64,
    /// Project id.
    pub project: u64,
    /// Activity id.
    pub activity: u64,
    /// Begin.
    pub begin: DateTime<Utc>,
    /// End (`None` = running).
    pub end: Option<DateTime<Utc>>,
    /// Description.
    pub description: Option<String>,
    /// Tag names (unknown ones are created).
    pub tags: Vec<String>,
    /// Exported flag.
    pub exported: bool,
    /// Billable flag; `None` = computed from customer, project and activity.
    pub billable: Option<bool>,
}

/// Input of [`KimaiControl::add_user`].
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Username.
    pub username: String,
    /// E-mail.
    pub email: String,
    /// Time zone.
    pub timezone: Tz,
    /// Permissions.
    pub permissions: Permissions,
}

/// Input of [`KimaiControl::add_project`].
#[derive(Debug, Clone)]
pub struct NewProject {
    /// Name.
    pub name: String,
    /// Customer id.
    pub customer: u64,
    /// Whether global activities may be used.
    pub global_activities: bool,
    /// Billable.
    pub billable: bool,
    /// First bookable day.
    pub start: Option<NaiveDate>,
    /// Last bookable day.
    pub end: Option<NaiveDate>,
}

#[derive(Debug)]
pub(crate) struct KState {
    pub users: BTreeMap<u64, User>,
    pub tokens: HashMap<String, u64>,
    pub customers: BTreeMap<u64, Customer>,
    pub projects: BTreeMap<u64, Project>,
    pub activities: BTreeMap<u64, Activity>,
    pub tags: BTreeMap<u64, Tag>,
    /// Timesheets keyed by (begin, id), so list queries are ordered range scans.
    pub sheets: BTreeMap<(DateTime<Utc>, u64), Timesheet>,
    /// Begin of each timesheet id, to find it in `sheets`.
    pub begin_of: HashMap<u64, DateTime<Utc>>,
    pub next_timesheet: u64,
    pub lockdown_before: Option<DateTime<Utc>>,
    pub meta_fields: HashSet<String>,
    pub tracking_mode: String,
    pub rates: Vec<RateDef>,
}

/// Rates of the seed, so that a money report has something to price: customer 1 at
/// 95.00 an hour, project 3 at 120.00, the second global activity at 140.00 and, for the
/// first agent's user, 150.00. Entries elsewhere fall back to the user's own rate (80.00).
fn seed_rates(st: &mut KState) {
    let mut rates = Vec::new();
    if st.customers.contains_key(&1) {
        rates.push((RateOwner::Customer(1), None, 95.0));
    }
    if st.projects.contains_key(&3) {
        rates.push((RateOwner::Project(3), None, 120.0));
    }
    if let Some(a) = st
        .activities
        .values()
        .filter(|a| a.project.is_none())
        .nth(1)
    {
        rates.push((RateOwner::Activity(a.id), None, 140.0));
        if let Some(u) = st.users.keys().find(|&&u| u != API_USER_ID) {
            rates.push((RateOwner::Activity(a.id), Some(*u), 150.0));
        }
    }
    for (i, (owner, user, rate)) in rates.into_iter().enumerate() {
        st.rates.push(RateDef {
            id: i as u64 + 1,
            owner,
            user,
            rate,
            internal_rate: None,
            fixed: false,
        });
    }
}

fn next_id<T>(map: &BTreeMap<u64, T>) -> u64 {
    map.keys().next_back().map_or(1, |k| k + 1)
}

fn date(d: Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| json!(d.format("%Y-%m-%d").to_string()))
}

impl KState {
    /// The rate Kimai applies to a timesheet of `user` on `project` / `activity`: of the
    /// rates of its customer, project and activity that are general or for `user`, the
    /// one with the highest score (customer 1, project 3, activity 5, one more for a
    /// user's own rate); on a tie the later one, as Kimai keeps the last one sorted in.
    pub fn best_rate(&self, user: u64, project: u64, activity: u64) -> Option<&RateDef> {
        let customer = self.projects.get(&project).map(|p| p.customer);
        let mut best: Option<(u8, &RateDef)> = None;
        for r in &self.rates {
            let applies = match r.owner {
                RateOwner::Customer(c) => Some(c) == customer,
                RateOwner::Project(p) => p == project,
                RateOwner::Activity(a) => a == activity,
            };
            if !applies || r.user.is_some_and(|u| u != user) {
                continue;
            }
            let score = r.owner.score() + u8::from(r.user.is_some());
            if best.is_none_or(|(s, _)| score >= s) {
                best = Some((score, r));
            }
        }
        best.map(|(_, r)| r)
    }

    /// The rates of `owner`, as `GET /api/{customers,projects,activities}/{id}/rates`.
    pub fn rates_json(&self, owner: RateOwner) -> Value {
        let list: Vec<Value> = self
            .rates
            .iter()
            .filter(|r| r.owner == owner)
            .map(|r| {
                json!({
                    "id": r.id,
                    "user": r.user.and_then(|u| self.users.get(&u)).map(|u| self.user_json(u)),
                    "rate": r.rate,
                    "internalRate": r.internal_rate,
                    "isFixed": r.fixed,
                })
            })
            .collect();
        Value::Array(list)
    }

    pub fn tag_id(&self, name: &str) -> Option<u64> {
        self.tags.values().find(|t| t.name == name).map(|t| t.id)
    }

    pub fn insert_timesheet(&mut self, t: Timesheet) {
        self.next_timesheet = self.next_timesheet.max(t.id + 1);
        if let Some(old) = self.begin_of.insert(t.id, t.begin) {
            self.sheets.remove(&(old, t.id));
        }
        self.sheets.insert((t.begin, t.id), t);
    }

    pub fn remove_timesheet(&mut self, id: u64) -> Option<Timesheet> {
        let begin = self.begin_of.remove(&id)?;
        self.sheets.remove(&(begin, id))
    }

    /// The timesheet with this id.
    pub fn sheet(&self, id: u64) -> Option<&Timesheet> {
        let begin = self.begin_of.get(&id)?;
        self.sheets.get(&(*begin, id))
    }

    /// Billable as Kimai computes it in auto mode.
    pub fn auto_billable(&self, project: u64, activity: u64) -> bool {
        let p = self.projects.get(&project);
        let c = p.and_then(|p| self.customers.get(&p.customer));
        let a = self.activities.get(&activity);
        p.is_none_or(|p| p.billable) && c.is_none_or(|c| c.billable) && a.is_none_or(|a| a.billable)
    }

    pub fn user_json(&self, u: &User) -> Value {
        json!({
            "id": u.id,
            "username": u.username,
            "alias": u.alias,
            "title": null,
            "email": u.email,
            "enabled": u.enabled,
            "timezone": u.timezone.name(),
            "language": u.language,
            "color": null,
            "initials": u.alias.as_deref().map(initials).unwrap_or_default(),
            "accountNumber": null,
            "avatar": null,
            "roles": if u.permissions.view_other { vec!["ROLE_ADMIN"] } else { vec!["ROLE_USER"] },
            "memberships": [],
            "teams": [],
            "apiToken": true,
            "supervisor": null,
        })
    }

    /// A user as the single-entity view shows it (`/api/users/me`, `/api/users/{id}`):
    /// with the preferences, among them the user's own `hourly_rate`.
    pub fn user_entity_json(&self, u: &User) -> Value {
        let mut v = self.user_json(u);
        v["preferences"] = json!([
            {"name": "hourly_rate", "value": u.hourly_rate.to_string()},
            {"name": "timezone", "value": u.timezone.name()},
            {"name": "language", "value": u.language},
        ]);
        v
    }

    pub fn customer_json(&self, c: &Customer) -> Value {
        json!({
            "id": c.id,
            "name": c.name,
            "number": c.number,
            "comment": null,
            "visible": c.visible,
            "billable": c.billable,
            "currency": c.currency,
            "color": null,
            "metaFields": [],
            "teams": [],
            "country": "DE",
            "timezone": "Europe/Berlin",
        })
    }

    pub fn project_json(&self, p: &Project, nested_customer: bool) -> Value {
        let customer = if nested_customer {
            self.customers
                .get(&p.customer)
                .map_or(Value::Null, |c| self.customer_json(c))
        } else {
            json!(p.customer)
        };
        let parent = self.customers.get(&p.customer).map(|c| c.name.clone());
        json!({
            "id": p.id,
            "name": p.name,
            "customer": customer,
            "parentTitle": parent,
            "number": p.number,
            "orderNumber": null,
            "orderDate": null,
            "comment": null,
            "start": date(p.start),
            "end": date(p.end),
            "globalActivities": p.global_activities,
            "visible": p.visible,
            "billable": p.billable,
            "color": null,
            "metaFields": [],
            "teams": [],
        })
    }

    pub fn activity_json(&self, a: &Activity) -> Value {
        let parent = a
            .project
            .and_then(|p| self.projects.get(&p))
            .map(|p| p.name.clone());
        json!({
            "id": a.id,
            "name": a.name,
            "project": a.project,
            "parentTitle": parent,
            "number": null,
            "comment": null,
            "visible": a.visible,
            "billable": a.billable,
            "color": null,
            "metaFields": [],
            "teams": [],
        })
    }

    pub fn tag_json(t: &Tag) -> Value {
        json!({"id": t.id, "name": t.name, "color": t.color, "visible": t.visible})
    }

    /// A timesheet as JSON. `tz` = zone to render in; `full` expands relations;
    /// `entity` adds `fixedRate`/`hourlyRate` (the single-entity view).
    pub fn timesheet_json(
        &self,
        t: &Timesheet,
        tz: Tz,
        full: bool,
        entity: bool,
        view_rate: bool,
    ) -> Value {
        let mut m = serde_json::Map::new();
        if full {
            m.insert(
                "activity".into(),
                self.activities
                    .get(&t.activity)
                    .map_or(Value::Null, |a| self.activity_json(a)),
            );
            m.insert(
                "project".into(),
                self.projects
                    .get(&t.project)
                    .map_or(Value::Null, |p| self.project_json(p, true)),
            );
            m.insert(
                "user".into(),
                self.users
                    .get(&t.user)
                    .map_or(Value::Null, |u| self.user_json(u)),
            );
        } else {
            m.insert("activity".into(), json!(t.activity));
            m.insert("project".into(), json!(t.project));
            m.insert("user".into(), json!(t.user));
        }
        m.insert("tags".into(), json!(t.tags));
        m.insert("id".into(), json!(t.id));
        m.insert("begin".into(), json!(time::format(t.begin, tz)));
        m.insert("end".into(), json!(t.end.map(|e| time::format(e, tz))));
        m.insert("duration".into(), json!(t.duration));
        m.insert("description".into(), json!(t.description));
        if view_rate {
            m.insert("rate".into(), json!(t.rate));
            m.insert("internalRate".into(), json!(t.internal_rate));
            if entity || full {
                m.insert("fixedRate".into(), json!(t.fixed_rate));
                m.insert("hourlyRate".into(), json!(t.hourly_rate));
            }
        }
        m.insert("exported".into(), json!(t.exported));
        m.insert("billable".into(), json!(t.billable));
        let meta: Vec<Value> = t
            .meta_fields
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        m.insert("metaFields".into(), json!(meta));
        m.insert("break".into(), json!(t.break_secs));
        Value::Object(m)
    }
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect()
}

/// Cloneable handle on a Kimai simulator's state, clock, faults and request log.
#[derive(Debug, Clone)]
pub struct KimaiControl {
    pub(crate) state: Arc<Mutex<KState>>,
    pub(crate) clock: Clock,
    pub(crate) infra: Infra,
    pub(crate) main_token: String,
}

/// The id of the API user the main token belongs to initially.
pub const API_USER_ID: u64 = 1;

impl KimaiControl {
    pub(crate) fn new(opts: &SimOptions) -> Self {
        let now = opts.now.unwrap_or_else(default_now);
        let clock = if opts.running_clock {
            Clock::running(now)
        } else {
            Clock::fixed(now)
        };
        let mut st = KState {
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            customers: BTreeMap::new(),
            projects: BTreeMap::new(),
            activities: BTreeMap::new(),
            tags: BTreeMap::new(),
            sheets: BTreeMap::new(),
            begin_of: HashMap::new(),
            next_timesheet: 1,
            lockdown_before: None,
            meta_fields: HashSet::new(),
            tracking_mode: "default".to_owned(),
            rates: Vec::new(),
        };
        st.users.insert(
            API_USER_ID,
            User {
                id: API_USER_ID,
                username: "timebridge".to_owned(),
                alias: Some("timebridge API".to_owned()),
                email: "timebridge@kimai.example".to_owned(),
                enabled: true,
                timezone: chrono_tz::Europe::Berlin,
                language: "en".to_owned(),
                hourly_rate: 0.0,
                permissions: Permissions::api(),
            },
        );
        st.tokens.insert(opts.token.clone(), API_USER_ID);
        let data = seed::generate(opts.seed, opts.rng_seed, now);
        for (i, org) in data.organizations.iter().enumerate() {
            let id = i as u64 + 1;
            st.customers.insert(
                id,
                Customer {
                    id,
                    name: org.name.clone(),
                    number: format!("C-{:04}", id),
                    visible: true,
                    billable: org.billable,
                    currency: "EUR".to_owned(),
                },
            );
            st.projects.insert(
                id,
                Project {
                    id,
                    name: org.name.clone(),
                    customer: id,
                    number: format!("P-{:04}", id),
                    global_activities: org.global_activities,
                    visible: true,
                    billable: true,
                    start: org.project_start,
                    end: org.project_end,
                },
            );
        }
        for (i, a) in data.activities.iter().enumerate() {
            let id = i as u64 + 1;
            st.activities.insert(
                id,
                Activity {
                    id,
                    name: a.name.clone(),
                    project: a.project.map(|p| p as u64 + 1),
                    visible: true,
                    billable: a.billable,
                },
            );
        }
        for (i, name) in data.tags.iter().enumerate() {
            let id = i as u64 + 1;
            st.tags.insert(
                id,
                Tag {
                    id,
                    name: name.clone(),
                    color: None,
                    visible: true,
                },
            );
        }
        for agent in data.agents.iter().filter(|a| a.kimai_user) {
            let id = next_id(&st.users);
            st.users.insert(
                id,
                User {
                    id,
                    username: agent.login.clone(),
                    alias: Some(format!("{} {}", agent.firstname, agent.lastname)),
                    email: agent.email.clone(),
                    enabled: true,
                    timezone: agent.timezone,
                    language: "en".to_owned(),
                    hourly_rate: 80.0,
                    permissions: Permissions::user(),
                },
            );
        }
        seed_rates(&mut st);
        Self {
            state: Arc::new(Mutex::new(st)),
            clock,
            infra: Infra::new(opts.rng_seed, opts.latency, Flavor::Kimai),
            main_token: opts.token.clone(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, KState> {
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

    /// Changes the latency added to every request (before it is handled).
    pub fn set_latency(&self, latency: Duration) {
        self.infra.set_latency(latency);
    }

    /// The latency currently added to every request.
    pub fn latency(&self) -> Duration {
        self.infra.latency()
    }

    /// The user the main token belongs to.
    pub fn api_user(&self) -> User {
        let st = self.lock();
        let id = st
            .tokens
            .get(&self.main_token)
            .copied()
            .unwrap_or(API_USER_ID);
        st.users[&id].clone()
    }

    /// Makes the main token belong to `user_id`.
    pub fn set_api_user(&self, user_id: u64) -> Result<(), SimError> {
        let mut st = self.lock();
        if !st.users.contains_key(&user_id) {
            return Err(SimError::NotFound(format!("user {user_id}")));
        }
        st.tokens.insert(self.main_token.clone(), user_id);
        Ok(())
    }

    /// Adds another API token, belonging to `user_id`.
    pub fn add_token(&self, token: &str, user_id: u64) -> Result<(), SimError> {
        let mut st = self.lock();
        if !st.users.contains_key(&user_id) {
            return Err(SimError::NotFound(format!("user {user_id}")));
        }
        st.tokens.insert(token.to_owned(), user_id);
        Ok(())
    }

    /// Replaces a user's permissions.
    pub fn set_permissions(&self, user_id: u64, permissions: Permissions) -> Result<(), SimError> {
        let mut st = self.lock();
        let u = st
            .users
            .get_mut(&user_id)
            .ok_or_else(|| SimError::NotFound(format!("user {user_id}")))?;
        u.permissions = permissions;
        Ok(())
    }

    /// Changes a user's time zone (existing entries keep the zone they were stored with).
    pub fn set_user_timezone(&self, user_id: u64, tz: Tz) -> Result<(), SimError> {
        let mut st = self.lock();
        let u = st
            .users
            .get_mut(&user_id)
            .ok_or_else(|| SimError::NotFound(format!("user {user_id}")))?;
        u.timezone = tz;
        Ok(())
    }

    /// Adds a user.
    pub fn add_user(&self, new: NewUser) -> User {
        let mut st = self.lock();
        let id = next_id(&st.users);
        let u = User {
            id,
            alias: Some(new.username.clone()),
            username: new.username,
            email: new.email,
            enabled: true,
            timezone: new.timezone,
            language: "en".to_owned(),
            hourly_rate: 80.0,
            permissions: new.permissions,
        };
        st.users.insert(id, u.clone());
        u
    }

    /// All users by id.
    pub fn users(&self) -> Vec<User> {
        self.lock().users.values().cloned().collect()
    }

    /// The user with this e-mail (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Option<User> {
        self.lock()
            .users
            .values()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .cloned()
    }

    /// Adds a visible customer.
    pub fn add_customer(&self, name: &str, billable: bool) -> Customer {
        let mut st = self.lock();
        let id = next_id(&st.customers);
        let c = Customer {
            id,
            name: name.to_owned(),
            number: format!("C-{id:04}"),
            visible: true,
            billable,
            currency: "EUR".to_owned(),
        };
        st.customers.insert(id, c.clone());
        c
    }

    /// Adds a visible project.
    pub fn add_project(&self, new: NewProject) -> Result<Project, SimError> {
        let mut st = self.lock();
        if !st.customers.contains_key(&new.customer) {
            return Err(SimError::NotFound(format!("customer {}", new.customer)));
        }
        let id = next_id(&st.projects);
        let p = Project {
            id,
            name: new.name,
            customer: new.customer,
            number: format!("P-{id:04}"),
            global_activities: new.global_activities,
            visible: true,
            billable: new.billable,
            start: new.start,
            end: new.end,
        };
        st.projects.insert(id, p.clone());
        Ok(p)
    }

    /// Adds a visible activity (global when `project` is `None`).
    pub fn add_activity(&self, name: &str, project: Option<u64>, billable: bool) -> Activity {
        let mut st = self.lock();
        let id = next_id(&st.activities);
        let a = Activity {
            id,
            name: name.to_owned(),
            project,
            visible: true,
            billable,
        };
        st.activities.insert(id, a.clone());
        a
    }

    /// Adds a tag (or returns the existing one with that name).
    pub fn add_tag(&self, name: &str) -> Tag {
        let mut st = self.lock();
        if let Some(id) = st.tag_id(name) {
            return st.tags[&id].clone();
        }
        let id = next_id(&st.tags);
        let t = Tag {
            id,
            name: name.to_owned(),
            color: None,
            visible: true,
        };
        st.tags.insert(id, t.clone());
        t
    }

    /// Adds a rate to a customer, project or activity (for everyone or one user).
    pub fn add_rate(&self, owner: RateOwner, user: Option<u64>, rate: f64, fixed: bool) -> RateDef {
        let mut st = self.lock();
        let id = st.rates.iter().map(|r| r.id).max().unwrap_or(0) + 1;
        let r = RateDef {
            id,
            owner,
            user,
            rate,
            internal_rate: None,
            fixed,
        };
        st.rates.push(r.clone());
        r
    }

    /// Every rate.
    pub fn rates(&self) -> Vec<RateDef> {
        self.lock().rates.clone()
    }

    /// The rate Kimai applies to a timesheet of `user` on `project` / `activity`.
    pub fn best_rate(&self, user: u64, project: u64, activity: u64) -> Option<RateDef> {
        self.lock().best_rate(user, project, activity).cloned()
    }

    /// Sets the currency a customer is billed in.
    pub fn set_customer_currency(&self, customer: u64, currency: &str) -> Result<(), SimError> {
        let mut st = self.lock();
        let c = st
            .customers
            .get_mut(&customer)
            .ok_or_else(|| SimError::NotFound(format!("customer {customer}")))?;
        c.currency = currency.to_owned();
        Ok(())
    }

    /// All customers.
    pub fn customers(&self) -> Vec<Customer> {
        self.lock().customers.values().cloned().collect()
    }

    /// All projects.
    pub fn projects(&self) -> Vec<Project> {
        self.lock().projects.values().cloned().collect()
    }

    /// Changes a project as an admin would in Kimai's project form.
    pub fn edit_project(&self, id: u64, f: impl FnOnce(&mut Project)) -> Result<Project, SimError> {
        let mut st = self.lock();
        let p = st
            .projects
            .get_mut(&id)
            .ok_or_else(|| SimError::NotFound(format!("project {id}")))?;
        f(p);
        Ok(p.clone())
    }

    /// All activities.
    pub fn activities(&self) -> Vec<Activity> {
        self.lock().activities.values().cloned().collect()
    }

    /// All tags.
    pub fn tags(&self) -> Vec<Tag> {
        self.lock().tags.values().cloned().collect()
    }

    /// Number of tags.
    pub fn tag_count(&self) -> usize {
        self.lock().tags.len()
    }

    /// Inserts a timesheet directly (no validation, no rounding), stored in its user's
    /// zone; modified now.
    pub fn insert_timesheet(&self, new: NewTimesheet) -> Result<Timesheet, SimError> {
        let now = self.clock.now();
        for name in &new.tags {
            self.add_tag(name);
        }
        let mut st = self.lock();
        let user = st
            .users
            .get(&new.user)
            .ok_or_else(|| SimError::NotFound(format!("user {}", new.user)))?
            .clone();
        if !st.projects.contains_key(&new.project) {
            return Err(SimError::NotFound(format!("project {}", new.project)));
        }
        if !st.activities.contains_key(&new.activity) {
            return Err(SimError::NotFound(format!("activity {}", new.activity)));
        }
        let id = st.next_timesheet;
        let mut t = Timesheet {
            id,
            user: new.user,
            project: new.project,
            activity: new.activity,
            begin: new.begin,
            end: new.end,
            timezone: user.timezone,
            duration: None,
            description: new.description,
            tags: new.tags,
            meta_fields: BTreeMap::new(),
            rate: 0.0,
            internal_rate: 0.0,
            hourly_rate: user.hourly_rate,
            fixed_rate: None,
            exported: new.exported,
            billable: new
                .billable
                .unwrap_or_else(|| st.auto_billable(new.project, new.activity)),
            break_secs: 0,
            created_at: now,
            modified_at: now,
        };
        t.recompute();
        st.insert_timesheet(t.clone());
        Ok(t)
    }

    /// Edits a timesheet directly, as a human in the Kimai UI would: `edit` changes the
    /// fields, then duration and rate are recomputed and `modified_at` becomes now.
    pub fn edit_timesheet(
        &self,
        id: u64,
        edit: impl FnOnce(&mut Timesheet),
    ) -> Result<Timesheet, SimError> {
        let now = self.clock.now();
        let mut st = self.lock();
        let mut t = st
            .sheet(id)
            .cloned()
            .ok_or_else(|| SimError::NotFound(format!("timesheet {id}")))?;
        edit(&mut t);
        t.id = id;
        t.recompute();
        t.modified_at = now;
        st.insert_timesheet(t.clone());
        Ok(t)
    }

    /// Marks a timesheet exported (or not).
    pub fn set_exported(&self, id: u64, exported: bool) -> Result<Timesheet, SimError> {
        self.edit_timesheet(id, |t| t.exported = exported)
    }

    /// Deletes a timesheet.
    pub fn delete_timesheet(&self, id: u64) -> Result<Timesheet, SimError> {
        self.lock()
            .remove_timesheet(id)
            .ok_or_else(|| SimError::NotFound(format!("timesheet {id}")))
    }

    /// One timesheet.
    pub fn timesheet(&self, id: u64) -> Option<Timesheet> {
        self.lock().sheet(id).cloned()
    }

    /// All timesheets by id.
    pub fn timesheets(&self) -> Vec<Timesheet> {
        let mut all: Vec<Timesheet> = self.lock().sheets.values().cloned().collect();
        all.sort_by_key(|t| t.id);
        all
    }

    /// Number of timesheets.
    pub fn timesheet_count(&self) -> usize {
        self.lock().sheets.len()
    }

    /// Locks every entry that begins before `before` (a lockdown period); `None` unlocks.
    pub fn set_lockdown(&self, before: Option<DateTime<Utc>>) {
        self.lock().lockdown_before = before;
    }

    /// Makes `PATCH /api/timesheets/{id}/meta` accept the meta field `name`.
    pub fn configure_meta_field(&self, name: &str) {
        self.lock().meta_fields.insert(name.to_owned());
    }

    /// Sets the tracking mode (`default`, `punch`, `duration_fixed_begin`, ...). In `punch`
    /// and `duration_fixed_begin` users without `edit_other` cannot send begin/end.
    pub fn set_tracking_mode(&self, mode: &str) {
        self.lock().tracking_mode = mode.to_owned();
    }
}
