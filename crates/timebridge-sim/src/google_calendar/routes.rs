//! HTTP routes of the Google Calendar simulator: the OAuth endpoints (`/o/oauth2/auth`,
//! `/token`) and the Calendar API under `/calendar/v3`.

// Handlers answer early with a ready `Response` as the error; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::state::{Channel, GoogleCalendarControl, Grant};
use crate::faults;

type Params = Query<Vec<(String, String)>>;

pub(crate) fn router(ctl: GoogleCalendarControl) -> Router {
    let infra = ctl.infra.clone();
    let api = Router::new()
        .route("/users/me/calendarList", get(calendar_list))
        .route("/calendars/{cal}", get(calendar))
        .route("/calendars/{cal}/events", get(list_events))
        .route("/calendars/{cal}/events/watch", post(watch))
        .route("/calendars/{cal}/events/{id}", get(get_event))
        .route("/channels/stop", post(stop));
    Router::new()
        .route("/o/oauth2/auth", get(authorize))
        .route("/o/oauth2/approve", post(approve))
        .route("/token", post(token))
        .nest("/calendar/v3", api)
        .fallback(|| async { google_error(StatusCode::NOT_FOUND, "notFound", "Not Found") })
        .layer(axum::middleware::from_fn_with_state(
            infra,
            faults::middleware,
        ))
        .with_state(ctl)
}

