//! HTTP routes of the Jibble simulator: the identity server's token endpoint
//! (`POST /connect/token`), the workspace API (`/v1/People`, `/v1/Activities`,
//! `/v1/Projects`) and the time-tracking API (`/v1/TimeEntries`) on one address.

// Handlers answer early with a ready `Response` as the error; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};

use super::odata::{Filter, parse_orderby, sort};
use super::state::{JState, JibbleControl, TokenAuth};
use crate::faults;

type Params = Query<Vec<(String, String)>>;

pub(crate) fn router(ctl: JibbleControl) -> Router {
    let infra = ctl.infra.clone();
    Router::new()
        .route("/connect/token", post(token))
        .route("/v1/People", get(people))
        .route("/v1/Activities", get(activities))
        .route("/v1/Projects", get(projects))
        .route("/v1/TimeEntries", get(time_entries))
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(
            infra,
            faults::middleware,
        ))
        .with_state(ctl)
}

/// OData's error envelope (the shape is UNCONFIRMED for Jibble; ASP.NET's default).
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

async fn no_route() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NotFound",
        "No HTTP resource was found that matches the request URI.",
    )
}

fn oauth_error(code: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": code}))).into_response()
}

/// Percent-decodes a form value (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// `POST /connect/token`, client credentials only; the credentials in the body or as
/// Basic auth, as [`TokenAuth`] allows.
async fn token(State(ctl): State<JibbleControl>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = form(&body);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if field("grant_type").as_deref() != Some("client_credentials") {
        return oauth_error("unsupported_grant_type");
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            Some((
                form(id.as_bytes())
                    .first()
                    .map(|x| x.0.clone())
                    .unwrap_or_default(),
                form(secret.as_bytes())
                    .first()
                    .map(|x| x.0.clone())
                    .unwrap_or_default(),
            ))
        });
    let in_body = field("client_id").zip(field("client_secret"));
    let now = ctl.clock().now();
    let mut st = ctl.lock();
    let allowed = match st.config.token_auth {
        TokenAuth::Body => in_body,
        TokenAuth::Basic => basic,
        TokenAuth::Either => in_body.or(basic),
    };
    let Some((id, secret)) = allowed else {
        return oauth_error("invalid_client");
    };
    if id != st.config.client_id || secret != st.config.client_secret {
        return oauth_error("invalid_client");
    }
    let scope = field("scope").unwrap_or_else(|| "api1".into());
    if scope.split(' ').any(|s| s != "api1") {
        return oauth_error("invalid_scope");
    }
    let token = format!("jbl.{}", st.new_id(0x70c0_0001).replace('-', ""));
    let lifetime = st.config.token_lifetime_secs;
    st.tokens
        .insert(token.clone(), now + chrono::Duration::seconds(lifetime));
    Json(
        json!({"access_token": token, "expires_in": lifetime, "token_type": "Bearer",
                "scope": "api1"}),
    )
    .into_response()
}

/// The bearer token must be one the token endpoint issued and not expired.
fn authorize(ctl: &JibbleControl, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let now = ctl.clock().now();
    let valid = token.is_some_and(|t| ctl.lock().tokens.get(t).is_some_and(|until| now < *until));
    if valid {
        return Ok(());
    }
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    let challenge = if token.is_some() {
        "Bearer error=\"invalid_token\", error_description=\"The token expired\""
    } else {
        "Bearer"
    };
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    Err(r)
}

