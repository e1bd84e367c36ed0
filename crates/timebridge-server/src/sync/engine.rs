//! The executor: reads both sides, plans with the pure planner, and applies the plan
//! through the target connector, recording every item.
//!
//! Crash safety: before each remote write an intent is stored; after the write the link
//! is stored and the intent deleted. A run that starts finds the intents an earlier
//! process left and settles them first: a create is looked up by its marker and adopted
//! if it happened (else the plan creates it again); updates and deletes need nothing, the
//! plan sees the target as it is. Together with the planner adopting marked but unlinked
//! entries, a kill at any point yields neither a duplicate nor a lost entry.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use timebridge_store::AuditAction;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use timebridge_connectors::{ConnectorError, Marker, SourceQuery, SourceScope};
use timebridge_core::entry::{Entry, Window};
use timebridge_core::fingerprint;
use timebridge_core::mapping::MappingResult;
use timebridge_core::plan::{
    self, ConflictOrigin, ConflictReason, ConflictView, Decision, LinkRecord, Outcome, Plan,
    PlanInput, SourceItem, link_after_write,
};
use timebridge_core::rounding::AppliedRounding;
use timebridge_store::{
    CompletedWrite, GroupFacts, ItemOutcome, NewConflict, NewWriteIntent, Run, RunItem, RunScope,
    RunStatus, RunTrigger, UndoRecord,
};

use super::book::Book;
use super::context::{PipelineContext, SyncError, to_record, to_row};
use super::env::SyncEnv;
use crate::audit::{Actor, record};

/// How the message of a conflict raised by the target's own refusal of a write begins
/// (for people; the conflict's `origin` says it for the code).
const REFUSED_BY_TARGET: &str = "The target refused the";

/// Remote writes in flight at once during a run.
const WRITE_CONCURRENCY: usize = 8;

/// Decisions being applied at once: more than the writes, so that while 8 writes are out
/// the others record their intents, links and conflicts in groups (see [`Book`]).
const DECISIONS_IN_FLIGHT: usize = 64;

/// Counts of a run (`stats` in the API).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub fetched: u64,
    pub in_sync: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub conflicts: u64,
    pub errors: u64,
    /// Undo runs: target entries deleted (their run had created them).
    pub deleted: u64,
    /// Undo runs: target entries written back to what they were before their run.
    pub restored: u64,
}

