//! HTTP routes of the Clockify simulator (paths under `/api/v1`).

// Handlers answer early with a ready `Response` as the error; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Timelike, Utc};
use serde_json::{Value, json};

use super::state::{CState, ClockifyControl, NewEntry, Role, TimeEntry};
use crate::faults;

type Params = Query<Vec<(String, String)>>;

pub(crate) fn router(ctl: ClockifyControl) -> Router {
    let infra = ctl.infra.clone();
    let api = Router::new()
        .route("/user", get(get_user))
        .route("/workspaces", get(get_workspaces))
        .route("/workspaces/{ws}/users", get(ws_users))
        .route(
            "/workspaces/{ws}/clients",
            get(ws_clients).post(create_client),
        )
        .route(
            "/workspaces/{ws}/projects",
            get(ws_projects).post(create_project),
        )
        .route("/workspaces/{ws}/projects/{pid}", get(ws_project))
        .route("/workspaces/{ws}/projects/{pid}/tasks", get(project_tasks))
        .route("/workspaces/{ws}/tags", get(ws_tags).post(create_tag))
        .route(
            "/workspaces/{ws}/user/{uid}/time-entries",
            get(user_entries).post(create_for_user).patch(stop_timer),
        )
        .route("/workspaces/{ws}/time-entries", post(create_own))
        .route("/workspaces/{ws}/time-entries/batch", post(entries_batch))
        .route(
            "/workspaces/{ws}/time-entries/{id}",
            get(get_entry).put(put_entry).delete(delete_entry),
        );
    Router::new()
        .nest("/api/v1", api)
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .layer(axum::middleware::from_fn_with_state(
            infra,
            faults::middleware,
        ))
        .with_state(ctl)
}

fn error(status: StatusCode, message: &str, code: u32) -> Response {
    (status, Json(json!({"message": message, "code": code}))).into_response()
}

/// 400 code 501: domain validation, and "doesn't belong to Workspace" for unknown ids.
fn invalid(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message, 501)
}

fn access_denied() -> Response {
    error(StatusCode::FORBIDDEN, "Access Denied", 403)
}

fn bad_param(name: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Failed to convert value of parameter '{name}'"),
        3000,
    )
}

async fn no_route() -> Response {
    error(StatusCode::NOT_FOUND, "No static resource.", 3000)
}

async fn no_method() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request method is not supported",
        3000,
    )
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn flag(q: &[(String, String)], name: &str) -> Result<Option<bool>, Response> {
    match param(q, name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(bad_param(name)),
    }
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.to_utc().with_nanosecond(0).unwrap_or_else(|| d.to_utc()))
}

/// The caller's user id: exactly one of `X-Api-Key` / `X-Addon-Token`.
fn auth(ctl: &ClockifyControl, headers: &HeaderMap) -> Result<String, Response> {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    let addon = headers.get("x-addon-token").and_then(|v| v.to_str().ok());
    let st = ctl.lock();
    match (key, addon) {
        (Some(k), None) => st
            .keys
            .get(k)
            .cloned()
            .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "Api key does not exist", 4003)),
        (None, Some(t)) => st
            .addon_tokens
            .get(t)
            .cloned()
            .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "Token is not valid", 4017)),
        _ => Err(error(
            StatusCode::UNAUTHORIZED,
            "Multiple or none auth tokens present",
            1000,
        )),
    }
}

fn member(st: &CState, ws: &str, user: &str) -> Result<Role, Response> {
    st.role(ws, user).ok_or_else(access_denied)
}

/// One page of `items` with the `Last-Page` header.
fn page(st: &CState, q: &[(String, String)], items: Vec<Value>) -> Result<Response, Response> {
    let page: usize = match param(q, "page") {
        None => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| bad_param("page"))?,
    };
    let size: usize = match param(q, "page-size") {
        None => 50,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| bad_param("page-size"))?,
    }
    .min(st.max_page_size);
    let skip = (page - 1).saturating_mul(size);
    let last = skip.saturating_add(size) >= items.len();
    let slice: Vec<Value> = items.into_iter().skip(skip).take(size).collect();
    let mut r = Json(Value::Array(slice)).into_response();
    if st.last_page_header {
        r.headers_mut().insert(
            "Last-Page",
            HeaderValue::from_static(if last { "true" } else { "false" }),
        );
    }
    Ok(r)
}

fn name_filter(q: &[(String, String)], name: &str) -> bool {
    match param(q, "name") {
        None => true,
        Some(wanted) if param(q, "strict-name-search") == Some("true") => {
            wanted.trim().eq_ignore_ascii_case(name.trim())
        }
        Some(wanted) => name.to_lowercase().contains(&wanted.to_lowercase()),
    }
}

