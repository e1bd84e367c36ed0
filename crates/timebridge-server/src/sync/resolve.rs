//! Resolving a conflict: the chosen action takes effect in the target first, then the
//! link state is stored so that the next run respects the choice (a skipped entry stays
//! quiet until it changes, `keep_target` re-baselines the link, `link` adopts an entry),
//! and only then is the conflict marked resolved.

use serde_json::{Value, json};
use timebridge_connectors::{ConnectorError, Marker};
use timebridge_core::entry::Entry;
use timebridge_core::mapping::MappingResult;
use timebridge_core::plan::{
    Action, LinkRecord, kept_target_memory, link_after_write, skip_memory,
};
use timebridge_core::rounding::AppliedRounding;
use timebridge_store::AuditAction;
use timebridge_store::{Conflict, NewWriteIntent};

use super::context::{PipelineContext, SyncError, to_row};
use super::env::SyncEnv;
use crate::audit::{Actor, record};

/// Why a resolution was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The action is not among the conflict's allowed actions (422).
    #[error("the action {action} is not allowed for a {reason} conflict; allowed: {allowed}")]
    NotAllowed {
        action: String,
        reason: String,
        allowed: String,
    },
    /// The conflict is already resolved (409).
    #[error("the conflict is already resolved")]
    AlreadyResolved,
    /// The action cannot be carried out in the current state (409), e.g. `create` while
    /// the entry still does not map.
    #[error("{0}")]
    NotPossible(String),
    /// A required parameter is missing or wrong (422).
    #[error("{0}")]
    Invalid(String),
    /// The target refused the write (409).
    #[error("the target refused it: {0}")]
    Refused(ConnectorError),
    /// The remote failed (502) or the pipeline cannot be loaded.
    #[error("{0}")]
    Sync(#[from] SyncError),
}

impl From<ConnectorError> for ResolveError {
    fn from(e: ConnectorError) -> Self {
        if e.is_entry_level() {
            ResolveError::Refused(e)
        } else {
            ResolveError::Sync(SyncError::Remote(e))
        }
    }
}

impl From<timebridge_store::StoreError> for ResolveError {
    fn from(e: timebridge_store::StoreError) -> Self {
        ResolveError::Sync(SyncError::Store(e))
    }
}

