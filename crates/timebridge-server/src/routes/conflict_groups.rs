//! Conflicts grouped by cause, and fixing a whole group in place: one decision (a
//! mapping, a pipeline default, a change in the target followed by "retry all", or skip /
//! keep target) settles every conflict of the group. A fix is previewed as a dry run of
//! the group's entries with the proposed rules (nothing stored or written) and applied as
//! one run with trigger `resolution` that writes exactly those entries.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use timebridge_core::entry::{Entry, Window};
use timebridge_core::mapping::{MappingKind, MappingRule, PipelineOptions, RefusalRule};
use timebridge_core::plan::{Action, Cause, CauseKind, ConflictReason, Outcome, OutcomeKind};
use timebridge_core::suggest::{Candidate, Suggestion, suggest};
use timebridge_store::{
    AuditAction, ConflictFilter, GroupKey, NewRun, RunScope, RunTrigger, StoreError,
};
use utoipa::{IntoParams, ToSchema};

use super::conflicts::{Conflict, conflict_filter, to_api};
use crate::audit::{Actor, record};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Json, Query};
use crate::state::AppState;
use crate::store_error;
use crate::sync::context::{PipelineContext, RuleChanges};
use crate::sync::engine::{Planned, read_and_plan};
use crate::sync::resolve::resolve as resolve_conflict;
use crate::sync::{SyncEnv, SyncError};

/// Examples shown per group.
const EXAMPLES: u64 = 3;
/// Entries a preview lists (its summary counts all).
const PREVIEW_ITEMS: usize = 100;
/// Entries one fix may concern (one resolution run); a larger group is fixed in parts.
const MAX_GROUP_ENTRIES: usize = 20_000;

/// The id of a group: `{pipeline_id}.{reason}.{cause kind}.{cause key}` (the key last: it
/// may contain dots).
pub fn group_id(pipeline_id: i64, reason: &str, cause: &Cause) -> String {
    format!(
        "{pipeline_id}.{reason}.{}.{}",
        cause.kind.as_str(),
        cause.key
    )
}

fn parse_group(id: &str) -> Result<GroupKey, ApiError> {
    let bad = || ApiError::bad_field("group", "is not a conflict group id");
    let mut parts = id.splitn(4, '.');
    let pipeline_id = parts
        .next()
        .and_then(|p| p.parse::<i64>().ok())
        .ok_or_else(bad)?;
    let reason = parts
        .next()
        .and_then(ConflictReason::parse)
        .ok_or_else(bad)?;
    let kind = parts.next().and_then(CauseKind::parse).ok_or_else(bad)?;
    let key = parts.next().ok_or_else(bad)?.to_owned();
    Ok(GroupKey {
        pipeline_id,
        reason: reason.as_str().to_owned(),
        kind,
        key,
    })
}

/// `GET /api/conflicts/groups` filters (those of `GET /api/conflicts`).
#[derive(Debug, Deserialize, IntoParams)]
pub struct GroupQuery {
    /// `open` (default), `resolved` or `all`.
    pub status: Option<String>,
    /// One reason (an unknown one is a 400).
    #[param(value_type = Option<ConflictReason>)]
    pub reason: Option<String>,
    pub pipeline_id: Option<i64>,
    /// Only drift (`target_modified`, `target_deleted`: synced entries someone changed in
    /// the target).
    pub drift: Option<bool>,
}

/// A customer the group's entries belong to.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupCustomer {
    pub key: String,
    pub name: Option<String>,
}

/// The newest conflict of a group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupNewest {
    pub conflict_id: i64,
    /// When its entry begins.
    pub begin: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// How a group is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FixKind {
    /// A missing mapping (or the pipeline's default) settles it.
    Mapping,
    /// The target refuses by one of its rules: change it there, then retry all.
    Target,
    /// A one-off cause: decide per entry.
    Decide,
}

/// Which pipeline option a default fix sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DefaultOption {
    DefaultActivity,
    DefaultProject,
}