impl Stats {
    /// Adds the counts of one item (or of another run part).
    pub fn add(&mut self, d: Stats) {
        self.fetched += d.fetched;
        self.in_sync += d.in_sync;
        self.created += d.created;
        self.updated += d.updated;
        self.skipped += d.skipped;
        self.conflicts += d.conflicts;
        self.errors += d.errors;
        self.deleted += d.deleted;
        self.restored += d.restored;
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// `Succeeded`, `Partial` (some items failed) or `Failed` (the run could not proceed).
    pub status: RunStatus,
    pub stats: Stats,
    pub error: Option<String>,
    pub items: Vec<RunItem>,
}

/// The actor a run's audit events name.
pub fn actor_of(trigger: RunTrigger) -> Actor {
    match trigger {
        RunTrigger::Manual | RunTrigger::Resolution | RunTrigger::Undo => Actor::Admin,
        RunTrigger::Webhook => Actor::Webhook,
        RunTrigger::Schedule => Actor::System,
    }
}

/// Executes one claimed run and returns its report (never fails: a failure is a
/// `failed` report with the reason).
pub async fn execute(state: &SyncEnv, run: &Run) -> RunReport {
    let result = if run.trigger == RunTrigger::Undo {
        super::undo::execute(state, run).await
    } else {
        execute_inner(state, run).await
    };
    match result {
        Ok(report) => report,
        Err(e) => {
            tracing::warn!(run = run.id, pipeline = run.pipeline_id, error = %e, "Sync run failed.");
            RunReport {
                status: RunStatus::Failed,
                stats: Stats::default(),
                error: Some(e.to_string()),
                items: Vec::new(),
            }
        }
    }
}

async fn execute_inner(state: &SyncEnv, run: &Run) -> Result<RunReport, SyncError> {
    let board = &state.progress;
    board.phase(run.id, "connecting", 0);
    let ctx = Arc::new(PipelineContext::load(state, run.pipeline_id).await?);
    let window = Window {
        from: run.window_from,
        to: run.window_to,
    };
    // Creates this run made before its process died (it is being run again): found by
    // their markers and linked, they count as this run's creates (an undo takes them back).
    let mut recreated = HashSet::new();
    if !run.dry_run {
        board.phase(run.id, "recovering", 0);
        recreated = recover_intents(state, &ctx, run).await?;
        if run.attempts > 1 {
            // And the creates of an earlier attempt that got as far as their link.
            recreated.extend(
                state
                    .store
                    .keys_created_by_run(run.pipeline_id, run.id, run.created_at)
                    .await?,
            );
        }
    }
    // Before anything is read: new source projects must exist before entries use them.
    let mirrored = super::mirror::mirror_projects(state, &ctx, run).await;
    let Planned {
        input,
        plan,
        ticket_of,
        fetched,
    } = read_and_plan(
        state,
        &ctx,
        window,
        run.ticket_ids.clone(),
        run.scope.as_ref(),
        |phase| board.phase(run.id, phase, 0),
    )
    .await?;
    let mut stats = Stats {
        fetched,
        ..Stats::default()
    };

    // Writes the target refused stay refused until the entry changes or a person asks to
    // try again (`create` on the conflict, or "retry all" on its group): no blind retries
    // every run.
    let mut refused: HashMap<String, (i64, String, Value)> = state
        .store
        // Only what the target itself refused: a refusal the planner predicted from master
        // data is predicted afresh each run and lifts as soon as the cause is fixed.
        .open_target_refusals(run.pipeline_id, ConflictReason::TargetRejected.as_str())
        .await?
        .into_iter()
        .filter_map(|(id, key, message, source)| Some((key, (id, message, source?))))
        .collect();
    refused.retain(|key, _| !input.retry_refused.contains(key));
    board.phase(run.id, "writing", plan.decisions.len() as u64);
    let book = Book::open(
        state.store.clone(),
        state.clock.clone(),
        actor_of(run.trigger).as_str(),
    );
    let known = Known {
        ticket_of: &ticket_of,
        refused: &refused,
        recreated: &recreated,
        writes: &tokio::sync::Semaphore::new(WRITE_CONCURRENCY),
        book: &book,
    };
    let (items, applied) = apply(state, &ctx, run, &input, &plan, &known).await;
    book.close().await;
    stats.add(applied);
    if !run.dry_run {
        close_settled_conflicts(state, run, &items).await?;
    }
    let status = if stats.errors > 0 || !mirrored.failures.is_empty() {
        RunStatus::Partial
    } else {
        RunStatus::Succeeded
    };
    let mut errors: Vec<String> = mirrored.failures;
    if state.stopping.load(std::sync::atomic::Ordering::SeqCst) {
        errors.push("interrupted: the process was asked to stop and sent no new writes".into());
    }
    if stats.errors > 0 {
        errors.push(format!(
            "{} of {} entries could not be written; they are retried by the next run",
            stats.errors,
            items.len()
        ));
    }
    Ok(RunReport {
        status,
        stats,
        error: (!errors.is_empty()).then(|| errors.join("; ")),
        items,
    })
}

/// What [`read_and_plan`] read and decided.
#[derive(Debug)]
pub struct Planned {
    pub input: Arc<PlanInput>,
    pub plan: Plan,
    /// Source key → ticket, from the stored links.
    pub ticket_of: HashMap<String, i64>,
    /// Source entries read.
    pub fetched: u64,
}

/// Reads both sides of `ctx`'s pipeline for `window` and plans (a resolution `scope`
/// keeps only its entries' decisions). Writes nothing; `phase` is told where it is.
pub async fn read_and_plan(
    state: &SyncEnv,
    ctx: &Arc<PipelineContext>,
    window: Window,
    tickets: Option<Vec<i64>>,
    scope: Option<&RunScope>,
    phase: impl Fn(&str),
) -> Result<Planned, SyncError> {
    phase("reading_source");
    let link_rows = state.store.load_links(ctx.pipeline.id).await?;
    let mut linked_tickets: Vec<i64> = link_rows.iter().filter_map(|l| l.ticket_id).collect();
    linked_tickets.sort_unstable();
    linked_tickets.dedup();
    let source_id = ctx.pipeline.source_connector_id;
    // The source's memory is a cache: one that cannot be read is a first read.
    let memory = state
        .store
        .connector_memory(source_id)
        .await
        .inspect_err(|e| {
            tracing::warn!(connector = source_id, error = %e,
            "Could not read what the source connector remembered; reading without it.")
        })
        .ok()
        .flatten();
    // Both sides are read at once: the target's read needs nothing from the source's.
    let source_read = async {
        let batch = ctx
            .source()
            .fetch(&SourceQuery {
                window,
                tickets,
                linked_tickets,
                linked_keys: link_rows.iter().map(|l| l.source_key.clone()).collect(),
                memory,
            })
            .await;
        phase("reading_target");
        batch
    };
    let (mut batch, mut targets) =
        tokio::try_join!(source_read, ctx.target().fetch(&window, ctx.source_system))?;
    if let Some(memory) = batch.memory.take()
        && let Err(e) = state
            .store
            .remember_for_connector(source_id, memory, state.clock.now())
            .await
    {
        tracing::warn!(connector = source_id, error = %e,
            "Could not keep what the source connector remembered; the next read asks again.");
    }
    let fetched = batch.entries.len() as u64;
    let resolver = ctx.resolver();
    // Without mapped entries' explanations: a conflict's is built again (`explanation`).
    let sources: Vec<SourceItem> = batch
        .entries
        .into_iter()
        .map(|entry| {
            let mapping = resolver.resolve_unexplained(&entry);
            SourceItem { entry, mapping }
        })
        .collect();
    let source_keys: HashSet<&str> = sources.iter().map(|s| s.entry.key.as_str()).collect();
    let ticket_of: HashMap<String, i64> = link_rows
        .iter()
        .filter_map(|l| l.ticket_id.map(|t| (l.source_key.clone(), t)))
        .collect();
    // Which links this read can judge: all of them after a full read; after a read of
    // some tickets, the links of those tickets; after a newest-first read, all but the
    // keys it did not reach (others are unknown, not deleted).
    let scoped: Vec<&timebridge_store::LinkRow> = match &batch.scope {
        SourceScope::Everything => link_rows.iter().collect(),
        SourceScope::Recent { unread } => link_rows
            .iter()
            .filter(|l| !unread.contains(&l.source_key))
            .collect(),
        SourceScope::Tickets { ticket_ids } => link_rows
            .iter()
            .filter(|l| {
                source_keys.contains(l.source_key.as_str())
                    || l.ticket_id.is_some_and(|t| ticket_ids.contains(&t))
            })
            .collect(),
    };
    let scoped_keys: HashSet<&str> = scoped.iter().map(|l| l.source_key.as_str()).collect();
    // Marked entries of keys outside the scope would look like deleted sources.
    match &batch.scope {
        SourceScope::Everything => {}
        SourceScope::Tickets { .. } => targets.retain(|t| {
            t.link_key
                .as_deref()
                .is_none_or(|k| source_keys.contains(k) || scoped_keys.contains(k))
        }),
        SourceScope::Recent { unread } => {
            targets.retain(|t| t.link_key.as_ref().is_none_or(|k| !unread.contains(k)));
        }
    }
    let present: HashSet<String> = targets.iter().map(|t| t.target_id.clone()).collect();
    let missing: Vec<String> = scoped
        .iter()
        .filter(|l| source_keys.contains(l.source_key.as_str()))
        .filter_map(|l| l.target_id.clone())
        .filter(|id| !present.contains(id))
        .collect();
    if !missing.is_empty() {
        targets.extend(
            ctx.target()
                .fetch_by_ids(&missing, ctx.source_system)
                .await?,
        );
    }
    let input = PlanInput {
        window,
        sources,
        targets,
        links: scoped.iter().map(|l| to_record(l)).collect(),
        known_source_keys: batch.known_keys,
        include_running: ctx.rules.options.include_running,
        retry_refused: match scope {
            Some(scope) if scope.retry_refused => scope.source_keys.iter().cloned().collect(),
            _ => HashSet::new(),
        },
    };
    phase("planning");
    let only: Option<HashSet<String>> = scope.map(|s| s.source_keys.iter().cloned().collect());
    let (input, plan) = tokio::task::spawn_blocking(move || {
        let mut plan = plan::plan(&input);
        // A resolution run writes the entries of its group, nothing else.
        if let Some(only) = &only {
            plan.decisions
                .retain(|d| only.contains(d.source_key(&input)));
        }
        (input, plan)
    })
    .await
    .map_err(|e| SyncError::Config(format!("the planner stopped: {e}")))?;
    let input = Arc::new(input);
    Ok(Planned {
        input,
        plan,
        ticket_of,
        fetched,
    })
}

/// Settles the write intents an interrupted run left behind; returns the source keys whose
/// create was made by `run` itself (an earlier attempt of it) and adopted.
async fn recover_intents(
    state: &SyncEnv,
    ctx: &PipelineContext,
    run: &Run,
) -> Result<HashSet<String>, SyncError> {
    let mut recreated = HashSet::new();
    for intent in state.store.pending_write_intents(run.pipeline_id).await? {
        if intent.action == "create"
            && let Some(marker) = Marker::new(ctx.source_system, &intent.source_key)
            && let Ok(desired) = serde_json::from_value::<Entry>(intent.desired.clone())
        {
            let mut found = ctx.target().find_marked(&marker, &desired).await?;
            found.sort_by_key(|t| t.target_id.parse::<i64>().unwrap_or(i64::MAX));
            if let Some(item) = found.first() {
                let link =
                    link_after_write(&intent.source_key, &item.target_id, &desired, &item.entry);
                state
                    .store
                    .upsert_link(
                        run.pipeline_id,
                        // What rounding added is not in the intent; the entry itself is.
                        &to_row(&link, desired.ticket.as_ref().map(|t| t.id), None),
                        state.clock.now(),
                    )
                    .await?;
                record(
                    state,
                    Actor::System,
                    AuditAction::EntryCreated,
                    "entry",
                    Some(item.target_id.clone()),
                    json!({"pipeline_id": run.pipeline_id, "source_key": intent.source_key,
                           "recovered": true,
                           "note": "written by an interrupted run; found by its marker and linked"}),
                    None,
                )
                .await;
                tracing::info!(pipeline = run.pipeline_id, source_key = %intent.source_key,
                    target_id = %item.target_id, "Recovered a create of an interrupted run.");
                if intent.run_id == Some(run.id) {
                    recreated.insert(intent.source_key.clone());
                }
            }
        }
        state.store.delete_write_intent(intent.id).await?;
    }
    Ok(recreated)
}

/// What a run knows besides the plan when it applies it.
struct Known<'a> {
    /// Source key → ticket, from the stored links.
    ticket_of: &'a HashMap<String, i64>,
    /// Open refusals by the target: key → (conflict id, message, refused entry).
    refused: &'a HashMap<String, (i64, String, Value)>,
    /// Keys this run created in an attempt that died (see `recover_intents`).
    recreated: &'a HashSet<String>,
    /// Permits to send a remote write (WRITE_CONCURRENCY of them).
    writes: &'a tokio::sync::Semaphore,
    /// The run's bookkeeping (intents, completions, conflicts), committed in groups.
    book: &'a Book,
}

