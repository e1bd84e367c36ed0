//! Sync: manual runs (also dry runs and `?wait=true`), status, history and run details.
//! `pipeline_id` may be omitted when exactly one pipeline exists.

use std::time::Duration;
use timebridge_core::rounding::AppliedRounding;
use timebridge_store::AuditAction;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use timebridge_store::{ItemOutcome, NewRun, RunStatus, RunTrigger, StoreError};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{Actor, record};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Json, ListResponse, OptionalJson, Page, Path, Query};
use crate::state::AppState;
use crate::store_error;
use crate::sync::worker::default_window;

/// How long `?wait=true` waits for a run before answering with its current state.
const WAIT_LIMIT: Duration = Duration::from_secs(600);

/// A window of inclusive UTC dates.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunWindow {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
}

/// A run's counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunStats {
    pub fetched: u64,
    pub in_sync: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub conflicts: u64,
    pub errors: u64,
    /// Extension, undo runs: target entries deleted (their run had created them).
    pub deleted: u64,
    /// Extension, undo runs: target entries written back to what they were before.
    pub restored: u64,
}

/// A sync run.
#[derive(Debug, Serialize, ToSchema)]
pub struct Run {
    pub id: i64,
    pub pipeline_id: i64,
    pub trigger: RunTrigger,
    pub dry_run: bool,
    pub status: RunStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub window: RunWindow,
    pub stats: RunStats,
    pub error: Option<String>,
    /// Extension: when the run was queued.
    pub created_at: DateTime<Utc>,
    /// Extension: the tickets a webhook-triggered run was limited to.
    pub ticket_ids: Option<Vec<i64>>,
    /// The projects project mirroring (`mirror_projects`) created in the source before
    /// this run; in a dry run, those it would create (`source_key` null). Empty when
    /// mirroring is off or nothing was missing.
    pub mirrored_projects: Vec<MirroredProject>,
    /// Extension: for an undo run (trigger `undo`), the run it takes back.
    pub undo_of: Option<i64>,
}

/// A project created in the source by project mirroring.
#[derive(Debug, Serialize, ToSchema)]
pub struct MirroredProject {
    /// The project's name, as the target has it.
    pub name: String,
    /// The source's key of the created project; null in a dry run.
    pub source_key: Option<String>,
}

/// One outcome of a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunItem {
    pub source_key: String,
    pub outcome: ItemOutcome,
    pub target_id: Option<String>,
    pub conflict_id: Option<i64>,
    pub message: Option<String>,
    /// Extension: the conflict reason of a `conflict` item.
    pub reason: Option<String>,
    /// What the pipeline's rounding (`options.rounding`) added to the entry's duration, on
    /// `create`, `update` and `in_sync` items of rounded entries; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding: Option<AppliedRounding>,
    /// Extension: on a `skip` left alone by rule (not by a remembered resolution), why —
    /// `still_running`, `user_excluded`, or `undone` (an undo took it back; written again
    /// when it changes in the source). `message` says it in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<timebridge_core::plan::SkipReason>,
}

/// A run with its items.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: Run,
    pub items: Vec<RunItem>,
    /// Extension: the undo run that took this run back (queued, running or succeeded);
    /// null when it was not undone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undone_by: Option<i64>,
}

fn stat(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(0)
}

/// The API shape of a stored run.
pub fn to_api(r: timebridge_store::Run) -> Run {
    Run {
        id: r.id,
        pipeline_id: r.pipeline_id,
        trigger: r.trigger,
        dry_run: r.dry_run,
        status: r.status,
        started_at: r.started_at,
        finished_at: r.finished_at,
        window: RunWindow {
            from: r.window_from,
            to: r.window_to,
        },
        stats: RunStats {
            fetched: stat(&r.stats, "fetched"),
            in_sync: stat(&r.stats, "in_sync"),
            created: stat(&r.stats, "created"),
            updated: stat(&r.stats, "updated"),
            skipped: stat(&r.stats, "skipped"),
            conflicts: stat(&r.stats, "conflicts"),
            errors: stat(&r.stats, "errors"),
            deleted: stat(&r.stats, "deleted"),
            restored: stat(&r.stats, "restored"),
        },
        error: r.error,
        created_at: r.created_at,
        ticket_ids: r.ticket_ids,
        mirrored_projects: r
            .mirrored_projects
            .into_iter()
            .map(|p| MirroredProject {
                name: p.name,
                source_key: p.source_key,
            })
            .collect(),
        undo_of: r.undo_of,
    }
}

fn item_to_api(i: timebridge_store::RunItem) -> RunItem {
    let skip_reason = match (i.outcome, i.message.as_deref()) {
        (ItemOutcome::Skip, Some(m)) => timebridge_core::plan::SkipReason::from_message(m),
        _ => None,
    };
    RunItem {
        skip_reason,
        source_key: i.source_key,
        outcome: i.outcome,
        target_id: i.target_id,
        conflict_id: i.conflict_id,
        message: i.message,
        reason: i.reason,
        rounding: i.rounded_seconds.map(|seconds| AppliedRounding {
            seconds,
            rule: i.rounding_rule.and_then(|n| u32::try_from(n).ok()),
        }),
    }
}

