//! HTTP routes of the Zammad simulator.

// Handlers answer early with a ready `Response` as the error; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use std::cmp::Ordering;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::state::{Accounting, Organization, Ticket, User, ZState, ZammadControl, ts};
use crate::faults;

type Params = Query<Vec<(String, String)>>;

pub(crate) fn router(ctl: ZammadControl) -> Router {
    let infra = ctl.infra.clone();
    Router::new()
        .route("/api/v1/users/me", get(users_me))
        .route("/api/v1/users/search", get(users_search))
        .route("/api/v1/users/{id}", get(user_show))
        .route("/api/v1/users", get(users_index))
        .route("/api/v1/organizations", get(orgs_index))
        // Static segments win over `{id}` in axum 0.8 whatever the order; kept first anyway.
        .route("/api/v1/organizations/search", get(orgs_search))
        .route("/api/v1/organizations/{id}", get(org_show))
        .route("/api/v1/tickets/search", get(tickets_search))
        .route("/api/v1/tickets/{id}", get(ticket_show))
        .route(
            "/api/v1/tickets/{id}/time_accountings",
            get(ticket_accountings),
        )
        .route(
            "/api/v1/tickets/{id}/time_accountings/{acc}",
            get(ticket_accounting_show),
        )
        .route("/api/v1/time_accountings", get(all_accountings))
        .route("/api/v1/time_accountings/{id}", get(accounting_show))
        .route("/api/v1/time_accounting/types", get(types_index))
        .route(
            "/api/v1/time_accounting/log/by_activity/{year}/{month}",
            get(log_by_activity),
        )
        .route("/api/v1/ticket_states", get(ticket_states))
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(
            infra,
            faults::middleware,
        ))
        .with_state(ctl)
}

async fn no_route(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("No route matches [{method}] {}", uri.path()),
    )
}

fn error(status: StatusCode, msg: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": msg, "error_human": msg})),
    )
        .into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Couldn't find record with given id")
}

struct Caller {
    user_id: u64,
    admin: bool,
}

fn auth(ctl: &ZammadControl, headers: &HeaderMap) -> Result<Caller, Response> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err((
            StatusCode::FORBIDDEN,
            axum::Json(json!({"error": "Authentication required"})),
        )
            .into_response());
    };
    let token = if let Some(rest) = value.strip_prefix("Token ") {
        rest.trim()
            .strip_prefix("token=")
            .map(|t| t.trim_matches('"').to_owned())
    } else {
        value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
    };
    let st = ctl.lock();
    match token.and_then(|t| st.tokens.get(&t)) {
        Some(t) => Ok(Caller {
            user_id: t.user_id,
            admin: t.admin,
        }),
        None => Err(error(StatusCode::UNAUTHORIZED, "Can't find User for Token")),
    }
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn is_true(v: Option<&str>) -> bool {
    matches!(v, Some("true" | "1"))
}