fn body_json(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body)
        .map_err(|_| error(StatusCode::BAD_REQUEST, "Malformed JSON request", 3000))
}

async fn get_user(State(ctl): State<ClockifyControl>, headers: HeaderMap) -> Response {
    let me = match auth(&ctl, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let st = ctl.lock();
    match st.users.get(&me) {
        Some(u) => Json(st.user_json(u, None)).into_response(),
        None => access_denied(),
    }
}

async fn get_workspaces(State(ctl): State<ClockifyControl>, headers: HeaderMap) -> Response {
    let me = match auth(&ctl, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let st = ctl.lock();
    let list: Vec<Value> = st
        .workspaces
        .values()
        .filter(|w| w.members.iter().any(|(m, _)| *m == me))
        .map(|w| st.workspace_json(w))
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn ws_users(
    State(ctl): State<ClockifyControl>,
    Path(ws): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let st = ctl.lock();
        member(&st, &ws, &me)?;
        let w = &st.workspaces[&ws];
        let email = param(&q, "email").map(str::to_lowercase);
        let status = param(&q, "status");
        let items: Vec<Value> = w
            .members
            .iter()
            .filter_map(|(u, _)| st.users.get(u))
            .filter(|u| {
                email
                    .as_ref()
                    .is_none_or(|e| u.email.to_lowercase().contains(e))
            })
            .filter(|u| name_filter(&q, &u.name))
            .filter(|u| match status {
                Some("ACTIVE") => u.active,
                Some("INACTIVE") => !u.active,
                _ => true,
            })
            .map(|u| st.user_json(u, Some(&ws)))
            .collect();
        page(&st, &q, items)
    };
    run().unwrap_or_else(|r| r)
}

async fn ws_clients(
    State(ctl): State<ClockifyControl>,
    Path(ws): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let st = ctl.lock();
        member(&st, &ws, &me)?;
        let archived = flag(&q, "archived")?;
        let mut list: Vec<_> = st
            .clients
            .values()
            .filter(|c| c.workspace == ws && name_filter(&q, &c.name))
            .filter(|c| archived.is_none_or(|a| a == c.archived))
            .collect();
        list.sort_by_key(|c| c.name.to_lowercase());
        let items = list.into_iter().map(CState::client_json).collect();
        page(&st, &q, items)
    };
    run().unwrap_or_else(|r| r)
}

async fn create_client(
    State(ctl): State<ClockifyControl>,
    Path(ws): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let body = body_json(&body)?;
        let mut st = ctl.lock();
        member(&st, &ws, &me)?;
        let name = body["name"].as_str().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            return Err(invalid("Client name is required"));
        }
        if st
            .clients
            .values()
            .any(|c| c.workspace == ws && c.name.trim().eq_ignore_ascii_case(name))
        {
            return Err(invalid("Client with this name already exists"));
        }
        let id = st.new_id(0x64d0);
        let c = super::state::Client {
            id: id.clone(),
            workspace: ws.clone(),
            name: name.to_owned(),
            archived: false,
        };
        st.clients.insert(id, c.clone());
        Ok((StatusCode::CREATED, Json(CState::client_json(&c))).into_response())
    };
    run().unwrap_or_else(|r| r)
}

async fn ws_projects(
    State(ctl): State<ClockifyControl>,
    Path(ws): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let st = ctl.lock();
        member(&st, &ws, &me)?;
        let archived = flag(&q, "archived")?;
        let clients: Option<Vec<&str>> = param(&q, "clients").map(|c| c.split(',').collect());
        let mut list: Vec<_> = st
            .projects
            .values()
            .filter(|p| p.workspace == ws && name_filter(&q, &p.name))
            .filter(|p| archived.is_none_or(|a| a == p.archived))
            .filter(|p| {
                clients
                    .as_ref()
                    .is_none_or(|cs| p.client.as_deref().is_some_and(|c| cs.contains(&c)))
            })
            .collect();
        list.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        let items = list.into_iter().map(|p| st.project_json(p)).collect();
        page(&st, &q, items)
    };
    run().unwrap_or_else(|r| r)
}

