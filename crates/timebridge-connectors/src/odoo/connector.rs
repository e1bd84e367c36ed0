//! The Odoo connector: a target for timesheets (`account.analytic.line`) or attendances
//! (`hr.attendance`), and a source of timesheets.
//!
//! Per instance it logs in once and reads employees, projects and tasks once; a create is
//! then one request (Odoo answers only the new id, so the stored entry is built from what
//! was sent, in the same form [`OdooConnector::fetch`] reads it back). Timesheets carry
//! the link marker in `name` and keep only a date (the entry's begin in the connector's
//! `timezone`, else the employee's, else UTC) and hours; read back, a timesheet begins at
//! local midnight of its date. Attendances have no text field: their identity is
//! (employee, check_in), and a create whose outcome is unknown is looked up by it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono_tz::Tz;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use timebridge_core::entry::{Entry, NamedRef, Window};
use timebridge_core::mapping::{
    Need, TargetDirectory, TargetProject, TargetRules, TargetSettings, TargetUser,
};
use timebridge_core::plan::TargetItem;
use tokio::sync::OnceCell;

use super::client::OdooClient;
use super::convert::{m2o, naive, parse_id, text};
use crate::connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, SourceBatch, SourceConnector,
    SourceQuery, SourceScope, TargetConnector, TestReport,
};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{HttpClient, HttpSettings};
use crate::marker::Marker;

/// Datetimes on the wire: naive UTC.
pub(super) const ODOO_DATETIME: &str = "%Y-%m-%d %H:%M:%S";
/// How often a create whose outcome was unknown is sent again after the lookup found
/// nothing.
const CREATE_ATTEMPTS: u32 = 3;

const LINE_FIELDS: [&str; 6] = [
    "name",
    "date",
    "unit_amount",
    "project_id",
    "task_id",
    "employee_id",
];
const ATTENDANCE_FIELDS: [&str; 4] = ["employee_id", "check_in", "check_out", "in_mode"];

/// Which Odoo model entries live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OdooModel {
    /// `account.analytic.line` with a project.
    Timesheet,
    /// `hr.attendance`.
    Attendance,
}

impl OdooModel {
    pub(super) fn name(self) -> &'static str {
        match self {
            OdooModel::Timesheet => "account.analytic.line",
            OdooModel::Attendance => "hr.attendance",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct OdooSettings {
    pub(super) model: OdooModel,
    pub(super) timezone: Option<Tz>,
}

#[derive(Debug, Clone)]
pub(super) struct Employee {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) email: Option<String>,
    pub(super) active: bool,
    pub(super) tz: Option<Tz>,
    pub(super) user: Option<i64>,
}

#[derive(Debug, Clone)]
pub(super) struct Project {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) active: bool,
    pub(super) allow_timesheets: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Task {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) project: Option<i64>,
    pub(super) active: bool,
}

/// What one instance reads once.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) uid: i64,
    pub(super) employees: HashMap<i64, Employee>,
    pub(super) projects: HashMap<i64, Project>,
    pub(super) tasks: HashMap<i64, Task>,
}

/// The Odoo connector.
#[derive(Debug)]
pub struct OdooConnector {
    pub(super) client: OdooClient,
    pub(super) settings: OdooSettings,
    session: OnceCell<Arc<Session>>,
}

impl OdooConnector {
    /// The registry's constructor.
    pub fn build(
        config: ConnectorConfig,
        ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        Ok(Arc::new(Self::new(config, ctx)?))
    }

    /// Builds the connector as its concrete type.
    pub fn new(config: ConnectorConfig, ctx: &ConnectorContext) -> ConnectorResult<Self> {
        let s = &config.settings;
        let need = |k: &str| {
            s[k].as_str()
                .filter(|v| !v.trim().is_empty())
                .map(str::to_owned)
                .ok_or_else(|| ConnectorError::Config(format!("the setting {k} is required")))
        };
        let database = need("database")?;
        let login = need("login")?;
        let model = match s["model"].as_str().unwrap_or("timesheet") {
            "timesheet" => OdooModel::Timesheet,
            "attendance" => OdooModel::Attendance,
            other => {
                return Err(ConnectorError::Config(format!(
                    "model {other:?} is neither timesheet nor attendance"
                )));
            }
        };
        let timezone = match s["timezone"].as_str().filter(|t| !t.is_empty()) {
            Some(t) => Some(t.parse::<Tz>().map_err(|_| {
                ConnectorError::Config(format!("timezone {t:?} is not an IANA time zone"))
            })?),
            None => None,
        };
        let secret = config.api_token.expose_secret().trim().to_owned();
        if secret.is_empty() {
            return Err(ConnectorError::Config("the API key is empty".into()));
        }
        let mut http = HttpSettings::from_settings(s);
        if let Some(retry) = ctx.retry {
            http.retry = retry;
        }
        let http = HttpClient::builder(&config.base_url, &config.name)
            .settings(http)
            .metrics(ctx.metrics.clone())
            .sleeper(ctx.sleeper.clone())
            .build()?;
        Ok(OdooConnector {
            client: OdooClient::new(http, database, login, SecretString::from(secret)),
            settings: OdooSettings { model, timezone },
            session: OnceCell::new(),
        })
    }

