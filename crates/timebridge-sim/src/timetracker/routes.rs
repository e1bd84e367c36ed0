//! HTTP routes of the TimeTracker simulator (`/api/v1/...`), answering like the recordings
//! in `tests/fixtures/real/timetracker-5.10/`.

// Handlers answer early with a ready `Response` as the error; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use serde_json::{Map, Value, json};

use super::state::{Backend, Entry, Project, Role, StoredAnswer, TimetrackerControl, TtState};
use super::time::{BodyTime, parse_body_time, parse_filter};
use crate::faults;

type Params = Query<Vec<(String, String)>>;
type Body = Map<String, Value>;

pub(crate) fn router(ctl: TimetrackerControl) -> Router {
    let infra = ctl.infra.clone();
    Router::new()
        .route("/api/v1/info", get(info))
        .route("/api/v1/health", get(health))
        .route("/api/v1/users/me", get(users_me))
        .route("/api/v1/users", get(users_index))
        .route("/api/v1/clients", get(clients_index).post(client_create))
        .route("/api/v1/projects", get(projects_index).post(project_create))
        .route("/api/v1/tasks", get(tasks_index).post(task_create))
        .route(
            "/api/v1/time-entries",
            get(entries_index).post(entry_create),
        )
        .route(
            "/api/v1/time-entries/{id}",
            get(entry_show)
                .put(entry_update)
                .patch(entry_update)
                .delete(entry_delete),
        )
        .route("/api/v1/timer/start", post(timer_start))
        .route("/api/v1/timer/stop", post(timer_stop))
        .route("/api/v1/timer/status", get(timer_status))
        .route("/api/v1/webhooks", get(webhooks_index).post(webhook_create))
        .route("/setup", get(setup_page))
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(
            infra,
            faults::middleware,
        ))
        .with_state(ctl)
}

// ---------------------------------------------------------------------------------------
// Answers

fn error(status: StatusCode, message: &str, code: &str) -> Response {
    (
        status,
        Json(
            json!({"success": false, "error": message, "message": message,
                    "error_code": code}),
        ),
    )
        .into_response()
}

fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message, "error")
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Resource not found", "not_found")
}

fn internal() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An internal error occurred",
        "internal_error",
    )
}

fn validation(errors: BTreeMap<String, Vec<String>>) -> Response {
    validation_titled("Validation failed", errors)
}

fn validation_titled(title: &str, errors: BTreeMap<String, Vec<String>>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"success": false, "error": title, "message": title,
                    "error_code": "validation_error", "errors": errors})),
    )
        .into_response()
}

fn setup_redirect() -> Response {
    let mut r = (
        StatusCode::FOUND,
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href=\"/setup\">/setup</a>. If not, click the link.\n",
    )
        .into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::LOCATION, HeaderValue::from_static("/setup"));
    h.insert(
        header::SET_COOKIE,
        HeaderValue::from_static("session=sim; Secure; HttpOnly; Path=/; SameSite=Lax"),
    );
    r
}

/// The setup wizard's page (HTML, as a browser following the redirect would see it).
async fn setup_page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html>\n<html lang=en>\n<title>Initial setup</title>\n<h1>Welcome to TimeTracker</h1>\n",
    )
        .into_response()
}

async fn no_route(State(ctl): State<TimetrackerControl>) -> Response {
    if ctl.lock().config.setup_required {
        return setup_redirect();
    }
    not_found()
}

// ---------------------------------------------------------------------------------------
// Authentication, scopes, rate limit

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
struct Caller {
    token: String,
    user_id: u64,
    admin: bool,
}

fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let parts: Vec<&str> = v.split_whitespace().collect();
        if let [scheme, token] = parts.as_slice()
            && matches!(scheme.to_ascii_lowercase().as_str(), "bearer" | "token")
        {
            return Some((*token).to_owned());
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn has_scope(scopes: &[String], required: &str) -> bool {
    let verb = required.split(':').next().unwrap_or("");
    scopes
        .iter()
        .any(|s| s == required || s == "*" || s == "admin:all" || *s == format!("{verb}:*"))
}

/// The gate every authenticated route passes: the setup redirect, the token, the scope
/// and (when configured) the per-token rate limit, in the server's order.
fn guard(ctl: &TimetrackerControl, headers: &HeaderMap, scope: &str) -> Result<Caller, Response> {
    let now = ctl.clock.now();
    let mut st = ctl.lock();
    if st.config.setup_required {
        return Err(setup_redirect());
    }
    let unauthorized = |error: &str, message: &str| {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": error, "message": message, "error_code": "unauthorized"})),
        )
            .into_response()
    };
    let Some(token) = presented_token(headers) else {
        return Err(unauthorized(
            "Authentication required",
            "API token must be provided in Authorization header or X-API-Key header",
        ));
    };
    let Some(t) = st.tokens.get(&token).cloned() else {
        let reason = if token.starts_with("tt_") {
            "Token not found"
        } else {
            "Invalid token format"
        };
        return Err(unauthorized("Invalid token", reason));
    };
    if t.revoked {
        return Err(unauthorized("Invalid token", "Token has been revoked"));
    }
    if t.expires_at.is_some_and(|at| at <= now) {
        return Err(unauthorized("Invalid token", "Token has expired"));
    }
    let Some(user) = st.users.get(&t.user_id).filter(|u| u.is_active).cloned() else {
        return Err(unauthorized("Invalid token", "User account is inactive"));
    };
    if !has_scope(&t.scopes, scope) {
        return Err((
            StatusCode::FORBIDDEN,
            Json(json!({
                "error": "Insufficient permissions",
                "message": format!("This endpoint requires one of: \"{scope}\""),
                "error_code": "forbidden",
                "required_scope": scope,
                "available_scopes": t.scopes,
            })),
        )
            .into_response());
    }
    if let Some(limit) = st.config.rate_limit {
        let secs = now.timestamp();
        let (minute, hour) = (secs.div_euclid(60), secs.div_euclid(3600));
        let counters = st.rate.entry(token.clone()).or_insert((minute, 0, hour, 0));
        if counters.0 != minute {
            *counters = (minute, 0, counters.2, counters.3);
        }
        if counters.2 != hour {
            counters.2 = hour;
            counters.3 = 0;
        }
        counters.1 += 1;
        counters.3 += 1;
        let (per_min, per_hour) = (counters.1, counters.3);
        if per_min > limit.per_minute || per_hour > limit.per_hour {
            let subsec = f64::from(now.nanosecond()) / 1e9;
            let into_minute = secs.rem_euclid(60) as f64 + subsec;
            let into_hour = secs.rem_euclid(3600) as f64 + subsec;
            let wait = if per_hour > limit.per_hour {
                3600.0 - into_hour
            } else {
                60.0 - into_minute
            };
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({
                    "error": "Rate limit exceeded",
                    "message": "Too many requests for this API token. Try again later.",
                    "error_code": "rate_limited",
                    "limit_per_minute": limit.per_minute,
                    "limit_per_hour": limit.per_hour,
                    "remaining_per_minute": limit.per_minute.saturating_sub(per_min),
                    "remaining_per_hour": limit.per_hour.saturating_sub(per_hour),
                })),
            )
                .into_response();
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&(wait.floor() as u64).max(1).to_string())
                    .unwrap_or(HeaderValue::from_static("1")),
            );
            return Err(r);
        }
    }
    Ok(Caller {
        token,
        user_id: user.id,
        admin: user.role == Role::Admin,
    })
}

macro_rules! caller {
    ($ctl:expr, $headers:expr, $scope:expr) => {
        match guard(&$ctl, &$headers, $scope) {
            Ok(c) => c,
            Err(r) => return r,
        }
    };
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

/// The JSON object body of a write; 415 without a JSON content type, 400 on bad JSON.
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Body, Response> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json_type {
        let m = "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.";
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Json(json!({"success": false, "error": m, "message": m, "error_code": 415})),
        )
            .into_response());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(validation(BTreeMap::from([(
            "_schema".to_owned(),
            vec!["Invalid input type.".to_owned()],
        )]))),
        Err(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "The browser (or proxy) sent a request that this server could not understand.",
            "bad_request",
        )),
    }
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `page` and `per_page` as `paginate_query` reads them: a page below 1 or not a number is
/// 1; `per_page` not a number is 50, ≤ 0 is 20, above 100 is 100.
fn paging(q: &[(String, String)]) -> (usize, usize) {
    let page = param(q, "page")
        .and_then(|p| p.trim().parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1) as usize;
    let per_page = match param(q, "per_page").map(|p| p.trim().parse::<i64>()) {
        None | Some(Err(_)) => 50,
        Some(Ok(n)) if n <= 0 => 20,
        Some(Ok(n)) => n.min(100) as usize,
    };
    (page, per_page)
}

