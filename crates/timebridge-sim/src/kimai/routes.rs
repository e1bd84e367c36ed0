//! HTTP routes of the Kimai simulator.

// Handlers answer early with a ready `Response` as the error; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::state::{KState, KimaiControl, RateOwner, Timesheet, User};
use super::time;
use crate::faults::{self, RepeatPreviousPageId};

type Params = Query<Vec<(String, String)>>;

pub(crate) fn router(ctl: KimaiControl) -> Router {
    let infra = ctl.infra.clone();
    Router::new()
        .route("/api/ping", get(ping))
        .route("/api/version", get(version))
        .route("/api/config/timesheet", get(config_timesheet))
        .route("/api/users/me", get(users_me))
        .route("/api/users", get(users_index))
        .route("/api/users/{id}", get(user_show))
        .route("/api/customers", get(customers_index))
        .route("/api/customers/{id}", get(customer_show))
        .route("/api/customers/{id}/rates", get(customer_rates))
        .route("/api/projects/{id}/rates", get(project_rates))
        .route("/api/activities/{id}/rates", get(activity_rates))
        .route("/api/projects", get(projects_index))
        .route("/api/projects/{id}", get(project_show))
        .route("/api/activities", get(activities_index))
        .route("/api/activities/{id}", get(activity_show))
        .route("/api/tags", get(tags_index).post(tags_create))
        .route("/api/tags/find", get(tags_find))
        .route(
            "/api/timesheets",
            get(timesheets_index).post(timesheet_create),
        )
        .route(
            "/api/timesheets/{id}",
            get(timesheet_show)
                .patch(timesheet_update)
                .delete(timesheet_delete),
        )
        .route("/api/timesheets/{id}/meta", patch(timesheet_meta))
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(
            infra,
            faults::middleware,
        ))
        .with_state(ctl)
}

async fn no_route() -> Response {
    not_found()
}

fn status_json(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"code": status.as_u16(), "message": message})),
    )
        .into_response()
}

fn bad_request() -> Response {
    status_json(StatusCode::BAD_REQUEST, "Bad Request")
}

fn not_found() -> Response {
    status_json(StatusCode::NOT_FOUND, "Not Found")
}

fn forbidden() -> Response {
    status_json(StatusCode::FORBIDDEN, "Forbidden")
}

/// The fields of Kimai's timesheet API form, reported as `children` in validation errors.
const FORM_FIELDS: [&str; 12] = [
    "begin",
    "end",
    "user",
    "project",
    "activity",
    "description",
    "fixedRate",
    "hourlyRate",
    "tags",
    "exported",
    "billable",
    "break",
];

/// A 400 "Validation Failed" answer with global and per-field errors.
fn validation(global: &[&str], children: &BTreeMap<&'static str, Vec<String>>) -> Response {
    let mut ch = Map::new();
    for f in FORM_FIELDS {
        match children.get(f) {
            Some(errs) if !errs.is_empty() => {
                ch.insert(f.to_owned(), json!({"errors": errs}));
            }
            _ => {
                ch.insert(f.to_owned(), json!({}));
            }
        }
    }
    let mut errors = Map::new();
    if !global.is_empty() {
        errors.insert("errors".into(), json!(global));
    }
    errors.insert("children".into(), Value::Object(ch));
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"code": 400, "message": "Validation Failed", "errors": errors})),
    )
        .into_response()
}

fn auth(ctl: &KimaiControl, headers: &HeaderMap) -> Result<User, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Unauthorized", "code": 401})),
        )
            .into_response());
    };
    let st = ctl.lock();
    match st
        .tokens
        .get(token)
        .and_then(|id| st.users.get(id))
        .filter(|u| u.enabled)
    {
        Some(u) => Ok(u.clone()),
        None => {
            let mut r = StatusCode::UNAUTHORIZED.into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer error=\"invalid_token\", error_description=\"Invalid API token\"",
                ),
            );
            Err(r)
        }
    }
}