/// Google's error body.
fn google_error(status: StatusCode, reason: &str, message: &str) -> Response {
    let domain = match reason {
        "usageLimits" | "rateLimitExceeded" => "usageLimits",
        "fullSyncRequired" | "notFound" | "timeRangeEmpty" => "calendar",
        _ => "global",
    };
    (
        status,
        Json(json!({"error": {
            "errors": [{"domain": domain, "reason": reason, "message": message}],
            "code": status.as_u16(),
            "message": message,
        }})),
    )
        .into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The bearer token must be one we issued and still valid.
fn authorize_call(ctl: &GoogleCalendarControl, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let st = ctl.lock();
    match token.and_then(|t| st.access_tokens.get(t)) {
        Some(until) if Instant::now() < *until => Ok(()),
        _ => Err(google_error(
            StatusCode::UNAUTHORIZED,
            "authError",
            "Invalid Credentials",
        )),
    }
}

fn is_ours(ctl: &GoogleCalendarControl, cal: &str) -> bool {
    cal == "primary" || cal == ctl.lock().owner_email
}

const HOLIDAYS: &str = "en.german#holiday@group.v.calendar.google.com";

// ---- OAuth ------------------------------------------------------------------------------

fn redirect_with_code(
    ctl: &GoogleCalendarControl,
    client_id: &str,
    redirect_uri: &str,
    state: Option<&str>,
) -> Response {
    let code = format!("4/sim-{}", super::state_token());
    ctl.lock().codes.insert(
        code.clone(),
        Grant {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
        },
    );
    let mut url = reqwest::Url::parse(redirect_uri).expect("checked before");
    url.query_pairs_mut().append_pair("code", &code);
    if let Some(s) = state {
        url.query_pairs_mut().append_pair("state", s);
    }
    url.query_pairs_mut()
        .append_pair("scope", "https://www.googleapis.com/auth/calendar.readonly");
    Redirect::to(url.as_str()).into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The consent page: "Allow" redirects back with a code; auto-approve skips the page.
async fn authorize(State(ctl): State<GoogleCalendarControl>, Query(q): Params) -> Response {
    let (Some(client_id), Some(redirect_uri)) = (param(&q, "client_id"), param(&q, "redirect_uri"))
    else {
        return (StatusCode::BAD_REQUEST, Html("Error 400: invalid_request")).into_response();
    };
    if client_id != ctl.client_id {
        return (
            StatusCode::UNAUTHORIZED,
            Html("Error 401: invalid_client. The OAuth client was not found."),
        )
            .into_response();
    }
    if reqwest::Url::parse(redirect_uri).is_err() || param(&q, "response_type") != Some("code") {
        return (
            StatusCode::BAD_REQUEST,
            Html("Error 400: redirect_uri_mismatch or invalid response_type"),
        )
            .into_response();
    }
    let state = param(&q, "state");
    if ctl.lock().auto_approve {
        return redirect_with_code(&ctl, client_id, redirect_uri, state);
    }
    let owner = ctl.owner_email();
    Html(format!(
        "<!doctype html><html><head><title>Sign in - Google Accounts</title></head><body>\
         <h1>timebridge wants to access your Google Account</h1><p>{owner}</p>\
         <p>See and download any calendar you can access using your Google Calendar.</p>\
         <form method=\"post\" action=\"/o/oauth2/approve\">\
         <input type=\"hidden\" name=\"client_id\" value=\"{}\">\
         <input type=\"hidden\" name=\"redirect_uri\" value=\"{}\">\
         <input type=\"hidden\" name=\"state\" value=\"{}\">\
         <button type=\"submit\">Allow</button></form></body></html>",
        html_escape(client_id),
        html_escape(redirect_uri),
        html_escape(state.unwrap_or_default()),
    ))
    .into_response()
}

async fn approve(State(ctl): State<GoogleCalendarControl>, body: Bytes) -> Response {
    let form: HashMap<String, String> = form_urlencoded(&body);
    let (Some(client_id), Some(redirect_uri)) = (form.get("client_id"), form.get("redirect_uri"))
    else {
        return (StatusCode::BAD_REQUEST, Html("Error 400: invalid_request")).into_response();
    };
    let state = form
        .get("state")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    redirect_with_code(&ctl, client_id, redirect_uri, state)
}

fn form_urlencoded(body: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(body);
    let url = reqwest::Url::parse(&format!("http://x/?{text}")).expect("a query parses");
    url.query_pairs().into_owned().collect()
}

/// `POST /token`: `authorization_code` (codes are single-use) and `refresh_token`.
async fn token(
    State(ctl): State<GoogleCalendarControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form_urlencoded(&body);
    let mut client = (
        form.get("client_id").cloned(),
        form.get("client_secret").cloned(),
    );
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        && let Some(decoded) = base64_decode(basic.trim())
        && let Some((id, secret)) = decoded.split_once(':')
    {
        client = (Some(id.to_owned()), Some(secret.to_owned()));
    }
    if client.0.as_deref() != Some(ctl.client_id.as_str())
        || client.1.as_deref() != Some(ctl.client_secret.as_str())
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        );
    }
    let mut st = ctl.lock();
    let refresh = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = form.get("code").cloned().unwrap_or_default();
            let Some(grant) = st.codes.remove(&code) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Malformed auth code.",
                );
            };
            if Some(&grant.redirect_uri) != form.get("redirect_uri")
                || grant.client_id != ctl.client_id
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "redirect_uri_mismatch",
                    "Bad Request",
                );
            }
            let refresh = format!("1//sim-refresh-{}", super::state_token());
            st.refresh_tokens.insert(refresh.clone(), false);
            Some(refresh)
        }
        Some("refresh_token") => {
            let given = form.get("refresh_token").cloned().unwrap_or_default();
            match st.refresh_tokens.get(&given) {
                Some(false) => None,
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Token has been expired or revoked.",
                    );
                }
            }
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Invalid grant_type",
            );
        }
    };
    let access = format!("ya29.sim-{}", super::state_token());
    let ttl = st.access_ttl;
    st.access_tokens
        .insert(access.clone(), Instant::now() + ttl);
    let mut answer = json!({
        "access_token": access,
        "expires_in": ttl.as_secs().max(1),
        "scope": "https://www.googleapis.com/auth/calendar.readonly",
        "token_type": "Bearer",
    });
    if let Some(r) = refresh {
        answer["refresh_token"] = json!(r);
    }
    Json(answer).into_response()
}

fn base64_decode(s: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).ok()
}

// ---- Calendar API -----------------------------------------------------------------------