pub(super) fn item(key: &str, outcome: ItemOutcome) -> RunItem {
    RunItem {
        source_key: key.to_owned(),
        outcome,
        reason: None,
        target_id: None,
        conflict_id: None,
        message: None,
        rounded_seconds: None,
        rounding_rule: None,
        undo: None,
    }
}

/// The mapping explanation of the decision's source entry, for its conflict. Planned
/// entries carry none when mapped ([`Resolver::resolve_unexplained`]); resolving the entry
/// again with the same rules gives the one the conflict stores.
///
/// [`Resolver::resolve_unexplained`]: timebridge_core::Resolver::resolve_unexplained
fn explanation(ctx: &PipelineContext, d: &Decision, input: &PlanInput) -> Option<Value> {
    d.source.map(|s| {
        let item = &input.sources[s];
        let explained;
        let mapping = if let MappingResult::Mapped { .. } = item.mapping {
            explained = ctx.resolver().resolve(&item.entry);
            &explained
        } else {
            &item.mapping
        };
        serde_json::to_value(mapping.explanation()).unwrap_or_default()
    })
}

/// What the pipeline's rounding did to the decision's entry, if anything.
fn rounding_of(d: &Decision, input: &PlanInput) -> Option<AppliedRounding> {
    d.source.and_then(|s| input.sources[s].mapping.rounding())
}

