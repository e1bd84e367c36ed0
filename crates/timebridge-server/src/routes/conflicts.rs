//! Conflicts: listing, one conflict, and resolving it (the action takes effect in the
//! target before the answer).

use axum::extract::{FromRef, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use timebridge_core::plan::{Action, ConflictReason};
use timebridge_store::{ConflictFilter, StoreError};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Json, ListResponse, Page, Path, Query};
use crate::state::AppState;
use crate::store_error;
use crate::sync::resolve::{ResolveError, error_details, resolve as resolve_conflict};
use crate::sync::{SyncEnv, SyncError};

/// A resolution as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct Resolution {
    /// The action taken (`auto_closed` when a later run found the cause gone).
    pub action: String,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// A conflict.
#[derive(Debug, Serialize, ToSchema)]
pub struct Conflict {
    pub id: i64,
    pub pipeline_id: i64,
    /// One of the contract's reasons.
    pub reason: ConflictReason,
    pub status: timebridge_store::ConflictStatus,
    /// Extension: who raised it: `planner` (including refusals it predicted from the
    /// target's master data, judged afresh each run) or `target` (the target refused a
    /// write; kept until the entry changes or a person tries again).
    pub origin: timebridge_core::ConflictOrigin,
    /// The normalised source side (the desired target entry when it maps).
    #[schema(value_type = Option<Object>)]
    pub source: Option<Value>,
    /// The normalised target entry, if there is one.
    #[schema(value_type = Option<Object>)]
    pub target: Option<Value>,
    /// `[{"field","source","target"}]`.
    #[schema(value_type = Vec<Object>)]
    pub diff: Value,
    #[schema(value_type = Vec<timebridge_core::Action>)]
    pub allowed_actions: Value,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<Resolution>,
    /// Extension: the source entry's key.
    pub source_key: String,
    /// Extension: the target entry's id, if there is one.
    pub target_id: Option<String>,
    /// Extension: which mapping rule decided each field (`{"steps":[…]}`).
    #[schema(value_type = Option<Object>)]
    pub explanation: Option<Value>,
    /// Extension: the run that last raised it.
    pub run_id: Option<i64>,
    /// Extension: last change.
    pub updated_at: DateTime<Utc>,
    /// Extension: what one decision settles for every conflict of the same cause.
    pub cause: timebridge_core::Cause,
    /// Extension: the id of its group (`GET /api/conflicts/groups`).
    pub group: String,
}