async fn calendar_list(State(ctl): State<GoogleCalendarControl>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize_call(&ctl, &headers) {
        return r;
    }
    let st = ctl.lock();
    Json(
        json!({"kind": "calendar#calendarList", "etag": "\"1\"", "items": [
            {"kind": "calendar#calendarListEntry", "id": st.owner_email, "summary": st.owner_email,
             "timeZone": st.time_zone, "accessRole": "owner", "primary": true},
            {"kind": "calendar#calendarListEntry", "id": HOLIDAYS,
             "summary": "Holidays in Germany", "timeZone": st.time_zone, "accessRole": "reader"},
        ]}),
    )
    .into_response()
}

async fn calendar(
    State(ctl): State<GoogleCalendarControl>,
    headers: HeaderMap,
    Path(cal): Path<String>,
) -> Response {
    if let Err(r) = authorize_call(&ctl, &headers) {
        return r;
    }
    let st = ctl.lock();
    let (id, summary) = if cal == "primary" || cal == st.owner_email {
        (st.owner_email.clone(), st.owner_email.clone())
    } else if cal == HOLIDAYS {
        (cal.clone(), "Holidays in Germany".to_owned())
    } else {
        return google_error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    };
    Json(
        json!({"kind": "calendar#calendar", "etag": "\"1\"", "id": id, "summary": summary,
                "timeZone": st.time_zone}),
    )
    .into_response()
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A page token: the offset into the (recomputed) result.
fn page_offset(q: &[(String, String)]) -> Result<usize, Response> {
    match param(q, "pageToken") {
        None => Ok(0),
        Some(t) => t
            .strip_prefix("pg-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| google_error(StatusCode::BAD_REQUEST, "invalid", "Invalid page token")),
    }
}

async fn list_events(
    State(ctl): State<GoogleCalendarControl>,
    headers: HeaderMap,
    Path(cal): Path<String>,
    Query(q): Params,
) -> Response {
    if let Err(r) = authorize_call(&ctl, &headers) {
        return r;
    }
    if cal == HOLIDAYS {
        return Json(json!({"kind": "calendar#events", "items": [],
                           "nextSyncToken": "sync-holidays"}))
        .into_response();
    }
    if !is_ours(&ctl, &cal) {
        return google_error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    }
    let offset = match page_offset(&q) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let sync = param(&q, "syncToken");
    if sync.is_some()
        && [
            "timeMin",
            "timeMax",
            "updatedMin",
            "orderBy",
            "q",
            "iCalUID",
        ]
        .iter()
        .any(|p| param(&q, p).is_some())
    {
        return google_error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "Sync token cannot be used with other query parameters.",
        );
    }
    if param(&q, "singleEvents") != Some("true") {
        // Only expanded reads are simulated (what the connector asks for).
        return google_error(
            StatusCode::BAD_REQUEST,
            "badRequest",
            "The simulator answers only singleEvents=true.",
        );
    }
    let time_min = param(&q, "timeMin").map(instant);
    let time_max = param(&q, "timeMax").map(instant);
    if matches!(time_min, Some(None)) || matches!(time_max, Some(None)) {
        return google_error(StatusCode::BAD_REQUEST, "badRequest", "Bad Request");
    }
    let (time_min, time_max) = (time_min.flatten(), time_max.flatten());
    if let (Some(a), Some(b)) = (time_min, time_max)
        && a >= b
    {
        return google_error(
            StatusCode::BAD_REQUEST,
            "timeRangeEmpty",
            "The specified time range is empty.",
        );
    }
    let show_deleted = param(&q, "showDeleted") == Some("true") || sync.is_some();
    let st = ctl.lock();
    let since = match sync {
        None => None,
        Some(t) => match t.strip_prefix("sync-").and_then(|n| n.parse::<u64>().ok()) {
            Some(n) if n >= st.sync_floor => Some(n),
            _ => {
                return google_error(
                    StatusCode::GONE,
                    "fullSyncRequired",
                    "Sync token is no longer valid, a full sync is required.",
                );
            }
        },
    };
    let list: Vec<Value> = st
        .instances()
        .into_iter()
        .filter(|e| show_deleted || e.status != "cancelled")
        .filter(|e| since.is_none_or(|s| st.changed(e) > s))
        .filter(|e| time_min.is_none_or(|t| e.end.instant() > t))
        .filter(|e| time_max.is_none_or(|t| e.start.instant() < t))
        .map(|e| st.view(&e))
        .collect();
    let asked = param(&q, "maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(250)
        .clamp(1, 2500);
    let size = asked.min(st.page_cap);
    let page: Vec<Value> = list.iter().skip(offset).take(size).cloned().collect();
    let mut answer = json!({
        "kind": "calendar#events",
        "etag": format!("\"{}\"", st.seq),
        "summary": st.owner_email,
        "updated": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "timeZone": st.time_zone,
        "accessRole": "owner",
        "defaultReminders": [],
        "items": page,
    });
    if offset + size < list.len() {
        answer["nextPageToken"] = json!(format!("pg-{}", offset + size));
    } else {
        answer["nextSyncToken"] = json!(format!("sync-{}", st.seq));
    }
    Json(answer).into_response()
}

async fn get_event(
    State(ctl): State<GoogleCalendarControl>,
    headers: HeaderMap,
    Path((cal, id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = authorize_call(&ctl, &headers) {
        return r;
    }
    if !is_ours(&ctl, &cal) {
        return google_error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    }
    let st = ctl.lock();
    match st.instance(&id) {
        Some(e) => Json(st.view(&e)).into_response(),
        None => google_error(StatusCode::NOT_FOUND, "notFound", "Not Found"),
    }
}

async fn watch(
    State(ctl): State<GoogleCalendarControl>,
    headers: HeaderMap,
    Path(cal): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = authorize_call(&ctl, &headers) {
        return r;
    }
    if !is_ours(&ctl, &cal) {
        return google_error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    }
    let (Some(id), Some(address)) = (body["id"].as_str(), body["address"].as_str()) else {
        return google_error(StatusCode::BAD_REQUEST, "required", "Required");
    };
    if body["type"] != "web_hook" {
        return google_error(StatusCode::BAD_REQUEST, "invalid", "Invalid channel type");
    }
    let mut st = ctl.lock();
    if st.require_https && !address.starts_with("https://") {
        return google_error(
            StatusCode::BAD_REQUEST,
            "push.webhookUrlNotHttps",
            "WebHook callback must be HTTPS",
        );
    }
    if st.channels.iter().any(|c| c.id == id) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "channelIdNotUnique",
            "Channel id not unique",
        );
    }
    let now = ctl.clock.now();
    let longest = now + st.max_channel_ttl;
    let asked = body["expiration"]
        .as_i64()
        .or_else(|| body["expiration"].as_str().and_then(|s| s.parse().ok()))
        .and_then(DateTime::from_timestamp_millis);
    let expiration = asked.map_or(longest, |a| a.min(longest));
    let channel = Channel {
        id: id.to_owned(),
        resource_id: format!("res-{}", super::state_token()),
        address: address.to_owned(),
        token: body["token"].as_str().map(str::to_owned),
        expiration,
        messages: 0,
        stopped: false,
    };
    let answer = json!({
        "kind": "api#channel",
        "id": channel.id,
        "resourceId": channel.resource_id,
        "resourceUri": format!("https://www.googleapis.com/calendar/v3/calendars/{cal}/events?alt=json"),
        "token": channel.token,
        "expiration": expiration.timestamp_millis().to_string(),
    });
    st.channels.push(channel);
    Json(answer).into_response()
}

async fn stop(
    State(ctl): State<GoogleCalendarControl>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = authorize_call(&ctl, &headers) {
        return r;
    }
    let mut st = ctl.lock();
    let found = st.channels.iter_mut().find(|c| {
        Some(c.id.as_str()) == body["id"].as_str()
            && Some(c.resource_id.as_str()) == body["resourceId"].as_str()
    });
    match found {
        Some(c) => {
            c.stopped = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => google_error(
            StatusCode::NOT_FOUND,
            "notFound",
            &format!("Channel '{}' not found for project", body["id"]),
        ),
    }
}