/// One page of `items` and the `pagination` object.
fn paginate<T: Clone>(items: &[T], page: usize, per_page: usize) -> (Vec<T>, Value) {
    let total = items.len();
    let pages = total.div_ceil(per_page);
    let from = (page - 1).saturating_mul(per_page).min(total);
    let to = (from + per_page).min(total);
    let has_next = page < pages;
    let has_prev = page > 1;
    (
        items[from..to].to_vec(),
        json!({"page": page, "per_page": per_page, "total": total, "pages": pages,
               "has_next": has_next, "has_prev": has_prev,
               "next_page": if has_next { json!(page + 1) } else { Value::Null },
               "prev_page": if has_prev { json!(page - 1) } else { Value::Null }}),
    )
}

// ---------------------------------------------------------------------------------------
// Info, users

async fn info(State(ctl): State<TimetrackerControl>) -> Response {
    let st = ctl.lock();
    Json(json!({
        "api_version": "v1",
        "app_version": "5.10.0",
        "authentication": "API Token (Bearer or X-API-Key header)",
        "documentation_url": "/api/docs",
        "enabled_modules": ["workflows", "time_approvals", "activity_feed", "invoices"],
        "endpoints": {
            "activities": "/api/v1/activities",
            "ai": "/api/v1/ai/chat",
            "audit_logs": "/api/v1/audit-logs",
            "clients": "/api/v1/clients",
            "projects": "/api/v1/projects",
            "tasks": "/api/v1/tasks",
            "time_entries": "/api/v1/time-entries",
            "timer": "/api/v1/timer",
            "users": "/api/v1/users",
            "webhooks": "/api/v1/webhooks",
        },
        "setup_required": st.config.setup_required,
        "timezone": st.config.timezone.name(),
    }))
    .into_response()
}

async fn health(State(ctl): State<TimetrackerControl>) -> Response {
    let now = ctl.clock.now();
    let st = ctl.lock();
    Json(json!({"status": "healthy",
                "timestamp": super::time::fmt_naive(st.now_local(now))}))
    .into_response()
}

fn requirements_json(st: &TtState) -> Value {
    let r = st.config.requirements;
    json!({"description_min_length": r.description_min_length,
           "require_description": r.require_description, "require_task": r.require_task})
}

async fn users_me(State(ctl): State<TimetrackerControl>, headers: HeaderMap) -> Response {
    let c = caller!(ctl, headers, "read:users");
    let st = ctl.lock();
    let Some(u) = st.users.get(&c.user_id) else {
        return not_found();
    };
    Json(json!({
        "enabled_modules": ["workflows", "time_approvals", "activity_feed", "invoices"],
        "time_entry_requirements": requirements_json(&st),
        "user": st.user_json(u),
    }))
    .into_response()
}

async fn users_index(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    caller!(ctl, headers, "admin:all");
    let st = ctl.lock();
    let mut users: Vec<_> = st.users.values().filter(|u| u.is_active).collect();
    users.sort_by(|a, b| a.username.cmp(&b.username));
    let (page, per_page) = paging(&q);
    let (items, pagination) = paginate(&users, page, per_page);
    let users: Vec<Value> = items.into_iter().map(|u| st.user_json(u)).collect();
    Json(json!({"users": users, "pagination": pagination})).into_response()
}

// ---------------------------------------------------------------------------------------
// Clients, projects, tasks

async fn clients_index(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    caller!(ctl, headers, "read:clients");
    let st = ctl.lock();
    let mut list: Vec<_> = st.clients.values().collect();
    list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let (page, per_page) = paging(&q);
    let (items, pagination) = paginate(&list, page, per_page);
    let clients: Vec<Value> = items.into_iter().map(|c| st.client_json(c)).collect();
    Json(json!({"clients": clients, "pagination": pagination})).into_response()
}

async fn client_create(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    caller!(ctl, headers, "write:clients");
    let body = tri!(json_body(&headers, &body));
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let Some(name) = name else {
        return validation_titled(
            "Client name is required",
            BTreeMap::from([(
                "name".to_owned(),
                vec!["Client name is required".to_owned()],
            )]),
        );
    };
    if ctl.lock().clients.values().any(|c| c.name == name) {
        return bad("A client with this name already exists");
    }
    let client = ctl.add_client(name);
    let mut st = ctl.lock();
    if let Some(c) = st.clients.get_mut(&client.id) {
        c.email = body.get("email").and_then(Value::as_str).map(str::to_owned);
        c.default_hourly_rate = body.get("default_hourly_rate").and_then(Value::as_f64);
    }
    let c = st.clients[&client.id].clone();
    (
        StatusCode::CREATED,
        Json(json!({"message": "Client created successfully", "client": st.client_json(&c)})),
    )
        .into_response()
}