    async fn session(&self) -> ConnectorResult<Arc<Session>> {
        self.session
            .get_or_try_init(|| async { self.load_session().await.map(Arc::new) })
            .await
            .cloned()
    }

    async fn load_session(&self) -> ConnectorResult<Session> {
        let uid = self.client.uid().await?;
        let all = json!({"active_test": false});
        let employees = self
            .client
            .search_read_all(
                "hr.employee",
                json!([]),
                &["name", "work_email", "active", "tz", "user_id"],
                all.clone(),
            )
            .await?;
        let projects = self
            .client
            .search_read_all(
                "project.project",
                json!([]),
                &["name", "active", "allow_timesheets"],
                all.clone(),
            )
            .await?;
        let tasks = self
            .client
            .search_read_all(
                "project.task",
                json!([]),
                &["name", "project_id", "active"],
                all,
            )
            .await?;
        let id = |v: &Value| v["id"].as_i64().unwrap_or_default();
        Ok(Session {
            uid,
            employees: employees
                .iter()
                .map(|e| {
                    (
                        id(e),
                        Employee {
                            id: id(e),
                            name: text(&e["name"]).unwrap_or_default(),
                            email: text(&e["work_email"]),
                            active: e["active"].as_bool().unwrap_or(true),
                            tz: e["tz"].as_str().and_then(|t| t.parse().ok()),
                            user: m2o(&e["user_id"]).map(|u| u.0),
                        },
                    )
                })
                .collect(),
            projects: projects
                .iter()
                .map(|p| {
                    (
                        id(p),
                        Project {
                            id: id(p),
                            name: text(&p["name"]).unwrap_or_default(),
                            active: p["active"].as_bool().unwrap_or(true),
                            allow_timesheets: p["allow_timesheets"].as_bool().unwrap_or(true),
                        },
                    )
                })
                .collect(),
            tasks: tasks
                .iter()
                .map(|t| {
                    (
                        id(t),
                        Task {
                            id: id(t),
                            name: text(&t["name"]).unwrap_or_default(),
                            project: m2o(&t["project_id"]).map(|p| p.0),
                            active: t["active"].as_bool().unwrap_or(true),
                        },
                    )
                })
                .collect(),
        })
    }

    /// The zone a timesheet's date is read in for `employee`.
    async fn find_raw(&self, marker: &Marker, desired: &Entry) -> ConnectorResult<Vec<Value>> {
        let model = self.settings.model;
        let (domain, fields): (Value, &[&str]) = match model {
            OdooModel::Timesheet => (json!([["name", "ilike", marker.to_string()]]), &LINE_FIELDS),
            OdooModel::Attendance => {
                let Some(user) = &desired.user else {
                    return Ok(Vec::new());
                };
                (
                    json!([
                        ["employee_id", "=", parse_id("employee", &user.key)?],
                        ["check_in", "=", naive(desired.begin)]
                    ]),
                    &ATTENDANCE_FIELDS,
                )
            }
        };
        let found = self
            .client
            .search_read_all(model.name(), domain, fields, json!({}))
            .await?;
        Ok(match model {
            OdooModel::Timesheet => found
                .into_iter()
                .filter(|l| Marker::find_all(l["name"].as_str().unwrap_or("")).contains(marker))
                .collect(),
            OdooModel::Attendance => found,
        })
    }

