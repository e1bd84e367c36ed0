//! Pipelines: CRUD on `/api/pipelines`. A pipeline syncs one source connector into one
//! target connector on a schedule.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use timebridge_connectors::NotificationEvent;
use timebridge_connectors::registry::{self, Feature, Role};
use timebridge_core::rounding::{Rounding, RoundingKeep, RoundingMode, RoundingRule, STEP_RANGE};
use timebridge_store::AuditAction;
use timebridge_store::StoreError;
use utoipa::ToSchema;

use super::connectors::not_found_as;
use crate::audit::{Actor, record};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Json, ListResponse, Page, Path, Query};
use crate::state::AppState;
use crate::store_error;

/// Window of past days a scheduled run looks at, when not given.
pub const DEFAULT_WINDOW_DAYS: i32 = 31;
const MAX_WINDOW_DAYS: i64 = 366;
const MAX_INTERVAL_MINUTES: i64 = 366 * 24 * 60;

/// When a pipeline runs by itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Schedule {
    /// Whether the periodic sync is on.
    pub enabled: bool,
    /// Minutes between periodic runs.
    pub interval_minutes: i32,
}

/// What to do with an entry whose Zammad agent has no Kimai user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnmappedUser {
    /// Raise an `unmapped_user` conflict.
    #[default]
    Conflict,
    /// Book it as the user the Kimai token belongs to.
    TokenUser,
}

/// Options of a pipeline.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PipelineOptions {
    /// Target project key used when no project mapping applies.
    pub default_project: Option<String>,
    /// Target activity key used when no activity mapping applies.
    pub default_activity: Option<String>,
    /// What to do with unmapped users.
    #[serde(default)]
    pub unmapped_user: UnmappedUser,
    /// Projects and activities whose names are equal (trimmed, case-insensitive) match
    /// without a mapping, after explicit mappings and before the defaults [false].
    #[serde(default)]
    pub match_by_name: bool,
    /// Carry running source entries (written as running) [false]; without it a running
    /// entry is skipped (`still running`) until it ends.
    #[serde(default)]
    pub include_running: bool,
    /// Create the target's active projects in the source before each run; only for
    /// sources with the `create_projects` feature.
    #[serde(default)]
    pub mirror_projects: MirrorProjects,
    /// Notifiers and the events each gets [none].
    #[serde(default)]
    pub notify: Vec<NotifyTarget>,
    /// Local time (`HH:MM`, settings `timezone`) of the daily summary; null: the settings'
    /// `daily_summary_at` (default `08:00`).
    #[serde(default)]
    pub daily_summary_at: Option<String>,
    /// How durations are rounded before they are written [`{"mode":"exact"}`: no
    /// rounding]: a default and rules by target customer and/or project (first match
    /// wins, numbered #1, #2, …).
    #[serde(default)]
    pub rounding: Rounding,
}

/// One notifier of a pipeline and the events it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotifyTarget {
    /// A connector with the `notifier` role.
    pub connector_id: i64,
    /// Events it is told about.
    pub events: Vec<NotificationEvent>,
}

/// `notify[]` in a request: events by name, checked (an unknown one is a 422).
#[derive(Debug, Deserialize, ToSchema)]
pub struct NotifyInput {
    /// A connector with the `notifier` role.
    pub connector_id: i64,
    /// `run_failed`, `run_partial`, `conflicts_raised`, `daily_summary`, `drift_detected`.
    pub events: Vec<String>,
}

/// The `mirror_projects` option.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MirrorProjects {
    /// Whether mirroring is on [false].
    #[serde(default)]
    pub enabled: bool,
    /// Source client new projects are created under, where the source has clients.
    #[serde(default)]
    pub client_key: Option<String>,
}

/// `mirror_projects` in a request; omitted fields keep their values.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MirrorProjectsInput {
    /// Whether mirroring is on.
    pub enabled: Option<bool>,
    /// Source client key (string or number), or null.
    #[serde(default, deserialize_with = "key_or_null")]
    #[schema(value_type = Option<String>)]
    pub client_key: Option<Option<String>>,
}