/// `it` with what rounding added to the entry it is about.
fn with_rounding(mut it: RunItem, rounding: Option<AppliedRounding>) -> RunItem {
    it.rounded_seconds = rounding.map(|r| r.seconds);
    it.rounding_rule = rounding.and_then(|r| r.rule).map(|n| n as i32);
    it
}

async fn apply(
    state: &SyncEnv,
    ctx: &Arc<PipelineContext>,
    run: &Run,
    input: &Arc<PlanInput>,
    plan: &Plan,
    known: &Known<'_>,
) -> (Vec<RunItem>, Stats) {
    // Futures are created lazily, as slots free up: at most DECISIONS_IN_FLIGHT exist at
    // a time, not one per decision up front (each costs kilobytes). Boxed so that they are
    // plainly `Send` (the compiler cannot prove it for them across the borrowed plan).
    let total = plan.decisions.len();
    let mut in_flight: FuturesUnordered<BoxFuture<'_, (usize, (RunItem, Stats))>> =
        FuturesUnordered::new();
    // Each item goes to its decision's place as it finishes: one vector of items, counted
    // as they come, instead of a vector of results sorted and copied into another.
    let mut items: Vec<Option<RunItem>> = Vec::with_capacity(total);
    items.resize_with(total, || None);
    let mut stats = Stats::default();
    let mut next = 0;
    loop {
        while in_flight.len() < DECISIONS_IN_FLIGHT && next < total {
            let index = next;
            next += 1;
            let d = &plan.decisions[index];
            in_flight.push(
                async move {
                    let view = plan.conflict_view(input, index);
                    let result = apply_one(state, ctx, run, input, d, view, known).await;
                    state.progress.tick(run.id);
                    (index, result)
                }
                .boxed(),
            );
        }
        match in_flight.next().await {
            Some((index, (item, delta))) => {
                stats.add(delta);
                items[index] = Some(item);
            }
            None => break,
        }
    }
    // Every decision was pushed and awaited, so every place is filled (in place: an
    // `Option<RunItem>` is the size of a `RunItem`).
    (items.into_iter().flatten().collect(), stats)
}

