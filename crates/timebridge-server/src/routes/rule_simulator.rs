//! The rule simulator: which entries of a pipeline's window would change outcome, target
//! fields or conflict under proposed mapping and option changes. It reads both systems
//! like a dry run (once) and plans twice, with the stored rules and with the proposed
//! ones; nothing is stored or written.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{FromRef, State};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use timebridge_core::entry::{Entry, Window};
use timebridge_core::mapping::{MappingRule, PipelineOptions, Resolver};
use timebridge_core::plan::{
    self, ConflictReason, Decision, OutcomeKind, Plan, PlanInput, SourceItem,
};
use timebridge_store::StoreError;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorResponse};
use crate::extract::{Json, Path};
use crate::state::AppState;
use crate::store_error;
use crate::sync::SyncEnv;
use crate::sync::context::{PipelineContext, RuleChanges};
use crate::sync::engine::{Planned, read_and_plan};

/// Changes listed at most (the summary counts all).
const MAX_CHANGES: usize = 1000;

/// A proposed mapping: a new one (the body of `POST /api/mappings`; it replaces a stored
/// one of the same kind and source key), or `{"id","delete":true}` to leave a stored one
/// out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ProposedMapping {
    Delete(DeleteMapping),
    New(super::mappings::MappingInput),
}

/// `{"id","delete":true}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteMapping {
    pub id: i64,
    pub delete: bool,
}

/// Body of `POST /api/pipelines/{id}/simulate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateInput {
    #[serde(default)]
    pub mappings: Vec<ProposedMapping>,
    /// Option changes, merged over the stored options.
    #[schema(value_type = Option<Object>)]
    pub options: Option<Value>,
    /// First day of the window [the pipeline's window ending today].
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// One side of a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimulatedSide {
    #[schema(value_type = String)]
    pub outcome: OutcomeKind,
    /// The entry as it would be in the target (null for a conflict: nothing is written).
    #[schema(value_type = Option<Object>)]
    pub target: Option<Entry>,
    pub reason: Option<ConflictReason>,
}

/// An entry whose outcome, target fields or conflict would change.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimulatedChange {
    pub source_key: String,
    /// The source entry as read, before mapping and rounding (null: deleted in the source).
    #[schema(value_type = Option<Object>)]
    pub source: Option<Entry>,
    pub before: SimulatedSide,
    pub after: SimulatedSide,
}

/// Counts of a simulation.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimulationSummary {
    /// Entries that would change.
    pub changed: u64,
    /// The changed entries by their outcome after the changes.
    pub by_outcome: BTreeMap<String, u64>,
    /// Entries read.
    pub entries: u64,
}

/// What the proposed changes would change.
#[derive(Debug, Serialize, ToSchema)]
pub struct Simulation {
    pub summary: SimulationSummary,
    /// At most 1,000, in plan order.
    pub changes: Vec<SimulatedChange>,
}

fn side(d: &Decision, input: &PlanInput, plan: &Plan, index: usize) -> SimulatedSide {
    SimulatedSide {
        outcome: d.outcome.kind(),
        target: d
            .desired(input)
            .filter(|_| d.outcome.kind() != OutcomeKind::Conflict)
            .cloned(),
        reason: plan.conflict_view(input, index).map(|v| v.reason),
    }
}