/// A pipeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pipeline {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// The source connector (role `source`).
    pub source_connector_id: i64,
    /// The target connector (role `target`).
    pub target_connector_id: i64,
    /// Whether the pipeline syncs at all.
    pub enabled: bool,
    /// Periodic schedule.
    pub schedule: Schedule,
    /// Days back from today that a scheduled run covers.
    pub window_days: i32,
    /// Options.
    pub options: PipelineOptions,
    /// What a person should know about this configuration (nothing here stops a run):
    /// e.g. `target_rounds_too` when the pipeline rounds and its target may round again.
    pub warnings: Vec<PipelineWarning>,
}

/// A remark on a pipeline's configuration.
#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineWarning {
    pub code: PipelineWarningCode,
    /// The option it is about, e.g. `options.rounding`.
    pub field: String,
    pub message: String,
}

/// What a [`PipelineWarning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PipelineWarningCode {
    /// The pipeline rounds durations and its target may round what it stores by itself
    /// (how it does is not readable through its API): entries may be rounded twice.
    TargetRoundsToo,
}

/// Schedule in a request; omitted fields take defaults (create) or keep values (update).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ScheduleInput {
    /// Whether the periodic sync is on (default true).
    pub enabled: Option<bool>,
    /// Minutes between runs (default `SYNC_SCHEDULE_HOURS` × 60).
    #[schema(minimum = 1)]
    pub interval_minutes: Option<i64>,
}

/// Options in a request; omitted fields take defaults (create) or keep values (update).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct OptionsInput {
    /// Target project key (string or number), or null.
    #[serde(default, deserialize_with = "key_or_null")]
    #[schema(value_type = Option<String>)]
    pub default_project: Option<Option<String>>,
    /// Target activity key (string or number), or null.
    #[serde(default, deserialize_with = "key_or_null")]
    #[schema(value_type = Option<String>)]
    pub default_activity: Option<Option<String>>,
    /// What to do with unmapped users.
    pub unmapped_user: Option<UnmappedUser>,
    /// Match projects and activities by name.
    pub match_by_name: Option<bool>,
    /// Carry running entries.
    pub include_running: Option<bool>,
    /// Mirror the target's projects into the source.
    pub mirror_projects: Option<MirrorProjectsInput>,
    /// Notifiers and their events (replaces the list).
    pub notify: Option<Vec<NotifyInput>>,
    /// `HH:MM`, or null for the settings' default.
    #[serde(default, deserialize_with = "key_or_null")]
    #[schema(value_type = Option<String>)]
    pub daily_summary_at: Option<Option<String>>,
    /// The rounding policy (replaces it whole); null: back to exact. Checked field by
    /// field: a bad value is a 422 naming it (`options.rounding.rules[0].step_seconds`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Rounding>)]
    pub rounding: Option<Value>,
}

/// A present value, null included (`Some(Value::Null)`); absent stays `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Body of `POST /api/pipelines` and `PUT /api/pipelines/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PipelineInput {
    /// Display name.
    pub name: String,
    /// The source connector.
    pub source_connector_id: i64,
    /// The target connector.
    pub target_connector_id: i64,
    /// Default true.
    pub enabled: Option<bool>,
    /// Default: enabled, every `SYNC_SCHEDULE_HOURS` hours.
    pub schedule: Option<ScheduleInput>,
    /// Default 31.
    #[schema(minimum = 1, maximum = 366)]
    pub window_days: Option<i64>,
    /// Default: no defaults, unmapped users become conflicts.
    pub options: Option<OptionsInput>,
}

/// Deserializes a present key (string or integer) or null; absent stays `None`.
fn key_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    let value = Value::deserialize(d)?;
    match value {
        Value::Null => Ok(Some(None)),
        Value::String(s) if s.trim().is_empty() => Ok(Some(None)),
        Value::String(s) => Ok(Some(Some(s.trim().to_string()))),
        Value::Number(n) => Ok(Some(Some(n.to_string()))),
        _ => Err(serde::de::Error::custom(
            "expected a string, a number or null",
        )),
    }
}

