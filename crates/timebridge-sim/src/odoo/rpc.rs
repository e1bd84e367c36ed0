//! Odoo's HTTP surface: `POST /jsonrpc` (services `common` and `object`),
//! `POST /web/session/authenticate` with its login cooldown, and the absent `/json/2`.
//! Envelopes, statuses and error texts follow the recordings.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};

use super::models::Env;
use super::orm::{OdooError, model_fields};
use super::state::{ADMIN_UID, OdooControl};
use crate::faults::{self, RouteKey};

const MAX_BODY: usize = 16 * 1024 * 1024;
const JSON_CT: &str = "application/json; charset=utf-8";
const HTML_CT: &str = "text/html; charset=utf-8";

pub(crate) fn router(control: OdooControl) -> Router {
    let infra = control.infra.clone();
    Router::new()
        .route("/jsonrpc", post(jsonrpc))
        .route("/web/session/authenticate", post(web_authenticate))
        .route("/json/2/{*rest}", any(json2))
        .with_state(control)
        .layer(from_fn_with_state(infra, faults::middleware))
        .layer(from_fn(name_route))
}

/// Names each JSON-RPC call by service, model and method (for faults and the log).
async fn name_route(req: Request, next: Next) -> Response {
    if req.uri().path() != "/jsonrpc" {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let key = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
        let p = v.get("params")?;
        let service = p.get("service")?.as_str()?.to_owned();
        let method = p.get("method")?.as_str()?.to_owned();
        let args = p.get("args").and_then(Value::as_array);
        if service == "object" && method == "execute_kw" {
            let model = args?.get(3)?.as_str()?;
            let m = args?.get(4)?.as_str()?;
            Some(format!("execute_kw {model}.{m}"))
        } else {
            Some(format!("{service} {method}"))
        }
    });
    if let Some(key) = key {
        parts.extensions.insert(RouteKey(key));
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn json_response(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, JSON_CT)],
        v.to_string(),
    )
        .into_response()
}

fn result(id: &Value, v: Value) -> Response {
    json_response(json!({"jsonrpc": "2.0", "id": id, "result": v}))
}

fn error(id: &Value, e: &OdooError) -> Response {
    json_response(json!({"jsonrpc": "2.0", "id": id, "error": e.envelope()}))
}

fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, HTML_CT)], body).into_response()
}

/// Reads a JSON-RPC body as Odoo's `type='json'` routes do: the Content-Type first, then
/// the JSON; `id` may be absent (answered as `null`).
fn read_body(
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
) -> Result<(Value, Value), Box<Response>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if ct != "application/json" && ct != "application/json-rpc" {
        return Err(Box::new(html(
            StatusCode::BAD_REQUEST,
            format!(
                "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n<p>Request inferred type is compatible with [&#39;http&#39;] but &#39;{path}&#39; is type=&#39;json&#39;.</p>\n"
            ),
        )));
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Err(Box::new(html(
            StatusCode::BAD_REQUEST,
            "Invalid JSON data".into(),
        )));
    };
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    let params = v.get("params").cloned().unwrap_or_else(|| json!({}));
    Ok((id, params))
}

