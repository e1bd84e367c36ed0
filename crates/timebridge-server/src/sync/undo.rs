//! The executor of an undo run (trigger `undo`, `runs.undo_of`): takes back what an earlier
//! run wrote, entry by entry, as the pure [`timebridge_core::undo::decide`] says — deletes
//! what the run created, writes back what it updated, each only where the target entry is
//! still what the run wrote; anything changed since becomes a conflict.
//!
//! Crash safety: every step is decided from the state of the target and of the link, not
//! from what this run remembers. The remote write comes first, then the link that
//! remembers the undo (`Memory::Undone`) with its audit event. A run executed again after
//! a crash finds the links it stored ("already undone"), and entries deleted or written
//! back whose link it had not stored yet (settled without a second write), so nothing is
//! deleted twice and nothing is restored over a later change.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use serde_json::json;
use timebridge_connectors::{ConnectorError, Marker, SourceQuery};
use timebridge_core::entry::{Entry, Window};
use timebridge_core::fingerprint::{Fingerprint, fingerprint};
use timebridge_core::plan::{
    Action, ConflictOrigin, ConflictReason, ConflictView, LinkRecord, TargetItem,
};
use timebridge_core::undo::{self, Blocked, UndoStep, Written, WrittenEntry};
use timebridge_store::{AuditAction, ItemOutcome, Run, RunItem, RunStatus};

use super::context::{PipelineContext, SyncError, to_record, to_row};
use super::engine::{RunReport, Stats, actor_of, conflict_item, error_item, item, may_write};
use super::env::SyncEnv;
use crate::audit;

/// A stored link as the undo needs it: the planner's record and the ticket it keeps.
struct Linked {
    record: LinkRecord,
    ticket: Option<i64>,
}

/// Entries taken back at once.
const UNDO_CONCURRENCY: usize = 8;

/// One item of the run being undone, as far as an undo is concerned.
enum Subject {
    /// A create or update with what an undo needs.
    Written(WrittenEntry),
    /// A create or update recorded without it (by a version before undo existed).
    Unrecorded(RunItem),
}