impl DefaultOption {
    fn name(self) -> &'static str {
        match self {
            DefaultOption::DefaultActivity => "default_activity",
            DefaultOption::DefaultProject => "default_project",
        }
    }

    fn of(kind: CauseKind) -> Option<DefaultOption> {
        match kind {
            CauseKind::Activity => Some(DefaultOption::DefaultActivity),
            CauseKind::Project => Some(DefaultOption::DefaultProject),
            _ => None,
        }
    }
}

/// What would settle a group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupFix {
    pub kind: FixKind,
    /// For `mapping`: the kind of mapping to create (`null` when only a default can help,
    /// e.g. entries that name no type at all).
    #[schema(value_type = Option<String>)]
    pub mapping_kind: Option<MappingKind>,
    pub source_key: Option<String>,
    pub source_label: Option<String>,
    /// For `mapping`: the pipeline option that may be set instead.
    pub default_option: Option<DefaultOption>,
    /// For `target`: what to change in the target.
    pub hint: Option<String>,
    /// For `target`: the target's page where it is changed, when it has one.
    pub url: Option<String>,
}

/// The open conflicts of one pipeline with the same reason and cause.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictGroup {
    /// Opaque id (use it as it is).
    pub id: String,
    pub pipeline_id: i64,
    pub reason: ConflictReason,
    pub cause: Cause,
    pub count: u64,
    /// The summed duration of the group's entries.
    pub seconds: i64,
    pub customers: Vec<GroupCustomer>,
    pub newest: GroupNewest,
    /// Up to three conflicts, newest first.
    pub examples: Vec<Conflict>,
    pub fix: GroupFix,
    /// Actions that apply to the whole group (`create` = apply a fix / retry all).
    #[schema(value_type = Vec<timebridge_core::Action>)]
    pub allowed_actions: Vec<Action>,
}

/// `{"items":[…],"total":n}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<ConflictGroup>,
    pub total: u64,
}

fn fix_of(reason: ConflictReason, cause: &Cause, source_label: Option<String>) -> GroupFix {
    let none = GroupFix {
        kind: FixKind::Decide,
        mapping_kind: None,
        source_key: None,
        source_label: None,
        default_option: None,
        hint: None,
        url: None,
    };
    match (reason, cause.kind) {
        (
            ConflictReason::UnmappedUser
            | ConflictReason::UnmappedActivity
            | ConflictReason::UnmappedProject,
            kind @ (CauseKind::User | CauseKind::Activity | CauseKind::Project),
        ) => {
            let has_key = !cause.key.is_empty();
            GroupFix {
                kind: FixKind::Mapping,
                mapping_kind: kind.mapping_kind().filter(|_| has_key),
                source_key: has_key.then(|| cause.key.clone()),
                source_label: source_label.filter(|_| has_key),
                default_option: DefaultOption::of(kind),
                ..none
            }
        }
        (ConflictReason::TargetRejected, CauseKind::TargetRule) => GroupFix {
            kind: FixKind::Target,
            hint: RefusalRule::hint_of_key(&cause.key).map(|(h, _)| h),
            ..none
        },
        _ => none,
    }
}

fn group_actions(reason: ConflictReason, fix: FixKind) -> Vec<Action> {
    match fix {
        FixKind::Mapping | FixKind::Target => vec![Action::Create, Action::Skip],
        FixKind::Decide => reason.allowed_actions().to_vec(),
    }
}

/// The label a conflict gives its cause's source item (the agent, type or project as the
/// source names it).
fn source_label(cause: &Cause) -> Option<String> {
    match cause.kind {
        CauseKind::User | CauseKind::Activity | CauseKind::Project => Some(cause.label.clone()),
        _ => None,
    }
}