/// `page` (default 1) and `per_page` (default `def`, clamped to `max`).
fn paging(q: &[(String, String)], def: usize, max: usize) -> (usize, usize) {
    let page = param(q, "page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let per_page = param(q, "per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(def)
        .min(max);
    (page, per_page)
}

fn parse_id(s: &str) -> Option<u64> {
    s.parse().ok()
}

async fn users_me(State(ctl): State<ZammadControl>, headers: HeaderMap) -> Response {
    let caller = match auth(&ctl, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let st = ctl.lock();
    match st.users.get(&caller.user_id) {
        Some(u) => axum::Json(u.to_json()).into_response(),
        None => not_found(),
    }
}

async fn user_show(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let st = ctl.lock();
    match parse_id(&id).and_then(|id| st.users.get(&id)) {
        Some(u) => axum::Json(u.to_json()).into_response(),
        None => not_found(),
    }
}

async fn users_index(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let (page, per_page) = paging(&q, 100, 500);
    let st = ctl.lock();
    let list: Vec<Value> = st
        .users
        .values()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|u| u.to_json())
        .collect();
    axum::Json(list).into_response()
}

/// `GET /api/v1/users/search`: a plain text, `email:` or `login:` query matches as it always
/// did (the whole query, lowercased, as a substring of e-mail, login or names); a query with
/// an `id:`/`number:`/`updated_at:`/`created_at:` condition goes through [`parse_query`].
async fn users_search(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let query = param(&q, "query").unwrap_or("");
    let conds = if is_structured(query) {
        match parse_query(query, ctl.clock.now()) {
            Ok(c) => c,
            Err(()) => return error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid search query"),
        }
    } else {
        let query = query.trim().to_lowercase();
        if query.is_empty() || query == "*" {
            vec![Cond::All]
        } else {
            vec![Cond::Text(query)]
        }
    };
    let st = ctl.lock();
    let list: Vec<Value> = search_page(st.users.values(), &conds, &q)
        .into_iter()
        .map(|u| u.to_json())
        .collect();
    axum::Json(list).into_response()
}

/// `GET /api/v1/organizations/search`: the ticket search's query language over organizations
/// (text matches name or domain).
async fn orgs_search(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let Ok(conds) = parse_query(param(&q, "query").unwrap_or(""), ctl.clock.now()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid search query");
    };
    let st = ctl.lock();
    let list: Vec<Value> = search_page(st.orgs.values(), &conds, &q)
        .into_iter()
        .map(|o| o.to_json())
        .collect();
    axum::Json(list).into_response()
}

/// Filters, sorts and pages users or organizations: by id ascending unless `sort_by`
/// (`id`, `created_at`, `updated_at`; ties by id) or `order_by=desc` say otherwise;
/// `page`/`per_page` default to 1/100, `per_page` is capped at 500.
fn search_page<'a, T: Searchable + 'a>(
    items: impl Iterator<Item = &'a T>,
    conds: &[Cond],
    q: &[(String, String)],
) -> Vec<&'a T> {
    let (page, per_page) = paging(q, 100, 500);
    let desc = param(q, "order_by").is_some_and(|o| o.eq_ignore_ascii_case("desc"));
    let sort_by = param(q, "sort_by").unwrap_or("id");
    let mut hits: Vec<&T> = items.filter(|t| matches(*t, conds)).collect();
    let key = |t: &T| -> (i64, u64) {
        match sort_by {
            "created_at" => (t.created_at().timestamp_micros(), t.id()),
            "updated_at" => (t.updated_at().timestamp_micros(), t.id()),
            _ => (0, t.id()),
        }
    };
    hits.sort_by(|a, b| {
        let o = key(a).cmp(&key(b));
        if desc { o.reverse() } else { o }
    });
    hits.into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect()
}

async fn orgs_index(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let (page, per_page) = paging(&q, 100, 500);
    let st = ctl.lock();
    let list: Vec<Value> = st
        .orgs
        .values()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|o| o.to_json())
        .collect();
    axum::Json(list).into_response()
}

async fn org_show(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let st = ctl.lock();
    match parse_id(&id).and_then(|id| st.orgs.get(&id)) {
        Some(o) => axum::Json(o.to_json()).into_response(),
        None => not_found(),
    }
}

async fn ticket_show(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let st = ctl.lock();
    match parse_id(&id).and_then(|id| st.tickets.get(&id)) {
        Some(t) => axum::Json(t.to_json()).into_response(),
        None => not_found(),
    }
}