macro_rules! caller {
    ($ctl:expr, $headers:expr) => {
        match auth(&$ctl, &$headers) {
            Ok(u) => u,
            Err(r) => return r,
        }
    };
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Values of an array parameter (`name[]=…` or `name[0]=…`).
fn array_param<'a>(q: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    q.iter()
        .filter(|(k, _)| {
            k.strip_prefix(name)
                .is_some_and(|r| r.starts_with('[') && r.ends_with(']'))
        })
        .map(|(_, v)| v.as_str())
        .collect()
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses an optional `\d+` parameter; `Err` when present but malformed.
fn id_param(q: &[(String, String)], name: &str) -> Result<Option<u64>, ()> {
    match param(q, name) {
        None => Ok(None),
        Some(v) if is_digits(v) => v.parse().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

fn id_array(q: &[(String, String)], name: &str) -> Result<Vec<u64>, ()> {
    array_param(q, name)
        .into_iter()
        .map(|v| {
            if is_digits(v) {
                v.parse().map_err(|_| ())
            } else {
                Err(())
            }
        })
        .collect()
}

/// Parses an optional parameter restricted to `allowed` values.
fn choice_param<'a>(
    q: &'a [(String, String)],
    name: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, ()> {
    match param(q, name) {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v)),
        Some(_) => Err(()),
    }
}

/// `visible` of the master data lists: 1 visible (default), 2 hidden, 3 both.
fn visible_filter(q: &[(String, String)]) -> Result<Option<bool>, ()> {
    Ok(match choice_param(q, "visible", &["1", "2", "3"])? {
        None | Some("1") => Some(true),
        Some("2") => Some(false),
        _ => None,
    })
}

async fn ping(State(ctl): State<KimaiControl>, headers: HeaderMap) -> Response {
    caller!(ctl, headers);
    Json(json!({"message": "pong"})).into_response()
}

async fn version(State(ctl): State<KimaiControl>, headers: HeaderMap) -> Response {
    caller!(ctl, headers);
    Json(json!({
        "version": "2.66.0",
        "versionId": 26600,
        "copyright": "Kimai 2.66.0 by Kevin Papst.",
    }))
    .into_response()
}

async fn config_timesheet(State(ctl): State<KimaiControl>, headers: HeaderMap) -> Response {
    caller!(ctl, headers);
    let mode = ctl.lock().tracking_mode.clone();
    Json(json!({
        "trackingMode": mode,
        "defaultBeginTime": "now",
        "activeEntriesHardLimit": 1,
        "isAllowFutureTimes": true,
        "isAllowOverlapping": true,
    }))
    .into_response()
}

async fn users_me(State(ctl): State<KimaiControl>, headers: HeaderMap) -> Response {
    let me = caller!(ctl, headers);
    let st = ctl.lock();
    Json(st.user_entity_json(&me)).into_response()
}

async fn users_index(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let me = caller!(ctl, headers);
    if !me.permissions.view_other {
        return forbidden();
    }
    let Ok(visible) = visible_filter(&q) else {
        return bad_request();
    };
    if choice_param(&q, "full", &["0", "1", "true", "false"]).is_err() {
        return bad_request();
    }
    let term = param(&q, "term").map(str::to_lowercase);
    let st = ctl.lock();
    let list: Vec<Value> = st
        .users
        .values()
        .filter(|u| visible.is_none_or(|v| u.enabled == v))
        .filter(|u| {
            term.as_deref().is_none_or(|t| {
                u.username.to_lowercase().contains(t)
                    || u.email.to_lowercase().contains(t)
                    || u.alias.as_deref().unwrap_or("").to_lowercase().contains(t)
            })
        })
        .map(|u| st.user_json(u))
        .collect();
    Json(list).into_response()
}

async fn user_show(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let me = caller!(ctl, headers);
    let st = ctl.lock();
    let Some(u) = id.parse::<u64>().ok().and_then(|id| st.users.get(&id)) else {
        return not_found();
    };
    if u.id != me.id && !me.permissions.view_other {
        return forbidden();
    }
    Json(st.user_entity_json(u)).into_response()
}

async fn customers_index(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    caller!(ctl, headers);
    let Ok(visible) = visible_filter(&q) else {
        return bad_request();
    };
    let term = param(&q, "term").map(str::to_lowercase);
    let st = ctl.lock();
    let list: Vec<Value> = st
        .customers
        .values()
        .filter(|c| visible.is_none_or(|v| c.visible == v))
        .filter(|c| {
            term.as_deref()
                .is_none_or(|t| c.name.to_lowercase().contains(t))
        })
        .map(|c| st.customer_json(c))
        .collect();
    Json(list).into_response()
}

async fn customer_show(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    caller!(ctl, headers);
    let st = ctl.lock();
    match id.parse::<u64>().ok().and_then(|id| st.customers.get(&id)) {
        Some(c) => Json(st.customer_json(c)).into_response(),
        None => not_found(),
    }
}

/// `GET /api/{customers,projects,activities}/{id}/rates`: 404 for an unknown owner, 403
/// for a user who may not see rates.
fn rates_of(
    ctl: &KimaiControl,
    headers: &HeaderMap,
    owner: impl Fn(u64) -> RateOwner,
    id: &str,
) -> Response {
    let me = caller!(ctl, headers);
    let st = ctl.lock();
    if !me.permissions.view_rate {
        return status_json(StatusCode::FORBIDDEN, "Access denied.");
    }
    let Some(id) = id.parse::<u64>().ok() else {
        return not_found();
    };
    let exists = match owner(id) {
        RateOwner::Customer(c) => st.customers.contains_key(&c),
        RateOwner::Project(p) => st.projects.contains_key(&p),
        RateOwner::Activity(a) => st.activities.contains_key(&a),
    };
    if !exists {
        return not_found();
    }
    Json(st.rates_json(owner(id))).into_response()
}

async fn customer_rates(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    rates_of(&ctl, &headers, RateOwner::Customer, &id)
}

async fn project_rates(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    rates_of(&ctl, &headers, RateOwner::Project, &id)
}

async fn activity_rates(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    rates_of(&ctl, &headers, RateOwner::Activity, &id)
}

/// Today's date in `tz` by the simulator clock.
fn today(ctl: &KimaiControl, tz: Tz) -> NaiveDate {
    ctl.clock.now().with_timezone(&tz).date_naive()
}

async fn projects_index(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let me = caller!(ctl, headers);
    let Ok(visible) = visible_filter(&q) else {
        return bad_request();
    };
    let (Ok(customer), Ok(customers)) = (id_param(&q, "customer"), id_array(&q, "customers"))
    else {
        return bad_request();
    };
    let Ok(global) = choice_param(&q, "globalActivities", &["0", "1"]) else {
        return bad_request();
    };
    let Ok(ignore_dates) = choice_param(&q, "ignoreDates", &["0", "1", "true", "false"]) else {
        return bad_request();
    };
    let ignore_dates = matches!(ignore_dates, Some("1" | "true"));
    let mut range: Option<(Option<NaiveDate>, Option<NaiveDate>)> = None;
    for (i, name) in ["begin", "end"].into_iter().enumerate() {
        if let Some(v) = param(&q, name) {
            let Some(t) = time::parse_strict(v) else {
                return bad_request();
            };
            let r = range.get_or_insert((None, None));
            if i == 0 {
                r.0 = Some(t.date());
            } else {
                r.1 = Some(t.date());
            }
        }
    }
    let today = today(&ctl, me.timezone);
    let term = param(&q, "term").map(str::to_lowercase);
    let st = ctl.lock();
    let list: Vec<Value> = st
        .projects
        .values()
        .filter(|p| visible.is_none_or(|v| p.visible == v))
        .filter(|p| customer.is_none_or(|c| p.customer == c))
        .filter(|p| customers.is_empty() || customers.contains(&p.customer))
        .filter(|p| global.is_none_or(|g| p.global_activities == (g == "1")))
        .filter(|p| {
            term.as_deref()
                .is_none_or(|t| p.name.to_lowercase().contains(t))
        })
        .filter(|p| {
            if ignore_dates {
                return true;
            }
            let (from, to) = range.unwrap_or((Some(today), Some(today)));
            let starts_ok = match (p.start, to) {
                (Some(s), Some(to)) => s <= to,
                _ => true,
            };
            let ends_ok = match (p.end, from) {
                (Some(e), Some(from)) => e >= from,
                _ => true,
            };
            starts_ok && ends_ok
        })
        .map(|p| st.project_json(p, false))
        .collect();
    Json(list).into_response()
}

async fn project_show(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    caller!(ctl, headers);
    let st = ctl.lock();
    match id.parse::<u64>().ok().and_then(|id| st.projects.get(&id)) {
        Some(p) => Json(st.project_json(p, false)).into_response(),
        None => not_found(),
    }
}

async fn activities_index(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    caller!(ctl, headers);
    let Ok(visible) = visible_filter(&q) else {
        return bad_request();
    };
    let (Ok(project), Ok(projects)) = (id_param(&q, "project"), id_array(&q, "projects")) else {
        return bad_request();
    };
    let Ok(globals) = choice_param(&q, "globals", &["0", "1", "true", "false"]) else {
        return bad_request();
    };
    let globals_only = matches!(globals, Some("1" | "true"));
    let term = param(&q, "term").map(str::to_lowercase);
    let st = ctl.lock();
    let mut wanted: Vec<u64> = projects;
    wanted.extend(project);
    let list: Vec<Value> = st
        .activities
        .values()
        .filter(|a| visible.is_none_or(|v| a.visible == v))
        .filter(|a| {
            if globals_only {
                return a.project.is_none();
            }
            if wanted.is_empty() {
                return true;
            }
            match a.project {
                Some(p) => wanted.contains(&p),
                None => wanted
                    .iter()
                    .any(|p| st.projects.get(p).is_some_and(|p| p.global_activities)),
            }
        })
        .filter(|a| {
            term.as_deref()
                .is_none_or(|t| a.name.to_lowercase().contains(t))
        })
        .map(|a| st.activity_json(a))
        .collect();
    Json(list).into_response()
}

async fn activity_show(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    caller!(ctl, headers);
    let st = ctl.lock();
    match id.parse::<u64>().ok().and_then(|id| st.activities.get(&id)) {
        Some(a) => Json(st.activity_json(a)).into_response(),
        None => not_found(),
    }
}

async fn tags_index(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    caller!(ctl, headers);
    let name = param(&q, "name").map(str::to_lowercase);
    let st = ctl.lock();
    let list: Vec<&str> = st
        .tags
        .values()
        .filter(|t| {
            name.as_deref()
                .is_none_or(|n| t.name.to_lowercase().contains(n))
        })
        .map(|t| t.name.as_str())
        .collect();
    Json(list).into_response()
}

async fn tags_find(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    caller!(ctl, headers);
    let name = param(&q, "name").map(str::to_lowercase);
    let st = ctl.lock();
    let list: Vec<Value> = st
        .tags
        .values()
        .filter(|t| {
            name.as_deref()
                .is_none_or(|n| t.name.to_lowercase().contains(n))
        })
        .map(KState::tag_json)
        .collect();
    Json(list).into_response()
}

fn tag_validation(msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(
            json!({"code": 400, "message": "Validation Failed", "errors": {
                "children": {"name": {"errors": [msg]}, "color": {}, "visible": {}}
            }}),
        ),
    )
        .into_response()
}