/// Open conflicts grouped by reason and cause, largest group first.
#[utoipa::path(
    get,
    path = "/api/conflicts/groups",
    tag = "conflicts",
    params(GroupQuery),
    responses(
        (status = 200, description = "The groups", body = GroupList),
        (status = 400, description = "Bad filter", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<GroupQuery>,
) -> Result<Json<GroupList>, ApiError> {
    let filter = conflict_filter(q.status.as_deref(), q.reason, q.pipeline_id, q.drift)?;
    let rows = state
        .store
        .conflict_groups(&filter)
        .await
        .map_err(store_error)?;
    let mut items = Vec::with_capacity(rows.len());
    let mut urls: HashMap<(i64, String), Option<String>> = HashMap::new();
    for row in rows {
        let Some(reason) = ConflictReason::parse(&row.reason) else {
            continue;
        };
        let key = GroupKey {
            pipeline_id: row.pipeline_id,
            reason: row.reason.clone(),
            kind: row.cause.kind,
            key: row.cause.key.clone(),
        };
        let examples = state
            .store
            .conflicts_in_group(&filter, &key, Some(EXAMPLES))
            .await
            .map_err(store_error)?;
        let mut fix = fix_of(reason, &row.cause, source_label(&row.cause));
        if fix.kind == FixKind::Target
            && let Some((_, project)) = RefusalRule::hint_of_key(&row.cause.key)
        {
            let k = (row.pipeline_id, project.clone());
            if !urls.contains_key(&k) {
                let url = project_url(&state, row.pipeline_id, &project).await;
                urls.insert(k.clone(), url);
            }
            fix.url = urls.get(&k).cloned().flatten();
        }
        items.push(ConflictGroup {
            id: group_id(row.pipeline_id, &row.reason, &row.cause),
            pipeline_id: row.pipeline_id,
            reason,
            allowed_actions: group_actions(reason, fix.kind),
            cause: row.cause,
            count: row.count,
            seconds: row.seconds,
            customers: row
                .customers
                .into_iter()
                .map(|c| GroupCustomer {
                    key: c.key,
                    name: c.name,
                })
                .collect(),
            newest: GroupNewest {
                conflict_id: row.newest_id,
                begin: row.newest_begin,
                created_at: row.newest_created_at,
            },
            examples: examples.into_iter().map(to_api).collect(),
            fix,
        });
    }
    let total = items.len() as u64;
    Ok(Json(GroupList { items, total }))
}

/// The target's page of a project, when its kind has one (no remote call).
async fn project_url(state: &AppState, pipeline_id: i64, project: &str) -> Option<String> {
    let pipeline = state.store.get_pipeline(pipeline_id).await.ok()?;
    let target = crate::remote::instance(state, pipeline.target_connector_id)
        .await
        .ok()?;
    target.project_url(project)
}

/// `?group=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SuggestionQuery {
    /// A group id from `GET /api/conflicts/groups`.
    pub group: String,
}

/// Suggested target items, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionList {
    pub items: Vec<Suggestion>,
}