/// Executes the undo run `run`.
pub async fn execute(state: &SyncEnv, run: &Run) -> Result<RunReport, SyncError> {
    let original = run
        .undo_of
        .ok_or_else(|| SyncError::Config("an undo run must name the run it undoes".into()))?;
    let board = &state.progress;
    board.phase(run.id, "connecting", 0);
    let ctx = Arc::new(PipelineContext::load(state, run.pipeline_id).await?);
    let mut subjects: Vec<Subject> = state
        .store
        .list_run_items(original)
        .await?
        .into_iter()
        .filter(|i| matches!(i.outcome, ItemOutcome::Create | ItemOutcome::Update))
        .filter_map(|i| subject(i, original))
        .collect();
    let link_rows = state.store.load_links(run.pipeline_id).await?;
    // The undone entries stay quiet until their source changes after the undo: remember
    // each as the source holds it now (the run's own record when the read misses it).
    board.phase(run.id, "reading_source", 0);
    let now_in_source = source_now(&ctx, run, &subjects, &link_rows).await?;
    for s in &mut subjects {
        if let Subject::Written(w) = s
            && let Some(fp) = now_in_source.get(&w.source_key)
        {
            w.source = *fp;
        }
    }
    let links: HashMap<String, Linked> = link_rows
        .iter()
        .map(|l| {
            let linked = Linked {
                record: to_record(l),
                ticket: l.ticket_id,
            };
            (l.source_key.clone(), linked)
        })
        .collect();
    board.phase(run.id, "reading_target", 0);
    let mut ids: Vec<String> = subjects
        .iter()
        .filter_map(|s| match s {
            Subject::Written(w) => Some(w.target_id.clone()),
            Subject::Unrecorded(_) => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let current: HashMap<String, TargetItem> = if ids.is_empty() {
        HashMap::new()
    } else {
        ctx.target()
            .fetch_by_ids(&ids, ctx.source_system)
            .await?
            .into_iter()
            .map(|t| (t.target_id.clone(), t))
            .collect()
    };
    board.phase(run.id, "writing", subjects.len() as u64);
    let (ctx, links, current) = (&ctx, &links, &current);
    let done: Vec<(RunItem, Stats)> = futures::stream::iter(subjects)
        .map(|s| async move {
            let result = match s {
                Subject::Written(w) => {
                    undo_one(state, ctx, run, original, &w, links, current).await
                }
                Subject::Unrecorded(i) => {
                    let mut it = item(&i.source_key, ItemOutcome::Skip);
                    it.target_id = i.target_id;
                    it.message = Some(format!(
                        "not undone: run #{original} was recorded before timebridge kept what \
                         an undo needs"
                    ));
                    (
                        it,
                        Stats {
                            skipped: 1,
                            ..Stats::default()
                        },
                    )
                }
            };
            board.tick(run.id);
            result
        })
        .buffered(UNDO_CONCURRENCY)
        .collect()
        .await;
    let mut stats = Stats {
        fetched: done.len() as u64,
        ..Stats::default()
    };
    let mut items = Vec::with_capacity(done.len());
    for (it, delta) in done {
        stats.add(delta);
        items.push(it);
    }
    let mut errors = Vec::new();
    if state.stopping.load(std::sync::atomic::Ordering::SeqCst) {
        errors.push("interrupted: the process was asked to stop and sent no new writes".into());
    }
    if stats.errors > 0 {
        errors.push(format!(
            "{} of {} entries could not be taken back; undo run #{original} again to retry them",
            stats.errors,
            items.len()
        ));
    }
    Ok(RunReport {
        status: if stats.errors > 0 {
            RunStatus::Partial
        } else {
            RunStatus::Succeeded
        },
        stats,
        error: (!errors.is_empty()).then(|| errors.join("; ")),
        items,
    })
}

/// The raw source fingerprints, as the source holds them now, of the written entries.
async fn source_now(
    ctx: &PipelineContext,
    run: &Run,
    subjects: &[Subject],
    link_rows: &[timebridge_store::LinkRow],
) -> Result<HashMap<String, Fingerprint>, SyncError> {
    let keys: HashSet<&str> = subjects
        .iter()
        .filter_map(|s| match s {
            Subject::Written(w) => Some(w.source_key.as_str()),
            Subject::Unrecorded(_) => None,
        })
        .collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let mut linked_tickets: Vec<i64> = link_rows
        .iter()
        .filter(|l| keys.contains(l.source_key.as_str()))
        .filter_map(|l| l.ticket_id)
        .collect();
    linked_tickets.sort_unstable();
    linked_tickets.dedup();
    let batch = ctx
        .source()
        .fetch(&SourceQuery {
            window: Window {
                from: run.window_from,
                to: run.window_to,
            },
            tickets: None,
            linked_tickets,
            linked_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            memory: None,
        })
        .await?;
    Ok(batch
        .entries
        .iter()
        .filter(|e| keys.contains(e.key.as_str()))
        .map(|e| (e.key.clone(), fingerprint(e)))
        .collect())
}

/// What an item of the undone run says about its write.
fn subject(i: RunItem, original: i64) -> Option<Subject> {
    let target_id = i.target_id.clone()?;
    let Some(record) = &i.undo else {
        return Some(Subject::Unrecorded(i));
    };
    let kind = match (i.outcome, &record.before) {
        (ItemOutcome::Create, _) => Written::Created,
        (_, Some(before)) => match serde_json::from_value::<Entry>(before.clone()) {
            Ok(before) => Written::Updated {
                before: Box::new(before),
            },
            Err(e) => {
                tracing::warn!(run = original, source_key = %i.source_key, error = %e,
                    "The entry before an update cannot be read; it is not undone.");
                return Some(Subject::Unrecorded(i));
            }
        },
        _ => return Some(Subject::Unrecorded(i)),
    };
    Some(Subject::Written(WrittenEntry {
        source_key: i.source_key,
        target_id,
        written: Fingerprint::from_i64(record.written_fingerprint),
        source: Fingerprint::from_i64(record.source_fingerprint),
        kind,
    }))
}

/// Takes back one write.
async fn undo_one(
    state: &SyncEnv,
    ctx: &PipelineContext,
    run: &Run,
    original: i64,
    w: &WrittenEntry,
    links: &HashMap<String, Linked>,
    current: &HashMap<String, TargetItem>,
) -> (RunItem, Stats) {
    let key = w.source_key.as_str();
    let linked = links.get(key);
    let link = linked.map(|l| &l.record);
    let now_in_target = current.get(&w.target_id);
    let step = undo::decide(original, w, link, now_in_target.map(|t| &t.entry));
    let done = |restored: bool, message: String| {
        let mut it = item(
            key,
            if restored {
                ItemOutcome::Restore
            } else {
                ItemOutcome::Delete
            },
        );
        it.target_id = Some(w.target_id.clone());
        it.message = Some(message);
        let stats = if restored {
            Stats {
                restored: 1,
                ..Stats::default()
            }
        } else {
            Stats {
                deleted: 1,
                ..Stats::default()
            }
        };
        (it, stats)
    };
    let restores = matches!(w.kind, Written::Updated { .. });
    match step {
        UndoStep::AlreadyUndone => done(
            restores,
            "already undone (by an earlier attempt of this undo)".into(),
        ),
        UndoStep::Blocked(why) => blocked(state, run, original, w, why, now_in_target).await,
        _ if run.dry_run => done(
            restores,
            match (&step, restores) {
                (UndoStep::Settle, _) => "would only be recorded: the target already shows it",
                (_, true) => "would be written back to what it was before the run",
                (_, false) => "would be deleted",
            }
            .into(),
        ),
        UndoStep::Settle => {
            let left = now_in_target.map(|t| &t.entry);
            if let Err(e) = settle(state, run, original, w, linked, left, true).await {
                return error_item(key, &format!("could not store the link: {e}"));
            }
            done(
                restores,
                if restores {
                    "already as it was before the run; recorded".into()
                } else {
                    "already gone from the target; recorded".into()
                },
            )
        }
        UndoStep::Delete | UndoStep::Restore(_) => {
            if let Err(why) = may_write(state, ctx, run) {
                return error_item(key, &why);
            }
            let Some(marker) = Marker::new(ctx.source_system, key) else {
                return error_item(key, "the source key cannot be written as a link marker");
            };
            crate::faults::before_remote_write();
            let result = match &step {
                UndoStep::Restore(before) => ctx
                    .target()
                    .update(&w.target_id, &marker, before)
                    .await
                    .map(Some),
                _ => ctx.target().delete(&w.target_id).await.map(|()| None),
            };
            crate::faults::after_remote_write();
            let left = match result {
                Ok(left) => left,
                // Deleted in the meantime: as good as done.
                Err(ConnectorError::NotFound { .. }) if !restores => None,
                Err(e) if e.is_entry_level() => {
                    let why = if matches!(e, ConnectorError::NotFound { .. }) {
                        Blocked::DeletedInTarget
                    } else {
                        Blocked::ChangedInTarget
                    };
                    let (mut it, stats) =
                        blocked(state, run, original, w, why, now_in_target).await;
                    it.message = Some(format!("The target refused to take it back: {e}"));
                    return (it, stats);
                }
                Err(e) => {
                    ctx.note_write_failure(&e);
                    return error_item(key, &format!("undo failed: {e}; undo again to retry"));
                }
            };
            if let Err(e) = settle(
                state,
                run,
                original,
                w,
                linked,
                left.as_ref().map(|t| &t.entry),
                false,
            )
            .await
            {
                // The next attempt finds the entry as the undo left it and settles it.
                return error_item(
                    key,
                    &format!("taken back, but the link could not be stored: {e}"),
                );
            }
            done(
                restores,
                if restores {
                    format!("written back to what it was before run #{original}")
                } else {
                    format!("deleted: run #{original} had created it")
                },
            )
        }
    }
}

/// Stores the link that remembers the undo and audits what was taken back.
async fn settle(
    state: &SyncEnv,
    run: &Run,
    original: i64,
    w: &WrittenEntry,
    linked: Option<&Linked>,
    left: Option<&Entry>,
    found: bool,
) -> Result<(), SyncError> {
    let rec = undo::link_after_undo(original, w, linked.map(|l| &l.record), left);
    let ticket = linked.and_then(|l| l.ticket);
    let restored = matches!(w.kind, Written::Updated { .. });
    let event = audit::event(
        state,
        actor_of(run.trigger),
        if restored {
            AuditAction::EntryUpdated
        } else {
            AuditAction::EntryDeleted
        },
        "entry",
        Some(w.target_id.clone()),
        json!({"pipeline_id": run.pipeline_id, "run_id": run.id, "undo_of": original,
               "source_key": w.source_key, "restored": restored,
               // Found already taken back (an interrupted undo, or a person): no write.
               "found_done": found}),
        None,
    );
    // The link that remembers the undo and its audit event together, or neither.
    state
        .store
        .complete_write(
            run.pipeline_id,
            &to_row(&rec, ticket, None),
            None,
            event,
            state.clock.now(),
        )
        .await?;
    Ok(())
}

/// The conflict of an entry that is not taken back.
async fn blocked(
    state: &SyncEnv,
    run: &Run,
    original: i64,
    w: &WrittenEntry,
    why: Blocked,
    now_in_target: Option<&TargetItem>,
) -> (RunItem, Stats) {
    let reason = match why {
        Blocked::DeletedInTarget => ConflictReason::TargetDeleted,
        Blocked::ChangedInTarget | Blocked::RewrittenSince => ConflictReason::TargetModified,
    };
    let view = ConflictView {
        source_key: w.source_key.clone(),
        target_id: Some(w.target_id.clone()),
        reason,
        origin: ConflictOrigin::Planner,
        message: why.message(original, &w.target_id),
        source: None,
        target: now_in_target.map(|t| t.entry.clone()),
        diff: Vec::new(),
        // The entry stays as it is: the undo has nothing else to offer. The next sync
        // judges it afresh (and closes this conflict when its cause is gone).
        allowed_actions: vec![Action::Skip],
        cause: timebridge_core::Cause::one_off(&w.source_key),
    };
    conflict_item(state, None, run, &w.source_key, view, None, None).await
}
