//! HTTP routes of the TimeTracker simulator (`/api/v1/...`), answering like the recordings
//! in `tests/fixtures/real/timetracker-5.10/`: the gate (setup, token, scope, rate limit),
//! the answer shapes, users and master data, webhooks; time entries and the timer are in
//! `entries.rs`.

// Handlers answer early with a ready `Response` as the error; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Timelike;
use serde_json::{Map, Value, json};

use super::state::{Project, Role, TimetrackerControl, TtState};
use crate::faults;

pub(super) type Params = Query<Vec<(String, String)>>;
pub(super) type Body = Map<String, Value>;

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

pub(super) fn error(status: StatusCode, message: &str, code: &str) -> Response {
    (
        status,
        Json(
            json!({"success": false, "error": message, "message": message,
                    "error_code": code}),
        ),
    )
        .into_response()
}

pub(super) fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message, "error")
}

pub(super) fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Resource not found", "not_found")
}

pub(super) fn internal() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An internal error occurred",
        "internal_error",
    )
}

pub(super) fn validation(errors: BTreeMap<String, Vec<String>>) -> Response {
    validation_titled("Validation failed", errors)
}

pub(super) fn validation_titled(title: &str, errors: BTreeMap<String, Vec<String>>) -> Response {
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
pub(super) struct Caller {
    pub token: String,
    pub user_id: u64,
    pub admin: bool,
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
pub(super) fn guard(
    ctl: &TimetrackerControl,
    headers: &HeaderMap,
    scope: &str,
) -> Result<Caller, Response> {
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

mod entries;

use entries::{
    entries_index, entry_create, entry_delete, entry_show, entry_update, timer_start, timer_status,
    timer_stop,
};

/// The JSON object body of a write; 415 without a JSON content type, 400 on bad JSON.
pub(super) fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Body, Response> {
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

pub(super) fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `page` and `per_page` as `paginate_query` reads them: a page below 1 or not a number is
/// 1; `per_page` not a number is 50, ≤ 0 is 20, above 100 is 100.
pub(super) fn paging(q: &[(String, String)]) -> (usize, usize) {
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
pub(super) fn paginate<T: Clone>(items: &[T], page: usize, per_page: usize) -> (Vec<T>, Value) {
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