/// The pipeline a request means: the given one (which must exist) or the only one.
pub async fn pipeline_for(
    state: &AppState,
    pipeline_id: Option<i64>,
) -> Result<timebridge_store::Pipeline, ApiError> {
    use crate::sync::context::{PipelineChoiceError as E, choose_pipeline};
    choose_pipeline(&state.store, pipeline_id)
        .await
        .map_err(|e| match e {
            E::NotFound(_) => ApiError::not_found("Pipeline"),
            E::NoPipeline => ApiError::Unprocessable {
                code: "no_pipeline",
                message: "There is no pipeline yet; create one first.".into(),
                details: json!({}),
            },
            E::Ambiguous => ApiError::bad_field(
                "pipeline_id",
                "is required when more than one pipeline exists",
            ),
            E::Store(other) => store_error(other),
        })
}

/// Body of `POST /api/sync/manual`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualSync {
    /// May be omitted when exactly one pipeline exists.
    pub pipeline_id: Option<i64>,
    /// First day (UTC) of the window; default: `window_days` before `to`.
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Last day (UTC) of the window; default: today.
    #[schema(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// Plan only: the items say what would happen; nothing is written.
    #[serde(default)]
    pub dry_run: bool,
    /// Only the entries of these tickets.
    pub ticket_ids: Option<Vec<i64>>,
}

/// `?wait=true`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct WaitQuery {
    /// Answer 200 with the finished run instead of 202 at once.
    pub wait: Option<bool>,
}

/// The answer of a queued manual run.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    pub run_id: i64,
}

/// Queues a manual run (202 with its id), or with `?wait=true` waits for it and answers
/// 200 with the finished run (items included). A second request while a run of the same
/// pipeline is queued or running is a 409 naming that run.
#[utoipa::path(
    post,
    path = "/api/sync/manual",
    tag = "sync",
    params(WaitQuery),
    request_body = ManualSync,
    responses(
        (status = 202, description = "Queued", body = Queued),
        (status = 200, description = "With ?wait=true: the finished run", body = RunDetail),
        (status = 400, description = "Malformed request or window", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown pipeline", body = ErrorResponse),
        (status = 409, description = "A run of this pipeline is going (details.run_id)", body = ErrorResponse),
        (status = 422, description = "No pipeline exists, or it is disabled", body = ErrorResponse),
    )
)]
pub async fn manual(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(q): Query<WaitQuery>,
    // The body is optional: an empty one means "the only pipeline, default window".
    OptionalJson(body): OptionalJson<ManualSync>,
) -> Result<Response, ApiError> {
    let pipeline = pipeline_for(&state, body.pipeline_id).await?;
    let now = state.clock.now();
    let (_, def_to) = default_window(now.date_naive(), pipeline.window_days);
    let to = body.to.unwrap_or(def_to);
    let from = body
        .from
        .unwrap_or_else(|| to - chrono::Duration::days(i64::from(pipeline.window_days.max(1)) - 1));
    if from > to {
        return Err(ApiError::bad_field("from", "must not be after `to`"));
    }
    if (to - from).num_days() > 366 {
        return Err(ApiError::bad_field(
            "from",
            "the window may span at most 367 days",
        ));
    }
    if let Some(t) = &body.ticket_ids
        && (t.is_empty() || t.len() > 1000 || t.iter().any(|id| *id <= 0))
    {
        return Err(ApiError::bad_field(
            "ticket_ids",
            "must hold 1 to 1000 positive ticket ids",
        ));
    }
    if let Some(active) = state
        .store
        .active_run(pipeline.id)
        .await
        .map_err(store_error)?
    {
        return Err(in_progress(&active));
    }
    let queued = state
        .store
        .enqueue_run(
            NewRun {
                pipeline_id: pipeline.id,
                trigger: RunTrigger::Manual,
                dry_run: body.dry_run,
                window_from: from,
                window_to: to,
                ticket_ids: body.ticket_ids.clone(),
                run_after: now,
                scope: None,
                undo_of: None,
            },
            now,
        )
        .await;
    let run = match queued {
        Ok(run) => run,
        // Another request queued one at the same moment (the unique index says so).
        Err(e) => match state
            .store
            .active_run(pipeline.id)
            .await
            .map_err(store_error)?
        {
            Some(active) => return Err(in_progress(&active)),
            None => return Err(store_error(e)),
        },
    };
    record(
        &state,
        Actor::Admin,
        AuditAction::SyncRequested,
        "run",
        Some(run.id.to_string()),
        json!({"pipeline_id": pipeline.id, "dry_run": body.dry_run,
               "window": {"from": from, "to": to}, "ticket_ids": body.ticket_ids}),
        ip.map(|i| i.to_string()),
    )
    .await;
    state.wake.notify_one();
    if q.wait != Some(true) {
        return Ok((StatusCode::ACCEPTED, axum::Json(Queued { run_id: run.id })).into_response());
    }
    wait_for(&state, run).await
}