    async fn read_window(&self, window: &Window) -> ConnectorResult<Vec<Value>> {
        match self.settings.model {
            OdooModel::Timesheet => {
                // Dates are local; a day either side covers every zone.
                let from = window.from.pred_opt().unwrap_or(window.from);
                let to = window.to.succ_opt().unwrap_or(window.to);
                self.client
                    .search_read_all(
                        "account.analytic.line",
                        json!([
                            ["project_id", "!=", false],
                            ["date", ">=", from.format("%Y-%m-%d").to_string()],
                            ["date", "<=", to.format("%Y-%m-%d").to_string()]
                        ]),
                        &LINE_FIELDS,
                        json!({}),
                    )
                    .await
            }
            OdooModel::Attendance => {
                let list = self
                    .client
                    .search_read_all(
                        "hr.attendance",
                        json!([
                            ["check_in", ">=", naive(window.start())],
                            ["check_in", "<", naive(window.end_exclusive())]
                        ]),
                        &ATTENDANCE_FIELDS,
                        json!({}),
                    )
                    .await?;
                // Odoo's absence cron writes 1-second "technical" attendances: not work.
                Ok(list
                    .into_iter()
                    .filter(|a| a["in_mode"].as_str() != Some("technical"))
                    .collect())
            }
        }
    }

    async fn check(&self, details: &mut Map<String, Value>) -> Result<String, TestReport> {
        let fail = |step: &str, e: &ConnectorError, d: &Map<String, Value>| {
            TestReport::failed(step, e, Value::Object(d.clone()))
        };
        let version = self
            .client
            .version()
            .await
            .map_err(|e| fail("Reading the Odoo version", &e, details))?;
        let server = version["server_version"].as_str().unwrap_or("?").to_owned();
        details.insert("version".into(), json!(server));
        let s = self.session().await.map_err(|e| {
            fail(
                "Logging in and reading employees, projects and tasks",
                &e,
                details,
            )
        })?;
        details.insert("uid".into(), json!(s.uid));
        details.insert("employees".into(), json!(s.employees.len()));
        details.insert("projects".into(), json!(s.projects.len()));
        let model = self.settings.model.name();
        let group = match self.settings.model {
            OdooModel::Timesheet => "Timesheets / Administrator",
            OdooModel::Attendance => "Attendances / Administrator",
        };
        self.client
            .execute(model, "search_count", json!([[]]), json!({"limit": 1}))
            .await
            .map_err(|e| fail(&format!("Reading {model}"), &e, details))?;
        // `check_access_rights` is not in the recordings: a server without it is not
        // judged by it.
        match self
            .client
            .execute(
                model,
                "check_access_rights",
                json!(["create"]),
                json!({"raise_exception": false}),
            )
            .await
        {
            Ok(Value::Bool(false)) => {
                let e = ConnectorError::Forbidden {
                    message: format!(
                        "the user may not create {model} records; it needs the group {group}"
                    ),
                };
                return Err(fail(
                    &format!("Checking the right to create {model}"),
                    &e,
                    details,
                ));
            }
            Ok(_) => {}
            Err(e) if e.class() == crate::error::ErrorClass::Remote => {
                details.insert("create_right".into(), json!("not checked"));
            }
            Err(e) => {
                return Err(fail(
                    &format!("Checking the right to create {model}"),
                    &e,
                    details,
                ));
            }
        }
        Ok(format!(
            "Connected to Odoo {server} (database {}) as {} (uid {}); writing {model}",
            self.client.database, self.client.login, s.uid
        ))
    }
}

#[async_trait]
impl Connector for OdooConnector {
    fn kind(&self) -> &'static str {
        "odoo"
    }

    async fn test(&self) -> TestReport {
        let mut details = Map::new();
        details.insert("base_url".into(), json!(self.client.http.base_url()));
        details.insert("database".into(), json!(self.client.database));
        match self.check(&mut details).await {
            Ok(message) => TestReport {
                ok: true,
                message,
                details: Value::Object(details),
            },
            Err(report) => report,
        }
    }

    async fn catalog(&self, what: &str) -> ConnectorResult<Vec<CatalogItem>> {
        let s = self.session().await?;
        let mut items: Vec<CatalogItem> = match what {
            "employees" => s
                .employees
                .values()
                .map(|e| CatalogItem {
                    key: e.id.to_string(),
                    label: match &e.email {
                        Some(m) => format!("{} <{m}>", e.name),
                        None => e.name.clone(),
                    },
                    extra: json!({"work_email": e.email, "active": e.active,
                        "tz": e.tz.map(|t| t.name())}),
                })
                .collect(),
            "projects" => s
                .projects
                .values()
                .map(|p| CatalogItem {
                    key: p.id.to_string(),
                    label: p.name.clone(),
                    extra: json!({"active": p.active, "allow_timesheets": p.allow_timesheets}),
                })
                .collect(),
            "tasks" => s
                .tasks
                .values()
                .map(|t| {
                    let project = t.project.and_then(|p| s.projects.get(&p));
                    CatalogItem {
                        key: t.id.to_string(),
                        label: match project {
                            Some(p) => format!("{} ({})", t.name, p.name),
                            None => t.name.clone(),
                        },
                        extra: json!({"project": t.project, "active": t.active}),
                    }
                })
                .collect(),
            other => {
                return Err(ConnectorError::NotFound {
                    message: format!("Odoo has no catalog {other:?} (employees, projects, tasks)"),
                });
            }
        };
        items.sort_by_cached_key(|i| i.label.to_lowercase());
        Ok(items)
    }

    fn as_source(&self) -> Option<&dyn SourceConnector> {
        (self.settings.model == OdooModel::Timesheet).then_some(self as &dyn SourceConnector)
    }

    fn as_target(&self) -> Option<&dyn TargetConnector> {
        Some(self)
    }
}