async fn tags_create(State(ctl): State<KimaiControl>, headers: HeaderMap, body: Bytes) -> Response {
    caller!(ctl, headers);
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return bad_request();
    };
    let body = camel_keys(body);
    if body
        .keys()
        .any(|k| !matches!(k.as_str(), "name" | "color" | "visible"))
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"code": 400, "message": "Validation Failed", "errors": {
                    "errors": ["This form should not contain extra fields."],
                    "children": {"name": {}, "color": {}, "visible": {}}
                }}),
            ),
        )
            .into_response();
    }
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if name.is_empty() {
        return tag_validation("This value should not be blank.");
    }
    let mut st = ctl.lock();
    if st.tag_id(name).is_some() {
        return tag_validation("This value is already used.");
    }
    let id = st.tags.keys().next_back().map_or(1, |k| k + 1);
    let tag = super::state::Tag {
        id,
        name: name.to_owned(),
        color: body.get("color").and_then(Value::as_str).map(str::to_owned),
        visible: body.get("visible").and_then(as_bool).unwrap_or(true),
    };
    st.tags.insert(id, tag.clone());
    Json(KState::tag_json(&tag)).into_response()
}

/// Converts snake_case keys to camelCase, as Kimai's request listener does.
fn camel_keys(body: Map<String, Value>) -> Map<String, Value> {
    body.into_iter()
        .map(|(k, v)| {
            if !k.contains('_') {
                return (k, v);
            }
            let mut out = String::with_capacity(k.len());
            let mut upper = false;
            for c in k.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    out.extend(c.to_uppercase());
                    upper = false;
                } else {
                    out.push(c);
                }
            }
            (out, v)
        })
        .collect()
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn as_id(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if is_digits(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether the entry is locked for `user` (exported without permission, or in lockdown).
fn locked(st: &KState, user: &User, t: &Timesheet) -> bool {
    (t.exported && !user.permissions.edit_exported)
        || st.lockdown_before.is_some_and(|l| t.begin < l)
}

/// Applies a POST (existing = None) or PATCH body to produce the entry to store, or the
/// error answer. `now` is the simulator clock.
/// Per-field validation messages collected while applying a form.
#[derive(Default)]
struct FieldErrors(BTreeMap<&'static str, Vec<String>>);

impl FieldErrors {
    fn add(&mut self, field: &'static str, msg: &str) {
        self.0.entry(field).or_default().push(msg.to_owned());
    }
}

fn apply_form(
    st: &KState,
    caller: &User,
    body: Map<String, Value>,
    existing: Option<&Timesheet>,
    now: DateTime<Utc>,
) -> Result<Timesheet, Response> {
    let body = camel_keys(body);
    let p = caller.permissions;
    let mut allowed = vec![
        "project",
        "activity",
        "begin",
        "end",
        "description",
        "tags",
        "billable",
    ];
    if p.edit_rate {
        allowed.extend(["fixedRate", "hourlyRate"]);
    }
    if p.create_other {
        allowed.push("user");
    }
    if p.edit_export {
        allowed.push("exported");
    }
    if !p.edit_other {
        match st.tracking_mode.as_str() {
            "punch" => allowed.retain(|f| *f != "begin" && *f != "end"),
            "duration_fixed_begin" => allowed.retain(|f| *f != "begin"),
            _ => {}
        }
    }
    if body.keys().any(|k| !allowed.contains(&k.as_str())) {
        return Err(validation(
            &["This form should not contain extra fields."],
            &BTreeMap::new(),
        ));
    }

    let mut errors = FieldErrors::default();
    const INVALID_CHOICE: &str = "The selected choice is invalid.";

    // user
    let mut user_id = existing.map_or(caller.id, |e| e.user);
    if let Some(v) = body.get("user") {
        match as_id(v).filter(|id| st.users.contains_key(id)) {
            Some(id) => user_id = id,
            None => errors.add("user", INVALID_CHOICE),
        }
    }
    // project / activity: Some(None) = explicitly empty
    let mut project = existing.map(|e| e.project);
    if let Some(v) = body.get("project") {
        project = None;
        if !(v.is_null() || v == "") {
            match as_id(v).filter(|id| st.projects.get(id).is_some_and(|p| p.visible)) {
                Some(id) => project = Some(id),
                None => errors.add("project", INVALID_CHOICE),
            }
        }
    } else if existing.is_none() {
        project = None;
    }
    let project_invalid = errors.0.contains_key("project");
    let mut activity = existing.map(|e| e.activity);
    if let Some(v) = body.get("activity") {
        activity = None;
        if !(v.is_null() || v == "") {
            match as_id(v).filter(|id| st.activities.get(id).is_some_and(|a| a.visible)) {
                Some(id) => activity = Some(id),
                None => errors.add("activity", INVALID_CHOICE),
            }
        }
    }
    let activity_invalid = errors.0.contains_key("activity");
    if project.is_none() && !project_invalid {
        errors.add("project", "A project needs to be selected.");
    }
    if activity.is_none() && !activity_invalid {
        errors.add("activity", "An activity needs to be selected.");
    }

    // Zone the wall times are read in: the caller's on create, the entry's on update.
    let read_tz = existing.map_or(caller.timezone, |e| e.timezone);
    let mut begin = existing.map(|e| e.begin);
    let mut end = existing.and_then(|e| e.end);
    match body.get("begin") {
        Some(Value::String(s)) => match time::parse_body(s) {
            Some(n) => begin = Some(time::resolve(n, read_tz)),
            None => errors.add("begin", "This value is not a valid datetime."),
        },
        Some(Value::Null) => {
            begin = None;
            errors.add("begin", "This value should not be blank.");
        }
        Some(_) => errors.add("begin", "This value is not a valid datetime."),
        None => {
            if existing.is_none() {
                begin = Some(now);
            }
        }
    }
    match body.get("end") {
        Some(Value::String(s)) if s.is_empty() => end = None,
        Some(Value::String(s)) => match time::parse_body(s) {
            Some(n) => end = Some(time::resolve(n, read_tz)),
            None => errors.add("end", "This value is not a valid datetime."),
        },
        Some(Value::Null) => end = None,
        Some(_) => errors.add("end", "This value is not a valid datetime."),
        None => {}
    }
    let mut description = existing.and_then(|e| e.description.clone());
    match body.get("description") {
        Some(Value::String(s)) => description = (!s.is_empty()).then(|| s.clone()),
        Some(Value::Null) => description = None,
        Some(_) => errors.add("description", "This value is not valid."),
        None => {}
    }
    let mut tags = existing.map(|e| e.tags.clone()).unwrap_or_default();
    if let Some(v) = body.get("tags") {
        let names: Vec<String> = match v {
            Value::String(s) => s.split(',').map(|t| t.trim().to_owned()).collect(),
            Value::Array(a) => a
                .iter()
                .filter_map(|t| t.as_str().map(|s| s.trim().to_owned()))
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                errors.add("tags", "This value is not valid.");
                Vec::new()
            }
        };
        tags.clear();
        for n in names {
            // Unknown tags are dropped silently, like Kimai's transformer does for users
            // who may not create tags.
            if !n.is_empty() && st.tag_id(&n).is_some() && !tags.contains(&n) {
                tags.push(n);
            }
        }
    }
    let mut fixed_rate = existing.and_then(|e| e.fixed_rate);
    if let Some(v) = body.get("fixedRate") {
        if v.is_null() || v == "" {
            fixed_rate = None;
        } else {
            match as_f64(v) {
                Some(f) => fixed_rate = Some(f),
                None => errors.add("fixedRate", "This value is not valid."),
            }
        }
    }
    let mut hourly_rate = existing.map(|e| e.hourly_rate);
    if let Some(v) = body.get("hourlyRate")
        && !v.is_null()
        && v != ""
    {
        match as_f64(v) {
            Some(f) => hourly_rate = Some(f),
            None => errors.add("hourlyRate", "This value is not valid."),
        }
    }
    let mut exported = existing.is_some_and(|e| e.exported);
    if let Some(v) = body.get("exported") {
        match as_bool(v) {
            Some(b) => exported = b,
            None => errors.add("exported", "This value is not valid."),
        }
    }
    let mut billable_explicit = None;
    if let Some(v) = body.get("billable") {
        match as_bool(v) {
            Some(b) => billable_explicit = Some(b),
            None => errors.add("billable", "This value is not valid."),
        }
    }

    // Cross-field rules.
    let target_user = st.users.get(&user_id);
    let store_tz = match (existing, target_user) {
        (Some(e), _) if e.user == user_id => e.timezone,
        (_, Some(u)) => u.timezone,
        _ => read_tz,
    };
    if let (Some(pid), Some(aid)) = (project, activity)
        && let (Some(proj), Some(act)) = (st.projects.get(&pid), st.activities.get(&aid))
    {
        match act.project {
            Some(ap) if ap != pid => errors.add(
                "project",
                "Project mismatch, project specific activity and timesheet project are different.",
            ),
            None if !proj.global_activities => errors.add(
                "activity",
                "Global activities are forbidden for the selected project.",
            ),
            _ => {}
        }
    }
    if let (Some(pid), Some(b)) = (project, begin)
        && let Some(proj) = st.projects.get(&pid)
    {
        let day = b.with_timezone(&store_tz).date_naive();
        if proj.start.is_some_and(|s| day < s) {
            errors.add("begin", "The project has not started at that time.");
        }
        if proj.end.is_some_and(|e| day > e) {
            errors.add("begin", "The project is finished at that time.");
        }
    }
    if let (Some(b), Some(e)) = (begin, end)
        && e < b
    {
        errors.add("end", "End date must not be earlier then start date.");
    }
    if existing.is_none()
        && let (Some(l), Some(b)) = (st.lockdown_before, begin)
        && b < l
    {
        errors.add(
            "begin",
            "This period is locked, please choose a later date.",
        );
    }
    if !errors.0.is_empty() {
        return Err(validation(&[], &errors.0));
    }
    let (project, activity, begin) = (project.unwrap(), activity.unwrap(), begin.unwrap());
    let relations_changed = existing.is_none_or(|e| e.project != project || e.activity != activity);
    let billable = match (billable_explicit, existing) {
        (Some(b), _) => b,
        (None, Some(e)) if !relations_changed => e.billable,
        _ => st.auto_billable(project, activity),
    };
    // Kimai prices a timesheet when it is created or moved: the best fitting rate of its
    // customer, project and activity unless one was sent, else the user's own rate.
    let best = relations_changed
        .then(|| st.best_rate(user_id, project, activity))
        .flatten();
    let fixed_rate = fixed_rate.or(best.filter(|r| r.fixed).map(|r| r.rate));
    let hourly_rate = hourly_rate.or(best.filter(|r| !r.fixed).map(|r| r.rate));
    let mut t = Timesheet {
        id: existing.map_or(st.next_timesheet, |e| e.id),
        user: user_id,
        project,
        activity,
        begin: time::floor_minute(begin),
        end: end.map(time::ceil_minute),
        timezone: store_tz,
        duration: None,
        description,
        tags,
        meta_fields: existing.map(|e| e.meta_fields.clone()).unwrap_or_default(),
        rate: 0.0,
        internal_rate: 0.0,
        hourly_rate: hourly_rate
            .or_else(|| target_user.map(|u| u.hourly_rate))
            .unwrap_or(0.0),
        fixed_rate,
        exported,
        billable,
        break_secs: existing.map_or(0, |e| e.break_secs),
        created_at: existing.map_or(now, |e| e.created_at),
        modified_at: now,
    };
    t.recompute();
    Ok(t)
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad_request()),
    }
}