async fn jsonrpc(
    State(c): State<OdooControl>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (id, params) = match read_body(&headers, "/jsonrpc", &body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let service = params.get("service").and_then(Value::as_str).unwrap_or("");
    let method = params.get("method").and_then(Value::as_str).unwrap_or("");
    let args: Vec<Value> = params
        .get("args")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let outcome = match service {
        "common" => common(&c, method, &args),
        "object" => object(&c, method, &args),
        "db" => Err(OdooError::exception(format!("Method not found: {method}"))),
        other => Err(OdooError::key(other)),
    };
    match outcome {
        Ok(v) => result(&id, v),
        Err(e) => error(&id, &e),
    }
}

fn arg_str(args: &[Value], i: usize) -> &str {
    args.get(i).and_then(Value::as_str).unwrap_or("")
}

fn check_db(c: &OdooControl, db: &str) -> Result<(), OdooError> {
    if db == c.config.database {
        return Ok(());
    }
    Err(OdooError::operational(format!(
        "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"{db}\" does not exist\n"
    )))
}

/// The uid whose password or API key `password` is, for `login`.
fn authenticate(c: &OdooControl, login: &str, password: &str) -> Option<i64> {
    let inner = c.lock();
    let users = inner.db.table("res.users")?;
    let (uid, _) = users.rows.iter().find(|(_, r)| {
        r.get("login").and_then(Value::as_str) == Some(login)
            && r.get("active").and_then(Value::as_bool) != Some(false)
    })?;
    let auth = inner.db.auth.get(uid)?;
    (!password.is_empty()
        && (auth.password == password || auth.api_keys.iter().any(|k| k == password)))
    .then_some(*uid)
}

const COOLDOWN_TEXT: &str = "Too many login failures, please wait a bit before trying again.";

/// Whether the cooldown is on now (`_on_login_cooldown`).
fn cooling_down(c: &OdooControl) -> bool {
    let inner = c.lock();
    let cd = &inner.cooldown;
    cd.failures >= c.config.cooldown_after
        && cd
            .last
            .is_some_and(|last| c.clock.now() < last + c.config.cooldown)
}

fn note_login(c: &OdooControl, ok: bool) {
    let now = c.clock.now();
    let mut inner = c.lock();
    if ok {
        inner.cooldown = Default::default();
        return;
    }
    // A failure after an expired cooldown starts counting again.
    if inner
        .cooldown
        .last
        .is_some_and(|last| now >= last + c.config.cooldown)
        && inner.cooldown.failures >= c.config.cooldown_after
    {
        inner.cooldown.failures = 0;
    }
    inner.cooldown.failures += 1;
    inner.cooldown.last = Some(now);
}

fn common(c: &OdooControl, method: &str, args: &[Value]) -> Result<Value, OdooError> {
    match method {
        "version" => Ok(version()),
        "login" | "authenticate" => {
            check_db(c, arg_str(args, 0))?;
            if c.config.jsonrpc_cooldown && cooling_down(c) {
                return Ok(json!(false));
            }
            let uid = authenticate(c, arg_str(args, 1), arg_str(args, 2));
            if c.config.jsonrpc_cooldown {
                note_login(c, uid.is_some());
            }
            Ok(uid.map_or(json!(false), |u| json!(u)))
        }
        other => Err(OdooError::exception(format!("Method not found: {other}"))),
    }
}

fn version() -> Value {
    json!({"server_version": "18.0-20250421",
           "server_version_info": [18, 0, 0, "final", 0, ""],
           "server_serie": "18.0", "protocol_version": 1})
}

fn object(c: &OdooControl, method: &str, args: &[Value]) -> Result<Value, OdooError> {
    if method != "execute_kw" && method != "execute" {
        return Err(OdooError::exception(format!(
            "Method not available {method}"
        )));
    }
    check_db(c, arg_str(args, 0))?;
    let uid = args.get(1).and_then(Value::as_i64).unwrap_or(0);
    let password = arg_str(args, 2);
    let rights = {
        let inner = c.lock();
        if inner.db.row("res.users", uid).is_none() {
            return Err(OdooError::missing("res.users", &[uid], uid));
        }
        let active = inner
            .db
            .row("res.users", uid)
            .and_then(|r| r.get("active"))
            .and_then(Value::as_bool)
            != Some(false);
        let auth = inner.db.auth.get(&uid);
        let ok = active
            && !password.is_empty()
            && auth.is_some_and(|a| {
                a.password == password || a.api_keys.iter().any(|k| k == password)
            });
        if !ok {
            return Err(OdooError::access_denied("Access Denied"));
        }
        auth.map(|a| a.rights).unwrap_or_default()
    };
    let model = arg_str(args, 3);
    let m = arg_str(args, 4);
    let (pos, kw) = if method == "execute" {
        (
            args.get(5..).map(<[Value]>::to_vec).unwrap_or_default(),
            json!({}),
        )
    } else {
        (
            args.get(5)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            args.get(6).cloned().unwrap_or_else(|| json!({})),
        )
    };
    if model_fields(model).is_none() {
        return Err(OdooError::user(format!("Object {model} doesn't exist")));
    }
    if m.starts_with('_') {
        return Err(OdooError::access(format!(
            "Private methods (such as '{model}.{m}') cannot be called remotely."
        )));
    }
    let env = Env {
        uid,
        rights,
        now: c.clock.now(),
        active_test: kw
            .get("context")
            .and_then(|ctx| ctx.get("active_test"))
            .and_then(Value::as_bool)
            .unwrap_or(true),
    };
    call(c, &env, model, m, &pos, &kw)
}

fn ids_of(v: Option<&Value>) -> Vec<i64> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_i64).collect(),
        Some(Value::Number(n)) => n.as_i64().into_iter().collect(),
        _ => Vec::new(),
    }
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

