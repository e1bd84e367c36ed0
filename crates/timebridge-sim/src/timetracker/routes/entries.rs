//! Time entries and the timer: create (with the `Idempotency-Key` replay), list, show,
//! update and delete, validated like TimeTracker's schemas and service.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::{
    Body, Caller, Params, bad, error, guard, internal, json_body, not_found, paginate, paging,
    param, validation,
};
use crate::timetracker::state::{Backend, Entry, StoredAnswer, TimetrackerControl, TtState};
use crate::timetracker::time::{BodyTime, parse_body_time, parse_filter};

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

pub(super) async fn entry_create(
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

pub(super) async fn entries_index(
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

pub(super) async fn entry_show(
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

pub(super) async fn entry_update(
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

pub(super) async fn entry_delete(
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

pub(super) async fn timer_start(
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

pub(super) async fn timer_stop(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
) -> Response {
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

pub(super) async fn timer_status(
    State(ctl): State<TimetrackerControl>,
    headers: HeaderMap,
) -> Response {
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