/// Carries out `action` for `conflict` and marks it resolved; returns the stored conflict.
pub async fn resolve(
    state: &SyncEnv,
    conflict: &Conflict,
    action: Action,
    target_id: Option<String>,
    note: Option<String>,
    ip: Option<String>,
) -> Result<Conflict, ResolveError> {
    if conflict.status != timebridge_store::ConflictStatus::Open {
        return Err(ResolveError::AlreadyResolved);
    }
    let allowed: Vec<String> =
        serde_json::from_value(conflict.allowed_actions.clone()).unwrap_or_default();
    if !allowed.iter().any(|a| a == action.as_str()) {
        return Err(ResolveError::NotAllowed {
            action: action.as_str().to_owned(),
            reason: conflict.reason.clone(),
            allowed: allowed.join(", "),
        });
    }
    let ctx = PipelineContext::load(state, conflict.pipeline_id).await?;
    let key = conflict.source_key.as_str();
    let marker = Marker::new(ctx.source_system, key)
        .ok_or_else(|| ResolveError::Invalid("the source key cannot be a link marker".into()))?;
    let now = state.clock.now();
    let pid = conflict.pipeline_id;
    let mut details = json!({"pipeline_id": pid, "source_key": key, "reason": conflict.reason,
                             "action": action.as_str(), "note": note});
    match action {
        Action::Create | Action::Update => {
            let (desired, rounding) = desired_entry(&ctx, conflict)?;
            let ticket = desired.ticket.as_ref().map(|t| t.id);
            let current = if action == Action::Update {
                Some(conflict.target_id.clone().ok_or_else(|| {
                    ResolveError::NotPossible("the conflict has no target entry to update".into())
                })?)
            } else {
                None
            };
            let intent = state
                .store
                .add_write_intent(
                    NewWriteIntent {
                        pipeline_id: pid,
                        run_id: conflict.run_id,
                        source_key: key.to_owned(),
                        action: action.as_str().to_owned(),
                        target_id: current.clone(),
                        desired: serde_json::to_value(&desired).unwrap_or_default(),
                    },
                    now,
                )
                .await?;
            let written = match &current {
                None => ctx.target().create(&marker, &desired).await,
                Some(id) => ctx.target().update(id, &marker, &desired).await,
            };
            let written = match written {
                Ok(w) => w,
                Err(e) => {
                    if !e.outcome_unknown() {
                        state.store.delete_write_intent(intent).await?;
                    }
                    return Err(e.into());
                }
            };
            let link = link_after_write(key, &written.target_id, &desired, &written.entry);
            state
                .store
                .upsert_link(pid, &to_row(&link, ticket, rounding), now)
                .await?;
            state.store.delete_write_intent(intent).await?;
            details["target_id"] = json!(written.target_id);
            record(
                state,
                Actor::Admin,
                if current.is_none() {
                    AuditAction::EntryCreated
                } else {
                    AuditAction::EntryUpdated
                },
                "entry",
                Some(written.target_id.clone()),
                json!({"pipeline_id": pid, "source_key": key, "conflict_id": conflict.id}),
                ip.clone(),
            )
            .await;
        }
        Action::Skip => {
            let raw: Option<Entry> = conflict
                .raw_source
                .clone()
                .and_then(|v| serde_json::from_value(v).ok());
            let existing = state.store.get_link(pid, key).await?;
            let memory = raw.as_ref().map(skip_memory);
            let rec = LinkRecord {
                source_key: key.to_owned(),
                target_id: existing.as_ref().and_then(|l| l.target_id.clone()),
                desired_fingerprint: existing
                    .as_ref()
                    .and_then(|l| l.desired_fingerprint)
                    .map(timebridge_core::fingerprint::Fingerprint::from_i64),
                target_fingerprint: existing
                    .as_ref()
                    .and_then(|l| l.target_fingerprint)
                    .map(timebridge_core::fingerprint::Fingerprint::from_i64),
                memory,
            };
            let ticket = raw.as_ref().and_then(|e| e.ticket.as_ref().map(|t| t.id));
            // The entry in the target is unchanged, and so is what rounding added to it.
            let mut row = to_row(&rec, ticket, None);
            if let Some(l) = &existing {
                row.rounded_seconds = l.rounded_seconds;
                row.rounding_rule = l.rounding_rule;
            }
            state.store.upsert_link(pid, &row, now).await?;
        }
        Action::KeepTarget => {
            let tid = conflict.target_id.clone().ok_or_else(|| {
                ResolveError::NotPossible("the conflict has no target entry to keep".into())
            })?;
            let target = fetch_target(&ctx, &tid).await?;
            let (rec, rounding) = if conflict.reason == "source_deleted" {
                let rec = LinkRecord {
                    source_key: key.to_owned(),
                    target_id: Some(tid.clone()),
                    desired_fingerprint: None,
                    target_fingerprint: None,
                    memory: Some(kept_target_memory(&target)),
                };
                (rec, None)
            } else {
                let (desired, rounding) = desired_entry(&ctx, conflict)?;
                (link_after_write(key, &tid, &desired, &target), rounding)
            };
            let ticket = state
                .store
                .get_link(pid, key)
                .await?
                .and_then(|l| l.ticket_id);
            state
                .store
                .upsert_link(pid, &to_row(&rec, ticket, rounding), now)
                .await?;
        }
        Action::Link => {
            let tid = target_id
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| ResolveError::Invalid("`link` needs a target_id".into()))?;
            let target = fetch_target(&ctx, &tid).await?;
            let (desired, rounding) = desired_entry(&ctx, conflict)?;
            let link = link_after_write(key, &tid, &desired, &target);
            let ticket = desired.ticket.as_ref().map(|t| t.id);
            state
                .store
                .upsert_link(pid, &to_row(&link, ticket, rounding), now)
                .await?;
            details["target_id"] = json!(tid);
        }
        Action::DeleteTarget => {
            let tid = conflict.target_id.clone().ok_or_else(|| {
                ResolveError::NotPossible("the conflict has no target entry to delete".into())
            })?;
            ctx.target().delete(&tid).await?;
            state.store.delete_link(pid, key).await?;
            details["target_id"] = json!(tid);
            record(
                state,
                Actor::Admin,
                AuditAction::EntryDeleted,
                "entry",
                Some(tid),
                json!({"pipeline_id": pid, "source_key": key, "conflict_id": conflict.id}),
                ip.clone(),
            )
            .await;
        }
    }
    let resolution = json!({"action": action.as_str(), "note": note, "at": now});
    if !state
        .store
        .resolve_conflict(conflict.id, resolution, now)
        .await?
    {
        return Err(ResolveError::AlreadyResolved);
    }
    record(
        state,
        Actor::Admin,
        AuditAction::ConflictResolved,
        "conflict",
        Some(conflict.id.to_string()),
        details,
        ip,
    )
    .await;
    Ok(state.store.get_conflict(conflict.id).await?)
}

