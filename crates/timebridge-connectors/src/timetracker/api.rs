//! TimeTracker's REST API as the connector uses it: the client, the reading of its error
//! answers (the one place that looks at message texts), its JSON records, the instance's
//! zone and the paged entry list.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use futures::{StreamExt, TryStreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::connector::{ConnectorConfig, ConnectorContext};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{ErrorContext, HttpClient, HttpSettings, Request, error_message};

/// Items per page (the server's maximum).
pub(crate) const PER_PAGE: usize = 100;
/// Lookups by id in flight at once.
pub(crate) const LOOKUP_CONCURRENCY: usize = 8;

/// What a 400 whose only signal is its text means. TimeTracker answers most service
/// refusals with `error_code: "error"` and a message; these are the recorded texts the
/// connector must tell apart (`fixtures/real/timetracker-5.10/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// "This time overlaps with an existing entry. …" (create and update variants).
    Overlap,
    /// "Time entry not found" (update and delete of a missing id: 400, not 404).
    EntryNotFound,
    /// "Access denied" (a non-admin touching another user's entry).
    AccessDenied,
    /// "Timesheet period is closed for the selected date range".
    PeriodClosed,
    /// Anything else: a refusal of this entry, message kept.
    Other,
}

/// Reads a 400's message. The only function that looks at TimeTracker's wording.
pub(crate) fn refusal(message: &str) -> Refusal {
    let m = message.trim();
    if m.starts_with("This time overlaps with an existing entry") {
        Refusal::Overlap
    } else if m == "Time entry not found" {
        Refusal::EntryNotFound
    } else if m == "Access denied" {
        Refusal::AccessDenied
    } else if m.starts_with("Timesheet period is closed") {
        Refusal::PeriodClosed
    } else {
        Refusal::Other
    }
}