/// One condition of the ticket search query language (the subset we support).
#[derive(Debug)]
enum Cond {
    All,
    Id(u64),
    Number(String),
    /// Field (`updated_at`/`created_at`), inclusive lower and upper bounds.
    Range(String, Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    Text(String),
}

fn date_math(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if s == "now" {
        return Some(now);
    }
    let (rest, negative) = if let Some(r) = s.strip_prefix("now-") {
        (r, true)
    } else {
        (s.strip_prefix("now+")?, false)
    };
    let split = rest.find(|c: char| !c.is_ascii_digit())?;
    let n: i64 = rest[..split].parse().ok()?;
    let n = if negative { -n } else { n };
    let d = match &rest[split..] {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" | "H" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        "M" => n.checked_mul(30).and_then(Duration::try_days),
        "y" => n.checked_mul(365).and_then(Duration::try_days),
        _ => None,
    }?;
    now.checked_add_signed(d)
}

/// Parses a bound; `upper` rounds a date-only value up to the end of that day (as
/// Elasticsearch does for inclusive upper bounds).
fn bound(s: &str, now: DateTime<Utc>, upper: bool) -> Result<Option<DateTime<Utc>>, ()> {
    let s = s.trim().trim_matches('"');
    if s == "*" {
        return Ok(None);
    }
    if let Some(t) = date_math(s, now) {
        return Ok(Some(t));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Ok(Some(t.and_utc()));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let start = d.and_hms_opt(0, 0, 0).unwrap().and_utc();
        return Ok(Some(if upper {
            start + Duration::days(1) - Duration::milliseconds(1)
        } else {
            start
        }));
    }
    Err(())
}

fn parse_query(query: &str, now: DateTime<Utc>) -> Result<Vec<Cond>, ()> {
    let query = query.trim();
    if query.is_empty() || query == "*" {
        return Ok(vec![Cond::All]);
    }
    let mut out = Vec::new();
    for part in query.split(" AND ") {
        let part = part.trim().trim_start_matches('(').trim_end_matches(')');
        if part == "*" {
            out.push(Cond::All);
        } else if let Some(id) = part.strip_prefix("id:") {
            out.push(Cond::Id(id.trim().parse().map_err(|_| ())?));
        } else if let Some(n) = part.strip_prefix("number:") {
            out.push(Cond::Number(n.trim().trim_matches('"').to_owned()));
        } else if let Some((field, rest)) = part
            .split_once(':')
            .filter(|(f, _)| *f == "updated_at" || *f == "created_at")
        {
            let rest = rest.trim();
            let field = field.to_owned();
            if let Some(inner) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                let (a, b) = inner.split_once(" TO ").ok_or(())?;
                out.push(Cond::Range(
                    field,
                    bound(a, now, false)?,
                    bound(b, now, true)?,
                ));
            } else if let Some(v) = rest.strip_prefix(">=") {
                out.push(Cond::Range(field, bound(v, now, false)?, None));
            } else if let Some(v) = rest.strip_prefix('>') {
                let b = bound(v, now, false)?.map(|t| t + Duration::milliseconds(1));
                out.push(Cond::Range(field, b, None));
            } else if let Some(v) = rest.strip_prefix("<=") {
                out.push(Cond::Range(field, None, bound(v, now, true)?));
            } else if let Some(v) = rest.strip_prefix('<') {
                let b = bound(v, now, false)?.map(|t| t - Duration::milliseconds(1));
                out.push(Cond::Range(field, None, b));
            } else {
                let lo = bound(rest, now, false)?;
                let hi = bound(rest, now, true)?;
                out.push(Cond::Range(field, lo, hi));
            }
        } else {
            out.push(Cond::Text(part.to_lowercase()));
        }
    }
    Ok(out)
}

/// Whether a query has a condition beyond plain text (what [`parse_query`] turns into
/// something other than [`Cond::Text`]/[`Cond::All`]).
fn is_structured(query: &str) -> bool {
    query.split(" AND ").any(|part| {
        let part = part.trim().trim_start_matches('(').trim_end_matches(')');
        ["id:", "number:", "updated_at:", "created_at:"]
            .iter()
            .any(|p| part.starts_with(p))
    })
}

/// A record the search query language applies to.
trait Searchable {
    fn id(&self) -> u64;
    /// The ticket number; records without one never match `number:`.
    fn number(&self) -> Option<&str> {
        None
    }
    fn created_at(&self) -> DateTime<Utc>;
    fn updated_at(&self) -> DateTime<Utc>;
    /// Whether a lowercased text condition matches.
    fn text_matches(&self, s: &str) -> bool;
}

