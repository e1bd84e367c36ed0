//! Mappings: source key → target key per pipeline and kind (`activity`, `project`,
//! `user`). `pipeline_id` may be omitted when exactly one pipeline exists.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use timebridge_store::AuditAction;
use timebridge_store::{MappingFilter, MappingKind as StoreKind, StoreError};
use utoipa::{IntoParams, ToSchema};

use super::connectors::not_found_as;
use crate::audit::{Actor, record};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Json, ListResponse, Page, Path, Query};
use crate::state::AppState;
use crate::store_error;

/// What a mapping maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappingKind {
    /// Zammad time accounting type → Kimai activity.
    Activity,
    /// Zammad organization → Kimai project.
    Project,
    /// Zammad agent → Kimai user.
    User,
}

impl From<MappingKind> for StoreKind {
    fn from(k: MappingKind) -> Self {
        match k {
            MappingKind::Activity => StoreKind::Activity,
            MappingKind::Project => StoreKind::Project,
            MappingKind::User => StoreKind::User,
        }
    }
}

impl From<StoreKind> for MappingKind {
    fn from(k: StoreKind) -> Self {
        match k {
            StoreKind::Activity => MappingKind::Activity,
            StoreKind::Project => MappingKind::Project,
            StoreKind::User => MappingKind::User,
        }
    }
}

/// A mapping.
#[derive(Debug, Serialize, ToSchema)]
pub struct Mapping {
    /// Id.
    pub id: i64,
    /// The pipeline it belongs to.
    pub pipeline_id: i64,
    /// What it maps.
    pub kind: MappingKind,
    /// Key on the source side (e.g. Zammad type id).
    pub source_key: String,
    /// Label of the source key (may be empty).
    pub source_label: String,
    /// Key on the target side (e.g. Kimai activity id); null only when `sync` is false.
    pub target_key: Option<String>,
    /// Label of the target key (may be empty); null only when `sync` is false and none
    /// was given.
    pub target_label: Option<String>,
    /// Billable override; null leaves it to the next rule.
    pub billable: Option<bool>,
    /// `false` on a `user` mapping excludes that person from sync (their entries are
    /// skipped with `user excluded`, never a conflict).
    pub sync: bool,
}

/// Body of `POST /api/mappings` and `PUT /api/mappings/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MappingInput {
    /// The pipeline; may be omitted when exactly one pipeline exists.
    pub pipeline_id: Option<i64>,
    /// What it maps.
    pub kind: MappingKind,
    /// Source key (string or number).
    #[serde(deserialize_with = "key")]
    #[schema(value_type = String)]
    pub source_key: String,
    /// Label of the source key.
    pub source_label: Option<String>,
    /// Target key (string or number); may be null or omitted only when `sync` is false.
    #[serde(default, deserialize_with = "optional_key")]
    #[schema(value_type = Option<String>)]
    pub target_key: Option<String>,
    /// Label of the target key.
    pub target_label: Option<String>,
    /// Billable override.
    pub billable: Option<bool>,
    /// Whether this source key syncs [true]; only `user` mappings may be `false` (the
    /// person is excluded from sync).
    #[serde(default = "yes")]
    pub sync: bool,
}

fn yes() -> bool {
    true
}

/// Filter of `GET /api/mappings`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MappingQuery {
    /// The pipeline; may be omitted when exactly one pipeline exists (then all mappings
    /// are listed when there are several).
    pub pipeline_id: Option<i64>,
    /// Only mappings of this kind.
    #[param(inline)]
    pub kind: Option<MappingKind>,
    /// Page size (default 50, clamped to 500).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

fn key<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom("expected a string or a number")),
    }
}

fn optional_key<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_string())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(serde::de::Error::custom(
            "expected a string, a number or null",
        )),
    }
}