/// The warnings of a pipeline with `options` writing into `target_connector_id`.
async fn warnings_for(
    state: &AppState,
    options: &PipelineOptions,
    target_connector_id: i64,
) -> Result<Vec<PipelineWarning>, ApiError> {
    let mut out = Vec::new();
    if options.rounding.is_exact() {
        return Ok(out);
    }
    let kind = match state.store.get_connector(target_connector_id).await {
        Ok(c) => registry::find(&c.kind),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(store_error(e)),
    };
    if let Some(rounds) = kind.and_then(|k| k.rounds_itself) {
        out.push(PipelineWarning {
            code: PipelineWarningCode::TargetRoundsToo,
            field: "options.rounding".into(),
            message: format!(
                "{rounds}. This pipeline rounds durations too: make sure the target's own \
                 rounding is off (or only to the whole minute), else entries are rounded twice."
            ),
        });
    }
    Ok(out)
}

/// The API shape of a stored pipeline, with its warnings.
async fn to_api(state: &AppState, p: timebridge_store::Pipeline) -> Result<Pipeline, ApiError> {
    let options: PipelineOptions = serde_json::from_value(p.options).unwrap_or_default();
    let warnings = warnings_for(state, &options, p.target_connector_id).await?;
    Ok(Pipeline {
        id: p.id,
        name: p.name,
        source_connector_id: p.source_connector_id,
        target_connector_id: p.target_connector_id,
        enabled: p.enabled,
        schedule: Schedule {
            enabled: p.schedule_enabled,
            interval_minutes: p.interval_minutes,
        },
        window_days: p.window_days,
        options,
        warnings,
    })
}

/// Validates `body` (defaults from `current` on update, else from the configuration)
/// into the store's input.
async fn build_input(
    state: &AppState,
    body: PipelineInput,
    current: Option<&timebridge_store::Pipeline>,
) -> Result<timebridge_store::PipelineInput, ApiError> {
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid_field(
            "name",
            "must be 1 to 100 characters",
        ));
    }
    check_connector_role(
        state,
        "source_connector_id",
        body.source_connector_id,
        Role::Source,
    )
    .await?;
    check_connector_role(
        state,
        "target_connector_id",
        body.target_connector_id,
        Role::Target,
    )
    .await?;
    if body.source_connector_id == body.target_connector_id {
        return Err(ApiError::invalid_field(
            "target_connector_id",
            "must differ from source_connector_id",
        ));
    }
    let schedule = body.schedule.unwrap_or_default();
    let interval_minutes = match schedule.interval_minutes {
        Some(m) if (1..=MAX_INTERVAL_MINUTES).contains(&m) => m as i32,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "schedule.interval_minutes",
                format!("must be between 1 and {MAX_INTERVAL_MINUTES}"),
            ));
        }
        None => current
            .map(|c| c.interval_minutes)
            .unwrap_or(state.config.sync_schedule_hours as i32 * 60),
    };
    let schedule_enabled = schedule
        .enabled
        .or(current.map(|c| c.schedule_enabled))
        .unwrap_or(true);
    let window_days = match body.window_days {
        Some(d) if (1..=MAX_WINDOW_DAYS).contains(&d) => d as i32,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "window_days",
                format!("must be between 1 and {MAX_WINDOW_DAYS}"),
            ));
        }
        None => current
            .map(|c| c.window_days)
            .unwrap_or(DEFAULT_WINDOW_DAYS),
    };
    let old_options: PipelineOptions = current
        .and_then(|c| serde_json::from_value(c.options.clone()).ok())
        .unwrap_or_default();
    let input = body.options.unwrap_or_default();
    let options = PipelineOptions {
        default_project: input.default_project.unwrap_or(old_options.default_project),
        default_activity: input
            .default_activity
            .unwrap_or(old_options.default_activity),
        unmapped_user: input.unmapped_user.unwrap_or(old_options.unmapped_user),
        match_by_name: input.match_by_name.unwrap_or(old_options.match_by_name),
        include_running: input.include_running.unwrap_or(old_options.include_running),
        mirror_projects: match input.mirror_projects {
            Some(m) => MirrorProjects {
                enabled: m.enabled.unwrap_or(old_options.mirror_projects.enabled),
                client_key: m
                    .client_key
                    .unwrap_or(old_options.mirror_projects.client_key),
            },
            None => old_options.mirror_projects,
        },
        notify: match input.notify {
            Some(list) => check_notify(state, list).await?,
            None => old_options.notify,
        },
        daily_summary_at: match input.daily_summary_at {
            Some(Some(t)) => {
                if crate::notify::daily::parse_time(&t).is_none() {
                    return Err(ApiError::invalid_field(
                        "options.daily_summary_at",
                        "must be a local time HH:MM (00:00 to 23:59)",
                    ));
                }
                Some(t.trim().to_owned())
            }
            Some(None) => None,
            None => old_options.daily_summary_at,
        },
        rounding: match input.rounding {
            Some(v) => parse_rounding(&v)?,
            None => old_options.rounding,
        },
    };
    if options.mirror_projects.enabled {
        check_source_feature(
            state,
            body.source_connector_id,
            Feature::CreateProjects,
            "options.mirror_projects.enabled",
            "cannot create projects, so the target's projects cannot be mirrored into it",
        )
        .await?;
    }
    Ok(timebridge_store::PipelineInput {
        name,
        source_connector_id: body.source_connector_id,
        target_connector_id: body.target_connector_id,
        enabled: body.enabled.or(current.map(|c| c.enabled)).unwrap_or(true),
        schedule_enabled,
        interval_minutes,
        window_days,
        options: serde_json::to_value(options).map_err(|e| ApiError::Internal(e.into()))?,
    })
}