fn field_errors(v: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    if let Some(map) = v.get("errors").and_then(Value::as_object) {
        for (field, msgs) in map {
            let list: Vec<String> = match msgs {
                Value::Array(a) => a
                    .iter()
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
                    .collect(),
                Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            out.insert(field.clone(), list);
        }
    }
    out
}

/// TimeTracker's error answers, classified; the server's message is kept in every error.
pub(crate) fn timetracker_error(ctx: &ErrorContext<'_>) -> ConnectorError {
    let body: Value = serde_json::from_slice(ctx.body).unwrap_or(Value::Null);
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let message = match (text("error"), text("message")) {
        (e, m) if !e.is_empty() && !m.is_empty() && e != m => format!("{e}: {m}"),
        (e, m) if m.is_empty() => e,
        (_, m) => m,
    };
    let message = if message.is_empty() {
        error_message(ctx.status, ctx.body)
    } else {
        message
    };
    match ctx.status {
        401 => ConnectorError::Unauthorized {
            status: 401,
            message: format!("TimeTracker: {message}"),
        },
        403 => {
            let scope = text("required_scope");
            let message = if scope.is_empty() {
                format!("TimeTracker: {message}")
            } else {
                let has: Vec<String> = body["available_scopes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "TimeTracker: {message}; the token needs the scope {scope} (it has: {})",
                    if has.is_empty() {
                        "none".to_owned()
                    } else {
                        has.join(", ")
                    }
                )
            };
            ConnectorError::Forbidden { message }
        }
        404 => ConnectorError::NotFound {
            message: format!("{} ({message})", ctx.route),
        },
        400 if text("error_code") == "validation_error" => ConnectorError::Rejected {
            message,
            fields: field_errors(&body),
        },
        400 => match refusal(&text("message")) {
            Refusal::EntryNotFound => ConnectorError::NotFound {
                message: format!("{} ({message})", ctx.route),
            },
            Refusal::AccessDenied => ConnectorError::Forbidden {
                message: format!(
                    "TimeTracker: {message} (the token's user may not change this entry)"
                ),
            },
            Refusal::PeriodClosed => ConnectorError::Locked { message },
            Refusal::Overlap | Refusal::Other => ConnectorError::Rejected {
                message,
                fields: BTreeMap::new(),
            },
        },
        409 => ConnectorError::Rejected {
            message,
            fields: BTreeMap::new(),
        },
        status => ConnectorError::Remote {
            host: ctx.host.to_owned(),
            status,
            message,
        },
    }
}

/// `GET /api/v1/info`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ApiInfo {
    #[serde(default)]
    pub app_version: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub setup_required: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ApiUser {
    pub id: i64,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub is_active: Option<bool>,
}

impl ApiUser {
    pub fn name(&self) -> Option<String> {
        self.full_name
            .clone()
            .or_else(|| self.display_name.clone())
            .or_else(|| self.username.clone())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ApiClient {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub default_hourly_rate: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ApiProject {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub client_id: Option<i64>,
    #[serde(default)]
    pub client: Option<String>,
    #[serde(default)]
    pub billable: Option<bool>,
    #[serde(default)]
    pub hourly_rate: Option<f64>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub is_archived: Option<bool>,
}

impl ApiProject {
    pub fn active(&self) -> bool {
        !self.is_archived.unwrap_or(false) && self.status.as_deref().is_none_or(|s| s == "active")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ApiTask {
    pub id: i64,
    pub name: String,
    pub project_id: i64,
}

/// A time entry as the API shows it (times naive, in the instance's zone).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ApiEntry {
    pub id: i64,
    pub user_id: i64,
    #[serde(default)]
    pub project_id: Option<i64>,
    #[serde(default)]
    pub client_id: Option<i64>,
    #[serde(default)]
    pub task_id: Option<i64>,
    pub start_time: NaiveDateTime,
    #[serde(default)]
    pub end_time: Option<NaiveDateTime>,
    #[serde(default)]
    pub break_seconds: Option<i64>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tag_list: Vec<String>,
    #[serde(default)]
    pub billable: Option<bool>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub client: Option<String>,
    #[serde(default)]
    pub task: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Pagination {
    #[serde(default)]
    has_next: bool,
    #[serde(default)]
    total: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
struct EntryPage {
    time_entries: Vec<ApiEntry>,
    pagination: Pagination,
}

/// Wall time ↔ instant in the instance's zone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Zone(pub Tz);

impl Zone {
    /// The instant a stored naive time means. In the repeated hour of a DST change the
    /// first pass is taken (a naive time cannot say which); a time in a skipped hour is
    /// read with the offset before the change (Python's `fold=0`).
    pub fn instant(&self, t: NaiveDateTime) -> DateTime<Utc> {
        match self.0.from_local_datetime(&t) {
            chrono::LocalResult::Single(x) => x.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
            chrono::LocalResult::None => {
                let before = t - Duration::hours(1);
                self.0
                    .from_local_datetime(&before)
                    .earliest()
                    .map(|x| x.with_timezone(&Utc) + Duration::hours(1))
                    .unwrap_or_else(|| t.and_utc())
            }
        }
    }

    /// The wall time to write for `at`, or `None` when reading it back would give another
    /// instant (the second pass of a repeated hour: TimeTracker keeps no offset).
    pub fn wall(&self, at: DateTime<Utc>) -> Option<NaiveDateTime> {
        let naive = self.0.from_utc_datetime(&at.naive_utc()).naive_local();
        (self.instant(naive) == at).then_some(naive)
    }

    /// The local calendar date of an instant.
    pub fn date(&self, at: DateTime<Utc>) -> NaiveDate {
        self.0.from_utc_datetime(&at.naive_utc()).date_naive()
    }
}

/// `2026-11-20T09:00:00` (a fraction only when there is one), never an offset.
pub(crate) fn wall_text(t: NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// The API client of one connector plus what it learns once: the instance's zone.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    pub client: HttpClient,
    zone_override: Option<Tz>,
    info: Arc<OnceCell<ApiInfo>>,
    tasks: Arc<OnceCell<Vec<ApiTask>>>,
}

impl Api {
    pub fn new(config: &ConnectorConfig, ctx: &ConnectorContext) -> ConnectorResult<Self> {
        let token = config.api_token.expose_secret().trim().to_owned();
        if token.is_empty() {
            return Err(ConnectorError::Config("the API token is empty".into()));
        }
        let mut http = HttpSettings::from_settings(&config.settings);
        if let Some(retry) = ctx.retry {
            http.retry = retry;
        }
        let client = HttpClient::builder(&config.base_url, &config.name)
            .auth_header(
                "authorization",
                SecretString::from(format!("Bearer {token}")),
            )
            .settings(http)
            .metrics(ctx.metrics.clone())
            .sleeper(ctx.sleeper.clone())
            .error_mapper(timetracker_error)
            .build()?;
        let zone_override = match config.settings["timezone"].as_str() {
            Some(z) if !z.trim().is_empty() => Some(z.trim().parse::<Tz>().map_err(|_| {
                ConnectorError::Config(format!("timezone {z:?} is not an IANA time zone"))
            })?),
            _ => None,
        };
        Ok(Api {
            client,
            zone_override,
            info: Arc::new(OnceCell::new()),
            tasks: Arc::new(OnceCell::new()),
        })
    }

    /// `GET /api/v1/info` (no auth), once per connector instance.
    pub async fn info(&self) -> ConnectorResult<&ApiInfo> {
        self.info
            .get_or_try_init(|| async {
                let info: ApiInfo = self
                    .client
                    .json(Request::get("GET /api/v1/info", "/api/v1/info"))
                    .await?;
                if info.setup_required {
                    return Err(ConnectorError::Config(
                        "TimeTracker's setup wizard has not been completed: until it is, every \
                         API route but /api/v1/info redirects to /setup. Finish the setup in \
                         TimeTracker's web UI."
                            .into(),
                    ));
                }
                Ok(info)
            })
            .await
    }

    /// The zone the instance's naive times are in: the `timezone` setting, else `/info`.
    pub async fn zone(&self) -> ConnectorResult<Zone> {
        let info = self.info().await?;
        if let Some(z) = self.zone_override {
            return Ok(Zone(z));
        }
        let name = info.timezone.as_deref().unwrap_or("Europe/Rome");
        name.parse::<Tz>()
            .map(Zone)
            .map_err(|_| ConnectorError::Protocol {
                host: self.client.host().to_owned(),
                message: format!("/api/v1/info names the unknown time zone {name:?}"),
            })
    }

    /// Every item of a paged list (`key` names the list in the body).
    pub async fn all_pages<T: serde::de::DeserializeOwned>(
        &self,
        route: &'static str,
        path: &str,
        key: &str,
        query: &[(&str, String)],
    ) -> ConnectorResult<Vec<T>> {
        let mut out = Vec::new();
        let mut page = 1usize;
        loop {
            let mut req = Request::get(route, path)
                .query("page", page)
                .query("per_page", PER_PAGE);
            for (k, v) in query {
                req = req.query(k, v);
            }
            let body: Value = self.client.json(req).await?;
            let items: Vec<T> = serde_json::from_value(body[key].clone()).map_err(|e| {
                ConnectorError::Protocol {
                    host: self.client.host().to_owned(),
                    message: format!("{path}: `{key}` is not the documented list ({e})"),
                }
            })?;
            let n = items.len();
            out.extend(items);
            let has_next = body["pagination"]["has_next"].as_bool().unwrap_or(false);
            if !has_next || n == 0 {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// Every entry whose start lies on the local dates `from..=to` (running ones too),
    /// each once. The list is ordered by start only, so an entry written meanwhile may
    /// shift a page; the read is repeated (at most three times) until the ids seen match
    /// the total the server reports.
    pub async fn entries(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        user: Option<&str>,
    ) -> ConnectorResult<Vec<ApiEntry>> {
        let mut last = Vec::new();
        for _ in 0..3 {
            let mut seen: HashMap<i64, ApiEntry> = HashMap::new();
            let mut total = None;
            let mut page = 1usize;
            loop {
                let mut req = Request::get("GET /api/v1/time-entries", "/api/v1/time-entries")
                    .query("start_date", from.format("%Y-%m-%d"))
                    .query("end_date", to.format("%Y-%m-%d"))
                    .query("include_active", "true")
                    .query("page", page)
                    .query("per_page", PER_PAGE);
                if let Some(u) = user {
                    req = req.query("user_id", u);
                }
                let p: EntryPage = self.client.json(req).await?;
                total = p.pagination.total.or(total);
                let n = p.time_entries.len();
                for e in p.time_entries {
                    seen.insert(e.id, e);
                }
                if !p.pagination.has_next || n == 0 {
                    break;
                }
                page += 1;
            }
            let mut list: Vec<ApiEntry> = seen.into_values().collect();
            list.sort_by_key(|e| e.id);
            if total.is_none_or(|t| t == list.len()) {
                return Ok(list);
            }
            last = list;
        }
        Ok(last)
    }

    /// One entry; `None` when it does not exist.
    pub async fn entry(&self, id: &str) -> ConnectorResult<Option<ApiEntry>> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let req = Request::get(
            "GET /api/v1/time-entries/{id}",
            format!("/api/v1/time-entries/{id}"),
        );
        match self.client.json::<Value>(req).await {
            Ok(v) => serde_json::from_value(v["time_entry"].clone())
                .map(Some)
                .map_err(|e| ConnectorError::Protocol {
                    host: self.client.host().to_owned(),
                    message: format!("time entry {id} is not the documented JSON ({e})"),
                }),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Several entries by id, concurrently; missing ones are left out.
    pub async fn entries_by_id(&self, ids: &[String]) -> ConnectorResult<Vec<ApiEntry>> {
        let reads: Vec<futures::future::BoxFuture<'_, ConnectorResult<Option<ApiEntry>>>> = ids
            .iter()
            .map(|id| futures::FutureExt::boxed(self.entry(id)))
            .collect();
        let found: Vec<Option<ApiEntry>> = futures::stream::iter(reads)
            .buffer_unordered(LOOKUP_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Every user (needs `admin:all`); without that scope, only the token's own user.
    pub async fn users(&self) -> ConnectorResult<(Vec<ApiUser>, Option<ApiUser>)> {
        let me = self.me().await?;
        match self
            .all_pages::<ApiUser>("GET /api/v1/users", "/api/v1/users", "users", &[])
            .await
        {
            Ok(users) => Ok((users, me)),
            Err(ConnectorError::Forbidden { .. }) => Ok((me.clone().into_iter().collect(), me)),
            Err(e) => Err(e),
        }
    }

    /// The token's user (`read:users`); `None` when the token may not read it.
    pub async fn me(&self) -> ConnectorResult<Option<ApiUser>> {
        match self
            .client
            .json::<Value>(Request::get("GET /api/v1/users/me", "/api/v1/users/me"))
            .await
        {
            Ok(v) => Ok(serde_json::from_value(v["user"].clone()).ok()),
            Err(ConnectorError::Forbidden { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn projects(&self, all: bool) -> ConnectorResult<Vec<ApiProject>> {
        let status = if all { "all" } else { "active" };
        self.all_pages(
            "GET /api/v1/projects",
            "/api/v1/projects",
            "projects",
            &[("status", status.to_owned())],
        )
        .await
    }

    /// Every task, read once per connector instance (once per run).
    pub async fn tasks(&self) -> ConnectorResult<Vec<ApiTask>> {
        self.tasks
            .get_or_try_init(|| async {
                self.all_pages("GET /api/v1/tasks", "/api/v1/tasks", "tasks", &[])
                    .await
            })
            .await
            .cloned()
    }

    pub async fn clients(&self) -> ConnectorResult<Vec<ApiClient>> {
        self.all_pages("GET /api/v1/clients", "/api/v1/clients", "clients", &[])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_recorded_refusal_text_is_told_apart() {
        // The texts of fixtures/real/timetracker-5.10 (create, update, delete).
        let cases = [
            (
                "This time overlaps with an existing entry. Please choose a different time range or edit the existing entry.",
                Refusal::Overlap,
            ),
            (
                "This time overlaps with an existing entry. Please choose a different time range.",
                Refusal::Overlap,
            ),
            ("Time entry not found", Refusal::EntryNotFound),
            ("Access denied", Refusal::AccessDenied),
            (
                "Timesheet period is closed for the selected date range",
                Refusal::PeriodClosed,
            ),
            ("End time must be after start time", Refusal::Other),
            ("Either project or client must be selected", Refusal::Other),
            ("Invalid project", Refusal::Other),
            ("Selected user is invalid or inactive", Refusal::Other),
            (
                "Cannot delete active time entry. Stop the timer first.",
                Refusal::Other,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(refusal(text), expected, "{text}");
        }
    }

    #[test]
    fn a_wall_time_in_the_repeated_hour_is_refused_for_its_second_pass() {
        let z = Zone(chrono_tz::Europe::Berlin);
        // 2026-10-25 02:30 Berlin happens at 00:30 UTC (CEST) and 01:30 UTC (CET).
        let first: DateTime<Utc> = "2026-10-25T00:30:00Z".parse().unwrap();
        let second: DateTime<Utc> = "2026-10-25T01:30:00Z".parse().unwrap();
        let wall = z.wall(first).unwrap();
        assert_eq!(wall_text(wall), "2026-10-25T02:30:00");
        assert_eq!(z.instant(wall), first);
        assert_eq!(z.wall(second), None);
        // The skipped hour of 2026-03-29 is read with the offset before the change.
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            z.instant(gap),
            "2026-03-29T01:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