impl Searchable for Ticket {
    fn id(&self) -> u64 {
        self.id
    }
    fn number(&self) -> Option<&str> {
        Some(&self.number)
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    fn text_matches(&self, s: &str) -> bool {
        self.title.to_lowercase().contains(s) || self.number == s
    }
}

impl Searchable for User {
    fn id(&self) -> u64 {
        self.id
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    /// `email:x`/`login:x` (quotes around `x` dropped) or plain `x`, as a substring of
    /// e-mail, login, first or last name.
    fn text_matches(&self, s: &str) -> bool {
        let s = s
            .strip_prefix("email:")
            .or_else(|| s.strip_prefix("login:"))
            .map_or(s, |v| v.trim_matches('"'));
        self.email.to_lowercase().contains(s)
            || self.login.to_lowercase().contains(s)
            || self.firstname.to_lowercase().contains(s)
            || self.lastname.to_lowercase().contains(s)
    }
}

impl Searchable for Organization {
    fn id(&self) -> u64 {
        self.id
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    /// `name:x`/`domain:x` (quotes around `x` dropped) or plain `x`, as a substring of the
    /// name or the domain.
    fn text_matches(&self, s: &str) -> bool {
        let s = s
            .strip_prefix("name:")
            .or_else(|| s.strip_prefix("domain:"))
            .map_or(s, |v| v.trim_matches('"'));
        self.name.to_lowercase().contains(s) || self.domain.to_lowercase().contains(s)
    }
}

fn matches<T: Searchable + ?Sized>(t: &T, conds: &[Cond]) -> bool {
    conds.iter().all(|c| match c {
        Cond::All => true,
        Cond::Id(id) => t.id() == *id,
        Cond::Number(n) => t.number() == Some(n.as_str()),
        Cond::Range(field, lo, hi) => {
            let v = if field == "created_at" {
                t.created_at()
            } else {
                t.updated_at()
            };
            lo.is_none_or(|lo| v >= lo) && hi.is_none_or(|hi| v <= hi)
        }
        Cond::Text(s) => t.text_matches(s),
    })
}

async fn tickets_search(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let now = ctl.clock.now();
    let Ok(conds) = parse_query(param(&q, "query").unwrap_or(""), now) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid search query");
    };
    let (page, per_page) = paging(&q, 50, 200);
    let desc = !param(&q, "order_by").is_some_and(|o| o.eq_ignore_ascii_case("asc"));
    let sort_by = param(&q, "sort_by").unwrap_or("updated_at");
    let st = ctl.lock();
    let mut hits: Vec<&Ticket> = st
        .tickets
        .values()
        .filter(|t| matches(*t, &conds))
        .collect();
    let key = |t: &Ticket| -> (i64, u64) {
        match sort_by {
            "id" => (0, t.id),
            "created_at" => (t.created_at.timestamp_micros(), t.id),
            _ => (t.updated_at.timestamp_micros(), t.id),
        }
    };
    hits.sort_by(|a, b| {
        let o = key(a).cmp(&key(b));
        if desc { o.reverse() } else { o }
    });
    let total = hits.len();
    let page_items: Vec<&Ticket> = hits
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    if is_true(param(&q, "expand")) {
        let list: Vec<Value> = page_items.iter().map(|t| expanded_ticket(&st, t)).collect();
        return axum::Json(list).into_response();
    }
    let ids: Vec<u64> = page_items.iter().map(|t| t.id).collect();
    let mut tickets = serde_json::Map::new();
    let mut users = serde_json::Map::new();
    let mut orgs = serde_json::Map::new();
    for t in &page_items {
        tickets.insert(t.id.to_string(), t.to_json());
        for uid in [t.owner_id, t.customer_id] {
            if let Some(u) = st.users.get(&uid) {
                users.insert(uid.to_string(), u.to_json());
            }
        }
        if let Some(o) = t.organization_id.and_then(|o| st.orgs.get(&o)) {
            orgs.insert(o.id.to_string(), o.to_json());
        }
    }
    let mut body = json!({
        "tickets": ids,
        "tickets_count": total,
        "assets": {"Ticket": tickets, "User": users, "Organization": orgs},
    });
    if st.uncounted_search {
        body.as_object_mut().map(|o| o.remove("tickets_count"));
    }
    axum::Json(body).into_response()
}

fn expanded_ticket(st: &ZState, t: &Ticket) -> Value {
    let mut v = t.to_json();
    if let Value::Object(map) = &mut v {
        map.insert(
            "owner".into(),
            json!(st.users.get(&t.owner_id).map(|u| u.login.clone())),
        );
        map.insert(
            "customer".into(),
            json!(st.users.get(&t.customer_id).map(|u| u.login.clone())),
        );
        map.insert(
            "organization".into(),
            json!(
                t.organization_id
                    .and_then(|o| st.orgs.get(&o))
                    .map(|o| o.name.clone())
            ),
        );
        map.insert("group".into(), json!("Users"));
        map.insert("state".into(), json!("open"));
        map.insert("priority".into(), json!("2 normal"));
    }
    v
}

fn expanded_accounting(st: &ZState, a: &Accounting) -> Value {
    let mut v = a.to_json();
    if let Value::Object(map) = &mut v {
        map.insert(
            "ticket".into(),
            json!(st.tickets.get(&a.ticket_id).map(|t| t.number.clone())),
        );
        map.insert(
            "type".into(),
            json!(
                a.type_id
                    .and_then(|t| st.types.get(&t))
                    .map(|t| t.name.clone())
            ),
        );
        map.insert(
            "created_by".into(),
            json!(st.users.get(&a.created_by_id).map(|u| u.login.clone())),
        );
    }
    v
}

/// Sort key comparison of the accounting endpoints.
fn compare(sort_by: &str, a: &Accounting, b: &Accounting) -> Ordering {
    let o = match sort_by {
        "ticket_id" => a.ticket_id.cmp(&b.ticket_id),
        "created_at" => a.created_at.cmp(&b.created_at),
        "updated_at" => a.updated_at.cmp(&b.updated_at),
        "type_id" => a.type_id.cmp(&b.type_id),
        "created_by_id" => a.created_by_id.cmp(&b.created_by_id),
        "time_unit" => a
            .time_unit
            .parse::<f64>()
            .unwrap_or(0.0)
            .total_cmp(&b.time_unit.parse::<f64>().unwrap_or(0.0)),
        _ => Ordering::Equal,
    };
    o.then(a.id.cmp(&b.id))
}

const SORT_FIELDS: [&str; 7] = [
    "id",
    "ticket_id",
    "created_at",
    "updated_at",
    "type_id",
    "created_by_id",
    "time_unit",
];

/// Pages a set of accountings given as an id-ordered iterator.
fn accounting_page<'a>(
    st: &'a ZState,
    q: &[(String, String)],
    items: impl DoubleEndedIterator<Item = &'a Accounting>,
) -> Response {
    let (page, per_page) = paging(q, 500, 500);
    let sort_by = param(q, "sort_by").unwrap_or("id");
    if !SORT_FIELDS.contains(&sort_by) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Invalid sort_by {sort_by:?}"),
        );
    }
    let desc = match param(q, "order_by") {
        None => false,
        Some(o) if o.eq_ignore_ascii_case("asc") => false,
        Some(o) if o.eq_ignore_ascii_case("desc") => true,
        Some(_) => {
            return error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid order_by");
        }
    };
    let (sort_by, desc) = if st.ignore_order {
        ("id", false)
    } else {
        (sort_by, desc)
    };
    let expand = is_true(param(q, "expand"));
    let skip = (page - 1).saturating_mul(per_page);
    let render = |a: &Accounting| {
        if expand {
            expanded_accounting(st, a)
        } else {
            a.to_json()
        }
    };
    let list: Vec<Value> = if sort_by == "id" {
        if desc {
            items.rev().skip(skip).take(per_page).map(render).collect()
        } else {
            items.skip(skip).take(per_page).map(render).collect()
        }
    } else {
        let mut all: Vec<&Accounting> = items.collect();
        all.sort_by(|a, b| {
            let o = compare(sort_by, a, b);
            if desc { o.reverse() } else { o }
        });
        all.into_iter()
            .skip(skip)
            .take(per_page)
            .map(render)
            .collect()
    };
    axum::Json(list).into_response()
}