#[allow(clippy::too_many_arguments)]
async fn apply_one(
    state: &SyncEnv,
    ctx: &PipelineContext,
    run: &Run,
    input: &PlanInput,
    d: &Decision,
    view: Option<ConflictView>,
    known: &Known<'_>,
) -> (RunItem, Stats) {
    let (ticket_of, refused) = (known.ticket_of, known.refused);
    let key = d.source_key(input).to_owned();
    let mut stats = Stats::default();
    let ticket_id = d
        .source
        .and_then(|s| input.sources[s].entry.ticket.as_ref().map(|t| t.id))
        .or_else(|| ticket_of.get(&key).copied());
    match &d.outcome {
        Outcome::Skip => {
            stats.skipped = 1;
            (item(&key, ItemOutcome::Skip), stats)
        }
        Outcome::Ignored(why) => {
            stats.skipped = 1;
            let mut it = item(&key, ItemOutcome::Skip);
            it.message = Some(why.message().to_owned());
            it.target_id = d.target_id(input).map(str::to_owned);
            (it, stats)
        }
        Outcome::InSync { refresh } => {
            stats.in_sync = 1;
            let rounding = rounding_of(d, input);
            let mut it = with_rounding(item(&key, ItemOutcome::InSync), rounding);
            it.target_id = d.target_id(input).map(str::to_owned);
            if let (Some(r), false) = (refresh, run.dry_run) {
                let rec = LinkRecord {
                    source_key: key.clone(),
                    target_id: it.target_id.clone(),
                    desired_fingerprint: Some(r.desired_fingerprint),
                    target_fingerprint: Some(r.target_fingerprint),
                    memory: None,
                };
                if let Err(e) = state
                    .store
                    .upsert_link(
                        run.pipeline_id,
                        &to_row(&rec, ticket_id, rounding),
                        state.clock.now(),
                    )
                    .await
                {
                    return error_item(&key, &format!("could not store the link: {e}"));
                }
            }
            // Written by an earlier attempt of this run: it is this run's create.
            if known.recreated.contains(&key)
                && let (Some(t), Some(src)) = (d.target, d.source)
            {
                it.outcome = ItemOutcome::Create;
                it.message =
                    Some("created before the run was interrupted; found by its marker".into());
                it.undo = Some(UndoRecord {
                    written_fingerprint: fingerprint(&input.targets[t].entry).as_i64(),
                    source_fingerprint: fingerprint(&input.sources[src].entry).as_i64(),
                    before: None,
                });
                stats = Stats {
                    created: 1,
                    ..Stats::default()
                };
            }
            (it, stats)
        }
        Outcome::Conflict(_) => {
            let Some(view) = view else {
                return error_item(&key, "conflict without a view");
            };
            let raw = raw_source(d, input);
            conflict_item(
                state,
                Some(known.book),
                run,
                &key,
                view,
                explanation(ctx, d, input),
                raw,
            )
            .await
        }
        Outcome::Create | Outcome::Update => {
            let Some(desired) = d.desired(input) else {
                return error_item(&key, "nothing to write: the entry is not mapped");
            };
            let is_create = matches!(d.outcome, Outcome::Create);
            let outcome = if is_create {
                ItemOutcome::Create
            } else {
                ItemOutcome::Update
            };
            if let Some((id, message, refused_entry)) = refused.get(&key)
                && serde_json::to_value(desired).ok().as_ref() == Some(refused_entry)
            {
                let mut it = item(&key, ItemOutcome::Conflict);
                it.reason = Some(ConflictReason::TargetRejected.as_str().to_owned());
                it.conflict_id = (!run.dry_run).then_some(*id);
                it.message = Some(message.clone());
                stats.conflicts = 1;
                return (it, stats);
            }
            if run.dry_run {
                if is_create {
                    stats.created = 1;
                } else {
                    stats.updated = 1;
                }
                let mut it = with_rounding(item(&key, outcome), rounding_of(d, input));
                it.target_id = d.target_id(input).map(str::to_owned);
                return (it, stats);
            }
            let Some(marker) = Marker::new(ctx.source_system, &key) else {
                return error_item(&key, "the source key cannot be written as a link marker");
            };
            let target_id = d.target_id(input).map(str::to_owned);
            write(
                state, ctx, run, known, &key, &marker, desired, target_id, ticket_id, d, input,
            )
            .await
        }
    }
}