async fn timesheet_create(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let me = caller!(ctl, headers);
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let now = ctl.clock.now();
    let mut st = ctl.lock();
    let t = match apply_form(&st, &me, body, None, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if t.end.is_none() {
        // activeEntriesHardLimit = 1: starting an entry stops the user's running ones.
        let running: Vec<Timesheet> = st
            .sheets
            .values()
            .filter(|r| r.user == t.user && r.end.is_none())
            .cloned()
            .collect();
        for mut r in running {
            r.end = Some(time::ceil_minute(now.max(r.begin)));
            r.recompute();
            r.modified_at = now;
            st.insert_timesheet(r);
        }
    }
    st.insert_timesheet(t.clone());
    // The create answer renders with the caller's offset.
    Json(st.timesheet_json(&t, me.timezone, false, true, me.permissions.view_rate)).into_response()
}

fn lookup<'a>(st: &'a KState, id: &str) -> Option<&'a Timesheet> {
    id.parse::<u64>().ok().and_then(|id| st.sheet(id))
}

async fn timesheet_show(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let me = caller!(ctl, headers);
    let st = ctl.lock();
    let Some(t) = lookup(&st, &id) else {
        return not_found();
    };
    if t.user != me.id && !me.permissions.view_other {
        return forbidden();
    }
    Json(st.timesheet_json(t, t.timezone, false, true, me.permissions.view_rate)).into_response()
}

