//! Conversions between Odoo records and normalised entries: what a timesheet or an
//! attendance reads as, and the values written for a desired entry.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};
use timebridge_core::entry::{Entry, NamedRef, UserRef};
use timebridge_core::plan::TargetItem;

use super::connector::{ODOO_DATETIME, OdooConnector, OdooModel, Session};
use crate::error::{ConnectorError, ConnectorResult};
use crate::marker::Marker;

pub(super) fn m2o(v: &Value) -> Option<(i64, String)> {
    let a = v.as_array()?;
    Some((
        a.first()?.as_i64()?,
        a.get(1)?.as_str().unwrap_or_default().to_owned(),
    ))
}

pub(super) fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

pub(super) fn parse_id(what: &str, key: &str) -> ConnectorResult<i64> {
    key.trim().parse().map_err(|_| ConnectorError::Rejected {
        message: format!("{what} key {key:?} is not an Odoo id"),
        fields: Default::default(),
    })
}

pub(super) fn naive(at: DateTime<Utc>) -> String {
    at.naive_utc().format(ODOO_DATETIME).to_string()
}

pub(super) fn parse_naive(v: &Value) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(v.as_str()?, ODOO_DATETIME)
        .ok()
        .map(|t| t.and_utc())
}

/// The first instant of `date` in `tz` (the earliest, should midnight repeat; the first
/// existing minute, should it be skipped).
pub(super) fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut t = date.and_hms_opt(0, 0, 0).expect("midnight");
    for _ in 0..180 {
        if let Some(at) = tz.from_local_datetime(&t).earliest() {
            return at.with_timezone(&Utc);
        }
        t += Duration::minutes(1);
    }
    date.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

impl OdooConnector {
    pub(super) fn date_zone(&self, s: &Session, employee: Option<i64>) -> Tz {
        self.settings
            .timezone
            .or_else(|| {
                employee
                    .and_then(|e| s.employees.get(&e))
                    .and_then(|e| e.tz)
            })
            .unwrap_or(Tz::UTC)
    }

    pub(super) fn user_ref(s: &Session, employee: Option<i64>) -> Option<UserRef> {
        let id = employee?;
        let e = s.employees.get(&id);
        Some(UserRef {
            key: id.to_string(),
            email: e.and_then(|e| e.email.clone()),
            name: e.map(|e| e.name.clone()),
        })
    }

    /// A timesheet line (as `search_read` gives it, or as we wrote it) in normalised form.
    pub(super) fn line_item(
        &self,
        s: &Session,
        line: &Value,
        source_system: &str,
    ) -> ConnectorResult<TargetItem> {
        let id = line["id"].as_i64().unwrap_or_default();
        let bad = |what: &str| ConnectorError::Protocol {
            host: self.client.http.host().to_owned(),
            message: format!("timesheet {id} has an unreadable {what}"),
        };
        let date = line["date"]
            .as_str()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(|| bad("date"))?;
        let employee = m2o(&line["employee_id"]).map(|e| e.0);
        let begin = local_midnight(date, self.date_zone(s, employee));
        let seconds = (line["unit_amount"].as_f64().unwrap_or(0.0) * 3600.0).round() as i64;
        let (description, markers) = Marker::strip(line["name"].as_str().unwrap_or(""));
        let link_key = markers
            .into_iter()
            .find(|m| m.system == source_system)
            .map(|m| m.key);
        let project = m2o(&line["project_id"]);
        let task = m2o(&line["task_id"]);
        Ok(TargetItem {
            target_id: id.to_string(),
            link_key,
            locked: false,
            entry: Entry {
                system: "odoo".into(),
                key: id.to_string(),
                ticket: None,
                customer: None,
                project: project.map(|(k, n)| NamedRef {
                    key: k.to_string(),
                    name: Some(n),
                }),
                activity: task.map(|(k, n)| NamedRef {
                    key: k.to_string(),
                    name: Some(n),
                }),
                user: Self::user_ref(s, employee),
                begin,
                end: Some(begin + Duration::seconds(seconds)),
                duration_seconds: Some(seconds),
                description,
                billable: None,
                tags: Vec::new(),
                running: false,
            },
        })
    }