/// The API shape of a stored conflict. The store writes only the names of
/// [`ConflictReason`]; a row with another one (edited by hand) reads as `target_rejected`,
/// its message kept, and is logged.
pub fn to_api(c: timebridge_store::Conflict) -> Conflict {
    let reason = ConflictReason::parse(&c.reason).unwrap_or_else(|| {
        tracing::error!(conflict = c.id, reason = %c.reason, "A stored conflict has an unknown reason.");
        ConflictReason::TargetRejected
    });
    let resolution = c.resolution.as_ref().map(|r| Resolution {
        action: r["action"].as_str().unwrap_or_default().to_owned(),
        note: r["note"].as_str().map(str::to_owned),
        at: r["at"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .or(c.resolved_at)
            .unwrap_or(c.updated_at),
    });
    let group = super::conflict_groups::group_id(c.pipeline_id, reason.as_str(), &c.cause);
    Conflict {
        group,
        cause: c.cause,
        id: c.id,
        pipeline_id: c.pipeline_id,
        reason,
        status: c.status,
        origin: c.origin,
        source: c.source,
        target: c.target,
        diff: c.diff,
        allowed_actions: c.allowed_actions,
        message: c.message,
        created_at: c.created_at,
        resolved_at: c.resolved_at,
        resolution,
        source_key: c.source_key,
        target_id: c.target_id,
        explanation: c.explanation,
        run_id: c.run_id,
        updated_at: c.updated_at,
    }
}

/// `GET /api/conflicts` filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ConflictQuery {
    /// `open` (default), `resolved` or `all`.
    pub status: Option<String>,
    /// One reason (an unknown one is a 400).
    #[param(value_type = Option<ConflictReason>)]
    pub reason: Option<String>,
    pub pipeline_id: Option<i64>,
    /// Extension: only drift (`target_modified`, `target_deleted`: synced entries someone
    /// changed in the target).
    pub drift: Option<bool>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Conflicts, newest first.
#[utoipa::path(
    get,
    path = "/api/conflicts",
    tag = "conflicts",
    params(ConflictQuery),
    responses(
        (status = 200, description = "One page of conflicts", body = ListResponse<Conflict>),
        (status = 400, description = "Bad filter or paging parameters", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ConflictQuery>,
) -> Result<Json<ListResponse<Conflict>>, ApiError> {
    let (limit, offset) = Page {
        limit: q.limit,
        offset: q.offset,
    }
    .resolve()?;
    let filter = conflict_filter(q.status.as_deref(), q.reason, q.pipeline_id, q.drift)?;
    let (items, total) = state
        .store
        .list_conflicts(&filter, limit, offset)
        .await
        .map_err(store_error)?;
    Ok(Json(ListResponse {
        items: items.into_iter().map(to_api).collect(),
        total,
    }))
}

/// `GET /api/conflicts/drift` parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DriftQuery {
    pub pipeline_id: Option<i64>,
    /// Days back from today (UTC) [30], 1 to 366.
    pub days: Option<i64>,
}

/// Drift raised on one day (UTC).
#[derive(Debug, Serialize, ToSchema)]
pub struct DriftDay {
    pub date: chrono::NaiveDate,
    pub target_modified: u64,
    pub target_deleted: u64,
}

/// Drift over time.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriftSeries {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    /// Every day of the range, oldest first (zeros included).
    pub days: Vec<DriftDay>,
}

/// Synced entries someone changed in the target since a sync wrote them, per day: the
/// `target_modified` and `target_deleted` conflicts raised (any status).
#[utoipa::path(
    get,
    path = "/api/conflicts/drift",
    tag = "conflicts",
    params(DriftQuery),
    responses(
        (status = 200, description = "Drift per day", body = DriftSeries),
        (status = 400, description = "Bad range", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn drift(
    State(state): State<AppState>,
    Query(q): Query<DriftQuery>,
) -> Result<Json<DriftSeries>, ApiError> {
    let days = q.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(ApiError::bad_field("days", "must be 1 to 366"));
    }
    let to = state.clock.now().date_naive();
    let from = to - chrono::Duration::days(days - 1);
    let since = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let found = state
        .store
        .drift_by_day(q.pipeline_id, since)
        .await
        .map_err(store_error)?;
    let days = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|date| {
            let f = found.iter().find(|d| d.date == date);
            DriftDay {
                date,
                target_modified: f.map_or(0, |d| d.target_modified),
                target_deleted: f.map_or(0, |d| d.target_deleted),
            }
        })
        .collect();
    Ok(Json(DriftSeries { from, to, days }))
}

/// The filter of the conflict list (and of its groups), validated.
pub fn conflict_filter(
    status: Option<&str>,
    reason: Option<String>,
    pipeline_id: Option<i64>,
    drift: Option<bool>,
) -> Result<ConflictFilter, ApiError> {
    let status = match status.unwrap_or("open") {
        "all" => None,
        s @ ("open" | "resolved") => Some(s.to_owned()),
        _ => {
            return Err(ApiError::bad_field(
                "status",
                "must be open, resolved or all",
            ));
        }
    };
    if let Some(r) = &reason
        && ConflictReason::parse(r).is_none()
    {
        return Err(ApiError::bad_field("reason", "is not a conflict reason"));
    }
    Ok(ConflictFilter {
        pipeline_id,
        status,
        reason,
        drift: drift.unwrap_or(false),
    })
}

async fn load(state: &AppState, id: i64) -> Result<timebridge_store::Conflict, ApiError> {
    state.store.get_conflict(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("Conflict"),
        other => store_error(other),
    })
}

