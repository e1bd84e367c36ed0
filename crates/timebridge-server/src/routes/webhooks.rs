//! Webhooks of every kind with the `webhook` feature, at `/api/webhook/{kind}/{connector_id}`
//! (and `/api/webhook/{kind}` when exactly one connector of that kind exists). The kind's
//! [`WebhookProtocol`] (in its connector folder) checks the signature with the connector's
//! secret (never accepted unsigned) and reads the payload; this module owns the rest:
//! 404 for kinds and connectors that do not match, de-duplication by delivery id, and an
//! acknowledgement at once (202) with a debounced, scoped run queued for every enabled
//! pipeline reading the connector. Nothing here names a concrete system.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use timebridge_connectors::registry::{self, Feature};
use timebridge_connectors::{WebhookProtocol, WebhookRejection, WebhookSpec};
use timebridge_store::{AuditAction, NewAuditEvent, StoreError, WebhookCall as QueuedCall};
use utoipa::ToSchema;

use crate::audit::{Actor, record};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Path};
use crate::state::AppState;
use crate::store_error;
use crate::webhook_queue::WebhookConnector;

/// Calls for one connector within this time collapse into one run.
pub const DEBOUNCE: chrono::Duration = chrono::Duration::seconds(2);

/// Delivery ids longer than this are not used for de-duplication.
const MAX_DELIVERY_ID: usize = 200;

/// The acknowledgement.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    /// Whether the call was new (false: a repeated delivery id, not processed again). New
    /// calls are recorded and their records queued for a run within moments.
    pub accepted: bool,
    /// The first record the call names (for Zammad: the ticket); `null` when it names
    /// everything. Kept for v1 clients; see `record_ids`.
    pub ticket_id: Option<i64>,
    /// The source records the call names (for Zammad: ticket ids); `null`: everything in
    /// the pipelines' window.
    pub record_ids: Option<Vec<i64>>,
}

/// A kind that receives webhooks, from the registry.
#[derive(Debug, Clone, Copy)]
struct WebhookKind {
    kind: &'static str,
    label: &'static str,
    spec: WebhookSpec,
}

/// The kinds with the webhook feature, read from the registry once.
fn webhook_kinds() -> &'static HashMap<&'static str, WebhookKind> {
    static KINDS: OnceLock<HashMap<&'static str, WebhookKind>> = OnceLock::new();
    KINDS.get_or_init(|| {
        registry::kinds()
            .into_iter()
            .filter(|k| k.has_feature(Feature::Webhook))
            .filter_map(|k| {
                let spec = k.webhook?;
                Some((
                    k.kind,
                    WebhookKind {
                        kind: k.kind,
                        label: k.label,
                        spec,
                    },
                ))
            })
            .collect()
    })
}

/// The kind named in the path, if it receives webhooks; else 404.
fn webhook_kind(kind: &str) -> Result<WebhookKind, ApiError> {
    webhook_kinds()
        .get(kind)
        .copied()
        .ok_or_else(|| ApiError::not_found("Webhook kind"))
}

/// The name of the secret setting a connector of `kind` signs webhooks with.
fn secret_setting(kind: &str) -> Option<&'static str> {
    webhook_kinds().get(kind).map(|k| k.spec.secret_setting)
}

fn unauthorized(message: String) -> ApiError {
    ApiError::Unauthenticated {
        code: "invalid_signature",
        message,
    }
}

/// The response for a rejection; by variant, never by wording.
fn rejection_error(r: &WebhookRejection) -> ApiError {
    match r {
        WebhookRejection::NoSecret => unauthorized(
            "This connector has no webhook secret; unsigned calls are never accepted.".into(),
        ),
        WebhookRejection::Unsigned { header } => {
            unauthorized(format!("The {header} header is missing."))
        }
        WebhookRejection::BadSignature { header } => {
            unauthorized(format!("The {header} does not match the body."))
        }
        WebhookRejection::Unparseable { message } => ApiError::bad_request(*message),
        WebhookRejection::MissingField { field } => ApiError::bad_field(field, "is missing"),
    }
}

