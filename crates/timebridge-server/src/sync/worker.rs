//! The worker inside every `serve` process: it puts runs of dead workers back in the
//! queue, enqueues scheduled runs, and claims and executes queued runs one at a time,
//! renewing its lease while a run lasts. Several processes on one PostgreSQL database each
//! run a worker; the per-pipeline lease lets only one of them run a pipeline at a time.

use std::time::Duration;
use timebridge_store::AuditAction;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use timebridge_store::{NewRun, Run, RunOutcome, RunStatus, RunTrigger};
use tokio::sync::watch;

use super::engine::{RunReport, actor_of, execute};
use super::env::SyncEnv;
use crate::audit::record;

/// The variable that shortens the lease (tests of crash recovery); default 60 s.
pub const LEASE_VAR: &str = "TIMEBRIDGE_LEASE_SECONDS";

/// How long a claimed run's lease lasts without renewal: a run whose worker died is
/// picked up again this long after its last renewal.
pub fn lease() -> chrono::Duration {
    static LEASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let secs = *LEASE.get_or_init(|| {
        std::env::var(LEASE_VAR)
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|s| *s >= 1)
            .unwrap_or(60)
    });
    chrono::Duration::seconds(secs)
}

/// How often a running run renews its lease: four times per lease.
fn renew_every() -> Duration {
    lease().to_std().unwrap_or(Duration::from_secs(60)) / 4
}
/// How often the worker looks for due work when nothing wakes it.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Longest time between two housekeeping rounds (requeue runs of dead workers, queue due
/// scheduled runs, retention); sooner when a scheduled run falls due. Between them an idle
/// worker asks the database one question per [`POLL_EVERY`] (is a run queued, e.g. by
/// another process?); runs this process queues wake it at once.
const HOUSEKEEPING_EVERY: chrono::Duration = chrono::Duration::seconds(15);

/// When the worker's next housekeeping round is due.
#[derive(Debug, Default)]
pub struct Housekeeping {
    next_at: Option<DateTime<Utc>>,
}

/// A unique name for this process's worker.
pub fn worker_name() -> String {
    format!(
        "{}-{}-{}",
        hostname(),
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "timebridge".into())
}

/// The default window of a pipeline ending on `today` (UTC): `window_days` days.
pub fn default_window(today: NaiveDate, window_days: i32) -> (NaiveDate, NaiveDate) {
    let days = i64::from(window_days.max(1)) - 1;
    (today - chrono::Duration::days(days), today)
}

/// Runs the worker until `shutdown` turns true.
pub async fn run_worker(state: SyncEnv, mut shutdown: watch::Receiver<bool>) {
    let owner = worker_name();
    tracing::info!(worker = %owner, "Sync worker started.");
    let mut housekeeping = Housekeeping::default();
    loop {
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = tick(&state, &owner, &mut housekeeping).await {
            tracing::warn!(error = %e, "Sync worker tick failed; retrying.");
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = state.wake.notified() => {}
            _ = tokio::time::sleep(POLL_EVERY) => {}
        }
    }
    tracing::info!(worker = %owner, "Sync worker stopped.");
}

/// One round: when due, housekeeping (requeue expired runs, enqueue due scheduled runs,
/// retention); then run everything claimable.
pub async fn tick(
    state: &SyncEnv,
    owner: &str,
    housekeeping: &mut Housekeeping,
) -> Result<(), timebridge_store::StoreError> {
    let now = state.clock.now();
    if housekeeping.next_at.is_none_or(|at| now >= at) {
        let requeued = state.store.requeue_expired_runs(now).await?;
        if requeued > 0 {
            tracing::warn!(
                runs = requeued,
                "Requeued runs whose worker stopped without finishing."
            );
        }
        let next_due = enqueue_scheduled(state).await?;
        retention(state).await?;
        let latest = now + HOUSEKEEPING_EVERY;
        housekeeping.next_at = Some(next_due.map_or(latest, |due| due.min(latest)));
    }
    loop {
        let now = state.clock.now();
        let Some(run) = state
            .store
            .claim_next_run(owner, now, now + lease())
            .await?
        else {
            break;
        };
        run_claimed(state, owner, run).await?;
    }
    Ok(())
}

/// Runs the retention purge once a day (per process): run items, resolved conflicts and
/// audit events older than `retention_days` are deleted; links never are.
pub async fn retention(state: &SyncEnv) -> Result<(), timebridge_store::StoreError> {
    let now = state.clock.now();
    {
        let mut last = state
            .retention_ran_at
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| now - t < chrono::Duration::days(1)) {
            return Ok(());
        }
        *last = Some(now);
    }
    let days = state.store.get_settings().await?.retention_days.max(1);
    let cutoff = now - chrono::Duration::days(days);
    let counts = state.store.purge_older_than(cutoff).await?;
    if counts.run_items + counts.resolved_conflicts + counts.audit_events > 0 {
        record(
            state,
            crate::audit::Actor::System,
            AuditAction::RetentionPurged,
            "settings",
            None,
            json!({"retention_days": days, "cutoff": cutoff, "deleted": counts}),
            None,
        )
        .await;
        tracing::info!(
            run_items = counts.run_items,
            resolved_conflicts = counts.resolved_conflicts,
            audit_events = counts.audit_events,
            "Retention purge done."
        );
    }
    Ok(())
}