fn to_api(m: timebridge_store::Mapping) -> Mapping {
    // A mapping with a target key always shows a label (empty when unknown), as before.
    let target_label = match (&m.target_key, m.target_label) {
        (Some(_), label) => Some(label.unwrap_or_default()),
        (None, label) => label,
    };
    Mapping {
        id: m.id,
        pipeline_id: m.pipeline_id,
        kind: m.kind.into(),
        source_key: m.source_key,
        source_label: m.source_label.unwrap_or_default(),
        target_key: m.target_key,
        target_label,
        billable: m.billable,
        sync: m.sync,
    }
}

/// The only pipeline's id, if exactly one exists.
async fn only_pipeline(state: &AppState) -> Result<Option<i64>, ApiError> {
    let (items, total) = state
        .store
        .list_pipelines(2, 0)
        .await
        .map_err(store_error)?;
    Ok(if total == 1 {
        items.first().map(|p| p.id)
    } else {
        None
    })
}

/// The rules of a mapping's own fields (what `POST /api/mappings` checks, and the rule
/// simulator for proposed mappings); `at` prefixes the field names (`mappings[2].`).
/// Returns the target key, `None` when empty.
pub(crate) fn check_fields(at: &str, body: &MappingInput) -> Result<Option<String>, ApiError> {
    if body.source_key.is_empty() {
        return Err(ApiError::invalid_field(
            &format!("{at}source_key"),
            "must not be empty",
        ));
    }
    if !body.sync && body.kind != MappingKind::User {
        return Err(ApiError::invalid_field(
            &format!("{at}sync"),
            "only user mappings may be false (it excludes a person from sync)",
        ));
    }
    let target_key = body.target_key.clone().filter(|k| !k.is_empty());
    if body.sync && target_key.is_none() {
        return Err(ApiError::invalid_field(
            &format!("{at}target_key"),
            "must not be empty or null unless sync is false",
        ));
    }
    Ok(target_key)
}

async fn build_input(
    state: &AppState,
    body: MappingInput,
) -> Result<timebridge_store::MappingInput, ApiError> {
    let pipeline_id = match body.pipeline_id {
        Some(id) => id,
        None => only_pipeline(state).await?.ok_or_else(|| {
            ApiError::invalid_field(
                "pipeline_id",
                "is required unless exactly one pipeline exists",
            )
        })?,
    };
    match state.store.get_pipeline(pipeline_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            return Err(ApiError::invalid_field(
                "pipeline_id",
                format!("no pipeline with id {pipeline_id}"),
            ));
        }
        Err(other) => return Err(store_error(other)),
    }
    let target_key = check_fields("", &body)?;
    let label = |l: Option<String>| l.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(timebridge_store::MappingInput {
        pipeline_id,
        kind: body.kind.into(),
        source_key: body.source_key,
        source_label: label(body.source_label),
        target_key,
        target_label: label(body.target_label),
        billable: body.billable,
        sync: body.sync,
    })
}

fn map_write_error(err: StoreError, input: &timebridge_store::MappingInput) -> ApiError {
    match err {
        StoreError::Conflict(_) => ApiError::Conflict {
            code: "duplicate_mapping",
            message: format!(
                "A {} mapping for source key `{}` already exists in this pipeline.",
                input.kind, input.source_key
            ),
            details: json!({ "pipeline_id": input.pipeline_id, "kind": input.kind.as_str(),
                             "source_key": input.source_key }),
        },
        StoreError::Invalid(message) => ApiError::Unprocessable {
            code: "validation_failed",
            message,
            details: json!({}),
        },
        other => not_found_as(other, "Mapping"),
    }
}

pub(crate) fn audit_details(m: &timebridge_store::Mapping) -> Value {
    json!({ "pipeline_id": m.pipeline_id, "kind": m.kind.as_str(), "source_key": m.source_key,
            "target_key": m.target_key, "billable": m.billable, "sync": m.sync })
}

