//! Runtime settings: `GET|PUT /api/settings`.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use timebridge_store::AuditAction;
use utoipa::ToSchema;

use crate::audit::{Actor, record};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Json};
use crate::state::AppState;
use crate::store_error;

const MAX_RETENTION_DAYS: i64 = 36_500;

/// Runtime settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct Settings {
    /// Run items, resolved conflicts and audit events older than this many days are
    /// deleted by a daily job.
    #[schema(minimum = 1)]
    pub retention_days: i64,
}

/// Body of `PUT /api/settings`; omitted fields keep their values.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SettingsUpdate {
    /// At least 1.
    #[schema(minimum = 1)]
    pub retention_days: Option<i64>,
}

fn to_api(s: &timebridge_store::Settings) -> Settings {
    Settings {
        retention_days: s.retention_days,
    }
}

/// The current settings.
#[utoipa::path(
    get,
    path = "/api/settings",
    tag = "settings",
    responses(
        (status = 200, description = "The settings", body = Settings),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn get(State(state): State<AppState>) -> Result<Json<Settings>, ApiError> {
    let s = state.store.get_settings().await.map_err(store_error)?;
    Ok(Json(to_api(&s)))
}

/// Changes settings.
#[utoipa::path(
    put,
    path = "/api/settings",
    tag = "settings",
    request_body = SettingsUpdate,
    responses(
        (status = 200, description = "The new settings", body = Settings),
        (status = 400, description = "Malformed request", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 422, description = "A value is out of range", body = ErrorResponse),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<SettingsUpdate>,
) -> Result<Json<Settings>, ApiError> {
    let before = state.store.get_settings().await.map_err(store_error)?;
    let mut after = before.clone();
    if let Some(days) = body.retention_days {
        if !(1..=MAX_RETENTION_DAYS).contains(&days) {
            return Err(ApiError::invalid_field(
                "retention_days",
                format!("must be between 1 and {MAX_RETENTION_DAYS}"),
            ));
        }
        after.retention_days = days;
    }
    state
        .store
        .put_settings(&after)
        .await
        .map_err(store_error)?;
    record(
        &state,
        Actor::Admin,
        AuditAction::SettingsUpdated,
        "settings",
        None,
        json!({ "changes": { "retention_days": { "from": before.retention_days, "to": after.retention_days } } }),
        ip.map(|ip| ip.to_string()),
    )
    .await;
    Ok(Json(to_api(&after)))
}
