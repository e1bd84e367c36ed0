//! `POST /api/sync/runs/{id}/undo`: queues a run with trigger `undo` that takes back what
//! run `id` wrote (the executor is `sync::undo`). A dry run first shows what would be taken
//! back; a real undo may stand once per run (409 after), and one that failed or was
//! partial may be tried again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use timebridge_store::{AuditAction, NewRun, RunTrigger, StoreError};
use utoipa::ToSchema;

use super::sync::{Queued, RunDetail, WaitQuery, wait_for};
use crate::audit::{Actor, record};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, OptionalJson, Path, Query};
use crate::state::AppState;
use crate::store_error;

/// Body of `POST /api/sync/runs/{id}/undo` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoInput {
    /// Only say what would be taken back: nothing is written, and it does not count as
    /// an undo.
    #[serde(default)]
    pub dry_run: bool,
}

fn not_undoable(message: impl Into<String>, run_id: i64) -> ApiError {
    ApiError::Conflict {
        code: "not_undoable",
        message: message.into(),
        details: json!({ "run_id": run_id }),
    }
}

fn already_undone(run_id: i64, undo: &timebridge_store::Run) -> ApiError {
    ApiError::Conflict {
        code: "already_undone",
        message: format!(
            "Run #{run_id} is already undone by run #{} ({}).",
            undo.id, undo.status
        ),
        details: json!({ "run_id": run_id, "undo_run_id": undo.id }),
    }
}

/// Queues the undo of a finished run: deletes the entries it created and writes back the
/// ones it updated, each only where the target entry is still what the run wrote
/// (otherwise a conflict). 202 with the undo run's id, or with `?wait=true` 200 with the
/// finished undo run and its items.
#[utoipa::path(
    post,
    path = "/api/sync/runs/{id}/undo",
    tag = "sync",
    params(("id" = i64, Path, description = "The run to undo"), WaitQuery),
    request_body(content = Option<UndoInput>, description = "Optional: `{\"dry_run\": true}` only shows what would be taken back"),
    responses(
        (status = 202, description = "The undo run is queued", body = Queued),
        (status = 200, description = "With ?wait=true: the finished undo run", body = RunDetail),
        (status = 400, description = "Malformed id or body", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown run", body = ErrorResponse),
        (status = 409, description = "Already undone (`already_undone`, details.undo_run_id), or not a run that can be undone (`not_undoable`: not finished, a dry run, or itself an undo)", body = ErrorResponse),
        (status = 422, description = "The run's pipeline is disabled", body = ErrorResponse),
    )
)]
pub async fn undo(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    Query(q): Query<WaitQuery>,
    OptionalJson(input): OptionalJson<UndoInput>,
) -> Result<Response, ApiError> {
    let original = state.store.get_run(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("Run"),
        other => store_error(other),
    })?;
    if original.trigger == RunTrigger::Undo {
        return Err(not_undoable(
            format!("Run #{id} is itself an undo; it cannot be undone."),
            id,
        ));
    }
    if original.dry_run {
        return Err(not_undoable(
            format!("Run #{id} was a dry run: it wrote nothing to undo."),
            id,
        ));
    }
    if !original.status.is_finished() {
        return Err(not_undoable(
            format!(
                "Run #{id} is {}; undo it once it has finished.",
                original.status
            ),
            id,
        ));
    }
    let pipeline = state
        .store
        .get_pipeline(original.pipeline_id)
        .await
        .map_err(store_error)?;
    if !pipeline.enabled {
        return Err(ApiError::Unprocessable {
            code: "pipeline_disabled",
            message: format!(
                "Pipeline {} is disabled; enable it to undo its runs.",
                pipeline.name
            ),
            details: json!({ "pipeline_id": pipeline.id }),
        });
    }
    let standing = || async { state.store.standing_undo(id).await.map_err(store_error) };
    if !input.dry_run
        && let Some(undo) = standing().await?
    {
        return Err(already_undone(id, &undo));
    }
    let now = state.clock.now();
    let queued = state
        .store
        .enqueue_run(
            NewRun {
                pipeline_id: original.pipeline_id,
                trigger: RunTrigger::Undo,
                dry_run: input.dry_run,
                window_from: original.window_from,
                window_to: original.window_to,
                ticket_ids: None,
                run_after: now,
                scope: None,
                undo_of: Some(id),
            },
            now,
        )
        .await;
    let run = match queued {
        Ok(run) => run,
        // Another request queued the undo at the same moment (the unique index says so).
        Err(e) => match standing().await? {
            Some(undo) => return Err(already_undone(id, &undo)),
            None => return Err(store_error(e)),
        },
    };
    record(
        &state,
        Actor::Admin,
        AuditAction::SyncRequested,
        "run",
        Some(run.id.to_string()),
        json!({"pipeline_id": original.pipeline_id, "undo_of": id, "dry_run": input.dry_run}),
        ip.map(|i| i.to_string()),
    )
    .await;
    state.wake.notify_one();
    if q.wait == Some(true) {
        return wait_for(&state, run).await;
    }
    Ok((StatusCode::ACCEPTED, axum::Json(Queued { run_id: run.id })).into_response())
}
