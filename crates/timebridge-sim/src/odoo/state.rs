//! The Odoo simulator's state behind a control handle: configuration, the database as
//! recorded on a fresh 18.0 install (or seeded to match the Zammad/Kimai seeds), the login
//! cooldown of the web login route, and typed views and edits for tests.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use super::models::{Auth, Db, Env, Rights, parse_stored_date, parse_stored_dt};
use super::orm::{DATETIME_FORMAT, OdooError};
use crate::faults::{Flavor, Infra};
use crate::seed::{self, Seed};
use crate::{Clock, Faults, RequestLog, SimError, SimOptions, default_now};

/// The administrator's uid (uid 1 is the inactive `__system__` user).
pub const ADMIN_UID: i64 = 2;
/// The administrator's employee.
pub const ADMIN_EMPLOYEE: i64 = 1;

/// Choices of the simulated server beyond [`SimOptions`].
#[derive(Debug, Clone)]
pub struct OdooConfig {
    /// The database name (`tb_odoo18` in the recordings).
    pub database: String,
    /// The administrator's login.
    pub login: String,
    /// The administrator's password (the API key is [`SimOptions::token`]).
    pub password: String,
    /// Failed logins before `/web/session/authenticate` cools down (`base.login_cooldown_after`,
    /// 10 in a new 18.0 database).
    pub cooldown_after: u32,
    /// Length of the cooldown (`base.login_cooldown_duration`).
    pub cooldown: chrono::Duration,
    /// UNCONFIRMED by the recordings (the code says no): whether failed `/jsonrpc`
    /// logins count towards the cooldown and are refused during it.
    pub jsonrpc_cooldown: bool,
    /// Whether the Invoicing (`account`) module is installed, which adds `ref` to
    /// analytic lines (not recorded).
    pub account_module: bool,
}

impl Default for OdooConfig {
    fn default() -> Self {
        OdooConfig {
            database: "tb_odoo18".into(),
            login: "admin".into(),
            password: "timebridge-sim-password".into(),
            cooldown_after: 10,
            cooldown: chrono::Duration::seconds(60),
            jsonrpc_cooldown: false,
            account_module: false,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Cooldown {
    pub failures: u32,
    pub last: Option<DateTime<Utc>>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub db: Db,
    pub cooldown: Cooldown,
}

/// Cloneable handle on the simulator: data, faults, request log, clock.
#[derive(Debug, Clone)]
pub struct OdooControl {
    pub(crate) inner: Arc<Mutex<Inner>>,
    pub(crate) infra: Infra,
    pub(crate) clock: Clock,
    pub(crate) config: Arc<OdooConfig>,
}

/// An employee as tests see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Employee {
    /// Odoo field `id`.
    pub id: i64,
    /// Odoo field `name`.
    pub name: String,
    /// Odoo field `work_email`.
    pub work_email: Option<String>,
    /// Odoo field `user_id`.
    pub user_id: Option<i64>,
    /// Odoo field `active`.
    pub active: bool,
    /// Odoo field `tz`.
    pub tz: Option<String>,
}

/// A project as tests see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Odoo field `id`.
    pub id: i64,
    /// Odoo field `name`.
    pub name: String,
    /// Odoo field `active`.
    pub active: bool,
    /// Odoo field `allow_timesheets`.
    pub allow_timesheets: bool,
    /// Odoo field `account_id`.
    pub account_id: Option<i64>,
}

/// A task as tests see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Odoo field `id`.
    pub id: i64,
    /// Odoo field `name`.
    pub name: String,
    /// Odoo field `project_id`.
    pub project_id: Option<i64>,
}

/// An attendance (naive UTC instants, as Odoo stores them).
#[derive(Debug, Clone, PartialEq)]
pub struct Attendance {
    /// Odoo field `id`.
    pub id: i64,
    /// Odoo field `employee_id`.
    pub employee_id: i64,
    /// Odoo field `check_in`.
    pub check_in: NaiveDateTime,
    /// Odoo field `check_out`.
    pub check_out: Option<NaiveDateTime>,
}