pub(super) fn error_item(key: &str, message: &str) -> (RunItem, Stats) {
    let mut it = item(key, ItemOutcome::Error);
    it.message = Some(message.to_owned());
    (
        it,
        Stats {
            errors: 1,
            ..Stats::default()
        },
    )
}

/// Whether the run may send a remote write now: not while the run has stopped writing
/// (the target failed in a way that is not about one entry), the process is stopping,
/// or the worker's lease on the pipeline is not confirmed. `Err` is the item's message.
pub(super) fn may_write(state: &SyncEnv, ctx: &PipelineContext, run: &Run) -> Result<(), String> {
    let stopping = state
        .stopping
        .load(std::sync::atomic::Ordering::SeqCst)
        .then(|| "the process is shutting down".to_owned());
    if let Some(reason) = ctx.halted().or(stopping) {
        return Err(format!(
            "not attempted: the run stopped writing because {reason}; the next run retries"
        ));
    }
    let lease = super::worker::lease().to_std().unwrap_or_default();
    if !state.fences.may_write(run.id, lease) {
        return Err(
            "not written: this worker's lease on the pipeline is not confirmed (the database \
             did not answer in time); the next run writes it"
                .into(),
        );
    }
    Ok(())
}

/// Creates or updates one entry in the target, recording intent, link and audit.
#[allow(clippy::too_many_arguments)]
async fn write(
    state: &SyncEnv,
    ctx: &PipelineContext,
    run: &Run,
    known: &Known<'_>,
    key: &str,
    marker: &Marker,
    desired: &Entry,
    target_id: Option<String>,
    ticket_id: Option<i64>,
    d: &Decision,
    input: &PlanInput,
) -> (RunItem, Stats) {
    let is_create = target_id.is_none();
    let action = if is_create { "create" } else { "update" };
    let book = known.book;
    let intent = book
        .intent(
            NewWriteIntent {
                pipeline_id: run.pipeline_id,
                run_id: Some(run.id),
                source_key: key.to_owned(),
                action: action.to_owned(),
                target_id: target_id.clone(),
                desired: serde_json::to_value(desired).unwrap_or_default(),
            },
            state.clock.now(),
        )
        .await;
    let intent = match intent {
        Ok(id) => id,
        Err(e) => return error_item(key, &format!("could not record the write intent: {e}")),
    };
    // One of the run's WRITE_CONCURRENCY slots for the remote call only: the records
    // before and after it are made in groups while other writes are out.
    let permit = known.writes.acquire().await;
    if let Err(why) = may_write(state, ctx, run) {
        drop(permit);
        let _ = state.store.delete_write_intent(intent).await;
        return error_item(key, &why);
    }
    crate::faults::before_remote_write();
    let result = match &target_id {
        None => ctx.target().create(marker, desired).await,
        Some(id) => ctx.target().update(id, marker, desired).await,
    };
    crate::faults::after_remote_write();
    drop(permit);
    match result {
        Ok(written) => {
            let link = link_after_write(key, &written.target_id, desired, &written.entry);
            let rounding = rounding_of(d, input);
            let event = crate::audit::event(
                state,
                actor_of(run.trigger),
                if is_create {
                    AuditAction::EntryCreated
                } else {
                    AuditAction::EntryUpdated
                },
                "entry",
                Some(written.target_id.clone()),
                json!({"pipeline_id": run.pipeline_id, "run_id": run.id, "source_key": key,
                       "begin": desired.begin, "end": desired.end,
                       "duration_seconds": desired.duration_seconds,
                       "rounded_seconds": rounding.map(|r| r.seconds),
                       // The daily summary's hours by project.
                       "project": desired.project.as_ref()
                           .map(|p| p.name.clone().unwrap_or_else(|| p.key.clone()))}),
                None,
            );
            // Link, intent and audit event in one transaction: a crash keeps all or none.
            if let Err(e) = book
                .complete(CompletedWrite {
                    pipeline_id: run.pipeline_id,
                    link: to_row(&link, ticket_id, rounding),
                    intent_id: Some(intent),
                    event,
                    at: state.clock.now(),
                })
                .await
            {
                // The intent stays: the next run adopts the entry by its marker.
                return error_item(
                    key,
                    &format!("written, but the link could not be stored: {e}"),
                );
            }
            let mut it = with_rounding(
                item(
                    key,
                    if is_create {
                        ItemOutcome::Create
                    } else {
                        ItemOutcome::Update
                    },
                ),
                rounding,
            );
            it.target_id = Some(written.target_id);
            // What an undo of this run needs: the entry as the target stored it, the raw
            // source entry, and for an update the target entry before it.
            it.undo = d.source.map(|s| UndoRecord {
                written_fingerprint: fingerprint(&written.entry).as_i64(),
                source_fingerprint: fingerprint(&input.sources[s].entry).as_i64(),
                before: d
                    .target
                    .filter(|_| !is_create)
                    .map(|t| serde_json::to_value(&input.targets[t].entry).unwrap_or_default()),
            });
            let stats = if is_create {
                Stats {
                    created: 1,
                    ..Stats::default()
                }
            } else {
                Stats {
                    updated: 1,
                    ..Stats::default()
                }
            };
            (it, stats)
        }
        // A 404 on a create means a wrong URL, not a missing entry.
        Err(e)
            if e.is_entry_level()
                && !(is_create && matches!(e, ConnectorError::NotFound { .. })) =>
        {
            let _ = state.store.delete_write_intent(intent).await;
            let reason = match &e {
                ConnectorError::Locked { .. } => ConflictReason::Locked,
                ConnectorError::NotFound { .. } if !is_create => ConflictReason::TargetDeleted,
                _ => ConflictReason::TargetRejected,
            };
            let view = ConflictView {
                source_key: key.to_owned(),
                target_id: target_id.clone(),
                reason,
                origin: ConflictOrigin::Target,
                message: format!("{REFUSED_BY_TARGET} {action}: {e}"),
                source: Some(desired.clone()),
                target: d.target.map(|t| input.targets[t].entry.clone()),
                diff: Vec::new(),
                allowed_actions: reason.allowed_actions().to_vec(),
                cause: timebridge_core::Cause::one_off(key),
            };
            let explanation = explanation(ctx, d, input);
            conflict_item(
                state,
                Some(book),
                run,
                key,
                view,
                explanation,
                raw_source(d, input),
            )
            .await
        }
        Err(e) => {
            // Not known to have failed cleanly: keep the intent for the next run only when
            // the write may have happened.
            if !e.outcome_unknown() {
                let _ = state.store.delete_write_intent(intent).await;
            }
            ctx.note_write_failure(&e);
            error_item(key, &format!("{action} failed: {e}"))
        }
    }
}