async fn ws_project(
    State(ctl): State<ClockifyControl>,
    Path((ws, pid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let st = ctl.lock();
        member(&st, &ws, &me)?;
        match st.projects.get(&pid).filter(|p| p.workspace == ws) {
            Some(p) => Ok(Json(st.project_json(p)).into_response()),
            None => Err(invalid("Project doesn't belong to Workspace")),
        }
    };
    run().unwrap_or_else(|r| r)
}

async fn create_project(
    State(ctl): State<ClockifyControl>,
    Path(ws): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let body = body_json(&body)?;
        let mut st = ctl.lock();
        member(&st, &ws, &me)?;
        let name = body["name"].as_str().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            return Err(invalid("Project name is required"));
        }
        let client = body["clientId"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if let Some(c) = &client
            && st.clients.get(c).filter(|c| c.workspace == ws).is_none()
        {
            return Err(invalid("Client doesn't belong to Workspace"));
        }
        if st.projects.values().any(|p| {
            p.workspace == ws && p.client == client && p.name.trim().eq_ignore_ascii_case(name)
        }) {
            return Err(invalid("Project with this name already exists"));
        }
        let id = st.new_id(0x64c0);
        let p = super::state::Project {
            id: id.clone(),
            workspace: ws.clone(),
            name: name.to_owned(),
            client,
            archived: false,
            billable: body["billable"].as_bool().unwrap_or(false),
            hourly_rate: body["hourlyRate"]["amount"].as_i64(),
            color: body["color"].as_str().unwrap_or("#03A9F4").to_owned(),
            public: body["isPublic"].as_bool().unwrap_or(false),
        };
        st.projects.insert(id, p.clone());
        Ok((StatusCode::CREATED, Json(st.project_json(&p))).into_response())
    };
    run().unwrap_or_else(|r| r)
}

async fn project_tasks(
    State(ctl): State<ClockifyControl>,
    Path((ws, pid)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let st = ctl.lock();
        member(&st, &ws, &me)?;
        if st
            .projects
            .get(&pid)
            .filter(|p| p.workspace == ws)
            .is_none()
        {
            return Err(invalid("Project doesn't belong to Workspace"));
        }
        let active = flag(&q, "is-active")?;
        let items = st
            .tasks
            .values()
            .filter(|t| t.project == pid && name_filter(&q, &t.name))
            .filter(|t| active.is_none_or(|a| a == t.active))
            .map(CState::task_json)
            .collect();
        page(&st, &q, items)
    };
    run().unwrap_or_else(|r| r)
}

async fn ws_tags(
    State(ctl): State<ClockifyControl>,
    Path(ws): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let st = ctl.lock();
        member(&st, &ws, &me)?;
        let archived = flag(&q, "archived")?;
        let items = st
            .tags
            .values()
            .filter(|t| t.workspace == ws && name_filter(&q, &t.name))
            .filter(|t| archived.is_none_or(|a| a == t.archived))
            .map(CState::tag_json)
            .collect();
        page(&st, &q, items)
    };
    run().unwrap_or_else(|r| r)
}

async fn create_tag(
    State(ctl): State<ClockifyControl>,
    Path(ws): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let body = body_json(&body)?;
        let mut st = ctl.lock();
        member(&st, &ws, &me)?;
        let name = body["name"].as_str().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            return Err(invalid("Tag name is required"));
        }
        if st
            .tags
            .values()
            .any(|t| t.workspace == ws && t.name.trim().eq_ignore_ascii_case(name))
        {
            return Err(invalid("Tag with this name already exists"));
        }
        let id = st.new_id(0x64f0);
        let t = super::state::Tag {
            id: id.clone(),
            workspace: ws.clone(),
            name: name.to_owned(),
            archived: false,
        };
        st.tags.insert(id, t.clone());
        Ok((StatusCode::CREATED, Json(CState::tag_json(&t))).into_response())
    };
    run().unwrap_or_else(|r| r)
}

/// The caller may act on `owner`'s entries in `ws`.
fn may_act_for(st: &CState, ws: &str, caller: &str, owner: &str) -> Result<(), Response> {
    let role = member(st, ws, caller)?;
    if caller == owner || role.is_admin() {
        Ok(())
    } else {
        Err(access_denied())
    }
}

