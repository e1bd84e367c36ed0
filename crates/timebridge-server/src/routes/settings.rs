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
    /// IANA time zone that local times and dates are read in (the daily summary) [UTC].
    pub timezone: String,
    /// Local time (`HH:MM`) of the daily summary of pipelines that set none [08:00].
    pub daily_summary_at: String,
}

/// Body of `PUT /api/settings`; omitted fields keep their values.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SettingsUpdate {
    /// At least 1.
    #[schema(minimum = 1)]
    pub retention_days: Option<i64>,
    /// An IANA time zone such as `Europe/Berlin`.
    pub timezone: Option<String>,
    /// `HH:MM`.
    pub daily_summary_at: Option<String>,
}

fn to_api(s: &timebridge_store::Settings) -> Settings {
    Settings {
        retention_days: s.retention_days,
        timezone: s.timezone.clone(),
        daily_summary_at: s.daily_summary_at.clone(),
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
    if let Some(tz) = body.timezone {
        if tz.trim().parse::<chrono_tz::Tz>().is_err() {
            return Err(ApiError::invalid_field(
                "timezone",
                "must be an IANA time zone such as Europe/Berlin",
            ));
        }
        after.timezone = tz.trim().to_owned();
    }
    if let Some(at) = body.daily_summary_at {
        if crate::notify::daily::parse_time(&at).is_none() {
            return Err(ApiError::invalid_field(
                "daily_summary_at",
                "must be a local time HH:MM (00:00 to 23:59)",
            ));
        }
        after.daily_summary_at = at.trim().to_owned();
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
        json!({ "changes": {
            "retention_days": { "from": before.retention_days, "to": after.retention_days },
            "timezone": { "from": before.timezone, "to": after.timezone },
            "daily_summary_at": { "from": before.daily_summary_at, "to": after.daily_summary_at },
        } }),
        ip.map(|ip| ip.to_string()),
    )
    .await;
    Ok(Json(to_api(&after)))
}