/// Checks `notify`: each connector exists and is a notifier, each event is known and can
/// be subscribed to; the same connector twice is merged.
async fn check_notify(
    state: &AppState,
    list: Vec<NotifyInput>,
) -> Result<Vec<NotifyTarget>, ApiError> {
    let mut out: Vec<NotifyTarget> = Vec::new();
    for (i, n) in list.into_iter().enumerate() {
        check_connector_role(
            state,
            &format!("options.notify[{i}].connector_id"),
            n.connector_id,
            Role::Notifier,
        )
        .await?;
        let mut events = Vec::new();
        for (j, name) in n.events.iter().enumerate() {
            let event = name
                .parse::<NotificationEvent>()
                .ok()
                .filter(|e| NotificationEvent::SUBSCRIBABLE.contains(e))
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        &format!("options.notify[{i}].events[{j}]"),
                        format!(
                            "{name:?} is not an event (one of {})",
                            NotificationEvent::SUBSCRIBABLE
                                .map(|e| e.as_str())
                                .join(", ")
                        ),
                    )
                })?;
            events.push(event);
        }
        match out.iter_mut().find(|t| t.connector_id == n.connector_id) {
            Some(t) => t.events.extend(events),
            None => out.push(NotifyTarget {
                connector_id: n.connector_id,
                events,
            }),
        }
    }
    for t in &mut out {
        t.events.sort();
        t.events.dedup();
    }
    Ok(out)
}

/// 422 on `field` unless the source connector's kind has `feature`.
async fn check_source_feature(
    state: &AppState,
    id: i64,
    feature: Feature,
    field: &str,
    why: &str,
) -> Result<(), ApiError> {
    let connector = state.store.get_connector(id).await.map_err(store_error)?;
    let has = registry::find(&connector.kind).is_some_and(|k| k.features.contains(&feature));
    if has {
        return Ok(());
    }
    Err(ApiError::invalid_field(
        field,
        format!("the {} connector {id} {why}", connector.kind),
    ))
}

async fn check_connector_role(
    state: &AppState,
    field: &str,
    id: i64,
    role: Role,
) -> Result<(), ApiError> {
    let connector = match state.store.get_connector(id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => {
            return Err(ApiError::invalid_field(
                field,
                format!("no connector with id {id}"),
            ));
        }
        Err(other) => return Err(store_error(other)),
    };
    let has_role = registry::find(&connector.kind).is_some_and(|k| k.roles.contains(&role));
    if !has_role {
        let wanted = match role {
            Role::Source => "source",
            Role::Target => "target",
            Role::Notifier => "notifier",
        };
        return Err(ApiError::invalid_field(
            field,
            format!(
                "connector {id} ({}) cannot be used as a {wanted}",
                connector.kind
            ),
        ));
    }
    Ok(())
}