#[async_trait]
impl TargetConnector for OdooConnector {
    fn target_settings(&self) -> TargetSettings {
        TargetSettings {
            system: "odoo".into(),
            billable_tag: "billable".into(),
            non_billable_tag: "non-billable".into(),
            set_billable_field: false,
            // A timesheet needs a project and may have a task; an attendance has neither.
            project: match self.settings.model {
                OdooModel::Timesheet => Need::Required,
                OdooModel::Attendance => Need::Unused,
            },
            activity: match self.settings.model {
                OdooModel::Timesheet => Need::Optional,
                OdooModel::Attendance => Need::Unused,
            },
        }
    }

    async fn directory(&self) -> ConnectorResult<TargetDirectory> {
        let s = self.session().await?;
        // Archived employees stay in (an entry for one becomes Odoo's own refusal), unless
        // an active employee has the same e-mail.
        let active_emails: HashSet<String> = s
            .employees
            .values()
            .filter(|e| e.active)
            .filter_map(|e| e.email.as_ref().map(|m| m.trim().to_lowercase()))
            .collect();
        let users: Vec<TargetUser> = s
            .employees
            .values()
            .filter(|e| {
                e.active
                    || e.email
                        .as_ref()
                        .is_none_or(|m| !active_emails.contains(&m.trim().to_lowercase()))
            })
            .map(|e| TargetUser {
                key: e.id.to_string(),
                email: e.email.clone(),
                name: Some(e.name.clone()),
            })
            .collect();
        let me = s
            .employees
            .values()
            .find(|e| e.user == Some(s.uid))
            .map(|e| e.id.to_string());
        let (projects, activities, rules) = match self.settings.model {
            // Attendances have neither project nor task (`target_settings`: unused).
            OdooModel::Attendance => (Vec::new(), Vec::new(), TargetRules::default()),
            OdooModel::Timesheet => {
                let projects = s
                    .projects
                    .values()
                    .filter(|p| p.active)
                    .map(|p| TargetProject {
                        key: p.id.to_string(),
                        name: Some(p.name.clone()),
                        customer: None,
                    })
                    .collect();
                let activities = s
                    .tasks
                    .values()
                    .filter(|t| t.active)
                    .map(|t| NamedRef {
                        key: t.id.to_string(),
                        name: Some(t.name.clone()),
                    })
                    .collect();
                let rules = TargetRules {
                    activity_projects: s
                        .tasks
                        .values()
                        .filter_map(|t| t.project.map(|p| (t.id.to_string(), p.to_string())))
                        .collect(),
                    ..TargetRules::default()
                };
                (projects, activities, rules)
            }
        };
        Ok(TargetDirectory::new(users, projects, activities, me).with_rules(rules))
    }

    async fn fetch(
        &self,
        window: &Window,
        source_system: &str,
    ) -> ConnectorResult<Vec<TargetItem>> {
        let s = self.session().await?;
        let mut out = Vec::new();
        for v in self.read_window(window).await? {
            let item = self.to_item(&s, &v, source_system)?;
            if window.contains(item.entry.begin) {
                out.push(item);
            }
        }
        Ok(out)
    }