/// Target items close to a group's missing one (same e-mail, same or similar name), from
/// the target's catalog, for the picker of a fix.
#[utoipa::path(
    get,
    path = "/api/conflicts/groups/suggestions",
    tag = "conflicts",
    params(SuggestionQuery),
    responses(
        (status = 200, description = "Suggestions (may be empty)", body = SuggestionList),
        (status = 400, description = "Malformed group id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "No open conflicts in that group", body = ErrorResponse),
        (status = 502, description = "The target failed", body = ErrorResponse),
    )
)]
pub async fn suggestions(
    State(state): State<AppState>,
    Query(q): Query<SuggestionQuery>,
) -> Result<Json<SuggestionList>, ApiError> {
    let key = parse_group(&q.group)?;
    let conflicts = open_group(&state, &key, Some(1)).await?;
    let Some(first) = conflicts.first() else {
        return Err(ApiError::not_found("Conflict group"));
    };
    let Some(dimension) = key.kind.mapping_kind() else {
        return Ok(Json(SuggestionList { items: Vec::new() }));
    };
    let pipeline = state
        .store
        .get_pipeline(key.pipeline_id)
        .await
        .map_err(store_error)?;
    let stored = state
        .store
        .get_connector(pipeline.target_connector_id)
        .await
        .map_err(store_error)?;
    let Some(info) = timebridge_connectors::registry::find(&stored.kind) else {
        return Ok(Json(SuggestionList { items: Vec::new() }));
    };
    let catalog = match dimension {
        MappingKind::User => info.dimension_catalogs.user,
        MappingKind::Activity => info.dimension_catalogs.activity,
        MappingKind::Project => info.dimension_catalogs.project,
    };
    let Some(catalog) = catalog else {
        return Ok(Json(SuggestionList { items: Vec::new() }));
    };
    let target = crate::remote::instance(&state, pipeline.target_connector_id).await?;
    let items = target
        .catalog(catalog)
        .await
        .map_err(crate::remote::remote_error)?;
    let source: Option<Entry> = first
        .raw_source
        .clone()
        .or_else(|| first.source.clone())
        .and_then(|v| serde_json::from_value(v).ok());
    let (name, email) = match (dimension, source.as_ref()) {
        (MappingKind::User, Some(e)) => (
            e.user
                .as_ref()
                .and_then(|u| u.name.clone())
                .unwrap_or_default(),
            e.user.as_ref().and_then(|u| u.email.clone()),
        ),
        _ => (first.cause.label.clone(), None),
    };
    let candidates: Vec<Candidate<'_>> = items
        .iter()
        .map(|i| Candidate {
            key: &i.key,
            label: &i.label,
            email: i.extra.get("email").and_then(|v| v.as_str()),
        })
        .collect();
    Ok(Json(SuggestionList {
        items: suggest(&name, email.as_deref(), &candidates, 5),
    }))
}

async fn open_group(
    state: &AppState,
    key: &GroupKey,
    limit: Option<u64>,
) -> Result<Vec<timebridge_store::Conflict>, ApiError> {
    let filter = ConflictFilter {
        pipeline_id: Some(key.pipeline_id),
        status: Some("open".to_owned()),
        reason: Some(key.reason.clone()),
        drift: false,
    };
    state
        .store
        .conflicts_in_group(&filter, key, limit)
        .await
        .map_err(store_error)
}

/// A new mapping proposed by a fix (for the group's pipeline).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FixMapping {
    #[schema(value_type = String)]
    pub kind: MappingKind,
    pub source_key: String,
    pub source_label: Option<String>,
    pub target_key: String,
    pub target_label: Option<String>,
    pub billable: Option<bool>,
}

/// A pipeline default proposed by a fix.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FixDefault {
    pub option: DefaultOption,
    pub target_key: String,
}

/// One of: `{"mapping":{…}}`, `{"default":{…}}`, `{"retry":true}` (the target was fixed:
/// send what its rules were predicted to refuse).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fix {
    pub mapping: Option<FixMapping>,
    pub default: Option<FixDefault>,
    #[serde(default)]
    pub retry: bool,
}

/// Body of preview and apply.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FixRequest {
    pub group: String,
    pub fix: Fix,
}

/// One entry of a preview.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewItem {
    pub conflict_id: Option<i64>,
    pub source_key: String,
    #[schema(value_type = String)]
    pub outcome: OutcomeKind,
    /// What would be written (create / update), else the entry as it maps.
    #[schema(value_type = Option<Object>)]
    pub entry: Option<Entry>,
    pub reason: Option<ConflictReason>,
    pub message: Option<String>,
}

/// Counts of a preview.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct PreviewSummary {
    pub create: u64,
    pub update: u64,
    pub in_sync: u64,
    pub skip: u64,
    pub conflict: u64,
    /// Entries of the group the source no longer has in their window.
    pub not_found: u64,
}

/// What a fix would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub group: String,
    /// Entries in the group.
    pub total: u64,
    pub summary: PreviewSummary,
    /// Up to 100 entries.
    pub items: Vec<PreviewItem>,
}

/// What a validated fix means for a group.
struct Prepared {
    key: GroupKey,
    pipeline: timebridge_store::Pipeline,
    /// The pipeline's options with a default fix in them (what apply stores).
    options: Option<serde_json::Value>,
    changes: RuleChanges,
    scope: RunScope,
    window: Window,
    conflict_of: HashMap<String, i64>,
}