fn map_write_error(err: StoreError) -> ApiError {
    match err {
        StoreError::Conflict(message) => ApiError::conflict("conflict", message),
        StoreError::Invalid(message) => ApiError::Unprocessable {
            code: "validation_failed",
            message,
            details: json!({}),
        },
        other => not_found_as(other, "Pipeline"),
    }
}

fn changed_fields(
    old: &timebridge_store::Pipeline,
    new: &timebridge_store::PipelineInput,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if old.name != new.name {
        out.push("name");
    }
    if old.source_connector_id != new.source_connector_id {
        out.push("source_connector_id");
    }
    if old.target_connector_id != new.target_connector_id {
        out.push("target_connector_id");
    }
    if old.enabled != new.enabled {
        out.push("enabled");
    }
    if old.schedule_enabled != new.schedule_enabled {
        out.push("schedule.enabled");
    }
    if old.interval_minutes != new.interval_minutes {
        out.push("schedule.interval_minutes");
    }
    if old.window_days != new.window_days {
        out.push("window_days");
    }
    if old.options != new.options {
        out.push("options");
    }
    out
}

/// Lists pipelines.
#[utoipa::path(
    get,
    path = "/api/pipelines",
    tag = "pipelines",
    params(Page),
    responses(
        (status = 200, description = "One page of pipelines", body = ListResponse<Pipeline>),
        (status = 400, description = "Bad paging parameters", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(page): Query<Page>,
) -> Result<Json<ListResponse<Pipeline>>, ApiError> {
    let (limit, offset) = page.resolve()?;
    let (items, total) = state
        .store
        .list_pipelines(limit, offset)
        .await
        .map_err(store_error)?;
    let mut list = Vec::with_capacity(items.len());
    for p in items {
        list.push(to_api(&state, p).await?);
    }
    Ok(Json(ListResponse { items: list, total }))
}

/// Creates a pipeline.
#[utoipa::path(
    post,
    path = "/api/pipelines",
    tag = "pipelines",
    request_body = PipelineInput,
    responses(
        (status = 201, description = "Created", body = Pipeline),
        (status = 400, description = "Malformed request", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 409, description = "Conflicts with an existing pipeline", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 422, description = "Unknown connector, wrong role or bad value", body = ErrorResponse),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<PipelineInput>,
) -> Result<(StatusCode, Json<Pipeline>), ApiError> {
    let input = build_input(&state, body, None).await?;
    let created = state
        .store
        .create_pipeline(input, state.clock.now())
        .await
        .map_err(map_write_error)?;
    record(
        &state,
        Actor::Admin,
        AuditAction::PipelineCreated,
        "pipeline",
        Some(created.id.to_string()),
        json!({ "name": created.name, "source_connector_id": created.source_connector_id,
                "target_connector_id": created.target_connector_id }),
        ip.map(|ip| ip.to_string()),
    )
    .await;
    tracing::info!(pipeline = created.id, "Pipeline created.");
    Ok((StatusCode::CREATED, Json(to_api(&state, created).await?)))
}

/// One pipeline.
#[utoipa::path(
    get,
    path = "/api/pipelines/{id}",
    tag = "pipelines",
    params(("id" = i64, Path, description = "Pipeline id")),
    responses(
        (status = 200, description = "The pipeline", body = Pipeline),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Pipeline>, ApiError> {
    let p = state
        .store
        .get_pipeline(id)
        .await
        .map_err(|e| not_found_as(e, "Pipeline"))?;
    Ok(Json(to_api(&state, p).await?))
}

/// Replaces a pipeline; omitted optional fields keep their values.
#[utoipa::path(
    put,
    path = "/api/pipelines/{id}",
    tag = "pipelines",
    params(("id" = i64, Path, description = "Pipeline id")),
    request_body = PipelineInput,
    responses(
        (status = 200, description = "Updated", body = Pipeline),
        (status = 400, description = "Malformed request", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
        (status = 409, description = "Conflicts with an existing pipeline", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 422, description = "Unknown connector, wrong role or bad value", body = ErrorResponse),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    Json(body): Json<PipelineInput>,
) -> Result<Json<Pipeline>, ApiError> {
    let current = state
        .store
        .get_pipeline(id)
        .await
        .map_err(|e| not_found_as(e, "Pipeline"))?;
    let input = build_input(&state, body, Some(&current)).await?;
    let fields_changed = changed_fields(&current, &input);
    let updated = state
        .store
        .update_pipeline(id, input, state.clock.now())
        .await
        .map_err(map_write_error)?;
    record(
        &state,
        Actor::Admin,
        AuditAction::PipelineUpdated,
        "pipeline",
        Some(id.to_string()),
        json!({ "name": updated.name, "fields_changed": fields_changed }),
        ip.map(|ip| ip.to_string()),
    )
    .await;
    tracing::info!(pipeline = id, "Pipeline updated.");
    Ok(Json(to_api(&state, updated).await?))
}

/// Deletes a pipeline and its mappings.
#[utoipa::path(
    delete,
    path = "/api/pipelines/{id}",
    tag = "pipelines",
    params(("id" = i64, Path, description = "Pipeline id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown id", body = ErrorResponse),
        (status = 409, description = "Still in use", body = ErrorResponse),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let current = state
        .store
        .get_pipeline(id)
        .await
        .map_err(|e| not_found_as(e, "Pipeline"))?;
    state
        .store
        .delete_pipeline(id)
        .await
        .map_err(|e| not_found_as(e, "Pipeline"))?;
    record(
        &state,
        Actor::Admin,
        AuditAction::PipelineDeleted,
        "pipeline",
        Some(id.to_string()),
        json!({ "name": current.name }),
        ip.map(|ip| ip.to_string()),
    )
    .await;
    tracing::info!(pipeline = id, "Pipeline deleted.");
    Ok(StatusCode::NO_CONTENT)
}

/// The prefix of every rounding field in errors.
const ROUNDING: &str = "options.rounding";

/// Checks a `rounding` value field by field; null is the default (exact).
pub(crate) fn parse_rounding(v: &Value) -> Result<Rounding, ApiError> {
    if v.is_null() {
        return Ok(Rounding::default());
    }
    let obj = object(v, ROUNDING)?;
    only_fields(obj, ROUNDING, &["mode", "step_seconds", "keep", "rules"])?;
    let rules = match obj.get("rules") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, r)| parse_rule(r, &format!("{ROUNDING}.rules[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ApiError::invalid_field(
                &format!("{ROUNDING}.rules"),
                "must be a list of rules",
            ));
        }
    };
    Ok(Rounding {
        mode: mode(obj, ROUNDING)?.unwrap_or_default(),
        step_seconds: step(obj, ROUNDING)?,
        keep: keep(obj, ROUNDING)?,
        rules,
    })
}