async fn ticket_accountings(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let st = ctl.lock();
    let Some(ticket_id) = parse_id(&id).filter(|id| st.tickets.contains_key(id)) else {
        return not_found();
    };
    let empty = std::collections::BTreeSet::new();
    let ids = st.by_ticket.get(&ticket_id).unwrap_or(&empty);
    let items = ids.iter().filter_map(|i| st.accountings.get(i));
    accounting_page(&st, &q, items)
}

async fn ticket_accounting_show(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Path((id, acc)): Path<(String, String)>,
) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let st = ctl.lock();
    match parse_id(&acc)
        .and_then(|a| st.accountings.get(&a))
        .filter(|a| Some(a.ticket_id) == parse_id(&id))
    {
        Some(a) => axum::Json(a.to_json()).into_response(),
        None => not_found(),
    }
}

async fn all_accountings(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let caller = match auth(&ctl, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !caller.admin {
        return error(StatusCode::FORBIDDEN, "Not authorized");
    }
    let st = ctl.lock();
    accounting_page(&st, &q, st.accountings.values())
}

async fn accounting_show(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match auth(&ctl, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !caller.admin {
        return error(StatusCode::FORBIDDEN, "Not authorized");
    }
    let st = ctl.lock();
    match parse_id(&id).and_then(|a| st.accountings.get(&a)) {
        Some(a) => axum::Json(a.to_json()).into_response(),
        None => not_found(),
    }
}

async fn types_index(State(ctl): State<ZammadControl>, headers: HeaderMap) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let st = ctl.lock();
    let list: Vec<Value> = st.types.values().map(|t| t.to_json()).collect();
    axum::Json(list).into_response()
}

async fn ticket_states(State(ctl): State<ZammadControl>, headers: HeaderMap) -> Response {
    if let Err(r) = auth(&ctl, &headers) {
        return r;
    }
    let names = [
        "new",
        "open",
        "pending reminder",
        "closed",
        "merged",
        "pending close",
    ];
    let list: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"id": i + 1, "name": n, "active": true}))
        .collect();
    axum::Json(list).into_response()
}