    async fn fetch_by_ids(
        &self,
        ids: &[String],
        source_system: &str,
    ) -> ConnectorResult<Vec<TargetItem>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let s = self.session().await?;
        let ids: Vec<i64> = ids.iter().filter_map(|i| i.trim().parse().ok()).collect();
        let fields: &[&str] = match self.settings.model {
            OdooModel::Timesheet => &LINE_FIELDS,
            OdooModel::Attendance => &ATTENDANCE_FIELDS,
        };
        // `read` skips ids that no longer exist.
        let found = self
            .client
            .execute(
                self.settings.model.name(),
                "read",
                json!([ids]),
                json!({"fields": fields}),
            )
            .await?;
        found
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| self.to_item(&s, v, source_system))
            .collect()
    }

    async fn find_marked(
        &self,
        marker: &Marker,
        desired: &Entry,
    ) -> ConnectorResult<Vec<TargetItem>> {
        let s = self.session().await?;
        self.find_raw(marker, desired)
            .await?
            .iter()
            .map(|v| self.to_item(&s, v, &marker.system))
            .collect()
    }

    async fn create(&self, marker: &Marker, desired: &Entry) -> ConnectorResult<TargetItem> {
        let s = self.session().await?;
        let values = self.values(&s, marker, desired)?;
        let mut create_values = values.clone();
        // `false` means "unset" on create: leave it out.
        create_values.retain(|_, v| v != &Value::Bool(false));
        let mut attempt = 1;
        loop {
            match self
                .client
                .execute(
                    self.settings.model.name(),
                    "create",
                    json!([Value::Object(create_values.clone())]),
                    json!({}),
                )
                .await
            {
                Ok(id) => {
                    let id = id.as_i64().ok_or_else(|| ConnectorError::Protocol {
                        host: self.client.http.host().to_owned(),
                        message: "create did not answer an id".into(),
                    })?;
                    return self.written(&s, id, &create_values, &marker.system);
                }
                Err(e) if e.outcome_unknown() => {
                    let mut found = self.find_raw(marker, desired).await?;
                    if !found.is_empty() {
                        found.sort_by_key(|v| v["id"].as_i64().unwrap_or(i64::MAX));
                        tracing::warn!(connector = %self.client.http.label(), marker = %marker,
                            record = found[0]["id"].as_i64().unwrap_or_default(),
                            "Create answered with an unknown outcome; adopted the record it made.");
                        return self.to_item(&s, &found[0], &marker.system);
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
        let s = self.session().await?;
        let id = parse_id(self.settings.model.name(), target_id)?;
        let values = self.values(&s, marker, desired)?;
        self.client
            .execute(
                self.settings.model.name(),
                "write",
                json!([[id], Value::Object(values.clone())]),
                json!({}),
            )
            .await
            .map_err(|e| match e {
                ConnectorError::NotFound { message } => ConnectorError::NotFound {
                    message: format!(
                        "{} {target_id} no longer exists in Odoo ({message})",
                        self.settings.model.name()
                    ),
                },
                other => other,
            })?;
        self.written(&s, id, &values, &marker.system)
    }

    async fn delete(&self, target_id: &str) -> ConnectorResult<()> {
        let id = parse_id(self.settings.model.name(), target_id)?;
        match self
            .client
            .execute(
                self.settings.model.name(),
                "unlink",
                json!([[id]]),
                json!({}),
            )
            .await
        {
            Ok(_) | Err(ConnectorError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl SourceConnector for OdooConnector {
    async fn fetch(&self, query: &SourceQuery) -> ConnectorResult<SourceBatch> {
        let s = self.session().await?;
        let mut entries = Vec::new();
        let mut in_window = HashSet::new();
        for v in self.read_window(&query.window).await? {
            let mut item = self.line_item(&s, &v, "")?;
            if !query.window.contains(item.entry.begin) {
                continue;
            }
            // As a source, the description is the whole name (markers of other pipelines
            // are not ours to strip).
            item.entry.description = v["name"].as_str().unwrap_or("").to_owned();
            in_window.insert(item.entry.key.clone());
            entries.push(item.entry);
        }
        let outside: Vec<i64> = query
            .linked_keys
            .iter()
            .filter(|k| !in_window.contains(*k))
            .filter_map(|k| k.parse().ok())
            .collect();
        let mut known_keys = HashSet::new();
        if !outside.is_empty() {
            let found = self
                .client
                .execute(
                    "account.analytic.line",
                    "search",
                    json!([[["id", "in", outside], ["project_id", "!=", false]]]),
                    json!({}),
                )
                .await?;
            known_keys.extend(
                found
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_i64)
                    .map(|i| i.to_string()),
            );
        }
        Ok(SourceBatch {
            entries,
            known_keys,
            scope: SourceScope::Everything,
            notes: Vec::new(),
            memory: None,
        })
    }
}