/// The connector `id` (or the only connector of the kind), checked to be of that kind.
async fn webhook_connector(
    state: &AppState,
    kind: WebhookKind,
    id: Option<i64>,
) -> Result<WebhookConnector, ApiError> {
    let id = match id {
        Some(id) => {
            if let Some(c) = state.webhook_queue.cached(id) {
                return check_kind(c, kind);
            }
            id
        }
        None => {
            let all = state.store.all_connectors().await.map_err(store_error)?;
            let mut of_kind = all.into_iter().filter(|c| c.kind == kind.kind);
            match (of_kind.next(), of_kind.next()) {
                (Some(c), None) => {
                    if let Some(cached) = state.webhook_queue.cached(c.id) {
                        return check_kind(cached, kind);
                    }
                    c.id
                }
                (None, _) => {
                    return Err(ApiError::not_found(&format!("{} connector", kind.label)));
                }
                (Some(_), Some(_)) => {
                    return Err(ApiError::NotFound(format!(
                        "Several {} connectors exist; use /api/webhook/{}/{{connector_id}}.",
                        kind.label, kind.kind
                    )));
                }
            }
        }
    };
    let c = state.store.get_connector(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("Connector"),
        other => store_error(other),
    })?;
    let secrets = state
        .store
        .get_connector_secrets(id)
        .await
        .map_err(store_error)?;
    let secret = secret_setting(&c.kind).and_then(|name| secrets.secret(name).cloned());
    let found = WebhookConnector {
        id,
        kind: c.kind,
        secret,
    };
    state.webhook_queue.remember(found.clone());
    check_kind(found, kind)
}

fn check_kind(c: WebhookConnector, kind: WebhookKind) -> Result<WebhookConnector, ApiError> {
    if c.kind == kind.kind {
        Ok(c)
    } else {
        Err(ApiError::not_found(&format!("{} connector", kind.label)))
    }
}

async fn handle(
    state: AppState,
    ip: Option<String>,
    kind: &str,
    connector_id: Option<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = webhook_kind(kind)?;
    let connector = webhook_connector(&state, kind, connector_id).await?;
    let protocol: &dyn WebhookProtocol = kind.spec.protocol;
    if let Some(commands) = protocol.as_command() {
        return command(&state, ip, kind, &connector, commands, &headers, &body).await;
    }
    let verified = match &connector.secret {
        None => Err(WebhookRejection::NoSecret),
        Some(secret) => protocol.verify(&headers, &body, secret.expose().as_bytes()),
    };
    if let Err(rejection) = verified {
        state.webhooks.count(&state.webhooks.rejected);
        record(
            &state,
            Actor::Webhook,
            AuditAction::WebhookRejected,
            "connector",
            Some(connector.id.to_string()),
            json!({"reason": rejection.reason(), "kind": kind.kind}),
            ip,
        )
        .await;
        return Err(rejection_error(&rejection));
    }
    let call = protocol.parse(&headers, &body).map_err(|rejection| {
        state.webhooks.count(&state.webhooks.invalid);
        rejection_error(&rejection)
    })?;
    let record_ids = call.scope.record_ids().map(<[i64]>::to_vec);
    let delivery = call
        .delivery_id
        .filter(|d| !d.is_empty() && d.len() <= MAX_DELIVERY_ID);
    if let Some(d) = &delivery
        && !state.webhook_queue.first_time(d)
    {
        state.webhooks.count(&state.webhooks.duplicate);
        return Ok(ack(false, record_ids));
    }
    state.webhooks.count(&state.webhooks.accepted);
    let details = json!({
        "kind": kind.kind,
        "ticket_id": record_ids.as_ref().and_then(|ids| ids.first()),
        "record_ids": record_ids,
        "delivery_id": delivery,
        "event": call.event,
        // The v1 name of the event.
        "trigger": call.event,
        "acknowledge_only": call.acknowledge_only,
    });
    if call.acknowledge_only {
        // Nothing to run; the audit event is all there is to record.
        record(
            &state,
            Actor::Webhook,
            AuditAction::WebhookReceived,
            "connector",
            Some(connector.id.to_string()),
            details,
            ip,
        )
        .await;
        return Ok(ack(true, record_ids));
    }
    state.webhook_queue.push(QueuedCall {
        connector_id: connector.id,
        ticket_ids: record_ids.clone(),
        delivery_id: delivery,
        audit: NewAuditEvent {
            at: state.clock.now(),
            actor: Actor::Webhook.as_str().to_owned(),
            action: AuditAction::WebhookReceived,
            entity_type: "connector".to_owned(),
            entity_id: Some(connector.id.to_string()),
            details,
            ip,
        },
    });
    Ok(ack(true, record_ids))
}

/// How long a chat command may take to answer (Slack waits 3 s).
const COMMAND_DEADLINE: std::time::Duration = std::time::Duration::from_millis(2500);