/// The monthly report: one row per accounting, WITHOUT accounting ids (which is why it is
/// useless for per-entry sync). Admin only.
async fn log_by_activity(
    State(ctl): State<ZammadControl>,
    headers: HeaderMap,
    Path((year, month)): Path<(String, String)>,
) -> Response {
    let caller = match auth(&ctl, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !caller.admin {
        return error(StatusCode::FORBIDDEN, "Not authorized");
    }
    let (Ok(year), Ok(month)) = (year.parse::<i32>(), month.parse::<u32>()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid year or month");
    };
    let Some(from) = NaiveDate::from_ymd_opt(year, month, 1) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid year or month");
    };
    let to = from
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(from);
    let st = ctl.lock();
    let rows: Vec<Value> = st
        .accountings
        .values()
        .filter(|a| {
            let d = a.created_at.date_naive();
            d >= from && d < to
        })
        .map(|a| {
            let ticket = st.tickets.get(&a.ticket_id);
            let agent = st.users.get(&a.created_by_id);
            json!({
                "ticket": ticket.map(|t| json!({"id": t.id, "number": t.number, "title": t.title})),
                "time_unit": a.time_unit,
                "type": a.type_id.and_then(|t| st.types.get(&t)).map(|t| t.name.clone()),
                "customer": ticket
                    .and_then(|t| st.users.get(&t.customer_id))
                    .map(|u| format!("{} {}", u.firstname, u.lastname)),
                "organization": ticket
                    .and_then(|t| t.organization_id)
                    .and_then(|o| st.orgs.get(&o))
                    .map(|o| o.name.clone()),
                "agent": agent.map(|u| format!("{} {}", u.firstname, u.lastname)),
                "created_at": ts(a.created_at),
            })
        })
        .collect();
    axum::Json(rows).into_response()
}