async fn timesheet_update(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let me = caller!(ctl, headers);
    let now = ctl.clock.now();
    let mut st = ctl.lock();
    let Some(existing) = lookup(&st, &id).cloned() else {
        return not_found();
    };
    if existing.user != me.id && !me.permissions.edit_other {
        return forbidden();
    }
    if locked(&st, &me, &existing) {
        return forbidden();
    }
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let t = match apply_form(&st, &me, body, Some(&existing), now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if st.lockdown_before.is_some_and(|l| t.begin < l) {
        return forbidden();
    }
    st.insert_timesheet(t.clone());
    Json(st.timesheet_json(&t, t.timezone, false, true, me.permissions.view_rate)).into_response()
}

async fn timesheet_delete(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let me = caller!(ctl, headers);
    let mut st = ctl.lock();
    let Some(existing) = lookup(&st, &id).cloned() else {
        return not_found();
    };
    if (existing.user != me.id && !me.permissions.edit_other) || locked(&st, &me, &existing) {
        return forbidden();
    }
    st.remove_timesheet(existing.id);
    StatusCode::NO_CONTENT.into_response()
}

async fn timesheet_meta(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let me = caller!(ctl, headers);
    let now = ctl.clock.now();
    let mut st = ctl.lock();
    let Some(existing) = lookup(&st, &id).cloned() else {
        return not_found();
    };
    if (existing.user != me.id && !me.permissions.edit_other) || locked(&st, &me, &existing) {
        return forbidden();
    }
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(name) = body.get("name").and_then(Value::as_str) else {
        return bad_request();
    };
    if !st.meta_fields.contains(name) {
        return not_found();
    }
    let value = match body.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    };
    let mut t = existing;
    t.meta_fields.insert(name.to_owned(), value);
    t.modified_at = now;
    st.insert_timesheet(t.clone());
    Json(st.timesheet_json(&t, t.timezone, false, true, me.permissions.view_rate)).into_response()
}