/// A chat command (a kind whose protocol has [`WebhookProtocol::as_command`]): verified
/// with this server's clock (replay window), answered at once, 200 with the kind's JSON.
async fn command(
    state: &AppState,
    ip: Option<String>,
    kind: WebhookKind,
    connector: &WebhookConnector,
    protocol: &dyn timebridge_connectors::command::CommandProtocol,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let verified = match &connector.secret {
        None => Err(WebhookRejection::NoSecret),
        Some(secret) => {
            protocol.verify(headers, body, secret.expose().as_bytes(), state.clock.now())
        }
    };
    if let Err(rejection) = verified {
        state.webhooks.count(&state.webhooks.rejected);
        record(
            state,
            Actor::Webhook,
            AuditAction::WebhookRejected,
            "connector",
            Some(connector.id.to_string()),
            json!({"reason": rejection.reason(), "kind": kind.kind}),
            ip,
        )
        .await;
        return Err(rejection_error(&rejection));
    }
    let call = protocol.parse(headers, body).map_err(|rejection| {
        state.webhooks.count(&state.webhooks.invalid);
        rejection_error(&rejection)
    })?;
    state.webhooks.count(&state.webhooks.accepted);
    record(
        state,
        Actor::Webhook,
        AuditAction::WebhookReceived,
        "connector",
        Some(connector.id.to_string()),
        json!({"kind": kind.kind, "command": format!("{:?}", call.command), "user": call.user}),
        ip,
    )
    .await;
    let answer = crate::notify::command::answer(state, connector.id, call.command, call.user);
    let reply = match tokio::time::timeout(COMMAND_DEADLINE, answer).await {
        Ok(reply) => reply.map_err(store_error)?,
        Err(_) => {
            return Err(ApiError::Unavailable(
                "The answer took too long; try again in a moment.".into(),
            ));
        }
    };
    Ok((StatusCode::OK, axum::Json(protocol.render(&reply))).into_response())
}

fn ack(accepted: bool, record_ids: Option<Vec<i64>>) -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(WebhookAck {
            accepted,
            ticket_id: record_ids.as_ref().and_then(|ids| ids.first().copied()),
            record_ids,
        }),
    )
        .into_response()
}

/// Webhook of one connector. `kind` is a kind with the `webhook` feature; how its calls
/// are signed is its `webhook.signature` in `GET /api/connectors/kinds`.
#[utoipa::path(
    post,
    path = "/api/webhook/{kind}/{connector_id}",
    tag = "webhooks",
    params(
        ("kind" = String, Path, description = "A connector kind with the webhook feature, e.g. `zammad`"),
        ("connector_id" = i64, Path, description = "A connector of that kind"),
    ),
    request_body(content = Object, description = "The kind's payload, e.g. Zammad's default body: {\"ticket\":{…},\"article\":{…}}"),
    responses(
        (status = 200, description = "A chat command (kind `slack`: a slash command, form-encoded) answered in the kind's JSON", body = Object),
        (status = 202, description = "Acknowledged; a run of what the payload names is queued", body = WebhookAck),
        (status = 400, description = "Unparseable (e.g. not JSON, or no ticket.id)", body = ErrorResponse),
        (status = 401, description = "Missing or wrong signature, a stale timestamp (chat commands: more than 300 s away), or no secret configured", body = ErrorResponse),
        (status = 404, description = "Unknown kind, a kind without webhooks, or no connector of that kind with this id", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
    )
)]
pub async fn for_connector(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path((kind, connector_id)): Path<(String, i64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    handle(
        state,
        ip.map(|i| i.to_string()),
        &kind,
        Some(connector_id),
        headers,
        body,
    )
    .await
}

/// Webhook of the only connector of a kind (404 when there is none or several).
#[utoipa::path(
    post,
    path = "/api/webhook/{kind}",
    tag = "webhooks",
    params(
        ("kind" = String, Path, description = "A connector kind with the webhook feature, e.g. `zammad`"),
    ),
    request_body(content = Object, description = "The kind's payload, e.g. Zammad's default body: {\"ticket\":{…},\"article\":{…}}"),
    responses(
        (status = 202, description = "Acknowledged; a run of what the payload names is queued", body = WebhookAck),
        (status = 400, description = "Unparseable (e.g. not JSON, or no ticket.id)", body = ErrorResponse),
        (status = 401, description = "Missing or wrong signature, or no secret configured", body = ErrorResponse),
        (status = 404, description = "Unknown kind, a kind without webhooks, or not exactly one connector of that kind", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
    )
)]
pub async fn for_kind(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    handle(state, ip.map(|i| i.to_string()), &kind, None, headers, body).await
}