async fn projects_index(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    caller!(ctl, headers, "read:projects");
    let st = ctl.lock();
    let status = param(&q, "status").unwrap_or("active");
    let client = param(&q, "client_id").and_then(|c| c.parse::<u64>().ok());
    let mut list: Vec<&Project> = st
        .projects
        .values()
        .filter(|p| match status {
            "all" => true,
            "archived" => p.archived,
            _ => !p.archived,
        })
        .filter(|p| client.is_none_or(|c| p.client_id == Some(c)))
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let (page, per_page) = paging(&q);
    let (items, pagination) = paginate(&list, page, per_page);
    let projects: Vec<Value> = items.into_iter().map(|p| st.project_json(p)).collect();
    Json(json!({"projects": projects, "pagination": pagination})).into_response()
}

async fn project_create(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    caller!(ctl, headers, "write:projects");
    let body = tri!(json_body(&headers, &body));
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let Some(name) = name else {
        return validation_titled(
            "Project name is required",
            BTreeMap::from([(
                "name".to_owned(),
                vec!["Project name is required".to_owned()],
            )]),
        );
    };
    let client = body.get("client_id").and_then(Value::as_u64);
    if !client.is_some_and(|c| ctl.lock().clients.contains_key(&c)) {
        return bad("Invalid client");
    }
    let billable = body
        .get("billable")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let rate = body.get("hourly_rate").and_then(Value::as_f64);
    let p = ctl.add_project(name, client, billable, rate);
    let st = ctl.lock();
    (
        StatusCode::CREATED,
        Json(json!({"message": "Project created successfully", "project": st.project_json(&p)})),
    )
        .into_response()
}

async fn tasks_index(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    caller!(ctl, headers, "read:tasks");
    let st = ctl.lock();
    let project = param(&q, "project_id").and_then(|c| c.parse::<u64>().ok());
    let mut list: Vec<_> = st
        .tasks
        .values()
        .filter(|t| project.is_none_or(|p| t.project_id == p))
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let (page, per_page) = paging(&q);
    let (items, pagination) = paginate(&list, page, per_page);
    let tasks: Vec<Value> = items.into_iter().map(|t| st.task_json(t)).collect();
    Json(json!({"tasks": tasks, "pagination": pagination})).into_response()
}

async fn task_create(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    caller!(ctl, headers, "write:tasks");
    let body = tri!(json_body(&headers, &body));
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let Some(name) = name else {
        return validation(BTreeMap::from([(
            "name".to_owned(),
            vec!["Missing data for required field.".to_owned()],
        )]));
    };
    let Some(project) = body.get("project_id").and_then(Value::as_u64) else {
        return bad("Invalid project");
    };
    let task = match ctl.add_task(project, name) {
        Ok(t) => t,
        Err(_) => return bad("Invalid project"),
    };
    let st = ctl.lock();
    (
        StatusCode::CREATED,
        Json(json!({"message": "Task created successfully", "task": st.task_json(&task)})),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------
// Time entries

const CREATE_FIELDS: [&str; 12] = [
    "start_time",
    "end_time",
    "project_id",
    "client_id",
    "task_id",
    "notes",
    "tags",
    "billable",
    "paid",
    "invoice_number",
    "break_seconds",
    "user_id",
];

const UPDATE_FIELDS: [&str; 12] = [
    "project_id",
    "client_id",
    "task_id",
    "start_time",
    "end_time",
    "break_seconds",
    "notes",
    "tags",
    "billable",
    "paid",
    "invoice_number",
    "if_updated_at",
];

/// Body fields read through the schema's types; errors are collected per field.
struct Fields<'a> {
    body: &'a Body,
    errors: BTreeMap<String, Vec<String>>,
}

impl<'a> Fields<'a> {
    fn new(body: &'a Body, known: &[&str]) -> Self {
        let mut errors = BTreeMap::new();
        for k in body.keys() {
            if !known.contains(&k.as_str()) {
                errors.insert(k.clone(), vec!["Unknown field.".to_owned()]);
            }
        }
        Fields { body, errors }
    }

    fn fail(&mut self, field: &str, message: &str) {
        self.errors
            .entry(field.to_owned())
            .or_default()
            .push(message.to_owned());
    }

    fn int(&mut self, field: &str) -> Option<i64> {
        match self.body.get(field)? {
            Value::Null => None,
            Value::Number(n) if n.is_i64() => n.as_i64(),
            Value::String(s) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
            _ => {
                self.fail(field, "Not a valid integer.");
                None
            }
        }
    }

    fn boolean(&mut self, field: &str) -> Option<bool> {
        match self.body.get(field)? {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            _ => {
                self.fail(field, "Not a valid boolean.");
                None
            }
        }
    }

    fn text(&mut self, field: &str, max: usize) -> Option<String> {
        match self.body.get(field)? {
            Value::Null => None,
            Value::String(s) => {
                if s.chars().count() > max {
                    self.fail(field, &format!("Longer than maximum length {max}."));
                }
                Some(s.clone())
            }
            _ => {
                self.fail(field, "Not a valid string.");
                None
            }
        }
    }

    fn time(&mut self, field: &str) -> Option<BodyTime> {
        match self.body.get(field)? {
            Value::Null => None,
            Value::String(s) => match parse_body_time(s) {
                Some(t) => Some(t),
                None => {
                    self.fail(field, "Not a valid datetime.");
                    None
                }
            },
            _ => {
                self.fail(field, "Not a valid datetime.");
                None
            }
        }
    }

    fn done(self) -> Result<(), Response> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(validation(self.errors))
        }
    }
}