const PERSON_FIELDS: &[&str] = &[
    "id",
    "fullName",
    "preferredName",
    "email",
    "code",
    "status",
    "role",
    "groupId",
    "userId",
    "organizationId",
    "createdAt",
    "updatedAt",
    "removedAt",
    "joinDate",
];
const NAMED_FIELDS: &[&str] = &["id", "name", "code", "organizationId", "status"];
const ENTRY_FIELDS: &[&str] = &[
    "id",
    "personId",
    "type",
    "time",
    "localTime",
    "offset",
    "belongsToDate",
    "projectId",
    "activityId",
    "locationId",
    "kioskId",
    "breakId",
    "clientType",
    "status",
    "note",
    "isOffline",
    "isFaceRecognized",
    "isAutomatic",
    "isManual",
    "isOutsideGeofence",
    "isManualLocation",
    "isUnusual",
    "isEndOfDay",
    "isFromSpeedKiosk",
    "isLocked",
    "previousTimeEntryId",
    "nextTimeEntryId",
    "createdAt",
    "updatedAt",
];

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Answers an entity set with the query options applied, in OData's envelope.
fn list(
    ctl: &JibbleControl,
    headers: &HeaderMap,
    q: &[(String, String)],
    set: &str,
    fields: &[&str],
    rows: impl FnOnce(&JState, Option<&Filter>) -> Vec<Value>,
) -> Response {
    if let Err(r) = authorize(ctl, headers) {
        return r;
    }
    let bad = |m: String| error(StatusCode::BAD_REQUEST, "BadRequest", &m);
    let filter = match param(q, "$filter").filter(|f| !f.trim().is_empty()) {
        Some(f) => match Filter::parse(f, fields) {
            Ok(f) => Some(f),
            Err(e) => {
                return bad(format!(
                    "The query specified in the URI is not valid. {}",
                    e.0
                ));
            }
        },
        None => None,
    };
    let order = match param(q, "$orderby") {
        Some(o) => match parse_orderby(o, fields) {
            Ok(o) => o,
            Err(e) => {
                return bad(format!(
                    "The query specified in the URI is not valid. {}",
                    e.0
                ));
            }
        },
        None => Vec::new(),
    };
    let number = |name: &str| -> Result<Option<usize>, Response> {
        match param(q, name) {
            None => Ok(None),
            Some(v) => v.parse::<usize>().map(Some).map_err(|_| {
                bad(format!(
                    "Invalid value '{v}' for {name} query option found."
                ))
            }),
        }
    };
    let (top, skip) = match (number("$top"), number("$skip")) {
        (Ok(t), Ok(s)) => (t, s.unwrap_or(0)),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let count = param(q, "$count").is_some_and(|c| c.eq_ignore_ascii_case("true"));
    let (mut all, next_link, max) = {
        let st = ctl.lock();
        let mut all = rows(&st, filter.as_ref());
        if let Some(f) = &filter {
            all.retain(|r| f.matches(r));
        }
        (all, st.config.next_link, st.config.max_page_size.max(1))
    };
    sort(&mut all, &order);
    let total = all.len();
    let take = top.unwrap_or(max).min(max);
    let page: Vec<Value> = all.into_iter().skip(skip).take(take).collect();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let mut body = json!({"@odata.context": format!("http://{host}/v1/$metadata#{set}")});
    if count {
        body["@odata.count"] = json!(total);
    }
    // Server-driven paging: the rest of what was asked for, `$skip` moved on and `$top`
    // reduced by what came.
    let wanted_more = top.is_none_or(|t| t > page.len());
    if next_link && skip + page.len() < total && wanted_more {
        let mut query: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| k != "$skip" && k != "$top")
            .cloned()
            .collect();
        query.push(("$skip".into(), (skip + page.len()).to_string()));
        if let Some(t) = top {
            query.push(("$top".into(), (t - page.len()).to_string()));
        }
        let encoded: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        body["@odata.nextLink"] = json!(format!("http://{host}/v1/{set}?{}", encoded.join("&")));
    }
    body["value"] = Value::Array(page);
    Json(body).into_response()
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'$') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn people(
    State(ctl): State<JibbleControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    list(&ctl, &headers, &q, "People", PERSON_FIELDS, |st, _| {
        st.people.iter().map(|p| st.person_json(p)).collect()
    })
}

async fn activities(
    State(ctl): State<JibbleControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    list(&ctl, &headers, &q, "Activities", NAMED_FIELDS, |st, _| {
        st.activities.iter().map(JState::named_json).collect()
    })
}

async fn projects(
    State(ctl): State<JibbleControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    list(&ctl, &headers, &q, "Projects", NAMED_FIELDS, |st, _| {
        st.projects.iter().map(JState::named_json).collect()
    })
}

/// Clock events; archived ones only when the filter names `status` or the switch lets
/// them through.
async fn time_entries(
    State(ctl): State<JibbleControl>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    list(
        &ctl,
        &headers,
        &q,
        "TimeEntries",
        ENTRY_FIELDS,
        |st, filter| {
            let archived =
                st.config.archived_visible || filter.is_some_and(|f| f.mentions("status"));
            st.punches
                .iter()
                .filter(|p| archived || !p.archived)
                .map(|p| st.punch_json(p))
                .collect()
        },
    )
}