fn parse_rule(v: &Value, at: &str) -> Result<RoundingRule, ApiError> {
    let obj = object(v, at)?;
    only_fields(
        obj,
        at,
        &["customer", "project", "mode", "step_seconds", "keep"],
    )?;
    Ok(RoundingRule {
        customer: target_key(obj, at, "customer")?,
        project: target_key(obj, at, "project")?,
        mode: mode(obj, at)?.ok_or_else(|| {
            ApiError::invalid_field(
                &format!("{at}.mode"),
                "is required: one of exact, nearest, up, down",
            )
        })?,
        step_seconds: step(obj, at)?,
        keep: keep(obj, at)?,
    })
}

fn object<'v>(v: &'v Value, at: &str) -> Result<&'v serde_json::Map<String, Value>, ApiError> {
    v.as_object()
        .ok_or_else(|| ApiError::invalid_field(at, "must be an object"))
}

fn only_fields(
    obj: &serde_json::Map<String, Value>,
    at: &str,
    known: &[&str],
) -> Result<(), ApiError> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ApiError::invalid_field(
            &format!("{at}.{k}"),
            format!("is not a field (one of {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A named choice: absent or null is `None`, an unknown name is a 422.
fn choice<T: serde::de::DeserializeOwned>(
    obj: &serde_json::Map<String, Value>,
    at: &str,
    field: &str,
    names: &str,
) -> Result<Option<T>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|_| {
            ApiError::invalid_field(&format!("{at}.{field}"), format!("must be one of {names}"))
        }),
    }
}