/// What the database keeps of a body time (see [`Backend`]).
fn stored(backend: Backend, t: BodyTime) -> NaiveDateTime {
    match (t, backend) {
        (BodyTime::Naive(n), _) => n,
        (BodyTime::Aware(a), Backend::Sqlite) => a.naive_local(),
        (BodyTime::Aware(a), Backend::Postgres { session_tz }) => {
            a.with_timezone(&session_tz).naive_local()
        }
    }
}

fn requirement_error(
    st: &TtState,
    task: Option<u64>,
    project: Option<u64>,
    notes: Option<&str>,
) -> Option<&'static str> {
    let r = st.config.requirements;
    if r.require_task && project.is_some() && task.is_none() {
        return Some("A task must be selected when logging time for a project");
    }
    if r.require_description {
        let n = notes.map(str::trim).unwrap_or("");
        if n.is_empty() {
            return Some("A description is required when logging time");
        }
        if n.chars().count() < r.description_min_length {
            return Some("Description must be at least the minimum length");
        }
    }
    None
}

const CLOSED: &str = "Timesheet period is closed for the selected date range";
const OVERLAP_CREATE: &str = "This time overlaps with an existing entry. Please choose a different time range or edit the existing entry.";
const OVERLAP_UPDATE: &str =
    "This time overlaps with an existing entry. Please choose a different time range.";

/// Validates and stores a create; the 201 body on success.
fn create(
    ctl: &TimetrackerControl,
    caller: &Caller,
    body: &Body,
    now: DateTime<Utc>,
) -> Result<(u64, Value), Response> {
    let mut f = Fields::new(body, &CREATE_FIELDS);
    let start = if body.contains_key("start_time") {
        if body["start_time"].is_null() {
            f.fail("start_time", "Field may not be null.");
            None
        } else {
            f.time("start_time")
        }
    } else {
        f.fail("start_time", "Missing data for required field.");
        None
    };
    let end = f.time("end_time");
    let project = f.int("project_id");
    let client = f.int("client_id");
    let user = f.int("user_id");
    let notes = f.text("notes", 5000);
    let tags = f.text("tags", 500);
    let invoice = f.text("invoice_number", 100);
    let billable = f.boolean("billable");
    let paid = f.boolean("paid");
    let break_seconds = f.int("break_seconds");
    // The schema's check sees only `task_id` (the recordings: refused even with a project).
    if body.get("task_id").is_some_and(|t| !t.is_null()) {
        f.fail(
            "task_id",
            "task_id can only be set when project_id is provided",
        );
    }
    if body.get("project_id").is_some_and(Value::is_null) && client.is_none() {
        f.fail(
            "project_id",
            "Either project_id or client_id must be provided",
        );
    }
    f.done()?;
    let start = start.expect("validated");

    let mut st = ctl.lock();
    let owner = match user.map(|u| u as u64) {
        Some(u) if u != caller.user_id => {
            if !caller.admin {
                return Err(error(
                    StatusCode::FORBIDDEN,
                    "Only admins can create time entries for other users",
                    "error",
                ));
            }
            if !st.users.get(&u).is_some_and(|u| u.is_active) {
                return Err(bad("Selected user is invalid or inactive"));
            }
            u
        }
        _ => caller.user_id,
    };
    let (project, client) = (project.map(|p| p as u64), client.map(|c| c as u64));
    if project.is_none() && client.is_none() {
        return Err(bad("Either project or client must be selected"));
    }
    if let Some(p) = project
        && !st.projects.contains_key(&p)
    {
        return Err(bad("Invalid project"));
    }
    if let Some(c) = client
        && !st.clients.contains_key(&c)
    {
        return Err(bad("Invalid client"));
    }
    if let Some(msg) = requirement_error(&st, None, project, notes.as_deref()) {
        return Err(bad(msg));
    }
    if let BodyTime::Naive(t) = start
        && st.closed(t)
    {
        return Err(bad(CLOSED));
    }
    let end = end.unwrap_or(start);
    // Python compares the parsed values: an aware with a naive one is a TypeError (500).
    if matches!(start, BodyTime::Aware(_)) != matches!(end, BodyTime::Aware(_)) {
        return Err(internal());
    }
    let backend = st.config.backend;
    let (start, end) = (stored(backend, start), stored(backend, end));
    if end <= start {
        return Err(bad("End time must be after start time"));
    }
    if st.overlaps(owner, start, end, None) {
        return Err(bad(OVERLAP_CREATE));
    }
    let now_local = st.now_local(now);
    let entry = st.insert_entry(Entry {
        id: 0,
        user_id: owner,
        project_id: project,
        client_id: client,
        task_id: None,
        start,
        end: Some(end),
        break_seconds: break_seconds.unwrap_or(0).max(0),
        notes,
        tags,
        source: "manual",
        billable: billable.unwrap_or(true),
        paid: paid.unwrap_or(false),
        invoice_number: invoice,
        created_at: now_local,
        updated_at: now_local,
    });
    Ok((
        entry.id,
        json!({"message": "Time entry created successfully", "time_entry": st.entry_json(&entry)}),
    ))
}