/// One conflict.
#[utoipa::path(
    get,
    path = "/api/conflicts/{id}",
    tag = "conflicts",
    params(("id" = i64, Path, description = "Conflict id")),
    responses(
        (status = 200, description = "The conflict", body = Conflict),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Conflict>, ApiError> {
    Ok(Json(to_api(load(&state, id).await?)))
}

/// Body of `POST /api/conflicts/{id}/resolve`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    /// One of the conflict's `allowed_actions` (anything else is a 422).
    #[schema(value_type = timebridge_core::Action)]
    pub action: String,
    /// For `link`: the target entry to adopt (a string; a number is accepted too).
    #[serde(default, deserialize_with = "string_or_number")]
    #[schema(value_type = Option<String>)]
    pub target_id: Option<String>,
    /// Why; kept with the resolution and in the audit trail.
    pub note: Option<String>,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_owned())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(serde::de::Error::custom("expected a string or a number")),
    }
}

fn parse_action(s: &str) -> Option<Action> {
    Some(match s {
        "create" => Action::Create,
        "update" => Action::Update,
        "skip" => Action::Skip,
        "keep_target" => Action::KeepTarget,
        "link" => Action::Link,
        "delete_target" => Action::DeleteTarget,
        _ => return None,
    })
}

/// Carries out a resolution in the target and marks the conflict resolved. An action
/// the conflict does not allow is 422; an already resolved conflict is 409; a target that
/// refuses the write is 409 with its reason; a failing remote is 502.
#[utoipa::path(
    post,
    path = "/api/conflicts/{id}/resolve",
    tag = "conflicts",
    params(("id" = i64, Path, description = "Conflict id")),
    request_body = ResolveInput,
    responses(
        (status = 200, description = "Resolved", body = Conflict),
        (status = 400, description = "Malformed request", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
        (status = 409, description = "Already resolved, not possible now, or refused by the target", body = ErrorResponse),
        (status = 422, description = "Action not allowed for this conflict, or missing target_id", body = ErrorResponse),
        (status = 502, description = "The remote failed", body = ErrorResponse),
    )
)]
pub async fn resolve(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    Json(body): Json<ResolveInput>,
) -> Result<Json<Conflict>, ApiError> {
    let conflict = load(&state, id).await?;
    let Some(action) = parse_action(&body.action) else {
        return Err(ApiError::Unprocessable {
            code: "action_not_allowed",
            message: format!("`{}` is not a resolution action.", body.action),
            details: json!({"field": "action", "allowed_actions": conflict.allowed_actions}),
        });
    };
    let note = body.note.filter(|n| !n.trim().is_empty());
    if note.as_ref().is_some_and(|n| n.len() > 2000) {
        return Err(ApiError::bad_field(
            "note",
            "must be at most 2000 characters",
        ));
    }
    match resolve_conflict(
        &SyncEnv::from_ref(&state),
        &conflict,
        action,
        body.target_id,
        note,
        ip.map(|i| i.to_string()),
    )
    .await
    {
        Ok(c) => Ok(Json(to_api(c))),
        Err(e) => Err(resolve_error(e)),
    }
}

fn resolve_error(e: ResolveError) -> ApiError {
    let details = error_details(&e);
    let message = e.to_string();
    match e {
        ResolveError::NotAllowed { .. } => ApiError::Unprocessable {
            code: "action_not_allowed",
            message,
            details,
        },
        ResolveError::Invalid(_) => ApiError::Unprocessable {
            code: "invalid_resolution",
            message,
            details,
        },
        ResolveError::AlreadyResolved => ApiError::Conflict {
            code: "already_resolved",
            message,
            details,
        },
        ResolveError::NotPossible(_) => ApiError::Conflict {
            code: "not_possible",
            message,
            details,
        },
        ResolveError::Refused(_) => ApiError::Conflict {
            code: "target_refused",
            message,
            details,
        },
        ResolveError::Sync(SyncError::Store(s)) => store_error(s),
        ResolveError::Sync(SyncError::Remote(_)) => ApiError::BadGateway {
            code: "remote_error",
            message,
            details,
        },
        ResolveError::Sync(SyncError::Config(_)) => ApiError::Unprocessable {
            code: "pipeline_misconfigured",
            message,
            details,
        },
    }
}