/// The source entry of a decision as the source connector read it.
fn raw_source(d: &Decision, input: &PlanInput) -> Option<Value> {
    d.source
        .map(|s| serde_json::to_value(&input.sources[s].entry).unwrap_or_default())
}

/// Stores (or refreshes) a conflict and returns its run item.
pub(super) async fn conflict_item(
    state: &SyncEnv,
    book: Option<&Book>,
    run: &Run,
    key: &str,
    view: ConflictView,
    explanation: Option<Value>,
    raw_source: Option<Value>,
) -> (RunItem, Stats) {
    let stats = Stats {
        conflicts: 1,
        ..Stats::default()
    };
    let mut it = item(key, ItemOutcome::Conflict);
    it.reason = Some(view.reason.as_str().to_owned());
    it.message = Some(view.message.clone());
    it.target_id = view.target_id.clone();
    if run.dry_run {
        return (it, stats);
    }
    let new = NewConflict {
        pipeline_id: run.pipeline_id,
        source_key: key.to_owned(),
        reason: view.reason.as_str().to_owned(),
        origin: view.origin,
        source: view
            .source
            .as_ref()
            .map(|e| serde_json::to_value(e).unwrap_or_default()),
        raw_source,
        target: view
            .target
            .as_ref()
            .map(|e| serde_json::to_value(e).unwrap_or_default()),
        target_id: view.target_id.clone(),
        diff: serde_json::to_value(&view.diff).unwrap_or_default(),
        allowed_actions: serde_json::to_value(&view.allowed_actions).unwrap_or_default(),
        message: view.message.clone(),
        explanation,
        run_id: Some(run.id),
        group: GroupFacts {
            seconds: view.source.as_ref().and_then(|e| e.duration_seconds),
            customer: view.source.as_ref().and_then(|e| e.customer.clone()),
            entry_begin: view
                .source
                .as_ref()
                .or(view.target.as_ref())
                .map(|e| e.begin),
            cause: Some(view.cause.clone()),
        },
    };
    // The conflict and, if it is new or its reason changed, its `conflict_raised` event
    // in one transaction: grouped with the run's other records when a book is open.
    let raised = match book {
        Some(book) => book.conflict(new).await,
        None => state
            .store
            .raise_conflicts(vec![new], actor_of(run.trigger).as_str(), state.clock.now())
            .await
            .map(|r| r[0]),
    };
    match raised {
        Ok((id, _)) => {
            it.conflict_id = Some(id);
            (it, stats)
        }
        Err(e) => error_item(key, &format!("could not store the conflict: {e}")),
    }
}