async fn entry_create(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let c = caller!(ctl, headers, "write:time_entries");
    let now = ctl.clock.now();
    // Keys are per token; longer than 128 characters or blank: ignored.
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.chars().count() <= 128)
        .map(|k| (c.token.clone(), k.to_owned()));
    if let Some(key) = &key {
        let mut st = ctl.lock();
        let ttl = st.config.idempotency_ttl;
        match st.idempotency.get(key) {
            Some(a) if now - a.stored_at < ttl => {
                let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::CREATED);
                return (status, Json(a.body.clone())).into_response();
            }
            Some(_) => {
                st.idempotency.remove(key);
            }
            None => {}
        }
    }
    let body = tri!(json_body(&headers, &body));
    let (id, answer) = tri!(create(&ctl, &c, &body, now));
    if let Some(key) = key {
        ctl.lock().idempotency.insert(
            key,
            StoredAnswer {
                status: 201,
                body: answer.clone(),
                stored_at: now,
            },
        );
    }
    ctl.dispatch("time_entry.created", id, c.user_id);
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn entries_index(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let c = caller!(ctl, headers, "read:time_entries");
    let st = ctl.lock();
    let tz = st.config.timezone;
    let user = param(&q, "user_id").and_then(|u| u.trim().parse::<u64>().ok());
    if let Some(u) = user
        && u != c.user_id
        && !c.admin
    {
        return error(StatusCode::FORBIDDEN, "Access denied", "forbidden");
    }
    let user = match (user, c.admin) {
        (Some(u), _) => Some(u),
        (None, true) => None,
        (None, false) => Some(c.user_id),
    };
    let project = param(&q, "project_id").and_then(|p| p.trim().parse::<u64>().ok());
    let billable = param(&q, "billable").map(|b| b == "true");
    let from = param(&q, "start_date").and_then(|s| parse_filter(s, tz, false));
    let to = param(&q, "end_date").and_then(|s| parse_filter(s, tz, true));
    let active = param(&q, "include_active") == Some("true");
    let mut list: Vec<&Entry> = st
        .entries
        .values()
        .filter(|e| user.is_none_or(|u| e.user_id == u))
        .filter(|e| project.is_none_or(|p| e.project_id == Some(p)))
        .filter(|e| billable.is_none_or(|b| e.billable == b))
        .filter(|e| from.is_none_or(|f| e.start >= f))
        .filter(|e| to.is_none_or(|t| e.start <= t))
        .filter(|e| active || e.end.is_some())
        .collect();
    // `start_time DESC`; the server has no tie-breaker, the simulator uses the id.
    list.sort_by(|a, b| b.start.cmp(&a.start).then(b.id.cmp(&a.id)));
    let (page, per_page) = paging(&q);
    let (items, pagination) = paginate(&list, page, per_page);
    let entries: Vec<Value> = items.into_iter().map(|e| st.entry_json(e)).collect();
    Json(json!({"time_entries": entries, "pagination": pagination})).into_response()
}