/// Enqueues a scheduled run for every enabled pipeline whose interval has passed since
/// its last scheduled run (or its creation) and that has nothing queued or running;
/// returns when the next one falls due, if any is scheduled.
pub async fn enqueue_scheduled(
    state: &SyncEnv,
) -> Result<Option<DateTime<Utc>>, timebridge_store::StoreError> {
    let now = state.clock.now();
    let mut next_due: Option<DateTime<Utc>> = None;
    let pipelines = state.store.all_pipelines().await?;
    for p in pipelines {
        if !p.enabled || !p.schedule_enabled || p.interval_minutes <= 0 {
            continue;
        }
        let every = chrono::Duration::minutes(i64::from(p.interval_minutes));
        // The first scheduled run comes one interval after the pipeline was created (a
        // person who wants it at once starts a manual run).
        let since = match state.store.last_scheduled_run(p.id).await? {
            None => p.created_at,
            Some(last) => last.created_at,
        };
        let due = since + every <= now;
        if !due {
            next_due = Some(next_due.map_or(since + every, |n| n.min(since + every)));
            continue;
        }
        let (from, to) = default_window(now.date_naive(), p.window_days);
        // The store re-checks under a lock that no run is active and no other process
        // queued this one meanwhile.
        let queued = state
            .store
            .enqueue_scheduled_run(
                NewRun {
                    pipeline_id: p.id,
                    trigger: RunTrigger::Schedule,
                    dry_run: false,
                    window_from: from,
                    window_to: to,
                    ticket_ids: None,
                    run_after: now,
                    scope: None,
                    undo_of: None,
                },
                since,
                now,
            )
            .await?;
        let Some(run) = queued else {
            continue;
        };
        tracing::info!(pipeline = p.id, run = run.id, "Scheduled sync queued.");
        // Its next run falls due one interval from now.
        next_due = Some(next_due.map_or(now + every, |n| n.min(now + every)));
    }
    Ok(next_due)
}

/// Executes a run this worker claimed: renews the lease meanwhile, records items, stats
/// and audit events, and frees the pipeline.
pub async fn run_claimed(
    state: &SyncEnv,
    owner: &str,
    run: Run,
) -> Result<Run, timebridge_store::StoreError> {
    let started = std::time::Instant::now();
    record(
        state,
        actor_of(run.trigger),
        AuditAction::SyncStarted,
        "run",
        Some(run.id.to_string()),
        json!({"pipeline_id": run.pipeline_id, "trigger": run.trigger, "dry_run": run.dry_run,
               "window": {"from": run.window_from, "to": run.window_to},
               "ticket_ids": run.ticket_ids, "attempt": run.attempts}),
        None,
    )
    .await;
    tracing::info!(run = run.id, pipeline = run.pipeline_id, trigger = %run.trigger,
        dry_run = run.dry_run, "Sync run started.");
    state.fences.confirm(run.id);
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let (lost_tx, mut lost_rx) = watch::channel(false);
    let renewer = {
        let state = state.clone();
        let owner = owner.to_owned();
        let run = run.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop_rx.changed() => break,
                    _ = tokio::time::sleep(renew_every()) => {}
                }
                let until = state.clock.now() + lease();
                match state.store.renew_run_lease(&run, &owner, until).await {
                    Ok(true) => state.fences.confirm(run.id),
                    Ok(false) => {
                        tracing::error!(
                            run = run.id,
                            "Lost the lease of a running sync; stopping it."
                        );
                        let _ = lost_tx.send(true);
                        break;
                    }
                    Err(e) => tracing::warn!(run = run.id, error = %e, "Could not renew a lease."),
                }
            }
        })
    };
    // A worker that lost its lease (it stalled longer than the lease) stops at once:
    // another worker owns the pipeline now. Stopping mid-write is like a crash, which the
    // write intents make safe.
    let lost = async move {
        loop {
            if *lost_rx.borrow_and_update() {
                return;
            }
            if lost_rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    let mut report: RunReport = tokio::select! {
        r = execute(state, &run) => r,
        () = lost => RunReport {
            status: RunStatus::Failed,
            stats: Default::default(),
            error: Some("this worker lost its lease on the pipeline and stopped".into()),
            items: Vec::new(),
        },
    };
    state.progress.remove(run.id);
    state.fences.remove(run.id);
    let _ = stop_tx.send(true);
    let _ = renewer.await;
    let outcomes: Vec<_> = report.items.iter().map(|i| i.outcome).collect();
    let Some(finished) = state
        .store
        .finish_run(
            &run,
            owner,
            &RunOutcome {
                status: report.status,
                stats: serde_json::to_value(report.stats).unwrap_or_default(),
                error: report.error.clone(),
                items: std::mem::take(&mut report.items),
            },
            state.clock.now(),
        )
        .await?
    else {
        tracing::warn!(
            run = run.id,
            "Another worker took this run over; its outcome is theirs."
        );
        return state.store.get_run(run.id).await;
    };
    state
        .counters
        .record(run.pipeline_id, report.status, outcomes);
    state.run_finished.notify_waiters();
    // Its notifications were enqueued with the end; the delivery worker sends them.
    state.notify_wake.notify_one();
    let s = report.stats;
    record(
        state,
        actor_of(run.trigger),
        AuditAction::SyncFinished,
        "run",
        Some(run.id.to_string()),
        json!({"pipeline_id": run.pipeline_id, "status": report.status, "stats": s,
               "error": report.error, "dry_run": run.dry_run,
               "seconds": started.elapsed().as_secs_f64()}),
        None,
    )
    .await;
    tracing::info!(
        run = run.id,
        pipeline = run.pipeline_id,
        status = %report.status,
        fetched = s.fetched,
        created = s.created,
        updated = s.updated,
        in_sync = s.in_sync,
        conflicts = s.conflicts,
        errors = s.errors,
        "Sync run finished."
    );
    Ok(finished)
}