/// A parsed, validated `GET /api/timesheets` query.
struct ListQuery {
    users: Option<Vec<u64>>,
    customers: Vec<u64>,
    projects: Vec<u64>,
    activities: Vec<u64>,
    page: usize,
    size: usize,
    tags: Vec<String>,
    order_by: String,
    desc: bool,
    begin: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    exported: Option<bool>,
    active: Option<bool>,
    billable: Option<bool>,
    full: bool,
    term: Vec<String>,
    modified_after: Option<DateTime<Utc>>,
}

/// Validates the list query; `Err(response)` is a 400 or 403.
fn list_query(st: &KState, me: &User, q: &[(String, String)]) -> Result<ListQuery, Response> {
    let bad = |_| bad_request();
    let mut users: Option<Vec<u64>> = Some(vec![me.id]);
    match param(q, "user") {
        None | Some("") => {}
        Some("all") => users = None,
        Some(v) if is_digits(v) => users = Some(vec![v.parse().map_err(|_| bad_request())?]),
        Some(_) => return Err(bad_request()),
    }
    let list = id_array(q, "users").map_err(bad)?;
    if !list.is_empty() {
        users = Some(list);
    }
    let others = users
        .as_ref()
        .is_none_or(|u| u.iter().any(|id| *id != me.id));
    if others && !me.permissions.view_other {
        return Err(forbidden());
    }
    let mut customers = id_array(q, "customers").map_err(bad)?;
    customers.extend(id_param(q, "customer").map_err(bad)?);
    let mut projects = id_array(q, "projects").map_err(bad)?;
    projects.extend(id_param(q, "project").map_err(bad)?);
    let mut activities = id_array(q, "activities").map_err(bad)?;
    activities.extend(id_param(q, "activity").map_err(bad)?);
    let page = match param(q, "page") {
        None => 1,
        Some(v) if is_digits(v) => v.parse().map_err(|_| bad_request())?,
        Some(_) => return Err(bad_request()),
    };
    let size = match param(q, "size") {
        None => 50,
        Some(v) if is_digits(v) => v.parse::<usize>().unwrap_or(usize::MAX).clamp(1, 500),
        Some(_) => return Err(bad_request()),
    };
    let mut tags = Vec::new();
    for name in array_param(q, "tags") {
        if st.tag_id(name).is_none() {
            return Err(bad_request());
        }
        tags.push(name.to_owned());
    }
    let order_by = choice_param(q, "orderBy", &["id", "begin", "end", "rate"])
        .map_err(bad)?
        .unwrap_or("begin")
        .to_owned();
    let desc = choice_param(q, "order", &["ASC", "DESC"])
        .map_err(bad)?
        .is_none_or(|o| o == "DESC");
    let local = |name: &str| -> Result<Option<DateTime<Utc>>, Response> {
        match param(q, name) {
            None => Ok(None),
            Some(v) => time::parse_strict(v)
                .map(|n| Some(time::resolve(n, me.timezone)))
                .ok_or_else(bad_request),
        }
    };
    let begin = local("begin")?;
    let end = local("end")?;
    let flag = |name: &str| -> Result<Option<bool>, Response> {
        Ok(choice_param(q, name, &["0", "1"])
            .map_err(bad)?
            .map(|v| v == "1"))
    };
    let exported = flag("exported")?;
    let active = flag("active")?;
    let billable = flag("billable")?;
    let full = matches!(
        choice_param(q, "full", &["0", "1", "true", "false"]).map_err(bad)?,
        Some("1" | "true")
    );
    let term = param(q, "term")
        .map(|t| t.split_whitespace().map(str::to_lowercase).collect())
        .unwrap_or_default();
    let modified_after = match param(q, "modified_after") {
        None => None,
        Some(v) => Some(time::parse_strict(v).ok_or_else(bad_request)?.and_utc()),
    };
    Ok(ListQuery {
        users,
        customers,
        projects,
        activities,
        page,
        size,
        tags,
        order_by,
        desc,
        begin,
        end,
        exported,
        active,
        billable,
        full,
        term,
        modified_after,
    })
}