async fn prepare(state: &AppState, body: &FixRequest) -> Result<Prepared, ApiError> {
    let key = parse_group(&body.group)?;
    let conflicts = open_group(state, &key, None).await?;
    if conflicts.is_empty() {
        return Err(ApiError::not_found("Conflict group"));
    }
    if conflicts.len() > MAX_GROUP_ENTRIES {
        return Err(ApiError::invalid_field(
            "group",
            format!(
                "has {} entries; a fix applies to at most {MAX_GROUP_ENTRIES} at once (filter by \
                 pipeline or fix the mapping on the Mappings page and run a sync)",
                conflicts.len()
            ),
        ));
    }
    let pipeline = state
        .store
        .get_pipeline(key.pipeline_id)
        .await
        .map_err(store_error)?;
    let fix = &body.fix;
    let chosen = usize::from(fix.mapping.is_some())
        + usize::from(fix.default.is_some())
        + usize::from(fix.retry);
    if chosen != 1 {
        return Err(ApiError::invalid_field(
            "fix",
            "must hold exactly one of mapping, default or retry: true",
        ));
    }
    let mut changes = RuleChanges::default();
    let mut new_options = None;
    if let Some(m) = &fix.mapping {
        if key.kind.mapping_kind() != Some(m.kind) || m.source_key != key.key || key.key.is_empty()
        {
            return Err(ApiError::invalid_field(
                "fix.mapping",
                format!(
                    "must map the group's cause ({} {:?})",
                    key.kind.as_str(),
                    key.key
                ),
            ));
        }
        if m.target_key.trim().is_empty() {
            return Err(ApiError::invalid_field(
                "fix.mapping.target_key",
                "must not be empty",
            ));
        }
        changes.add.push(MappingRule {
            id: 0,
            kind: m.kind,
            source_key: m.source_key.clone(),
            source_label: m.source_label.clone(),
            target_key: Some(m.target_key.trim().to_owned()),
            target_label: m.target_label.clone(),
            billable: m.billable,
            sync: true,
        });
    }
    if let Some(d) = &fix.default {
        if DefaultOption::of(key.kind) != Some(d.option) {
            return Err(ApiError::invalid_field(
                "fix.default.option",
                "does not settle this group's cause",
            ));
        }
        if d.target_key.trim().is_empty() {
            return Err(ApiError::invalid_field(
                "fix.default.target_key",
                "must not be empty",
            ));
        }
        let mut options = pipeline.options.clone();
        options[d.option.name()] = json!(d.target_key.trim());
        let parsed: PipelineOptions = serde_json::from_value(options.clone()).map_err(|e| {
            ApiError::invalid_field("fix.default", format!("the options do not read: {e}"))
        })?;
        changes.options = Some(parsed);
        new_options = Some(options);
    }
    if fix.retry && key.kind != CauseKind::TargetRule && key.reason != "target_rejected" {
        return Err(ApiError::invalid_field(
            "fix.retry",
            "only refusals of the target are retried",
        ));
    }
    let mut begins: Vec<NaiveDate> = Vec::new();
    let mut conflict_of = HashMap::new();
    for c in &conflicts {
        conflict_of.insert(c.source_key.clone(), c.id);
        let entry: Option<Entry> = c
            .raw_source
            .clone()
            .or_else(|| c.source.clone())
            .and_then(|v| serde_json::from_value(v).ok());
        if let Some(e) = entry {
            begins.push(e.begin.date_naive());
        }
    }
    let today = state.clock.now().date_naive();
    // A day either side: the source reads its window in its own time zone.
    let from = begins.iter().min().copied().unwrap_or(today) - Duration::days(1);
    let to = begins.iter().max().copied().unwrap_or(today) + Duration::days(1);
    Ok(Prepared {
        scope: RunScope {
            source_keys: conflicts.iter().map(|c| c.source_key.clone()).collect(),
            retry_refused: fix.retry,
            group: Some(body.group.clone()),
        },
        key,
        pipeline,
        options: new_options,
        changes,
        window: Window { from, to },
        conflict_of,
    })
}