/// Closes open conflicts whose source key this run decided without a conflict: their
/// cause has gone (a mapping was added, someone fixed the entry in the target, …).
async fn close_settled_conflicts(
    state: &SyncEnv,
    run: &Run,
    items: &[RunItem],
) -> Result<(), SyncError> {
    let settled: HashMap<&str, &RunItem> = items
        .iter()
        .filter(|i| !matches!(i.outcome, ItemOutcome::Conflict | ItemOutcome::Error))
        .map(|i| (i.source_key.as_str(), i))
        .collect();
    for (id, source_key, reason) in state.store.open_conflict_keys(run.pipeline_id).await? {
        let Some(it) = settled.get(source_key.as_str()) else {
            continue;
        };
        let note = format!(
            "Closed automatically by run #{}: the cause is gone (the entry is now {}).",
            run.id,
            it.outcome.as_str().replace('_', " ")
        );
        let now = state.clock.now();
        let resolution = json!({"action": "auto_closed", "note": note, "at": now});
        if state.store.resolve_conflict(id, resolution, now).await? {
            record(
                state,
                Actor::System,
                AuditAction::ConflictResolved,
                "conflict",
                Some(id.to_string()),
                json!({"pipeline_id": run.pipeline_id, "run_id": run.id,
                       "source_key": source_key, "reason": reason,
                       "action": "auto_closed", "note": note}),
                None,
            )
            .await;
        }
    }
    Ok(())
}
