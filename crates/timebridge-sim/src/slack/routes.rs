//! HTTP routes of the Slack simulator.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{BOT_USER, SlackControl, SlackMessage, TEAM, Via};
use crate::faults;

pub(crate) fn router(ctl: SlackControl) -> Router {
    let infra = ctl.infra.clone();
    Router::new()
        .route("/", get(page))
        .route("/_sim/messages", get(messages))
        .route("/services/{team}/{bot}/{secret}", post(incoming_webhook))
        .route("/api/auth.test", post(auth_test).get(auth_test))
        .route("/api/chat.postMessage", post(post_message))
        .route(
            "/api/conversations.list",
            get(conversations_list).post(conversations_list),
        )
        .layer(axum::middleware::from_fn_with_state(
            infra,
            faults::middleware,
        ))
        .with_state(ctl)
}

fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain")],
        text.to_owned(),
    )
        .into_response()
}

/// An error of the Web API: HTTP 200 with `ok: false`.
fn api_error(code: &str) -> Response {
    Json(json!({"ok": false, "error": code})).into_response()
}

async fn page(State(ctl): State<SlackControl>) -> Html<String> {
    Html(super::page::render(&ctl.messages(), &ctl.channels()))
}

async fn messages(State(ctl): State<SlackControl>) -> Json<Vec<SlackMessage>> {
    Json(ctl.messages())
}

fn next_ts(ctl: &SlackControl, st: &mut super::SState) -> String {
    st.seq += 1;
    format!("{}.{:06}", ctl.clock.now().timestamp(), st.seq % 1_000_000)
}

async fn incoming_webhook(
    State(ctl): State<SlackControl>,
    Path((_team, _bot, secret)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if secret != ctl.hook_secret {
        return plain(StatusCode::NOT_FOUND, "no_service");
    }
    if let Some((status, code)) = ctl.lock().hook_error.clone() {
        return plain(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &code,
        );
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return plain(StatusCode::BAD_REQUEST, "invalid_payload");
    };
    let text = v["text"].as_str().unwrap_or_default().to_owned();
    if text.is_empty() && !v["blocks"].is_array() {
        return plain(StatusCode::BAD_REQUEST, "no_text");
    }
    let mut st = ctl.lock();
    let ts = next_ts(&ctl, &mut st);
    let channel = st.hook_channel.clone();
    st.messages.push(SlackMessage {
        via: Via::IncomingWebhook,
        channel,
        text,
        blocks: v["blocks"].clone(),
        ts,
        received_at: ctl.clock.now(),
    });
    plain(StatusCode::OK, "ok")
}

/// Checks the bot token; the error code when it is missing or wrong.
fn authorize(ctl: &SlackControl, headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err("not_authed");
    };
    match auth.strip_prefix("Bearer ") {
        Some(t) if t == ctl.bot_token => Ok(()),
        _ => Err("invalid_auth"),
    }
}

async fn auth_test(State(ctl): State<SlackControl>, headers: HeaderMap) -> Response {
    if let Err(code) = authorize(&ctl, &headers) {
        return api_error(code);
    }
    Json(
        json!({"ok": true, "url": format!("https://{TEAM}.slack.com/"), "team": TEAM,
                "user": BOT_USER, "team_id": "T0TIMEBRDG", "user_id": "U0TIMEBRDG",
                "bot_id": "B0TIMEBRDG", "is_enterprise_install": false}),
    )
    .into_response()
}

async fn post_message(
    State(ctl): State<SlackControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(code) = authorize(&ctl, &headers) {
        return api_error(code);
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return api_error("invalid_json");
    };
    let wanted = v["channel"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('#');
    if wanted.is_empty() {
        return api_error("channel_not_found");
    }
    let text = v["text"].as_str().unwrap_or_default().to_owned();
    if text.is_empty() && !v["blocks"].is_array() {
        return api_error("no_text");
    }
    if text.chars().count() > 40_000 {
        return api_error("msg_too_long");
    }
    if !v["blocks"].is_null() && !v["blocks"].is_array() {
        return api_error("invalid_blocks");
    }
    let mut st = ctl.lock();
    let Some(channel) = st
        .channels
        .iter()
        .find(|c| c.id == wanted || c.name == wanted)
        .cloned()
    else {
        return api_error("channel_not_found");
    };
    if channel.is_archived {
        return api_error("is_archived");
    }
    let ts = next_ts(&ctl, &mut st);
    let message = SlackMessage {
        via: Via::PostMessage,
        channel: channel.id.clone(),
        text: text.clone(),
        blocks: v["blocks"].clone(),
        ts: ts.clone(),
        received_at: ctl.clock.now(),
    };
    st.messages.push(message);
    Json(json!({"ok": true, "channel": channel.id, "ts": ts,
                "message": {"type": "message", "subtype": "bot_message", "text": text,
                            "ts": ts, "bot_id": "B0TIMEBRDG", "blocks": v["blocks"]}}))
    .into_response()
}

async fn conversations_list(
    State(ctl): State<SlackControl>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    if let Err(code) = authorize(&ctl, &headers) {
        return api_error(code);
    }
    let param = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let limit: usize = param("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| (1..=1000).contains(l))
        .unwrap_or(100);
    let start: usize = param("cursor")
        .and_then(|c| c.strip_prefix("dGVhbTpD"))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let exclude_archived = param("exclude_archived") == Some("true");
    let all: Vec<_> = ctl
        .channels()
        .into_iter()
        .filter(|c| !(exclude_archived && c.is_archived))
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|c| {
            json!({"id": c.id, "name": c.name, "is_channel": !c.is_private,
                   "is_private": c.is_private, "is_archived": c.is_archived,
                   "is_member": true})
        })
        .collect();
    let next = if start + limit < all.len() {
        format!("dGVhbTpD{}", start + limit)
    } else {
        String::new()
    };
    Json(json!({"ok": true, "channels": page, "response_metadata": {"next_cursor": next}}))
        .into_response()
}