/// A parameter given positionally at `i` or by keyword `name`.
fn param<'a>(pos: &'a [Value], i: usize, kw: &'a Value, name: &str) -> Option<&'a Value> {
    kw.get(name).or_else(|| pos.get(i)).filter(|v| !v.is_null())
}

fn call(
    c: &OdooControl,
    env: &Env,
    model: &str,
    m: &str,
    pos: &[Value],
    kw: &Value,
) -> Result<Value, OdooError> {
    let mut inner = c.lock();
    let db = &mut inner.db;
    let usize_of = |v: Option<&Value>| v.and_then(Value::as_u64).map(|n| n as usize);
    match m {
        "create" => match pos.first() {
            Some(Value::Array(list)) => Ok(json!(db.create(env, model, list)?)),
            Some(vals @ Value::Object(_)) => {
                Ok(json!(db.create(env, model, std::slice::from_ref(vals))?[0]))
            }
            _ => Err(OdooError::type_error(
                "create() missing 1 required positional argument: 'vals_list'",
            )),
        },
        "write" => {
            let ids = ids_of(pos.first());
            let vals = param(pos, 1, kw, "vals")
                .cloned()
                .unwrap_or_else(|| json!({}));
            db.write(env, model, &ids, &vals)?;
            Ok(json!(true))
        }
        "unlink" => {
            db.unlink(env, model, &ids_of(pos.first()))?;
            Ok(json!(true))
        }
        "read" => {
            let fields = strings(param(pos, 1, kw, "fields"));
            Ok(json!(db.read(
                env,
                model,
                &ids_of(pos.first()),
                fields.as_deref()
            )?))
        }
        "search_read" => {
            let domain = param(pos, 0, kw, "domain")
                .cloned()
                .unwrap_or_else(|| json!([]));
            let fields = strings(param(pos, 1, kw, "fields"));
            if let Some(f) = &fields {
                db.check_fields(model, f)?;
            }
            let offset = usize_of(param(pos, 2, kw, "offset")).unwrap_or(0);
            let limit = usize_of(param(pos, 3, kw, "limit"));
            let order = param(pos, 4, kw, "order").and_then(Value::as_str);
            let ids = db.search(env, model, &domain, offset, limit, order)?;
            Ok(json!(db.read(env, model, &ids, fields.as_deref())?))
        }
        "search" => {
            let domain = param(pos, 0, kw, "domain")
                .cloned()
                .unwrap_or_else(|| json!([]));
            let offset = usize_of(param(pos, 1, kw, "offset")).unwrap_or(0);
            let limit = usize_of(param(pos, 2, kw, "limit"));
            let order = param(pos, 3, kw, "order").and_then(Value::as_str);
            Ok(json!(db.search(env, model, &domain, offset, limit, order)?))
        }
        "search_count" => {
            let domain = param(pos, 0, kw, "domain")
                .cloned()
                .unwrap_or_else(|| json!([]));
            let limit = usize_of(param(pos, 1, kw, "limit"));
            Ok(json!(
                db.search(env, model, &domain, 0, limit, Some("id"))?.len()
            ))
        }
        "fields_get" => {
            let names = strings(param(pos, 0, kw, "allfields")).unwrap_or_default();
            let attributes = strings(param(pos, 1, kw, "attributes")).unwrap_or_default();
            Ok(db.fields_get(model, &names, &attributes))
        }
        // Not recorded; Odoo 18 still has it (deprecated in favour of `has_access`).
        "check_access_rights" => {
            let op = param(pos, 0, kw, "operation")
                .and_then(Value::as_str)
                .unwrap_or("read");
            let allowed = match model {
                "hr.attendance" => env.rights.attendance_admin || op == "read",
                "account.analytic.line" => env.rights.timesheet_admin,
                _ => true,
            };
            let raise = param(pos, 1, kw, "raise_exception")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if !allowed && raise {
                return Err(OdooError::access(format!(
                    "You are not allowed to {op} '{model}' records."
                )));
            }
            Ok(json!(allowed))
        }
        "copy" if model == "hr.attendance" => {
            Err(OdooError::user("You cannot duplicate an attendance."))
        }
        other => Err(OdooError::attribute(format!(
            "The method '{model}.{other}' does not exist"
        ))),
    }
}