/// Which entries would change outcome, target fields or conflict under proposed mapping
/// and option changes. Nothing is stored or written; it reads like a dry run.
#[utoipa::path(
    post,
    path = "/api/pipelines/{id}/simulate",
    tag = "pipelines",
    params(("id" = i64, Path, description = "Pipeline id")),
    request_body = SimulateInput,
    responses(
        (status = 200, description = "What would change", body = Simulation),
        (status = 400, description = "Malformed request", body = ErrorResponse),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
        (status = 404, description = "Unknown pipeline", body = ErrorResponse),
        (status = 422, description = "Invalid changes", body = ErrorResponse),
        (status = 502, description = "A remote failed", body = ErrorResponse),
    )
)]
pub async fn simulate(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<SimulateInput>,
) -> Result<Json<Simulation>, ApiError> {
    let pipeline = state.store.get_pipeline(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("Pipeline"),
        other => store_error(other),
    })?;
    let mut changes = RuleChanges::default();
    for (i, m) in body.mappings.iter().enumerate() {
        match m {
            ProposedMapping::Delete(d) if d.delete => changes.remove.push(d.id),
            ProposedMapping::Delete(_) => {
                return Err(ApiError::invalid_field(
                    &format!("mappings[{i}].delete"),
                    "must be true (or leave the mapping out)",
                ));
            }
            ProposedMapping::New(n) => {
                let target_key = super::mappings::check_fields(&format!("mappings[{i}]."), n)?;
                changes.add.push(MappingRule {
                    id: 0,
                    kind: timebridge_store::MappingKind::from(n.kind).into(),
                    source_key: n.source_key.clone(),
                    source_label: n.source_label.clone(),
                    target_key,
                    target_label: n.target_label.clone(),
                    billable: n.billable,
                    sync: n.sync,
                });
            }
        }
    }
    if let Some(patch) = &body.options {
        let Some(patch) = patch.as_object() else {
            return Err(ApiError::invalid_field("options", "must be an object"));
        };
        let mut options = pipeline.options.clone();
        if !options.is_object() {
            options = json!({});
        }
        for (k, v) in patch {
            options[k] = v.clone();
        }
        if let Some(r) = options.get("rounding").filter(|r| !r.is_null()) {
            super::pipelines::parse_rounding(r)?;
        }
        let parsed: PipelineOptions = serde_json::from_value(options)
            .map_err(|e| ApiError::invalid_field("options", format!("do not read: {e}")))?;
        changes.options = Some(parsed);
    }
    let today = state.clock.now().date_naive();
    let to = body.to.unwrap_or(today);
    let from = body
        .from
        .unwrap_or_else(|| to - Duration::days(i64::from(pipeline.window_days.max(1)) - 1));
    if from > to || (to - from).num_days() > 366 {
        return Err(ApiError::bad_field(
            "from",
            "must not be after `to`, and the window may span at most 367 days",
        ));
    }
    let env = SyncEnv::from_ref(&state);
    let ctx = Arc::new(
        PipelineContext::load(&env, id)
            .await
            .map_err(super::conflict_groups::sync_error)?,
    );
    let after_rules = ctx
        .rules_with(&changes)
        .map_err(|e| ApiError::invalid_field("mappings", e.to_string()))?;
    let Planned {
        input: before_input,
        plan: before,
        ..
    } = read_and_plan(&env, &ctx, Window { from, to }, None, None, |_| {})
        .await
        .map_err(super::conflict_groups::sync_error)?;
    let resolver = Resolver {
        rules: &after_rules,
        directory: &ctx.directory,
        settings: &ctx.settings,
    };
    let after_input = PlanInput {
        window: before_input.window,
        sources: before_input
            .sources
            .iter()
            .map(|s| SourceItem {
                entry: s.entry.clone(),
                mapping: resolver.resolve(&s.entry),
            })
            .collect(),
        targets: before_input.targets.clone(),
        links: before_input.links.clone(),
        known_source_keys: before_input.known_source_keys.clone(),
        include_running: after_rules.options.include_running,
        retry_refused: Default::default(),
    };
    let (after_input, after) = tokio::task::spawn_blocking(move || {
        let p = plan::plan(&after_input);
        (after_input, p)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("the planner stopped: {e}")))?;
    let before_at: HashMap<&str, usize> = before
        .decisions
        .iter()
        .enumerate()
        .map(|(i, d)| (d.source_key(&before_input), i))
        .collect();
    let mut summary = SimulationSummary {
        changed: 0,
        by_outcome: BTreeMap::new(),
        entries: before_input.sources.len() as u64,
    };
    let mut list = Vec::new();
    for (i, d) in after.decisions.iter().enumerate() {
        let key = d.source_key(&after_input);
        let Some(&j) = before_at.get(key) else {
            continue;
        };
        let b = side(&before.decisions[j], &before_input, &before, j);
        let a = side(d, &after_input, &after, i);
        if a.outcome == b.outcome && a.target == b.target && a.reason == b.reason {
            continue;
        }
        summary.changed += 1;
        let name = serde_json::to_value(a.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        *summary.by_outcome.entry(name).or_default() += 1;
        if list.len() < MAX_CHANGES {
            list.push(SimulatedChange {
                source_key: key.to_owned(),
                source: d.source.map(|s| after_input.sources[s].entry.clone()),
                before: b,
                after: a,
            });
        }
    }
    Ok(Json(Simulation {
        summary,
        changes: list,
    }))
}