pub(crate) fn sync_error(e: SyncError) -> ApiError {
    match e {
        SyncError::Store(s) => store_error(s),
        SyncError::Remote(r) => crate::remote::remote_error(r),
        SyncError::Config(m) => ApiError::Unprocessable {
            code: "pipeline_misconfigured",
            message: m,
            details: json!({}),
        },
    }
}

/// What a fix would write: a dry run of the group's entries with the proposed rules.
/// Nothing is stored or written.
#[utoipa::path(
    post,
    path = "/api/conflicts/groups/preview",
    tag = "conflicts",
    request_body = FixRequest,
    responses(
        (status = 200, description = "What the fix would do", body = Preview),
        (status = 400, description = "Malformed request or group id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "No open conflicts in that group", body = ErrorResponse),
        (status = 422, description = "The fix does not fit the group", body = ErrorResponse),
        (status = 502, description = "A remote failed", body = ErrorResponse),
    )
)]
pub async fn preview(
    State(state): State<AppState>,
    Json(body): Json<FixRequest>,
) -> Result<Json<Preview>, ApiError> {
    let p = prepare(&state, &body).await?;
    let env = SyncEnv::from_ref(&state);
    let ctx = Arc::new(
        PipelineContext::load_with(&env, p.key.pipeline_id, &p.changes)
            .await
            .map_err(sync_error)?,
    );
    let Planned { input, plan, .. } =
        read_and_plan(&env, &ctx, p.window, None, Some(&p.scope), |_| {})
            .await
            .map_err(sync_error)?;
    let mut summary = PreviewSummary::default();
    let mut items = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (index, d) in plan.decisions.iter().enumerate() {
        let key = d.source_key(&input).to_owned();
        seen.insert(key.clone());
        let kind = d.outcome.kind();
        match kind {
            OutcomeKind::Create => summary.create += 1,
            OutcomeKind::Update => summary.update += 1,
            OutcomeKind::InSync => summary.in_sync += 1,
            OutcomeKind::Skip => summary.skip += 1,
            OutcomeKind::Conflict => summary.conflict += 1,
        }
        if items.len() >= PREVIEW_ITEMS {
            continue;
        }
        let view = plan.conflict_view(&input, index);
        let entry = d.desired(&input).cloned().or_else(|| {
            d.source
                .map(|s| input.sources[s].entry.clone())
                .filter(|_| matches!(d.outcome, Outcome::Conflict(_)))
        });
        items.push(PreviewItem {
            conflict_id: p.conflict_of.get(&key).copied(),
            source_key: key,
            outcome: kind,
            entry,
            reason: view.as_ref().map(|v| v.reason),
            message: view.map(|v| v.message),
        });
    }
    summary.not_found = p
        .scope
        .source_keys
        .iter()
        .filter(|k| !seen.contains(k.as_str()))
        .count() as u64;
    Ok(Json(Preview {
        group: body.group,
        total: p.scope.source_keys.len() as u64,
        summary,
        items,
    }))
}

/// Answer of apply.
#[derive(Debug, Serialize, ToSchema)]
pub struct Applied {
    /// The run (trigger `resolution`) that writes the group's entries.
    pub run_id: i64,
    /// The mapping the fix created or changed, if it was a mapping.
    pub mapping_id: Option<i64>,
}