async fn web_authenticate(
    State(c): State<OdooControl>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (id, params) = match read_body(&headers, "/web/session/authenticate", &body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let p = |k: &str| {
        params
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    if let Err(e) = check_db(&c, &p("db")) {
        return error(&id, &e);
    }
    if cooling_down(&c) {
        return error(&id, &OdooError::access_denied(COOLDOWN_TEXT));
    }
    let uid = authenticate(&c, &p("login"), &p("password"));
    note_login(&c, uid.is_some());
    let Some(uid) = uid else {
        return error(&id, &OdooError::access_denied("Access Denied"));
    };
    let info = {
        let inner = c.lock();
        let user = inner.db.row("res.users", uid).cloned().unwrap_or_default();
        json!({
            "uid": uid,
            "is_admin": uid == ADMIN_UID,
            "name": user.get("name").cloned().unwrap_or(Value::Null),
            "username": user.get("login").cloned().unwrap_or(Value::Null),
            "partner_id": uid + 1,
            "db": c.config.database,
            "server_version": "18.0-20250421",
            "server_version_info": [18, 0, 0, "final", 0, ""],
            "user_context": {"lang": "en_US",
                "tz": user.get("tz").filter(|t| !t.is_null()).cloned().unwrap_or(json!(false)),
                "uid": uid},
            "user_companies": {"current_company": 1, "allowed_companies": {"1": {
                "id": 1, "name": "My Company", "sequence": 0, "child_ids": [],
                "parent_id": false, "timesheet_uom_id": 4, "timesheet_uom_factor": 1.0}},
                "disallowed_ancestor_companies": {}},
        })
    };
    let expires = (c.clock.now() + chrono::Duration::days(7))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut r = result(&id, info);
    let cookie = format!(
        "session_id=sim{uid}x{}; Expires={expires}; Max-Age=604800; HttpOnly; Path=/",
        c.clock.now().timestamp()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn json2(req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut target = String::from("/web/login?redirect=");
    for b in path.bytes().chain(std::iter::once(b'?')) {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            target.push(b as char);
        } else {
            target.push_str(&format!("%{b:02X}"));
        }
    }
    let body = format!(
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href=\"{target}\">{target}</a>. If not, click the link.\n"
    );
    let mut r = html(StatusCode::SEE_OTHER, body);
    if let Ok(v) = HeaderValue::from_str(&target) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}