/// Lists mappings, optionally of one pipeline and kind.
#[utoipa::path(
    get,
    path = "/api/mappings",
    tag = "mappings",
    params(MappingQuery),
    responses(
        (status = 200, description = "One page of mappings", body = ListResponse<Mapping>),
        (status = 400, description = "Bad filter or paging parameters", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<MappingQuery>,
) -> Result<Json<ListResponse<Mapping>>, ApiError> {
    let (limit, offset) = Page {
        limit: query.limit,
        offset: query.offset,
    }
    .resolve()?;
    let pipeline_id = match query.pipeline_id {
        Some(id) => Some(id),
        None => only_pipeline(&state).await?,
    };
    let filter = MappingFilter {
        pipeline_id,
        kind: query.kind.map(Into::into),
    };
    let (items, total) = state
        .store
        .list_mappings(&filter, limit, offset)
        .await
        .map_err(store_error)?;
    Ok(Json(ListResponse {
        items: items.into_iter().map(to_api).collect(),
        total,
    }))
}

/// Creates a mapping; a second one with the same pipeline, kind and source key is a 409.
#[utoipa::path(
    post,
    path = "/api/mappings",
    tag = "mappings",
    request_body = MappingInput,
    responses(
        (status = 201, description = "Created", body = Mapping),
        (status = 400, description = "Malformed request", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 409, description = "Duplicate (pipeline_id, kind, source_key)", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 422, description = "Unknown pipeline or empty key", body = ErrorResponse),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<MappingInput>,
) -> Result<(StatusCode, Json<Mapping>), ApiError> {
    let input = build_input(&state, body).await?;
    let created = state
        .store
        .create_mapping(input.clone())
        .await
        .map_err(|e| map_write_error(e, &input))?;
    record(
        &state,
        Actor::Admin,
        AuditAction::MappingCreated,
        "mapping",
        Some(created.id.to_string()),
        audit_details(&created),
        ip.map(|ip| ip.to_string()),
    )
    .await;
    Ok((StatusCode::CREATED, Json(to_api(created))))
}

/// One mapping.
#[utoipa::path(
    get,
    path = "/api/mappings/{id}",
    tag = "mappings",
    params(("id" = i64, Path, description = "Mapping id")),
    responses(
        (status = 200, description = "The mapping", body = Mapping),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Mapping>, ApiError> {
    let m = state
        .store
        .get_mapping(id)
        .await
        .map_err(|e| not_found_as(e, "Mapping"))?;
    Ok(Json(to_api(m)))
}

/// Replaces a mapping.
#[utoipa::path(
    put,
    path = "/api/mappings/{id}",
    tag = "mappings",
    params(("id" = i64, Path, description = "Mapping id")),
    request_body = MappingInput,
    responses(
        (status = 200, description = "Updated", body = Mapping),
        (status = 400, description = "Malformed request", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
        (status = 409, description = "Duplicate (pipeline_id, kind, source_key)", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 422, description = "Unknown pipeline or empty key", body = ErrorResponse),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    Json(body): Json<MappingInput>,
) -> Result<Json<Mapping>, ApiError> {
    let before = state
        .store
        .get_mapping(id)
        .await
        .map_err(|e| not_found_as(e, "Mapping"))?;
    let input = build_input(&state, body).await?;
    let updated = state
        .store
        .update_mapping(id, input.clone())
        .await
        .map_err(|e| map_write_error(e, &input))?;
    let mut details = audit_details(&updated);
    details["before"] = audit_details(&before);
    record(
        &state,
        Actor::Admin,
        AuditAction::MappingUpdated,
        "mapping",
        Some(id.to_string()),
        details,
        ip.map(|ip| ip.to_string()),
    )
    .await;
    Ok(Json(to_api(updated)))
}

/// Deletes a mapping.
#[utoipa::path(
    delete,
    path = "/api/mappings/{id}",
    tag = "mappings",
    params(("id" = i64, Path, description = "Mapping id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let before = state
        .store
        .get_mapping(id)
        .await
        .map_err(|e| not_found_as(e, "Mapping"))?;
    state
        .store
        .delete_mapping(id)
        .await
        .map_err(|e| not_found_as(e, "Mapping"))?;
    record(
        &state,
        Actor::Admin,
        AuditAction::MappingDeleted,
        "mapping",
        Some(id.to_string()),
        audit_details(&before),
        ip.map(|ip| ip.to_string()),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
