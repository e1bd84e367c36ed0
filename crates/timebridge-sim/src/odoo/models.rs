//! The simulated database and the behaviour of each model: creates, writes and unlinks
//! with the rules Odoo 18 enforces (attendance validity, timesheet checks, access rights),
//! reads with computed fields, and searches.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::orm::{
    DATETIME_FORMAT, Domain, Kind, OdooError, default_order, field, field_names, has_active,
    parse_order, sort_records, to_stored,
};

/// What a user may do beyond being an internal user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rights {
    /// Attendances / Administrator: every attendance, read and write.
    pub attendance_admin: bool,
    /// Timesheets / Administrator: every timesheet, read and write.
    pub timesheet_admin: bool,
}

impl Rights {
    /// Everything (the administrator).
    pub const ALL: Rights = Rights {
        attendance_admin: true,
        timesheet_admin: true,
    };
}

#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub password: String,
    pub api_keys: Vec<String>,
    pub rights: Rights,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub rows: BTreeMap<i64, Map<String, Value>>,
    pub next_id: i64,
}

impl Table {
    fn alloc(&mut self) -> i64 {
        self.next_id = self.next_id.max(1);
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

/// The caller of one `execute_kw`.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    pub uid: i64,
    pub rights: Rights,
    pub now: DateTime<Utc>,
    /// `context.active_test` (default true).
    pub active_test: bool,
}

/// The whole database.
#[derive(Debug, Clone, Default)]
pub(crate) struct Db {
    pub tables: BTreeMap<&'static str, Table>,
    pub auth: BTreeMap<i64, Auth>,
    /// `ref` exists on analytic lines (Invoicing installed).
    pub with_ref: bool,
}

fn s(v: &Value) -> Option<&str> {
    v.as_str()
}

fn i(v: Option<&Value>) -> Option<i64> {
    v.and_then(Value::as_i64)
}

pub(crate) fn parse_stored_dt(v: &Value) -> Option<NaiveDateTime> {
    v.as_str()
        .and_then(|t| NaiveDateTime::parse_from_str(t, DATETIME_FORMAT).ok())
}

fn stamp(now: DateTime<Utc>) -> Value {
    json!(now.naive_utc().format(DATETIME_FORMAT).to_string())
}

const ATTENDANCE_ACL: &str = "You are not allowed to create 'Attendance' (hr.attendance) records.\n\nThis operation is allowed for the following groups:\n\t- Attendances/Administrator\n\t- Technical/Officer: Manage attendances\n\nContact your administrator to request access if necessary.";
const LINE_ACL: &str = "You are not allowed to create 'Analytic Line' (account.analytic.line) records.\n\nThis operation is allowed for the following groups:\n\t- Project/Administrator\n\t- Technical/Analytic Accounting\n\t- Timesheets/User: own timesheets only\n\nContact your administrator to request access if necessary.";

fn record_rule_error(user: &str, uid: i64, op: &str, label: &str, model: &str) -> OdooError {
    OdooError::access(format!(
        "Uh-oh! Looks like you have stumbled upon some top-secret records.\n\nSorry, {user} (id={uid}) doesn't have '{op}' access to:\n- {label} ({model})\n\nIf you really, really need access, perhaps you can win over your friendly administrator with a batch of freshly baked cookies."
    ))
}

fn acl_error(op: &str, label: &str, model: &str) -> OdooError {
    match (op, model) {
        ("create", "hr.attendance") => OdooError::access(ATTENDANCE_ACL),
        ("create", "account.analytic.line") => OdooError::access(LINE_ACL),
        _ => OdooError::access(format!(
            "You are not allowed to {verb} '{label}' ({model}) records.\n\nContact your administrator to request access if necessary.",
            verb = if op == "read" { "access" } else { op }
        )),
    }
}

/// The lunch break of the standard 40-hour calendar (local 12:00–13:00, Monday to Friday)
/// and its working hours (8 a day): what `worked_hours` deducts and `expected_hours` says.
fn lunch_overlap_hours(tz: Tz, ci: NaiveDateTime, co: NaiveDateTime) -> f64 {
    let start = Utc.from_utc_datetime(&ci).with_timezone(&tz);
    let end = Utc.from_utc_datetime(&co).with_timezone(&tz);
    let mut day = start.date_naive();
    let mut total = 0.0;
    while day <= end.date_naive() {
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            let local = |h: u32| {
                tz.from_local_datetime(&day.and_hms_opt(h, 0, 0).expect("valid hour"))
                    .earliest()
                    .map(|t| t.with_timezone(&Utc).naive_utc())
            };
            if let (Some(ls), Some(le)) = (local(12), local(13)) {
                let a = ls.max(ci);
                let b = le.min(co);
                if b > a {
                    total += (b - a).num_seconds() as f64 / 3600.0;
                }
            }
        }
        day = day.succ_opt().expect("date in range");
    }
    total
}