async fn user_entries(
    State(ctl): State<ClockifyControl>,
    Path((ws, uid)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let st = ctl.lock();
        member(&st, &ws, &me)?;
        if st.role(&ws, &uid).is_none() {
            return Err(invalid("User doesn't belong to Workspace"));
        }
        may_act_for(&st, &ws, &me, &uid)?;
        let bound = |name: &str| -> Result<Option<DateTime<Utc>>, Response> {
            let Some(text) = param(&q, name) else {
                return Ok(None);
            };
            let at = instant(text).ok_or_else(|| bad_param(name))?;
            if !st.window_quirk {
                return Ok(Some(at));
            }
            // The instant's UTC wall clock re-read in the key owner's zone.
            let tz = st.users.get(&me).map_or(chrono_tz::UTC, |u| u.timezone);
            let local = at.naive_utc().and_local_timezone(tz).earliest();
            Ok(Some(local.map_or(at, |l| l.to_utc())))
        };
        let (from, to) = (bound("start")?, bound("end")?);
        let description = param(&q, "description").map(str::to_lowercase);
        let project = param(&q, "project");
        let running = flag(&q, "in-progress")?;
        let hydrated = flag(&q, "hydrated")?.unwrap_or(false);
        let mut list: Vec<&TimeEntry> = st
            .entries
            .values()
            .filter(|e| e.workspace == ws && e.user == uid)
            .filter(|e| from.is_none_or(|f| e.start >= f) && to.is_none_or(|t| e.start < t))
            .filter(|e| {
                description
                    .as_ref()
                    .is_none_or(|d| e.description.to_lowercase().contains(d))
            })
            .filter(|e| project.is_none_or(|p| e.project.as_deref() == Some(p)))
            .filter(|e| running.is_none_or(|r| r == e.end.is_none()))
            .collect();
        list.sort_by(|a, b| b.start.cmp(&a.start).then(b.id.cmp(&a.id)));
        let items = list
            .into_iter()
            .map(|e| st.entry_json(e, hydrated))
            .collect();
        page(&st, &q, items)
    };
    run().unwrap_or_else(|r| r)
}

