//! Privacy: export and purge everything stored locally about one person, by e-mail
//! address. Both are audited with a digest of the address, never the address itself.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use timebridge_store::AuditAction;
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Actor, record};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Json, Query};
use crate::state::AppState;
use crate::store_error;

/// `?email=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EmailQuery {
    /// The person's e-mail address (compared case-insensitively).
    pub email: Option<String>,
}

/// Body of `POST /api/gdpr/purge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    pub email: String,
}

/// Everything stored about a person.
#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    pub email: String,
    /// Entries as stored in conflicts (source, target, raw source).
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub conflicts: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub run_items: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub audit_events: Vec<Value>,
    /// Extension: mappings whose labels name the person.
    #[schema(value_type = Vec<Object>)]
    pub mappings: Vec<Value>,
    /// Extension: writes recorded but not yet confirmed (crash safety).
    #[schema(value_type = Vec<Object>)]
    pub pending_writes: Vec<Value>,
    /// Extension: records a source connector remembers from its remote between runs (its
    /// cache of names, e.g. Zammad agents) that mention the person, as
    /// `{"connector_id", "record"}`; a purge deletes that connector's memory.
    #[schema(value_type = Vec<Object>)]
    pub remembered: Vec<Value>,
}

/// What a purge changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurgeResult {
    /// Records anonymised, by kind.
    #[schema(value_type = Object)]
    pub deleted: Value,
}

fn valid_email(raw: Option<&str>) -> Result<String, ApiError> {
    let e = raw.map(str::trim).unwrap_or("");
    let ok = e.len() <= 320
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
    if !ok {
        return Err(ApiError::invalid_field(
            "email",
            "must be an e-mail address",
        ));
    }
    Ok(e.to_lowercase())
}

/// The address as audited: the first 16 hex digits of its SHA-256.
pub fn email_digest(email: &str) -> String {
    let d = Sha256::digest(email.trim().to_lowercase().as_bytes());
    hex::encode(&d[..8])
}

/// Everything stored locally about one person.
#[utoipa::path(
    get,
    path = "/api/gdpr/export",
    tag = "privacy",
    params(EmailQuery),
    responses(
        (status = 200, description = "The person's data", body = Export),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 422, description = "Not an e-mail address", body = ErrorResponse),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(q): Query<EmailQuery>,
) -> Result<Json<Export>, ApiError> {
    let email = valid_email(q.email.as_deref())?;
    let data = state
        .store
        .personal_data(&email)
        .await
        .map_err(store_error)?;
    let entries: Vec<Value> = data
        .conflicts
        .iter()
        .flat_map(|c| {
            [
                c["source"].clone(),
                c["target"].clone(),
                c["raw_source"].clone(),
            ]
        })
        .filter(|v| !v.is_null())
        .collect();
    record(
        &state,
        Actor::Admin,
        AuditAction::GdprExported,
        "person",
        Some(email_digest(&email)),
        json!({"email_sha256_prefix": email_digest(&email),
               "conflicts": data.conflicts.len(), "run_items": data.run_items.len(),
               "audit_events": data.audit_events.len()}),
        ip.map(|i| i.to_string()),
    )
    .await;
    Ok(Json(Export {
        email,
        entries,
        conflicts: data.conflicts,
        run_items: data.run_items,
        audit_events: data.audit_events,
        mappings: data.mappings,
        pending_writes: data.pending_writes,
        remembered: data.remembered,
    }))
}

/// Anonymises everything stored locally about one person: their address and name in
/// stored entries become null, every other mention `[purged]`. Links to target entries
/// are kept, so syncing stays idempotent.
#[utoipa::path(
    post,
    path = "/api/gdpr/purge",
    tag = "privacy",
    request_body = PurgeRequest,
    responses(
        (status = 200, description = "What was anonymised", body = PurgeResult),
        (status = 400, description = "Malformed request", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 422, description = "Not an e-mail address", body = ErrorResponse),
    )
)]
pub async fn purge(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<PurgeRequest>,
) -> Result<Json<PurgeResult>, ApiError> {
    let email = valid_email(Some(&body.email))?;
    let counts = state
        .store
        .purge_personal_data(&email)
        .await
        .map_err(store_error)?;
    let deleted = serde_json::to_value(counts).unwrap_or_default();
    record(
        &state,
        Actor::Admin,
        AuditAction::GdprPurged,
        "person",
        Some(email_digest(&email)),
        json!({"email_sha256_prefix": email_digest(&email), "deleted": deleted}),
        ip.map(|i| i.to_string()),
    )
    .await;
    Ok(Json(PurgeResult { deleted }))
}