/// SQL `LIKE '%word%'` as MySQL evaluates it: `_` matches any one character and `%` any
/// sequence (Kimai does not escape them); the caller lowercases both sides.
fn like_contains(hay: &str, word: &str) -> bool {
    if !word.contains(['_', '%']) {
        return hay.contains(word);
    }
    let h: Vec<char> = hay.chars().collect();
    let p: Vec<char> = word.chars().collect();
    // Glob match of `%word%` by dynamic programming over (pattern position, text position).
    let mut pattern = vec!['%'];
    pattern.extend(p);
    pattern.push('%');
    let mut reach = vec![false; h.len() + 1];
    reach[0] = true;
    for c in pattern {
        let mut next = vec![false; h.len() + 1];
        match c {
            '%' => {
                let mut any = false;
                for i in 0..=h.len() {
                    any |= reach[i];
                    next[i] = any;
                }
            }
            _ => {
                for i in 0..h.len() {
                    if reach[i] && (c == '_' || h[i] == c) {
                        next[i + 1] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[h.len()]
}

fn term_matches(t: &Timesheet, words: &[String]) -> bool {
    let desc = t.description.as_deref().unwrap_or("").to_lowercase();
    words.iter().all(|w| {
        if let Some(neg) = w.strip_prefix('!') {
            return neg.is_empty() || !like_contains(&desc, neg);
        }
        if let Some((name, value)) = w.split_once(':') {
            return t
                .meta_fields
                .iter()
                .any(|(k, v)| k.to_lowercase() == name && like_contains(&v.to_lowercase(), value));
        }
        like_contains(&desc, w)
    })
}

fn list_matches(st: &KState, lq: &ListQuery, t: &Timesheet) -> bool {
    lq.users.as_ref().is_none_or(|u| u.contains(&t.user))
        && (lq.projects.is_empty() || lq.projects.contains(&t.project))
        && (lq.activities.is_empty() || lq.activities.contains(&t.activity))
        && (lq.customers.is_empty()
            || st
                .projects
                .get(&t.project)
                .is_some_and(|p| lq.customers.contains(&p.customer)))
        && (lq.tags.is_empty() || lq.tags.iter().any(|tag| t.tags.contains(tag)))
        && lq.exported.is_none_or(|e| t.exported == e)
        && lq.active.is_none_or(|a| t.end.is_none() == a)
        && lq.billable.is_none_or(|b| t.billable == b)
        && lq.modified_after.is_none_or(|m| t.modified_at >= m)
        && (lq.term.is_empty() || term_matches(t, &lq.term))
}

async fn timesheets_index(
    State(ctl): State<KimaiControl>,
    headers: HeaderMap,
    repeat: Option<Extension<RepeatPreviousPageId>>,
    Query(q): Params,
) -> Response {
    let me = caller!(ctl, headers);
    let st = ctl.lock();
    let lq = match list_query(&st, &me, &q) {
        Ok(lq) => lq,
        Err(r) => return r,
    };
    // Candidates in begin order (a range scan), then ordered as asked.
    let lo = lq.begin.unwrap_or(DateTime::<Utc>::MIN_UTC);
    let hi = lq.end.unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut hits: Vec<&Timesheet> = if lo > hi {
        Vec::new()
    } else {
        st.sheets
            .range((lo, 0)..=(hi, u64::MAX))
            .map(|(_, t)| t)
            .filter(|t| list_matches(&st, &lq, t))
            .collect()
    };
    match lq.order_by.as_str() {
        "begin" => {}
        "id" => hits.sort_unstable_by_key(|t| t.id),
        "end" => hits.sort_unstable_by_key(|t| (t.end, t.id)),
        _ => hits.sort_unstable_by(|a, b| a.rate.total_cmp(&b.rate).then(a.id.cmp(&b.id))),
    }
    if lq.desc {
        hits.reverse();
    }
    let total = hits.len();
    let pages = total.div_ceil(lq.size).max(1);
    if lq.page == 0 || lq.page > pages {
        return not_found();
    }
    let start = (lq.page - 1) * lq.size;
    let mut page: Vec<&Timesheet> = hits[start.min(total)..(start + lq.size).min(total)].to_vec();
    if repeat.is_some() && start > 0 {
        page.insert(0, hits[start - 1]);
    }
    let list: Vec<Value> = page
        .iter()
        .map(|t| st.timesheet_json(t, t.timezone, lq.full, false, me.permissions.view_rate))
        .collect();
    let mut r = Json(list).into_response();
    let h = r.headers_mut();
    for (name, value) in [
        ("x-page", lq.page),
        ("x-total-count", total),
        ("x-total-pages", pages),
        ("x-per-page", lq.size),
    ] {
        h.insert(name, HeaderValue::from(value));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::like_contains;

    #[test]
    fn like_treats_underscore_and_percent_as_wildcards() {
        assert!(like_contains("ticket tb-42 done", "tb-42"));
        assert!(like_contains("ticket tbx42 done", "tb_42"));
        assert!(like_contains("ticket tb 1 42", "tb%42"));
        assert!(!like_contains("ticket tb-43", "tb_42"));
        assert!(like_contains("abc", ""));
    }
}