/// What a create or PUT body asks for, validated against the workspace.
fn read_body(st: &CState, ws: &str, body: &Value) -> Result<EntryFields, Response> {
    let start = match body["start"].as_str() {
        Some(s) => instant(s).ok_or_else(|| invalid("Start time has an invalid format"))?,
        None => return Err(invalid("Start time is required")),
    };
    let end = match body["end"].as_str() {
        Some(s) => Some(instant(s).ok_or_else(|| invalid("End time has an invalid format"))?),
        None => None,
    };
    if end.is_some_and(|e| e < start) {
        return Err(invalid("End time must be after start time"));
    }
    let project = body["projectId"]
        .as_str()
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    if let Some(p) = &project
        && st.projects.get(p).filter(|x| x.workspace == ws).is_none()
    {
        return Err(invalid("Project doesn't belong to Workspace"));
    }
    if project.is_none() && st.workspaces.get(ws).is_some_and(|w| w.force_projects) {
        return Err(invalid(
            "Time entry couldn't be created. Project is either required field or given \
             project is archived. Please check your workspace settings.",
        ));
    }
    let task = body["taskId"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    if let Some(t) = &task
        && st
            .tasks
            .get(t)
            .filter(|x| Some(&x.project) == project.as_ref())
            .is_none()
    {
        return Err(invalid("Task doesn't belong to Project"));
    }
    let mut tags = Vec::new();
    if let Some(list) = body["tagIds"].as_array() {
        for t in list {
            let id = t.as_str().unwrap_or_default();
            if st.tags.get(id).filter(|x| x.workspace == ws).is_none() {
                return Err(invalid("Tag doesn't belong to Workspace"));
            }
            tags.push(id.to_owned());
        }
    }
    let billable = body["billable"].as_bool().unwrap_or_else(|| {
        project
            .as_ref()
            .and_then(|p| st.projects.get(p))
            .is_some_and(|p| p.billable)
    });
    Ok(EntryFields {
        start,
        end,
        project,
        task,
        tags,
        billable,
        description: body["description"].as_str().unwrap_or_default().to_owned(),
    })
}

struct EntryFields {
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    project: Option<String>,
    task: Option<String>,
    tags: Vec<String>,
    billable: bool,
    description: String,
}

fn create(ctl: &ClockifyControl, ws: &str, me: &str, uid: &str, body: &Bytes) -> Response {
    let run = || -> Result<Response, Response> {
        let body = body_json(body)?;
        let now = ctl.clock.now();
        let mut st = ctl.lock();
        member(&st, ws, me)?;
        if st.role(ws, uid).is_none() {
            return Err(invalid("User doesn't belong to Workspace"));
        }
        may_act_for(&st, ws, me, uid)?;
        let f = read_body(&st, ws, &body)?;
        let mut e = st.insert_entry(
            NewEntry {
                workspace: ws.to_owned(),
                user: uid.to_owned(),
                project: f.project,
                task: f.task,
                description: f.description,
                start: f.start,
                end: f.end,
                billable: f.billable,
            },
            now,
        );
        e.tags = f.tags;
        st.entries.insert(e.id.clone(), e.clone());
        Ok((StatusCode::CREATED, Json(st.entry_json(&e, false))).into_response())
    };
    run().unwrap_or_else(|r| r)
}

async fn create_own(
    State(ctl): State<ClockifyControl>,
    Path(ws): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match auth(&ctl, &headers) {
        Ok(me) => create(&ctl, &ws, &me, &me, &body),
        Err(r) => r,
    }
}

async fn create_for_user(
    State(ctl): State<ClockifyControl>,
    Path((ws, uid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match auth(&ctl, &headers) {
        Ok(me) => create(&ctl, &ws, &me, &uid, &body),
        Err(r) => r,
    }
}

async fn stop_timer(
    State(ctl): State<ClockifyControl>,
    Path((ws, uid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let body = body_json(&body)?;
        let mut st = ctl.lock();
        may_act_for(&st, &ws, &me, &uid)?;
        let end = body["end"]
            .as_str()
            .and_then(instant)
            .ok_or_else(|| invalid("End time is required"))?;
        match st.stop_running(&ws, &uid, end) {
            Some(id) => Ok(Json(st.entry_json(&st.entries[&id], false)).into_response()),
            None => Err(error(
                StatusCode::NOT_FOUND,
                &format!(
                    "Currently running time entry doesn't exist on workspace {ws} for user {uid}."
                ),
                404,
            )),
        }
    };
    run().unwrap_or_else(|r| r)
}

/// The entry `id` of `ws` the caller may act on.
fn entry_of<'a>(st: &'a CState, ws: &str, me: &str, id: &str) -> Result<&'a TimeEntry, Response> {
    member(st, ws, me)?;
    let e = st
        .entries
        .get(id)
        .filter(|e| e.workspace == ws)
        .ok_or_else(|| invalid("Time entry doesn't belong to Workspace"))?;
    may_act_for(st, ws, me, &e.user)?;
    Ok(e)
}

async fn get_entry(
    State(ctl): State<ClockifyControl>,
    Path((ws, id)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let hydrated = flag(&q, "hydrated")?.unwrap_or(false);
        let st = ctl.lock();
        let e = entry_of(&st, &ws, &me, &id)?;
        Ok(Json(st.entry_json(e, hydrated)).into_response())
    };
    run().unwrap_or_else(|r| r)
}

async fn put_entry(
    State(ctl): State<ClockifyControl>,
    Path((ws, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let body = body_json(&body)?;
        let now = ctl.clock.now();
        let mut st = ctl.lock();
        let e = entry_of(&st, &ws, &me, &id)?.clone();
        if e.locked {
            return Err(invalid("Time entry is locked"));
        }
        let f = read_body(&st, &ws, &body)?;
        let rate = st.entry_rate(&ws, f.project.as_deref());
        let updated = TimeEntry {
            project: f.project,
            task: f.task,
            tags: f.tags,
            description: f.description,
            billable: f.billable,
            start: f.start,
            end: f.end,
            hourly_rate: rate,
            modified_at: now,
            ..e
        };
        st.entries.insert(id.clone(), updated.clone());
        Ok(Json(st.entry_json(&updated, false)).into_response())
    };
    run().unwrap_or_else(|r| r)
}

async fn delete_entry(
    State(ctl): State<ClockifyControl>,
    Path((ws, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let mut st = ctl.lock();
        if entry_of(&st, &ws, &me, &id)?.locked {
            return Err(invalid("Time entry is locked"));
        }
        st.entries.remove(&id);
        Ok(StatusCode::NO_CONTENT.into_response())
    };
    run().unwrap_or_else(|r| r)
}

async fn entries_batch(
    State(ctl): State<ClockifyControl>,
    Path(ws): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, Response> {
        let me = auth(&ctl, &headers)?;
        let body = body_json(&body)?;
        let st = ctl.lock();
        let role = member(&st, &ws, &me)?;
        let hydrated = body["hydrated"].as_bool().unwrap_or(false);
        let ids = body["timeEntryIds"]
            .as_array()
            .ok_or_else(|| invalid("timeEntryIds is required"))?;
        let items: Vec<Value> = ids
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|id| st.entries.get(id))
            .filter(|e| e.workspace == ws && (role.is_admin() || e.user == me))
            .map(|e| st.entry_json(e, hydrated))
            .collect();
        Ok(Json(Value::Array(items)).into_response())
    };
    run().unwrap_or_else(|r| r)
}