fn expected_hours(tz: Tz, ci: NaiveDateTime) -> f64 {
    let day = Utc.from_utc_datetime(&ci).with_timezone(&tz).date_naive();
    if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        0.0
    } else {
        8.0
    }
}

fn tz_of(v: Option<&Value>) -> Tz {
    v.and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
        .unwrap_or(Tz::UTC)
}

impl Db {
    pub fn table(&self, model: &str) -> Option<&Table> {
        self.tables.get(model)
    }

    pub fn table_mut(&mut self, model: &str) -> &mut Table {
        let key = super::orm::MODELS
            .iter()
            .find(|m| **m == model)
            .copied()
            .unwrap_or("res.partner");
        self.tables.entry(key).or_default()
    }

    pub fn row(&self, model: &str, id: i64) -> Option<&Map<String, Value>> {
        self.table(model)?.rows.get(&id)
    }

    /// The user's name and tz.
    pub fn user_name(&self, uid: i64) -> String {
        self.row("res.users", uid)
            .and_then(|r| r.get("name").and_then(s).map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn user_tz(&self, uid: i64) -> Tz {
        tz_of(self.row("res.users", uid).and_then(|r| r.get("tz")))
    }

    /// The `MM/DD/YYYY HH:MM:SS` text of `at` in the user's zone (`format_datetime`, en_US).
    pub fn format_for_user(&self, uid: i64, at: NaiveDateTime) -> String {
        Utc.from_utc_datetime(&at)
            .with_timezone(&self.user_tz(uid))
            .format("%m/%d/%Y %H:%M:%S")
            .to_string()
    }

    fn employee_of_user(&self, uid: i64) -> Option<i64> {
        self.table("hr.employee")?
            .rows
            .iter()
            .find(|(_, r)| i(r.get("user_id")) == Some(uid))
            .map(|(id, _)| *id)
    }

    fn display_name(&self, model: &str, id: i64) -> String {
        let Some(r) = self.row(model, id) else {
            return String::new();
        };
        match model {
            "hr.attendance" => self.attendance_display(r),
            _ => r
                .get("name")
                .and_then(s)
                .or_else(|| r.get("login").and_then(s))
                .unwrap_or_default()
                .to_owned(),
        }
    }

    fn attendance_display(&self, r: &Map<String, Value>) -> String {
        let tz = tz_of(
            i(r.get("employee_id"))
                .and_then(|e| self.row("hr.employee", e))
                .and_then(|e| e.get("tz")),
        );
        let fmt = |v: &Value| {
            parse_stored_dt(v)
                .map(|t| {
                    Utc.from_utc_datetime(&t)
                        .with_timezone(&tz)
                        .format("%H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default()
        };
        let worked = self.worked_hours(r);
        let minutes = (worked * 60.0).round() as i64;
        match r.get("check_out").filter(|v| !v.is_null()) {
            Some(out) => format!(
                "{:02}:{:02} ({}-{})",
                minutes / 60,
                minutes % 60,
                fmt(&r["check_in"]),
                fmt(out)
            ),
            None => format!("From {}", fmt(&r["check_in"])),
        }
    }

    fn attendance_tz(&self, r: &Map<String, Value>) -> Tz {
        tz_of(
            i(r.get("employee_id"))
                .and_then(|e| self.row("hr.employee", e))
                .and_then(|e| e.get("tz")),
        )
    }

    fn worked_hours(&self, r: &Map<String, Value>) -> f64 {
        let (Some(ci), Some(co)) = (
            r.get("check_in").and_then(parse_stored_dt),
            r.get("check_out").and_then(parse_stored_dt),
        ) else {
            return 0.0;
        };
        let gross = (co - ci).num_seconds() as f64 / 3600.0;
        gross - lunch_overlap_hours(self.attendance_tz(r), ci, co)
    }

    /// A field's value as `read` returns it.
    fn output(&self, model: &str, id: i64, r: &Map<String, Value>, name: &str) -> Value {
        match (model, name) {
            (_, "id") => return json!(id),
            (_, "display_name") => return json!(self.display_name(model, id)),
            ("hr.attendance", "worked_hours") => return json!(self.worked_hours(r)),
            ("hr.attendance", "expected_hours") => {
                return json!(
                    r.get("check_in")
                        .and_then(parse_stored_dt)
                        .map_or(0.0, |ci| expected_hours(self.attendance_tz(r), ci))
                );
            }
            ("hr.attendance", "overtime_hours") => {
                let Some(ci) = r.get("check_in").and_then(parse_stored_dt) else {
                    return json!(0.0);
                };
                if r.get("check_out").is_none_or(Value::is_null) {
                    return json!(0.0);
                }
                return json!(self.worked_hours(r) - expected_hours(self.attendance_tz(r), ci));
            }
            ("account.analytic.line", "user_id") => {
                let user = i(r.get("employee_id"))
                    .and_then(|e| self.row("hr.employee", e))
                    .and_then(|e| i(e.get("user_id")));
                return match user {
                    Some(u) => json!([u, self.display_name("res.users", u)]),
                    None => json!(false),
                };
            }
            ("res.users", "password") => return json!(""),
            _ => {}
        }
        let Some(f) = field(model, name, self.with_ref) else {
            return json!(false);
        };
        let v = r.get(name).cloned().unwrap_or(Value::Null);
        match f.kind {
            Kind::ToMany => json!([]),
            Kind::Bool => json!(v.as_bool().unwrap_or(false)),
            Kind::Float => json!(v.as_f64().unwrap_or(0.0)),
            Kind::Integer => json!(v.as_i64().unwrap_or(0)),
            Kind::Many2one(target) => match v.as_i64() {
                Some(t) => json!([t, self.display_name(target, t)]),
                None => json!(false),
            },
            _ if v.is_null() => json!(false),
            _ => v,
        }
    }

    /// Checks that `fields` exist on `model`.
    pub fn check_fields(&self, model: &str, fields: &[String]) -> Result<(), OdooError> {
        for f in fields {
            if field(model, f, self.with_ref).is_none() {
                return Err(OdooError::value(format!(
                    "Invalid field '{f}' on model '{model}'"
                )));
            }
        }
        Ok(())
    }

    /// Records `ids` as `read` gives them (missing ids skipped).
    pub fn read(
        &self,
        env: &Env,
        model: &str,
        ids: &[i64],
        fields: Option<&[String]>,
    ) -> Result<Vec<Value>, OdooError> {
        let names: Vec<String> = match fields {
            Some(f) if !f.is_empty() => {
                self.check_fields(model, f)?;
                f.to_vec()
            }
            _ => field_names(model, self.with_ref)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        };
        self.check_read_access(env, model)?;
        let mut out = Vec::new();
        for id in ids {
            let Some(r) = self.row(model, *id) else {
                continue;
            };
            if !self.visible(env, model, r) {
                return Err(record_rule_error(
                    &self.user_name(env.uid),
                    env.uid,
                    "read",
                    label_of(model),
                    model,
                ));
            }
            let mut obj = Map::new();
            obj.insert("id".into(), json!(id));
            for n in &names {
                obj.insert(n.clone(), self.output(model, *id, r, n));
            }
            out.push(Value::Object(obj));
        }
        Ok(out)
    }

    fn check_read_access(&self, env: &Env, model: &str) -> Result<(), OdooError> {
        if model == "account.analytic.line" && !env.rights.timesheet_admin {
            return Err(acl_error("read", label_of(model), model));
        }
        Ok(())
    }

    /// Record rules: users without attendance rights see only their own attendances.
    fn visible(&self, env: &Env, model: &str, r: &Map<String, Value>) -> bool {
        if model == "hr.attendance" && !env.rights.attendance_admin {
            let owner = i(r.get("employee_id"))
                .and_then(|e| self.row("hr.employee", e))
                .and_then(|e| i(e.get("user_id")));
            return owner == Some(env.uid);
        }
        true
    }

    /// Ids matching `domain`, ordered, after offset and limit.
    pub fn search(
        &self,
        env: &Env,
        model: &str,
        domain: &Value,
        offset: usize,
        limit: Option<usize>,
        order: Option<&str>,
    ) -> Result<Vec<i64>, OdooError> {
        let d = Domain::parse(domain, model, self.with_ref)?;
        let order = match order.filter(|o| !o.trim().is_empty()) {
            Some(o) => parse_order(model, o, self.with_ref)?,
            None => default_order(model),
        };
        self.check_read_access(env, model)?;
        let active_filter = env.active_test && has_active(model) && !d.mentions("active");
        let by_id = d.mentions("id");
        let Some(table) = self.table(model) else {
            return Ok(Vec::new());
        };
        let mut rows: Vec<(i64, &Map<String, Value>)> = table
            .rows
            .iter()
            .filter(|(_, r)| {
                !active_filter || r.get("active").and_then(Value::as_bool) != Some(false)
            })
            .filter(|(_, r)| self.visible(env, model, r))
            .filter(|(id, r)| {
                if by_id {
                    let mut with_id = (*r).clone();
                    with_id.insert("id".into(), json!(id));
                    d.matches(&with_id)
                } else {
                    d.matches(r)
                }
            })
            .map(|(id, r)| (*id, r))
            .collect();
        sort_records(&mut rows, &order);
        Ok(rows
            .into_iter()
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .map(|(id, _)| id)
            .collect())
    }

    fn convert(&self, model: &str, vals: &Value) -> Result<Map<String, Value>, OdooError> {
        let obj = vals
            .as_object()
            .ok_or_else(|| OdooError::type_error("values must be a dict"))?;
        let mut out = Map::new();
        for (k, v) in obj {
            let f = field(model, k, self.with_ref).ok_or_else(|| {
                OdooError::value(format!("Invalid field '{k}' on model '{model}'"))
            })?;
            if f.kind == Kind::ToMany {
                continue;
            }
            out.insert(k.clone(), to_stored(&f, v)?);
        }
        Ok(out)
    }

    /// `create` of one or several records, atomic; ids a failed insert took stay used (as
    /// PostgreSQL sequences do).
    pub fn create(
        &mut self,
        env: &Env,
        model: &str,
        vals_list: &[Value],
    ) -> Result<Vec<i64>, OdooError> {
        let backup = self.backup(model);
        let result = self.create_inner(env, model, vals_list);
        if result.is_err() {
            self.restore(backup, true);
        }
        result
    }

    /// Copies of the tables a create or write of `model` may change (its own, and the
    /// analytic accounts a project gets), for rolling back a failed call.
    fn backup(&self, model: &str) -> Vec<(&'static str, Table)> {
        let mut names = vec![model];
        if model == "project.project" {
            names.push("account.analytic.account");
        }
        names
            .into_iter()
            .filter_map(|n| {
                let key = super::orm::MODELS.iter().find(|m| **m == n).copied()?;
                Some((key, self.tables.get(key).cloned().unwrap_or_default()))
            })
            .collect()
    }

    /// Puts backed-up tables back; with `keep_ids`, the sequences stay where the failed
    /// call left them (PostgreSQL does not roll sequences back).
    fn restore(&mut self, backup: Vec<(&'static str, Table)>, keep_ids: bool) {
        for (name, mut table) in backup {
            if keep_ids {
                table.next_id = self.table_mut(name).next_id;
            }
            self.tables.insert(name, table);
        }
    }

    fn create_inner(
        &mut self,
        env: &Env,
        model: &str,
        vals_list: &[Value],
    ) -> Result<Vec<i64>, OdooError> {
        match model {
            "hr.attendance" if !env.rights.attendance_admin => {
                return Err(acl_error("create", "Attendance", model));
            }
            "account.analytic.line" if !env.rights.timesheet_admin => {
                return Err(acl_error("create", "Analytic Line", model));
            }
            _ => {}
        }
        let mut ids = Vec::new();
        // Python-side checks run before the insert; constraints after all rows are in.
        let mut prepared = Vec::new();
        for vals in vals_list {
            if model == "account.analytic.line" {
                prepared.push(Some(self.prepare_line(env, vals)?));
            } else {
                prepared.push(None);
            }
        }
        for (vals, pre) in vals_list.iter().zip(prepared) {
            let id = self.table_mut(model).alloc();
            let mut row = match pre {
                Some(row) => row,
                None => self.convert(model, vals)?,
            };
            self.apply_defaults(env, model, &mut row);
            if model == "hr.attendance" && row.get("check_out").is_some_and(|v| !v.is_null()) {
                row.insert("out_mode".into(), json!("manual"));
            }
            row.insert("create_date".into(), stamp(env.now));
            row.insert("write_date".into(), stamp(env.now));
            row.insert("create_uid".into(), json!(env.uid));
            self.table_mut(model).rows.insert(id, row);
            ids.push(id);
        }
        for id in &ids {
            self.after_create(env, model, *id)?;
            self.check_constraints(env, model, *id)?;
        }
        Ok(ids)
    }

    fn prepare_line(&self, env: &Env, vals: &Value) -> Result<Map<String, Value>, OdooError> {
        let mut row = self.convert("account.analytic.line", vals)?;
        if let Some(task) = i(row.get("task_id"))
            && i(row.get("project_id")).is_none()
        {
            match self
                .row("project.task", task)
                .and_then(|t| i(t.get("project_id")))
            {
                Some(p) => {
                    row.insert("project_id".into(), json!(p));
                }
                None => {
                    return Err(OdooError::validation(
                        "Timesheets cannot be created on a private task.",
                    ));
                }
            }
        }
        if i(row.get("project_id")).is_some() {
            let employee = i(row.get("employee_id")).or_else(|| self.employee_of_user(env.uid));
            let active = employee
                .and_then(|e| self.row("hr.employee", e))
                .is_some_and(|e| e.get("active").and_then(Value::as_bool) != Some(false));
            if !active {
                return Err(OdooError::validation(
                    "Timesheets must be created with an active employee in the selected companies.",
                ));
            }
            row.insert("employee_id".into(), json!(employee));
        }
        Ok(row)
    }

    fn apply_defaults(&self, env: &Env, model: &str, row: &mut Map<String, Value>) {
        let mut default = |k: &str, v: Value| {
            if row.get(k).is_none_or(Value::is_null) {
                row.insert(k.to_owned(), v);
            }
        };
        match model {
            "hr.attendance" => {
                default("employee_id", json!(self.employee_of_user(env.uid)));
                default("check_in", stamp(env.now));
                default("in_mode", json!("manual"));
            }
            "account.analytic.line" => {
                let today = env
                    .now
                    .with_timezone(&self.user_tz(env.uid))
                    .date_naive()
                    .format("%Y-%m-%d")
                    .to_string();
                default("date", json!(today));
                default("name", json!("/"));
                default("unit_amount", json!(0.0));
                default("amount", json!(0.0));
                default("company_id", json!(1));
            }
            "hr.employee" => {
                default("active", json!(true));
                default("company_id", json!(1));
                default(
                    "tz",
                    json!(
                        self.row("res.users", env.uid)
                            .and_then(|u| u.get("tz").cloned())
                    ),
                );
            }
            "res.users" => {
                default("active", json!(true));
                default("company_id", json!(1));
            }
            "project.project" => {
                default("active", json!(true));
                default("allow_timesheets", json!(true));
            }
            "project.task" | "account.analytic.account" => default("active", json!(true)),
            _ => {}
        }
    }

    fn after_create(&mut self, env: &Env, model: &str, id: i64) -> Result<(), OdooError> {
        match model {
            "project.project" => self.ensure_account(env, id),
            "res.users" => {
                self.auth.entry(id).or_insert(Auth {
                    password: String::new(),
                    api_keys: Vec::new(),
                    rights: Rights::default(),
                });
            }
            "account.analytic.line" => {
                let row = self.row(model, id).cloned().unwrap_or_default();
                let Some(project) = i(row.get("project_id")) else {
                    return Err(record_rule_error(
                        &self.user_name(env.uid),
                        env.uid,
                        "create",
                        "Analytic Line",
                        model,
                    ));
                };
                let account = self
                    .row("project.project", project)
                    .and_then(|p| i(p.get("account_id")));
                let Some(account) = account else {
                    return Err(OdooError::validation(
                        "At least one analytic account must be set",
                    ));
                };
                let r = self
                    .table_mut(model)
                    .rows
                    .get_mut(&id)
                    .expect("just inserted");
                r.insert("account_id".into(), json!(account));
            }
            _ => {}
        }
        Ok(())
    }

    /// A project with timesheets gets an analytic account named like it.
    fn ensure_account(&mut self, env: &Env, project: i64) {
        let Some(p) = self.row("project.project", project).cloned() else {
            return;
        };
        if p.get("allow_timesheets").and_then(Value::as_bool) == Some(true)
            && i(p.get("account_id")).is_none()
        {
            let name = p.get("name").cloned().unwrap_or(Value::Null);
            let t = self.table_mut("account.analytic.account");
            let id = t.alloc();
            let mut row = Map::new();
            row.insert("name".into(), name);
            row.insert("active".into(), json!(true));
            row.insert("company_id".into(), json!(1));
            row.insert("create_date".into(), stamp(env.now));
            row.insert("write_date".into(), stamp(env.now));
            t.rows.insert(id, row);
            if let Some(r) = self.table_mut("project.project").rows.get_mut(&project) {
                r.insert("account_id".into(), json!(id));
            }
        }
    }

    fn check_constraints(&self, env: &Env, model: &str, id: i64) -> Result<(), OdooError> {
        if model != "hr.attendance" {
            return Ok(());
        }
        let r = self.row(model, id).expect("checked record exists");
        let ci = r.get("check_in").and_then(parse_stored_dt);
        let co = r.get("check_out").and_then(parse_stored_dt);
        let (Some(ci), Some(employee)) = (ci, i(r.get("employee_id"))) else {
            return Ok(());
        };
        if co.is_some_and(|co| co < ci) {
            return Err(OdooError::validation(
                "\"Check Out\" time cannot be earlier than \"Check In\" time.",
            ));
        }
        let name = self
            .row("hr.employee", employee)
            .and_then(|e| e.get("name").and_then(s))
            .unwrap_or_default()
            .to_owned();
        let others: Vec<(i64, NaiveDateTime, Option<NaiveDateTime>)> = self
            .table(model)
            .map(|t| {
                t.rows
                    .iter()
                    .filter(|(oid, o)| **oid != id && i(o.get("employee_id")) == Some(employee))
                    .filter_map(|(oid, o)| {
                        Some((
                            *oid,
                            o.get("check_in").and_then(parse_stored_dt)?,
                            o.get("check_out").and_then(parse_stored_dt),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        // The latest other attendance with check_in <= ours ("check_in desc", ties by id).
        let latest = |pred: &dyn Fn(NaiveDateTime) -> bool| {
            others
                .iter()
                .filter(|(_, oci, _)| pred(*oci))
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                .copied()
        };
        let before_in = latest(&|oci| oci <= ci);
        let checked_in = |at: NaiveDateTime| {
            OdooError::validation(format!(
                "Cannot create new attendance record for {name}, the employee was already checked in on {}",
                self.format_for_user(env.uid, at)
            ))
        };
        if let Some((_, _, Some(lco))) = before_in
            && lco > ci
        {
            return Err(checked_in(ci));
        }
        match co {
            None => {
                if let Some((_, oci, _)) = others
                    .iter()
                    .filter(|(_, _, oco)| oco.is_none())
                    .max_by(|a, b| a.1.cmp(&b.1))
                {
                    return Err(OdooError::validation(format!(
                        "Cannot create new attendance record for {name}, the employee hasn't checked out since {}",
                        self.format_for_user(env.uid, *oci)
                    )));
                }
            }
            Some(co) => {
                let before_out = latest(&|oci| oci < co);
                if let Some(bo) = before_out
                    && before_in.map(|b| b.0) != Some(bo.0)
                {
                    return Err(checked_in(bo.1));
                }
            }
        }
        Ok(())
    }

    fn missing(&self, model: &str, ids: &[i64], uid: i64) -> Option<OdooError> {
        let gone: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| self.row(model, *id).is_none())
            .collect();
        (!gone.is_empty()).then(|| OdooError::missing(model, &gone, uid))
    }

    /// `write`, atomic.
    pub fn write(
        &mut self,
        env: &Env,
        model: &str,
        ids: &[i64],
        vals: &Value,
    ) -> Result<(), OdooError> {
        let backup = self.backup(model);
        let result = self.write_inner(env, model, ids, vals);
        if result.is_err() {
            self.restore(backup, false);
        }
        result
    }

    fn write_inner(
        &mut self,
        env: &Env,
        model: &str,
        ids: &[i64],
        vals: &Value,
    ) -> Result<(), OdooError> {
        match model {
            "hr.attendance" if !env.rights.attendance_admin => {
                return Err(acl_error("write", "Attendance", model));
            }
            "account.analytic.line" if !env.rights.timesheet_admin => {
                return Err(acl_error("write", "Analytic Line", model));
            }
            _ => {}
        }
        if let Some(e) = self.missing(model, ids, env.uid) {
            return Err(e);
        }
        let mut row = self.convert(model, vals)?;
        if model == "account.analytic.line"
            && let Some(e) = i(row.get("employee_id"))
            && self
                .row("hr.employee", e)
                .is_none_or(|r| r.get("active").and_then(Value::as_bool) == Some(false))
        {
            return Err(OdooError::user(
                "You cannot set an archived employee on existing timesheets.",
            ));
        }
        if model == "account.analytic.line" && row.get("name").is_some_and(Value::is_null) {
            row.insert("name".into(), json!("/"));
        }
        if model == "res.users"
            && let Some(pw) = vals.get("password").and_then(Value::as_str)
        {
            for id in ids {
                if let Some(a) = self.auth.get_mut(id) {
                    a.password = pw.to_owned();
                }
            }
            row.remove("password");
        }
        for id in ids {
            let r = self
                .table_mut(model)
                .rows
                .get_mut(id)
                .expect("checked above");
            for (k, v) in &row {
                r.insert(k.clone(), v.clone());
            }
            if model == "hr.attendance"
                && row.get("check_out").is_some_and(|v| !v.is_null())
                && r.get("out_mode").is_none_or(Value::is_null)
            {
                r.insert("out_mode".into(), json!("manual"));
            }
            r.insert("write_date".into(), stamp(env.now));
        }
        for id in ids {
            if model == "project.project" {
                self.ensure_account(env, *id);
            }
            self.check_constraints(env, model, *id)?;
        }
        Ok(())
    }

    /// `unlink`.
    pub fn unlink(&mut self, env: &Env, model: &str, ids: &[i64]) -> Result<(), OdooError> {
        match model {
            "hr.attendance" if !env.rights.attendance_admin => {
                return Err(acl_error("unlink", "Attendance", model));
            }
            "account.analytic.line" if !env.rights.timesheet_admin => {
                return Err(acl_error("unlink", "Analytic Line", model));
            }
            _ => {}
        }
        if let Some(e) = self.missing(model, ids, env.uid) {
            return Err(e);
        }
        let t = self.table_mut(model);
        for id in ids {
            t.rows.remove(id);
        }
        Ok(())
    }

    /// `fields_get` with the asked attributes.
    pub fn fields_get(&self, model: &str, names: &[String], attributes: &[String]) -> Value {
        let all: Vec<String> = if names.is_empty() {
            field_names(model, self.with_ref)
                .into_iter()
                .map(str::to_owned)
                .collect()
        } else {
            names.to_vec()
        };
        let mut out = Map::new();
        for n in all {
            let Some(f) = field(model, &n, self.with_ref) else {
                continue;
            };
            let ty = match f.kind {
                Kind::Integer => "integer",
                Kind::Char => "char",
                Kind::Bool => "boolean",
                Kind::Float => "float",
                Kind::Date => "date",
                Kind::Datetime => "datetime",
                Kind::Selection => "selection",
                Kind::Many2one(_) => "many2one",
                Kind::ToMany => "many2many",
            };
            let full = json!({"type": ty, "required": f.required, "readonly": f.readonly,
                "store": true, "string": f.label});
            let value = if attributes.is_empty() {
                full
            } else {
                let mut m = Map::new();
                for a in attributes {
                    if let Some(v) = full.get(a) {
                        m.insert(a.clone(), v.clone());
                    }
                }
                Value::Object(m)
            };
            out.insert(n, value);
        }
        Value::Object(out)
    }
}

fn label_of(model: &str) -> &'static str {
    match model {
        "hr.attendance" => "Attendance",
        "account.analytic.line" => "Analytic Line",
        "hr.employee" => "Employee",
        "project.project" => "Project",
        "project.task" => "Task",
        "res.users" => "User",
        _ => "Record",
    }
}

/// The stored date of an analytic line.
pub(crate) fn parse_stored_date(v: &Value) -> Option<NaiveDate> {
    v.as_str()
        .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lunch_is_deducted_on_weekdays_only() {
        let dt = |s: &str| NaiveDateTime::parse_from_str(s, DATETIME_FORMAT).unwrap();
        let berlin = chrono_tz::Europe::Berlin;
        let weekday =
            lunch_overlap_hours(berlin, dt("2026-11-10 07:00:00"), dt("2026-11-10 16:00:00"));
        assert_eq!(weekday, 1.0);
        let weekend =
            lunch_overlap_hours(berlin, dt("2026-11-14 07:00:00"), dt("2026-11-14 16:00:00"));
        assert_eq!(weekend, 0.0);
    }
}