/// Applies a fix: stores the mapping or the pipeline default (audited), then queues one
/// run with trigger `resolution` that writes every entry of the group. Its progress is
/// that of any run (`GET /api/sync/runs/{id}`); the conflicts it settles close with it.
#[utoipa::path(
    post,
    path = "/api/conflicts/groups/apply",
    tag = "conflicts",
    request_body = FixRequest,
    responses(
        (status = 202, description = "The fix is stored and its run queued", body = Applied),
        (status = 400, description = "Malformed request or group id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "No open conflicts in that group", body = ErrorResponse),
        (status = 409, description = "A run of the pipeline is queued or running", body = ErrorResponse),
        (status = 422, description = "The fix does not fit the group", body = ErrorResponse),
    )
)]
pub async fn apply(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<FixRequest>,
) -> Result<(StatusCode, axum::Json<Applied>), ApiError> {
    let p = prepare(&state, &body).await?;
    let ip = ip.map(|i| i.to_string());
    if let Some(active) = state
        .store
        .active_run(p.key.pipeline_id)
        .await
        .map_err(store_error)?
    {
        return Err(ApiError::Conflict {
            code: "run_in_progress",
            message: format!(
                "Run #{} of this pipeline is {}; apply the fix when it has finished.",
                active.id, active.status
            ),
            details: json!({"run_id": active.id, "status": active.status}),
        });
    }
    let mut mapping_id = None;
    if let Some(m) = &body.fix.mapping {
        mapping_id = Some(store_mapping(&state, p.key.pipeline_id, m, ip.clone()).await?);
    }
    if let (Some(d), Some(options)) = (&body.fix.default, p.options.clone()) {
        let pipeline = &p.pipeline;
        let updated = state
            .store
            .update_pipeline(
                pipeline.id,
                timebridge_store::PipelineInput {
                    name: pipeline.name.clone(),
                    source_connector_id: pipeline.source_connector_id,
                    target_connector_id: pipeline.target_connector_id,
                    enabled: pipeline.enabled,
                    schedule_enabled: pipeline.schedule_enabled,
                    interval_minutes: pipeline.interval_minutes,
                    window_days: pipeline.window_days,
                    options,
                },
                state.clock.now(),
            )
            .await
            .map_err(store_error)?;
        record(
            &state,
            Actor::Admin,
            AuditAction::PipelineUpdated,
            "pipeline",
            Some(updated.id.to_string()),
            json!({"changed": [d.option.name()], d.option.name(): d.target_key.trim(),
                   "via": "conflict_group", "group": body.group}),
            ip.clone(),
        )
        .await;
    }
    let now = state.clock.now();
    let count = p.scope.source_keys.len();
    let run = state
        .store
        .enqueue_run(
            NewRun {
                pipeline_id: p.key.pipeline_id,
                trigger: RunTrigger::Resolution,
                dry_run: false,
                window_from: p.window.from,
                window_to: p.window.to,
                ticket_ids: None,
                run_after: now,
                scope: Some(p.scope),
                undo_of: None,
            },
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::Conflict {
                code: "run_in_progress",
                message: "A run of this pipeline was queued at the same moment; apply the fix \
                          when it has finished."
                    .into(),
                details: json!({}),
            },
            other => store_error(other),
        })?;
    record(
        &state,
        Actor::Admin,
        AuditAction::SyncRequested,
        "run",
        Some(run.id.to_string()),
        json!({"pipeline_id": run.pipeline_id, "trigger": "resolution", "group": body.group,
               "entries": count, "retry": body.fix.retry, "mapping_id": mapping_id,
               "window": {"from": run.window_from, "to": run.window_to}}),
        ip,
    )
    .await;
    state.wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Applied {
            run_id: run.id,
            mapping_id,
        }),
    ))
}

