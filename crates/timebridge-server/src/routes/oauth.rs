//! The OAuth connect flow of connectors whose kind has the `oauth` feature:
//! `GET /api/connectors/{id}/oauth/start` sends the admin to the system's consent page
//! with a one-time `state`; `GET /api/oauth/callback` (no session: the state
//! authenticates it, once, within [`STATE_LIFETIME`]) exchanges the code, stores the
//! refresh token as the connector's encrypted secret, audits `connector_authorized` and
//! sends the admin back to the connector's page. The server never names the system: the
//! connector's [`timebridge_connectors::OAuthConnect`] does the talking.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use timebridge_connectors::oauth::REFRESH_TOKEN_SECRET;
use timebridge_connectors::registry::{self, Feature};
use timebridge_store::{AuditAction, ConnectorUpdate, Secret};
use utoipa::IntoParams;

use crate::audit::{Actor, record};
use crate::auth::session::{generate_token, token_digest};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Path, Query};
use crate::routes::connectors::not_found_as;
use crate::state::AppState;
use crate::store_error;

/// How long a started connect flow may take.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);

/// Where the system sends the admin back: `PUBLIC_URL/api/oauth/callback`.
pub fn redirect_uri(state: &AppState) -> String {
    format!(
        "{}/api/oauth/callback",
        state.config.public_url.trim_end_matches('/')
    )
}

fn found(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

fn not_oauth(kind: &str) -> ApiError {
    ApiError::Unprocessable {
        code: "oauth_unsupported",
        message: format!("A {kind} connector does not connect through OAuth."),
        details: json!({ "kind": kind }),
    }
}

fn bad_state(message: &str) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_state",
        message: message.to_owned(),
        details: json!({ "field": "state" }),
    }
}

/// Starts the connect flow: 302 to the system's consent page.
#[utoipa::path(
    get,
    path = "/api/connectors/{id}/oauth/start",
    tag = "connectors",
    params(("id" = i64, Path, description = "Connector id")),
    responses(
        (status = 302, description = "To the consent page (`Location`), with a one-time `state` valid for 10 minutes and `redirect_uri` = `PUBLIC_URL/api/oauth/callback`"),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
        (status = 422, description = "The kind has no OAuth, or the connector is misconfigured", body = ErrorResponse),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let stored = state
        .store
        .get_connector(id)
        .await
        .map_err(|e| not_found_as(e, "Connector"))?;
    if !registry::find(&stored.kind).is_some_and(|k| k.has_feature(Feature::Oauth)) {
        return Err(not_oauth(&stored.kind));
    }
    let connector = crate::remote::instance(&state, id).await?;
    let flow = connector
        .as_oauth()
        .ok_or_else(|| not_oauth(&stored.kind))?;
    let now = state.clock.now();
    let token = generate_token();
    let url = flow
        .authorize_url(&redirect_uri(&state), &token)
        .map_err(crate::remote::config_error)?;
    state
        .store
        .purge_oauth_states(now - STATE_LIFETIME)
        .await
        .map_err(store_error)?;
    state
        .store
        .add_oauth_state(&token_digest(&state.keys.secret, &token), id, now)
        .await
        .map_err(store_error)?;
    tracing::info!(connector = id, "OAuth connect flow started.");
    Ok(found(&url))
}

/// What the system sends back.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The one-time state `start` issued.
    pub state: Option<String>,
    /// Set instead of `code` when the person refused (`access_denied`).
    pub error: Option<String>,
}

/// Finishes the connect flow: exchanges the code, stores the refresh token, and sends the
/// admin to the connector's page.
#[utoipa::path(
    get,
    path = "/api/oauth/callback",
    tag = "connectors",
    params(CallbackQuery),
    responses(
        (status = 302, description = "Connected: to the connector's page (`/connectors/{id}?oauth=connected`)"),
        (status = 400, description = "Unknown, used or expired state (`invalid_state`), no code, or the person refused (`oauth_denied`)", body = ErrorResponse),
        (status = 422, description = "The connector is misconfigured", body = ErrorResponse),
        (status = 502, description = "The token endpoint refused the code or failed", body = ErrorResponse),
    )
)]
pub async fn callback(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let given = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad_state("The callback carries no state; start the connection again."))?;
    let now = state.clock.now();
    let flow = state
        .store
        .take_oauth_state(&token_digest(&state.keys.secret, given))
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            bad_state(
                "This connection link is unknown or was used already; start the connection \
                 again from the connector's page.",
            )
        })?;
    if now - flow.created_at > STATE_LIFETIME {
        return Err(bad_state(
            "This connection link has expired (10 minutes); start the connection again from \
             the connector's page.",
        ));
    }
    let id = flow.connector_id;
    if let Some(error) = q.error.as_deref().filter(|e| !e.is_empty()) {
        return Err(ApiError::BadRequest {
            code: "oauth_denied",
            message: format!("The authorization was not granted ({error})."),
            details: json!({ "connector_id": id, "error": error }),
        });
    }
    let code = q
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad_field("code", "is missing"))?;
    let stored = state
        .store
        .get_connector(id)
        .await
        .map_err(|e| not_found_as(e, "Connector"))?;
    let connector = crate::remote::instance(&state, id).await?;
    let flow = connector
        .as_oauth()
        .ok_or_else(|| not_oauth(&stored.kind))?;
    let tokens = flow
        .exchange(code, &redirect_uri(&state))
        .await
        .map_err(crate::remote::remote_error)?;
    let Some(refresh) = tokens.refresh_token else {
        return Err(crate::remote::remote_error(
            timebridge_connectors::ConnectorError::Protocol {
                host: String::new(),
                message: "the token endpoint answered without a refresh token".into(),
            },
        ));
    };
    let mut secrets = BTreeMap::new();
    secrets.insert(
        REFRESH_TOKEN_SECRET.to_owned(),
        Secret::new(refresh.expose_secret().to_owned()),
    );
    state
        .store
        .update_connector(
            id,
            ConnectorUpdate {
                secret_settings: secrets,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| not_found_as(e, "Connector"))?;
    state.webhook_queue.forget(id);
    state.connectors.memory.forget(id);
    record(
        &state,
        Actor::Admin,
        AuditAction::ConnectorAuthorized,
        "connector",
        Some(id.to_string()),
        json!({ "kind": stored.kind, "name": stored.name, "scopes": tokens.scopes }),
        ip.map(|ip| ip.to_string()),
    )
    .await;
    tracing::info!(connector = id, "Connector authorized through OAuth.");
    Ok(found(&format!(
        "{}/connectors/{id}?oauth=connected",
        state.config.public_url.trim_end_matches('/')
    )))
}