    /// An attendance in normalised form: its duration is check_out − check_in (not
    /// `worked_hours`, which deducts the calendar's lunch).
    pub(super) fn attendance_item(&self, s: &Session, a: &Value) -> ConnectorResult<TargetItem> {
        let id = a["id"].as_i64().unwrap_or_default();
        let begin = parse_naive(&a["check_in"]).ok_or_else(|| ConnectorError::Protocol {
            host: self.client.http.host().to_owned(),
            message: format!("attendance {id} has an unreadable check_in"),
        })?;
        let end = parse_naive(&a["check_out"]);
        Ok(TargetItem {
            target_id: id.to_string(),
            link_key: None,
            locked: false,
            entry: Entry {
                system: "odoo".into(),
                key: id.to_string(),
                ticket: None,
                customer: None,
                project: None,
                activity: None,
                user: Self::user_ref(s, m2o(&a["employee_id"]).map(|e| e.0)),
                begin,
                end,
                duration_seconds: end.map(|e| (e - begin).num_seconds()),
                description: String::new(),
                billable: None,
                tags: Vec::new(),
                running: end.is_none(),
            },
        })
    }

    pub(super) fn to_item(
        &self,
        s: &Session,
        v: &Value,
        source_system: &str,
    ) -> ConnectorResult<TargetItem> {
        match self.settings.model {
            OdooModel::Timesheet => self.line_item(s, v, source_system),
            OdooModel::Attendance => self.attendance_item(s, v),
        }
    }

    /// The values to write for `desired`.
    pub(super) fn values(
        &self,
        s: &Session,
        marker: &Marker,
        desired: &Entry,
    ) -> ConnectorResult<Map<String, Value>> {
        let rejected = |message: String| ConnectorError::Rejected {
            message,
            fields: Default::default(),
        };
        let employee = parse_id(
            "employee",
            &desired
                .user
                .as_ref()
                .ok_or_else(|| rejected("the entry has no employee".into()))?
                .key,
        )?;
        if desired.begin.timestamp_subsec_nanos() != 0
            || desired.end.is_some_and(|e| e.timestamp_subsec_nanos() != 0)
        {
            return Err(ConnectorError::Unrepresentable {
                message: "Odoo keeps whole seconds; the entry has fractions of a second".into(),
            });
        }
        let mut v = Map::new();
        v.insert("employee_id".into(), json!(employee));
        match self.settings.model {
            OdooModel::Attendance => {
                v.insert("check_in".into(), json!(naive(desired.begin)));
                let out = match (desired.running, desired.end) {
                    (true, _) => Value::Bool(false),
                    (false, Some(end)) => json!(naive(end)),
                    (false, None) => {
                        return Err(rejected("the entry has ended but has no end".into()));
                    }
                };
                v.insert("check_out".into(), out);
            }
            OdooModel::Timesheet => {
                if desired.running {
                    return Err(ConnectorError::Unrepresentable {
                        message: "an Odoo timesheet cannot be running; it is written when it ends"
                            .into(),
                    });
                }
                let project = desired
                    .project
                    .as_ref()
                    .ok_or_else(|| rejected("the entry has no project".into()))?;
                v.insert(
                    "project_id".into(),
                    json!(parse_id("project", &project.key)?),
                );
                let task = match desired.activity.as_ref().map(|a| a.key.as_str()) {
                    None => Value::Bool(false),
                    Some(k) => json!(parse_id("task", k)?),
                };
                v.insert("task_id".into(), task);
                let seconds = desired.duration_seconds.unwrap_or_default();
                v.insert("unit_amount".into(), json!(seconds as f64 / 3600.0));
                let date = desired
                    .begin
                    .with_timezone(&self.date_zone(s, Some(employee)))
                    .date_naive();
                v.insert("date".into(), json!(date.format("%Y-%m-%d").to_string()));
                v.insert("name".into(), json!(marker.append_to(&desired.description)));
            }
        }
        Ok(v)
    }

    /// What a written record reads back as, built from the values sent and the names
    /// known from the session (no read after the write).
    pub(super) fn written(
        &self,
        s: &Session,
        id: i64,
        values: &Map<String, Value>,
        system: &str,
    ) -> ConnectorResult<TargetItem> {
        let named = |model: &str, key: &Value| -> Value {
            let Some(id) = key.as_i64() else {
                return Value::Bool(false);
            };
            let name = match model {
                "project" => s.projects.get(&id).map(|p| p.name.clone()),
                "task" => s.tasks.get(&id).map(|t| t.name.clone()),
                _ => s.employees.get(&id).map(|e| e.name.clone()),
            };
            json!([id, name.unwrap_or_default()])
        };
        let mut rec = values.clone();
        rec.insert("id".into(), json!(id));
        for (field, model) in [
            ("project_id", "project"),
            ("task_id", "task"),
            ("employee_id", "employee"),
        ] {
            if let Some(v) = values.get(field) {
                rec.insert(field.into(), named(model, v));
            }
        }
        if rec.get("name").and_then(Value::as_str) == Some("") {
            rec.insert("name".into(), json!("/"));
        }
        self.to_item(s, &Value::Object(rec), system)
    }
}