/// Creates the fix's mapping, or changes the stored one of the same source key (a
/// mapping to a target item that no longer exists leaves its entries unmapped).
async fn store_mapping(
    state: &AppState,
    pipeline_id: i64,
    m: &FixMapping,
    ip: Option<String>,
) -> Result<i64, ApiError> {
    let kind: timebridge_store::MappingKind = m.kind.into();
    let label = |l: &Option<String>| {
        l.as_ref()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let input = timebridge_store::MappingInput {
        pipeline_id,
        kind,
        source_key: m.source_key.clone(),
        source_label: label(&m.source_label),
        target_key: Some(m.target_key.trim().to_owned()),
        target_label: label(&m.target_label),
        billable: m.billable,
        sync: true,
    };
    let (existing, _) = state
        .store
        .list_mappings(
            &timebridge_store::MappingFilter {
                pipeline_id: Some(pipeline_id),
                kind: Some(kind),
            },
            10_000,
            0,
        )
        .await
        .map_err(store_error)?;
    let (stored, action) = match existing.iter().find(|e| e.source_key == m.source_key) {
        Some(e) => (
            state
                .store
                .update_mapping(e.id, input)
                .await
                .map_err(store_error)?,
            AuditAction::MappingUpdated,
        ),
        None => (
            state
                .store
                .create_mapping(input)
                .await
                .map_err(store_error)?,
            AuditAction::MappingCreated,
        ),
    };
    record(
        state,
        Actor::Admin,
        action,
        "mapping",
        Some(stored.id.to_string()),
        super::mappings::audit_details(&stored),
        ip,
    )
    .await;
    Ok(stored.id)
}

/// Body of `POST /api/conflicts/groups/resolve`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupResolveInput {
    pub group: String,
    /// `skip` or `keep_target` (where the group's reason allows it).
    #[schema(value_type = timebridge_core::Action)]
    pub action: String,
    pub note: Option<String>,
}

/// What a group resolution did.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupResolved {
    pub resolved: u64,
    pub failed: u64,
    /// Why some failed (at most 20).
    pub errors: Vec<String>,
}

/// Skips (or keeps the target of) every conflict of a group, each as if resolved one by
/// one (audited each, remembered by the next runs).
#[utoipa::path(
    post,
    path = "/api/conflicts/groups/resolve",
    tag = "conflicts",
    request_body = GroupResolveInput,
    responses(
        (status = 200, description = "Resolved", body = GroupResolved),
        (status = 400, description = "Malformed request or group id", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "No open conflicts in that group", body = ErrorResponse),
        (status = 422, description = "The action does not apply to the group", body = ErrorResponse),
    )
)]
pub async fn resolve(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<GroupResolveInput>,
) -> Result<Json<GroupResolved>, ApiError> {
    let key = parse_group(&body.group)?;
    let reason = ConflictReason::parse(&key.reason).unwrap_or(ConflictReason::TargetRejected);
    let action = match body.action.as_str() {
        "skip" => Action::Skip,
        "keep_target" => Action::KeepTarget,
        _ => {
            return Err(ApiError::Unprocessable {
                code: "action_not_allowed",
                message: format!(
                    "`{}` cannot be applied to a whole group; use skip or keep_target, or a fix.",
                    body.action
                ),
                details: json!({"field": "action"}),
            });
        }
    };
    if !reason.allowed_actions().contains(&action) {
        return Err(ApiError::Unprocessable {
            code: "action_not_allowed",
            message: format!(
                "{} is not allowed for {} conflicts.",
                action.as_str(),
                reason.as_str()
            ),
            details: json!({"field": "action", "allowed_actions": reason.allowed_actions()}),
        });
    }
    let note = body.note.filter(|n| !n.trim().is_empty());
    if note.as_ref().is_some_and(|n| n.len() > 2000) {
        return Err(ApiError::bad_field(
            "note",
            "must be at most 2000 characters",
        ));
    }
    let conflicts = open_group(&state, &key, None).await?;
    if conflicts.is_empty() {
        return Err(ApiError::not_found("Conflict group"));
    }
    let env = SyncEnv::from_ref(&state);
    let ip = ip.map(|i| i.to_string());
    let mut out = GroupResolved {
        resolved: 0,
        failed: 0,
        errors: Vec::new(),
    };
    for c in &conflicts {
        match resolve_conflict(&env, c, action, None, note.clone(), ip.clone()).await {
            Ok(_) => out.resolved += 1,
            Err(e) => {
                out.failed += 1;
                if out.errors.len() < 20 {
                    out.errors.push(format!("conflict #{}: {e}", c.id));
                }
            }
        }
    }
    Ok(Json(out))
}