/// Waits (up to [`WAIT_LIMIT`]) for `run` to finish and answers 200 with it and its items.
pub async fn wait_for(state: &AppState, run: timebridge_store::Run) -> Result<Response, ApiError> {
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    let mut current = run;
    // Woken when this process finishes a run; a slow safety poll covers a run that
    // another process executes.
    while !current.status.is_finished() && tokio::time::Instant::now() < deadline {
        let finished = state.run_finished.notified();
        tokio::pin!(finished);
        finished.as_mut().enable();
        current = state.store.get_run(current.id).await.map_err(store_error)?;
        if current.status.is_finished() {
            break;
        }
        tokio::select! {
            () = finished => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
    let items = state
        .store
        .list_run_items(current.id)
        .await
        .map_err(store_error)?;
    Ok((
        StatusCode::OK,
        axum::Json(RunDetail {
            run: to_api(current),
            items: items.into_iter().map(item_to_api).collect(),
            undone_by: None,
        }),
    )
        .into_response())
}

fn in_progress(active: &timebridge_store::Run) -> ApiError {
    ApiError::Conflict {
        code: "run_in_progress",
        message: format!(
            "Run #{} of this pipeline is {}; wait for it to finish.",
            active.id, active.status
        ),
        details: json!({ "run_id": active.id, "status": active.status }),
    }
}

/// `?pipeline_id=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PipelineQuery {
    /// May be omitted when exactly one pipeline exists.
    pub pipeline_id: Option<i64>,
}

/// The sync state of a pipeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncStatus {
    pub running: bool,
    pub current_run: Option<Run>,
    pub last_run: Option<Run>,
    pub next_run_at: Option<DateTime<Utc>>,
    /// Extension: the pipeline these answers are about.
    pub pipeline_id: i64,
    /// Extension: phase and applied/total decisions of the current run, when it runs in
    /// the process that answers.
    pub progress: Option<crate::sync::progress::Progress>,
}

/// Whether a run is going, the last finished run, and when the schedule runs next.
#[utoipa::path(
    get,
    path = "/api/sync/status",
    tag = "sync",
    params(PipelineQuery),
    responses(
        (status = 200, description = "The status", body = SyncStatus),
        (status = 400, description = "pipeline_id is required", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown pipeline", body = ErrorResponse),
        (status = 422, description = "No pipeline exists", body = ErrorResponse),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Query(q): Query<PipelineQuery>,
) -> Result<Json<SyncStatus>, ApiError> {
    let p = pipeline_for(&state, q.pipeline_id).await?;
    let current = state.store.active_run(p.id).await.map_err(store_error)?;
    let last = state
        .store
        .last_finished_run(p.id)
        .await
        .map_err(store_error)?;
    let next_run_at = if p.enabled && p.schedule_enabled && p.interval_minutes > 0 {
        let last_scheduled = state
            .store
            .last_scheduled_run(p.id)
            .await
            .map_err(store_error)?;
        let since = last_scheduled.map_or(p.created_at, |r| r.created_at);
        Some(since + chrono::Duration::minutes(i64::from(p.interval_minutes)))
    } else {
        None
    };
    let progress = current.as_ref().and_then(|r| state.progress.get(r.id));
    Ok(Json(SyncStatus {
        progress,
        running: current
            .as_ref()
            .is_some_and(|r| r.status == RunStatus::Running),
        current_run: current.map(to_api),
        last_run: last.map(to_api),
        next_run_at,
        pipeline_id: p.id,
    }))
}

/// `?pipeline_id=&limit=&offset=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// May be omitted when exactly one pipeline exists (then all runs are listed).
    pub pipeline_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Runs, newest first.
#[utoipa::path(
    get,
    path = "/api/sync/history",
    tag = "sync",
    params(HistoryQuery),
    responses(
        (status = 200, description = "One page of runs", body = ListResponse<Run>),
        (status = 400, description = "Bad paging parameters", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<ListResponse<Run>>, ApiError> {
    let (limit, offset) = Page {
        limit: q.limit,
        offset: q.offset,
    }
    .resolve()?;
    let (items, total) = state
        .store
        .list_runs(q.pipeline_id, limit, offset)
        .await
        .map_err(store_error)?;
    Ok(Json(ListResponse {
        items: items.into_iter().map(to_api).collect(),
        total,
    }))
}

/// One run with its items.
#[utoipa::path(
    get,
    path = "/api/sync/runs/{id}",
    tag = "sync",
    params(("id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, description = "The run", body = RunDetail),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
    )
)]
pub async fn run(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<RunDetail>, ApiError> {
    let r = state.store.get_run(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("Run"),
        other => store_error(other),
    })?;
    let items = state.store.list_run_items(id).await.map_err(store_error)?;
    let undone_by = state.store.standing_undo(id).await.map_err(store_error)?;
    Ok(Json(RunDetail {
        run: to_api(r),
        items: items.into_iter().map(item_to_api).collect(),
        undone_by: undone_by.map(|u| u.id),
    }))
}