/// The entry to write: the stored desired entry, or — when the conflict holds the raw
/// source entry because it did not map — the entry mapped with today's rules; with what
/// the pipeline's rounding added to it.
fn desired_entry(
    ctx: &PipelineContext,
    conflict: &Conflict,
) -> Result<(Entry, Option<AppliedRounding>), ResolveError> {
    let stored: Option<Entry> = conflict
        .source
        .clone()
        .and_then(|v| serde_json::from_value(v).ok());
    let Some(stored) = stored else {
        return Err(ResolveError::NotPossible(
            "the source entry no longer exists".into(),
        ));
    };
    let raw: Option<Entry> = conflict
        .raw_source
        .clone()
        .and_then(|v| serde_json::from_value(v).ok());
    if stored.system != ctx.source_system {
        // Already mapped (and rounded) when the conflict was raised: the difference to
        // the raw source duration is what rounding added.
        let added = raw
            .and_then(|r| r.duration_seconds)
            .zip(stored.duration_seconds)
            .map(|(raw, written)| written - raw)
            .filter(|s| *s != 0);
        let rounding = added.map(|seconds| AppliedRounding {
            seconds,
            rule: ctx.rules.options.rounding.step_for(&stored).0,
        });
        return Ok((stored, rounding));
    }
    let raw = raw.unwrap_or(stored);
    match ctx.resolver().resolve(&raw) {
        MappingResult::Mapped {
            entry, rounding, ..
        } => Ok((entry, rounding)),
        MappingResult::Unmapped { explanation, .. } => Err(ResolveError::NotPossible(format!(
            "the entry still does not map: {}",
            explanation.lines().join("; ")
        ))),
        MappingResult::Excluded { explanation } => Err(ResolveError::NotPossible(format!(
            "the entry's person is excluded from sync: {}",
            explanation.lines().join("; ")
        ))),
    }
}

async fn fetch_target(ctx: &PipelineContext, id: &str) -> Result<Entry, ResolveError> {
    let mut found = ctx
        .target()
        .fetch_by_ids(&[id.to_owned()], ctx.source_system)
        .await?;
    match found.pop() {
        Some(t) => Ok(t.entry),
        None => Err(ResolveError::Invalid(format!(
            "the target has no entry {id}"
        ))),
    }
}

/// The JSON a resolution answer carries for errors.
pub fn error_details(e: &ResolveError) -> Value {
    match e {
        ResolveError::Refused(c) => json!({"error_class": c.class()}),
        ResolveError::Sync(SyncError::Remote(c)) => json!({"error_class": c.class()}),
        _ => json!({}),
    }
}
