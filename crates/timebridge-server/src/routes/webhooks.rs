//! The Zammad webhook: signed with `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw
//! body>` under the connector's `webhook_secret` (checked in constant time; never
//! accepted unsigned), de-duplicated by `X-Zammad-Delivery`, acknowledged at once (202)
//! with a debounced, ticket-scoped run queued for every pipeline reading the connector.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha1::Sha1;
use timebridge_store::{NewAuditEvent, StoreError, WebhookCall};
use utoipa::ToSchema;

use crate::audit::{Actor, record};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Path};
use crate::state::AppState;
use crate::store_error;
use crate::webhook_queue::WebhookConnector;

/// Calls for one ticket within this time collapse into one run.
pub const DEBOUNCE: chrono::Duration = chrono::Duration::seconds(2);

/// The acknowledgement.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    /// Whether the call was new (false: a repeated delivery id, not processed again). New
    /// calls are recorded and their ticket queued for a run within moments.
    pub accepted: bool,
    pub ticket_id: Option<i64>,
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::Unauthenticated {
        code: "invalid_signature",
        message: message.to_owned(),
    }
}

/// Verifies `sha1=<hex>` over `body` with `secret`, in constant time.
pub fn signature_valid(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha1=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

async fn zammad_connector(state: &AppState, id: Option<i64>) -> Result<WebhookConnector, ApiError> {
    let id = match id {
        Some(id) => {
            if let Some(c) = state.webhook_queue.cached(id) {
                return check_kind(c);
            }
            id
        }
        None => {
            let (all, _) = state
                .store
                .list_connectors(500, 0)
                .await
                .map_err(store_error)?;
            let mut zammads = all.into_iter().filter(|c| c.kind == "zammad");
            match (zammads.next(), zammads.next()) {
                (Some(c), None) => {
                    if let Some(cached) = state.webhook_queue.cached(c.id) {
                        return check_kind(cached);
                    }
                    c.id
                }
                (None, _) => return Err(ApiError::not_found("Zammad connector")),
                (Some(_), Some(_)) => {
                    return Err(ApiError::NotFound(
                        "Several Zammad connectors exist; use /api/webhook/zammad/{connector_id}."
                            .into(),
                    ));
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
    let found = WebhookConnector {
        id,
        kind: c.kind,
        secret: secrets.secret("webhook_secret").cloned(),
    };
    state.webhook_queue.remember(found.clone());
    check_kind(found)
}

fn check_kind(c: WebhookConnector) -> Result<WebhookConnector, ApiError> {
    if c.kind == "zammad" {
        Ok(c)
    } else {
        Err(ApiError::not_found("Zammad connector"))
    }
}

async fn handle(
    state: AppState,
    ip: Option<String>,
    connector_id: Option<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let connector = zammad_connector(&state, connector_id).await?;
    let reject = |reason: &'static str| {
        let state = state.clone();
        let ip = ip.clone();
        state.webhooks.count(&state.webhooks.rejected);
        async move {
            record(
                &state,
                Actor::Webhook,
                "webhook_rejected",
                "connector",
                Some(connector.id.to_string()),
                json!({"reason": reason}),
                ip,
            )
            .await;
        }
    };
    let Some(secret) = connector.secret.clone() else {
        reject("no webhook secret is configured").await;
        return Err(unauthorized(
            "This connector has no webhook secret; unsigned calls are never accepted.",
        ));
    };
    let signature = headers.get("x-hub-signature").and_then(|v| v.to_str().ok());
    if signature.is_none() {
        reject("missing signature").await;
        return Err(unauthorized("The X-Hub-Signature header is missing."));
    }
    if !signature_valid(secret.expose().as_bytes(), &body, signature) {
        reject("wrong signature").await;
        return Err(unauthorized("The X-Hub-Signature does not match the body."));
    }
    let invalid = |e: ApiError| {
        state.webhooks.count(&state.webhooks.invalid);
        e
    };
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|_| invalid(ApiError::bad_request("The body is not JSON.")))?;
    let ticket_id = match &payload["ticket"]["id"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
    .ok_or_else(|| invalid(ApiError::bad_field("ticket.id", "is missing")))?;
    let delivery = headers
        .get("x-zammad-delivery")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|d| !d.is_empty() && d.len() <= 200)
        .map(str::to_owned);
    if let Some(d) = &delivery
        && !state.webhook_queue.first_time(d)
    {
        state.webhooks.count(&state.webhooks.duplicate);
        return Ok(ack(false, ticket_id));
    }
    state.webhooks.count(&state.webhooks.accepted);
    state.webhook_queue.push(WebhookCall {
        connector_id: connector.id,
        ticket_id,
        delivery_id: delivery.clone(),
        audit: NewAuditEvent {
            at: state.clock.now(),
            actor: Actor::Webhook.as_str().to_owned(),
            action: "webhook_received".to_owned(),
            entity_type: "connector".to_owned(),
            entity_id: Some(connector.id.to_string()),
            details: json!({"ticket_id": ticket_id, "delivery_id": delivery,
                "trigger": headers.get("x-zammad-trigger").and_then(|v| v.to_str().ok())}),
            ip,
        },
    });
    Ok(ack(true, ticket_id))
}

fn ack(accepted: bool, ticket_id: i64) -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(WebhookAck {
            accepted,
            ticket_id: Some(ticket_id),
        }),
    )
        .into_response()
}

/// Zammad webhook for one connector.
#[utoipa::path(
    post,
    path = "/api/webhook/zammad/{connector_id}",
    tag = "webhooks",
    params(("connector_id" = i64, Path, description = "The Zammad connector")),
    request_body(content = Object, description = "Zammad's default body: {\"ticket\":{…},\"article\":{…}}"),
    responses(
        (status = 202, description = "Acknowledged; a run of the ticket is queued", body = WebhookAck),
        (status = 400, description = "Not JSON, or no ticket.id", body = ErrorResponse),
        (status = 401, description = "Missing or wrong signature, or no secret configured", body = ErrorResponse),
        (status = 404, description = "Unknown Zammad connector", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
    )
)]
pub async fn zammad_for(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(connector_id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    handle(
        state,
        ip.map(|i| i.to_string()),
        Some(connector_id),
        headers,
        body,
    )
    .await
}

/// Zammad webhook when exactly one Zammad connector exists.
#[utoipa::path(
    post,
    path = "/api/webhook/zammad",
    tag = "webhooks",
    request_body(content = Object, description = "Zammad's default body: {\"ticket\":{…},\"article\":{…}}"),
    responses(
        (status = 202, description = "Acknowledged; a run of the ticket is queued", body = WebhookAck),
        (status = 400, description = "Not JSON, or no ticket.id", body = ErrorResponse),
        (status = 401, description = "Missing or wrong signature, or no secret configured", body = ErrorResponse),
        (status = 404, description = "No single Zammad connector", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
    )
)]
pub async fn zammad(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    handle(state, ip.map(|i| i.to_string()), None, headers, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_checked_against_the_raw_body() {
        let body = br#"{"ticket":{"id":5}}"#;
        let mut mac = Hmac::<Sha1>::new_from_slice(b"s3cret-token").unwrap();
        mac.update(body);
        let good = format!("sha1={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signature_valid(b"s3cret-token", body, Some(&good)));
        assert!(!signature_valid(b"other", body, Some(&good)));
        assert!(!signature_valid(b"s3cret-token", b"{}", Some(&good)));
        assert!(!signature_valid(b"s3cret-token", body, None));
        assert!(!signature_valid(b"s3cret-token", body, Some("sha256=00")));
        assert!(!signature_valid(b"s3cret-token", body, Some("sha1=zz")));
    }
}