async fn entry_show(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let c = caller!(ctl, headers, "read:time_entries");
    let st = ctl.lock();
    let Some(e) = id.parse::<u64>().ok().and_then(|id| st.entries.get(&id)) else {
        return not_found();
    };
    if e.user_id != c.user_id && !c.admin {
        return error(StatusCode::FORBIDDEN, "Access denied", "forbidden");
    }
    Json(json!({"time_entry": st.entry_json(e)})).into_response()
}

async fn entry_update(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let c = caller!(ctl, headers, "write:time_entries");
    let Ok(id) = id.parse::<u64>() else {
        return not_found();
    };
    let body = tri!(json_body(&headers, &body));
    let mut f = Fields::new(&body, &UPDATE_FIELDS);
    let project = f.int("project_id");
    let client = f.int("client_id");
    let task = f.int("task_id");
    let start = f.time("start_time");
    let end = f.time("end_time");
    let break_seconds = f.int("break_seconds");
    let notes = f.text("notes", 5000);
    let tags = f.text("tags", 500);
    let invoice = f.text("invoice_number", 100);
    let billable = f.boolean("billable");
    let paid = f.boolean("paid");
    let if_updated_at = f.time("if_updated_at");
    tri!(f.done());
    let now = ctl.clock.now();
    let mut st = ctl.lock();
    let Some(mut e) = st.entries.get(&id).cloned() else {
        return bad("Time entry not found");
    };
    if e.user_id != c.user_id && !c.admin {
        return bad("Access denied");
    }
    if !c.admin && st.closed(e.start) {
        return bad(CLOSED);
    }
    match if_updated_at {
        Some(BodyTime::Aware(_)) => return internal(),
        Some(BodyTime::Naive(t)) if (t - e.updated_at).num_milliseconds().abs() > 2000 => {
            return error(
                StatusCode::CONFLICT,
                "Time entry was modified on the server. Refresh and try again.",
                "conflict",
            );
        }
        _ => {}
    }
    if let Some(p) = project {
        e.project_id = Some(p as u64);
        e.client_id = None;
    }
    if let Some(cl) = client {
        e.client_id = Some(cl as u64);
        e.project_id = None;
        e.task_id = None;
    }
    if let Some(t) = task {
        if e.project_id.is_none() {
            return bad("Task can only be assigned to project-based time entries");
        }
        // No check that the task exists or belongs to the project (the recordings).
        e.task_id = Some(t as u64);
    }
    let backend = st.config.backend;
    let times_changed = start.is_some() || end.is_some();
    if let Some(s) = start {
        e.start = stored(backend, s);
    }
    if let Some(en) = end {
        if e.end.is_none() {
            return bad("Cannot set end_time on active timer. Stop the timer first.");
        }
        e.end = Some(stored(backend, en));
    }
    if times_changed
        && let Some(en) = e.end
        && st.overlaps(e.user_id, e.start, en, Some(e.id))
    {
        return bad(OVERLAP_UPDATE);
    }
    if let Some(b) = break_seconds {
        e.break_seconds = b.max(0);
    }
    if let Some(n) = notes {
        e.notes = Some(n);
    }
    if let Some(t) = tags {
        e.tags = Some(t);
    }
    if let Some(i) = invoice {
        e.invoice_number = Some(i);
    }
    if let Some(b) = billable {
        e.billable = b;
    }
    if let Some(p) = paid {
        e.paid = p;
    }
    if let Some(msg) = requirement_error(&st, e.task_id, e.project_id, e.notes.as_deref()) {
        return bad(msg);
    }
    e.updated_at = st.now_local(now);
    st.entries.insert(e.id, e.clone());
    let answer = json!({"message": "Time entry updated successfully",
                        "time_entry": st.entry_json(&e)});
    drop(st);
    ctl.dispatch("time_entry.updated", id, c.user_id);
    Json(answer).into_response()
}

async fn entry_delete(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let c = caller!(ctl, headers, "write:time_entries");
    let Ok(id) = id.parse::<u64>() else {
        return not_found();
    };
    {
        let st = ctl.lock();
        let Some(e) = st.entries.get(&id) else {
            return bad("Time entry not found");
        };
        if e.user_id != c.user_id && !c.admin {
            return bad("Access denied");
        }
        if e.end.is_none() {
            return bad("Cannot delete active time entry. Stop the timer first.");
        }
        if !c.admin && st.closed(e.start) {
            return bad(CLOSED);
        }
    }
    // Built before the entry is gone, so the payload still names its project.
    ctl.dispatch("time_entry.deleted", id, c.user_id);
    ctl.lock().entries.remove(&id);
    Json(json!({"message": "Time entry deleted successfully"})).into_response()
}