fn mode(obj: &serde_json::Map<String, Value>, at: &str) -> Result<Option<RoundingMode>, ApiError> {
    choice(obj, at, "mode", "exact, nearest, up, down")
}

fn keep(obj: &serde_json::Map<String, Value>, at: &str) -> Result<RoundingKeep, ApiError> {
    Ok(choice(obj, at, "keep", "begin, end")?.unwrap_or_default())
}

fn step(obj: &serde_json::Map<String, Value>, at: &str) -> Result<i64, ApiError> {
    let field = format!("{at}.step_seconds");
    let bad = || {
        ApiError::invalid_field(
            &field,
            format!(
                "must be a whole number of seconds from {} to {}",
                STEP_RANGE.start(),
                STEP_RANGE.end()
            ),
        )
    };
    match obj.get("step_seconds") {
        None | Some(Value::Null) => Ok(Rounding::default().step_seconds),
        Some(v) => v
            .as_i64()
            .filter(|s| STEP_RANGE.contains(s))
            .ok_or_else(bad),
    }
}

/// A rule's target customer or project key: a string or number, or null (any).
fn target_key(
    obj: &serde_json::Map<String, Value>,
    at: &str,
    field: &str,
) -> Result<Option<String>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ApiError::invalid_field(
            &format!("{at}.{field}"),
            "must be a target key (string or number) or null",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError::Unprocessable { details, .. } => details["field"].as_str().unwrap().into(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn a_full_rounding_policy_is_read_with_its_defaults() {
        let r = parse_rounding(&json!({"mode": "nearest", "rules": [
            {"customer": 12, "project": null, "mode": "up", "step_seconds": 900},
            {"project": " 7 ", "mode": "down", "keep": "end"},
        ]}))
        .unwrap();
        assert_eq!(r.mode, RoundingMode::Nearest);
        assert_eq!(r.step_seconds, 60);
        assert_eq!(r.rules[0].customer.as_deref(), Some("12"));
        assert_eq!(r.rules[0].step_seconds, 900);
        assert_eq!(r.rules[1].project.as_deref(), Some("7"));
        assert_eq!(r.rules[1].keep, RoundingKeep::End);
        assert_eq!(parse_rounding(&Value::Null).unwrap(), Rounding::default());
    }

    #[test]
    fn a_bad_rounding_value_is_a_422_naming_its_field() {
        let cases = [
            (json!("up"), "options.rounding"),
            (json!({"mode": "ceil"}), "options.rounding.mode"),
            (json!({"step_seconds": 0}), "options.rounding.step_seconds"),
            (
                json!({"step_seconds": 86_401}),
                "options.rounding.step_seconds",
            ),
            (
                json!({"step_seconds": 1.5}),
                "options.rounding.step_seconds",
            ),
            (json!({"keep": "middle"}), "options.rounding.keep"),
            (json!({"rules": {}}), "options.rounding.rules"),
            (json!({"stepseconds": 60}), "options.rounding.stepseconds"),
            (
                json!({"rules": [{"mode": "up"}, {"mode": "up", "step_seconds": -5}]}),
                "options.rounding.rules[1].step_seconds",
            ),
            (
                json!({"rules": [{"step_seconds": 60}]}),
                "options.rounding.rules[0].mode",
            ),
            (
                json!({"rules": [{"mode": "up", "customer": true}]}),
                "options.rounding.rules[0].customer",
            ),
        ];
        for (value, field) in cases {
            let err = parse_rounding(&value).expect_err(&value.to_string());
            assert_eq!(field_of(err), field, "{value}");
        }
    }
}