/// A timesheet line (`account.analytic.line` with a project).
#[derive(Debug, Clone, PartialEq)]
pub struct Timesheet {
    /// Odoo field `id`.
    pub id: i64,
    /// Odoo field `name`.
    pub name: String,
    /// Odoo field `date`.
    pub date: NaiveDate,
    /// Odoo field `unit_amount`.
    pub unit_amount: f64,
    /// Odoo field `project_id`.
    pub project_id: Option<i64>,
    /// Odoo field `task_id`.
    pub task_id: Option<i64>,
    /// Odoo field `employee_id`.
    pub employee_id: Option<i64>,
}

fn row(pairs: Value) -> Map<String, Value> {
    match pairs {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The database of a fresh 18.0 install with `hr_attendance` and `hr_timesheet`, as the
/// recordings show it: users 1 (`__system__`, inactive) to 5, the administrator (uid 2)
/// with employee 1, company 1 "My Company", project 1 "Internal" with its analytic
/// account and the tasks "Training" and "Meeting". Analytic line ids start at 3 (the
/// install used 1 and 2).
fn fresh_database(config: &OdooConfig, api_key: &str, now: DateTime<Utc>) -> Db {
    let mut db = Db {
        with_ref: config.account_module,
        ..Db::default()
    };
    let stamp = json!(now.naive_utc().format(DATETIME_FORMAT).to_string());
    let put = |db: &mut Db, model: &'static str, id: i64, fields: Value| {
        let mut r = row(fields);
        r.insert("create_date".into(), stamp.clone());
        r.insert("write_date".into(), stamp.clone());
        let t = db.table_mut(model);
        t.rows.insert(id, r);
        t.next_id = t.next_id.max(id + 1);
    };
    put(&mut db, "res.company", 1, json!({"name": "My Company"}));
    put(
        &mut db,
        "res.users",
        1,
        json!({"name": "OdooBot", "login": "__system__", "active": false, "company_id": 1}),
    );
    put(
        &mut db,
        "res.users",
        2,
        json!({"name": "Administrator", "login": config.login, "active": true, "company_id": 1, "tz": null}),
    );
    put(
        &mut db,
        "res.users",
        3,
        json!({"name": "Default User Template", "login": "default", "active": false, "company_id": 1}),
    );
    put(
        &mut db,
        "res.users",
        4,
        json!({"name": "Public user", "login": "public", "active": false, "company_id": 1}),
    );
    put(
        &mut db,
        "res.users",
        5,
        json!({"name": "Portal User Template", "login": "portaltemplate", "active": false, "company_id": 1}),
    );
    put(
        &mut db,
        "hr.employee",
        1,
        json!({"name": "Administrator", "user_id": 2, "active": true, "company_id": 1, "work_email": null}),
    );
    put(&mut db, "project.task.type", 1, json!({"name": "Internal"}));
    put(
        &mut db,
        "account.analytic.account",
        1,
        json!({"name": "Internal", "active": true, "company_id": 1}),
    );
    put(
        &mut db,
        "project.project",
        1,
        json!({"name": "Internal", "active": true, "allow_timesheets": true, "account_id": 1, "company_id": 1}),
    );
    put(
        &mut db,
        "project.task",
        1,
        json!({"name": "Training", "project_id": 1, "active": true, "stage_id": 1}),
    );
    put(
        &mut db,
        "project.task",
        2,
        json!({"name": "Meeting", "project_id": 1, "active": true, "stage_id": 1}),
    );
    db.table_mut("account.analytic.line").next_id = 3;
    for model in super::orm::MODELS {
        let t = db.table_mut(model);
        t.next_id = t.next_id.max(1);
    }
    db.auth.insert(
        ADMIN_UID,
        Auth {
            password: config.password.clone(),
            api_keys: vec![api_key.to_owned()],
            rights: Rights::ALL,
        },
    );
    db
}

/// Adds the seed's people and organizations: one employee per agent (same e-mail and
/// zone), one project with timesheets per organization (same name; project id =
/// organization index + 2, after "Internal"), and in each a task per active Zammad type
/// (same name).
fn add_seed(db: &mut Db, data: &seed::SeedData, now: DateTime<Utc>) {
    let env = Env {
        uid: ADMIN_UID,
        rights: Rights::ALL,
        now,
        active_test: true,
    };
    for a in &data.agents {
        let vals = json!({"name": format!("{} {}", a.firstname, a.lastname),
            "work_email": a.email, "tz": a.timezone.name()});
        db.create(&env, "hr.employee", &[vals])
            .expect("seed employee");
    }
    for o in &data.organizations {
        let ids = db
            .create(
                &env,
                "project.project",
                &[json!({"name": o.name, "allow_timesheets": true})],
            )
            .expect("seed project");
        for (name, active) in &data.types {
            if *active {
                db.create(
                    &env,
                    "project.task",
                    &[json!({"name": name, "project_id": ids[0]})],
                )
                .expect("seed task");
            }
        }
    }
}

impl OdooControl {
    pub(crate) fn new(opts: &SimOptions, config: OdooConfig) -> Self {
        let now = opts.now.unwrap_or_else(default_now);
        let clock = if opts.running_clock {
            Clock::running(now)
        } else {
            Clock::fixed(now)
        };
        let mut db = fresh_database(&config, &opts.token, now);
        if opts.seed != Seed::Empty {
            add_seed(&mut db, &seed::generate(opts.seed, opts.rng_seed, now), now);
        }
        OdooControl {
            inner: Arc::new(Mutex::new(Inner {
                db,
                cooldown: Cooldown::default(),
            })),
            infra: Infra::new(opts.rng_seed, opts.latency, Flavor::Odoo),
            clock,
            config: Arc::new(config),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configuration the simulator runs with.
    pub fn config(&self) -> &OdooConfig {
        &self.config
    }

    /// Injected faults. Route keys name the call: `common login`,
    /// `execute_kw hr.attendance.create`, `POST /web/session/authenticate`.
    pub fn faults(&self) -> &Faults {
        &self.infra.faults
    }

    /// The request log (same route keys as [`OdooControl::faults`]).
    pub fn log(&self) -> &RequestLog {
        &self.infra.log
    }

    /// Number of logged `execute_kw` calls that write (`create`, `write`, `unlink`).
    pub fn write_count(&self) -> usize {
        self.log()
            .entries()
            .iter()
            .filter(|r| {
                r.route.starts_with("execute_kw ")
                    && [".create", ".write", ".unlink"]
                        .iter()
                        .any(|m| r.route.ends_with(m))
            })
            .count()
    }

    /// The simulator's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Forgets the failed web logins, as an Odoo restart does (the counter lives in the
    /// server process's memory).
    pub fn reset_login_failures(&self) {
        self.lock().cooldown = Cooldown::default();
    }

    /// Latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.infra.set_latency(latency);
    }

    fn admin_env(&self) -> Env {
        Env {
            uid: ADMIN_UID,
            rights: Rights::ALL,
            now: self.clock.now(),
            active_test: false,
        }
    }

    fn invalid(e: OdooError) -> SimError {
        SimError::Invalid(e.message)
    }

    /// Creates records as the administrator would over RPC (every rule applies).
    pub fn create(&self, model: &str, vals: Value) -> Result<i64, SimError> {
        let env = self.admin_env();
        let ids = self
            .lock()
            .db
            .create(&env, model, &[vals])
            .map_err(Self::invalid)?;
        Ok(ids[0])
    }

    /// Writes records as the administrator would over RPC (every rule applies).
    pub fn write(&self, model: &str, id: i64, vals: Value) -> Result<(), SimError> {
        let env = self.admin_env();
        self.lock()
            .db
            .write(&env, model, &[id], &vals)
            .map_err(Self::invalid)
    }

    /// Deletes a record (as the administrator).
    pub fn unlink(&self, model: &str, id: i64) -> Result<(), SimError> {
        let env = self.admin_env();
        self.lock()
            .db
            .unlink(&env, model, &[id])
            .map_err(|_| SimError::NotFound(format!("{model} {id}")))
    }

    /// Adds a user with `password` and `rights`; returns its uid.
    pub fn add_user(&self, login: &str, password: &str, rights: Rights) -> Result<i64, SimError> {
        let uid = self.create("res.users", json!({"name": login, "login": login}))?;
        let mut inner = self.lock();
        let auth = inner.db.auth.get_mut(&uid).expect("created with the user");
        auth.password = password.to_owned();
        auth.rights = rights;
        Ok(uid)
    }

    /// Sets a user's time zone (the zone of validation messages).
    pub fn set_user_tz(&self, uid: i64, tz: &str) -> Result<(), SimError> {
        self.write("res.users", uid, json!({"tz": tz}))
    }

    fn rows(&self, model: &str) -> Vec<(i64, Map<String, Value>)> {
        self.lock()
            .db
            .table(model)
            .map(|t| t.rows.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default()
    }

    /// Every employee, archived ones included.
    pub fn employees(&self) -> Vec<Employee> {
        self.rows("hr.employee")
            .into_iter()
            .map(|(id, r)| Employee {
                id,
                name: r["name"].as_str().unwrap_or_default().to_owned(),
                work_email: r
                    .get("work_email")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                user_id: r.get("user_id").and_then(Value::as_i64),
                active: r.get("active").and_then(Value::as_bool) != Some(false),
                tz: r.get("tz").and_then(Value::as_str).map(str::to_owned),
            })
            .collect()
    }

    /// Every project.
    pub fn projects(&self) -> Vec<Project> {
        self.rows("project.project")
            .into_iter()
            .map(|(id, r)| Project {
                id,
                name: r["name"].as_str().unwrap_or_default().to_owned(),
                active: r.get("active").and_then(Value::as_bool) != Some(false),
                allow_timesheets: r.get("allow_timesheets").and_then(Value::as_bool) == Some(true),
                account_id: r.get("account_id").and_then(Value::as_i64),
            })
            .collect()
    }

    /// Every task.
    pub fn tasks(&self) -> Vec<Task> {
        self.rows("project.task")
            .into_iter()
            .map(|(id, r)| Task {
                id,
                name: r["name"].as_str().unwrap_or_default().to_owned(),
                project_id: r.get("project_id").and_then(Value::as_i64),
            })
            .collect()
    }

    /// Every attendance, by id.
    pub fn attendances(&self) -> Vec<Attendance> {
        self.rows("hr.attendance")
            .into_iter()
            .filter_map(|(id, r)| {
                Some(Attendance {
                    id,
                    employee_id: r.get("employee_id")?.as_i64()?,
                    check_in: parse_stored_dt(r.get("check_in")?)?,
                    check_out: r.get("check_out").and_then(parse_stored_dt),
                })
            })
            .collect()
    }

    /// Every analytic line that is a timesheet (has a project), by id.
    pub fn timesheets(&self) -> Vec<Timesheet> {
        self.rows("account.analytic.line")
            .into_iter()
            .filter_map(|(id, r)| {
                Some(Timesheet {
                    id,
                    name: r.get("name")?.as_str()?.to_owned(),
                    date: parse_stored_date(r.get("date")?)?,
                    unit_amount: r.get("unit_amount").and_then(Value::as_f64).unwrap_or(0.0),
                    project_id: r.get("project_id").and_then(Value::as_i64),
                    task_id: r.get("task_id").and_then(Value::as_i64),
                    employee_id: r.get("employee_id").and_then(Value::as_i64),
                })
            })
            .collect()
    }

    /// The employee whose work e-mail is `email` (case-insensitive).
    pub fn employee_by_email(&self, email: &str) -> Option<Employee> {
        self.employees().into_iter().find(|e| {
            e.work_email
                .as_deref()
                .is_some_and(|w| w.eq_ignore_ascii_case(email))
        })
    }

    /// The project named `name`.
    pub fn project_by_name(&self, name: &str) -> Option<Project> {
        self.projects().into_iter().find(|p| p.name == name)
    }
}