// ---------------------------------------------------------------------------------------
// Timer

async fn timer_start(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let c = caller!(ctl, headers, "write:time_entries");
    let body = tri!(json_body(&headers, &body));
    let now = ctl.clock.now();
    let mut st = ctl.lock();
    if st
        .entries
        .values()
        .any(|e| e.user_id == c.user_id && e.end.is_none())
    {
        return bad("Timer already running");
    }
    let project = body.get("project_id").and_then(Value::as_u64);
    if !project.is_some_and(|p| st.projects.contains_key(&p)) {
        return bad("Invalid project");
    }
    let now_local = st.now_local(now);
    let entry = st.insert_entry(Entry {
        id: 0,
        user_id: c.user_id,
        project_id: project,
        client_id: None,
        task_id: body.get("task_id").and_then(Value::as_u64),
        start: now_local,
        end: None,
        break_seconds: 0,
        notes: body.get("notes").and_then(Value::as_str).map(str::to_owned),
        tags: None,
        source: "auto",
        billable: true,
        paid: false,
        invoice_number: None,
        created_at: now_local,
        updated_at: now_local,
    });
    let answer = json!({"message": "Timer started successfully", "timer": st.entry_json(&entry)});
    drop(st);
    ctl.dispatch("time_entry.started", entry.id, c.user_id);
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn timer_stop(State(ctl): State<TimetrackerControl>, headers: HeaderMap) -> Response {
    let c = caller!(ctl, headers, "write:time_entries");
    let now = ctl.clock.now();
    let mut st = ctl.lock();
    let now_local = st.now_local(now);
    let Some(e) = st
        .entries
        .values_mut()
        .find(|e| e.user_id == c.user_id && e.end.is_none())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "No active timer to stop",
            "no_active_timer",
        );
    };
    e.end = Some(now_local);
    e.updated_at = now_local;
    let e = e.clone();
    let answer = json!({"message": "Timer stopped successfully", "time_entry": st.entry_json(&e)});
    drop(st);
    ctl.dispatch("time_entry.stopped", e.id, c.user_id);
    Json(answer).into_response()
}

async fn timer_status(State(ctl): State<TimetrackerControl>, headers: HeaderMap) -> Response {
    let c = caller!(ctl, headers, "read:time_entries");
    let st = ctl.lock();
    match st
        .entries
        .values()
        .find(|e| e.user_id == c.user_id && e.end.is_none())
    {
        Some(e) => Json(json!({"active": true, "timer": st.entry_json(e)})).into_response(),
        None => Json(json!({"active": false, "timer": null})).into_response(),
    }
}

// ---------------------------------------------------------------------------------------
// Webhooks

async fn webhooks_index(State(ctl): State<TimetrackerControl>, headers: HeaderMap) -> Response {
    caller!(ctl, headers, "read:webhooks");
    let st = ctl.lock();
    let hooks: Vec<Value> = st
        .webhooks
        .values()
        .map(|w| {
            json!({"id": w.id, "name": w.name, "url": w.url, "events": w.events,
                        "http_method": "POST", "is_active": true})
        })
        .collect();
    Json(json!({"webhooks": hooks})).into_response()
}

async fn webhook_create(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    caller!(ctl, headers, "write:webhooks");
    let body = tri!(json_body(&headers, &body));
    let url = body.get("url").and_then(Value::as_str).unwrap_or("");
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return validation(BTreeMap::from([(
            "url".to_owned(),
            vec!["Not a valid URL.".to_owned()],
        )]));
    }
    let events: Vec<String> = body
        .get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let secret: String = {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        (0..32)
            .map(|_| format!("{:02x}", rng.r#gen::<u8>()))
            .collect()
    };
    let events_ref: Vec<&str> = events.iter().map(String::as_str).collect();
    let id = ctl.add_webhook(url, &secret, &events_ref);
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("webhook")
        .to_owned();
    if let Some(w) = ctl.lock().webhooks.get_mut(&id) {
        w.name = name.clone();
    }
    (
        StatusCode::CREATED,
        Json(json!({"message": "Webhook created successfully",
                    "webhook": {"id": id, "name": name, "url": url, "events": events,
                                "http_method": "POST", "is_active": true, "secret": secret}})),
    )
        .into_response()
}
