//! Runs and the job queue: a run is enqueued as `queued`, claimed by one worker under a
//! per-pipeline lease (so one pipeline never runs twice at once, across processes), kept
//! alive by renewing the lease, and finished with its stats. A worker that dies leaves an
//! expired lease; [`Store::requeue_expired_runs`] puts its run back in the queue.
//!
//! The lease is taken by a conditional `UPDATE … WHERE owner IS NULL OR until < now`,
//! which both SQLite (one writer at a time) and PostgreSQL (row lock, re-checked
//! condition under READ COMMITTED) execute atomically.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::*;
use serde_json::Value;

use crate::Store;
use crate::entities::{pipeline_lease, run, run_item, webhook_delivery};
use crate::error::StoreResult;
use crate::states::{ConflictStatus, ItemOutcome, RunStatus, RunTrigger};

/// A run as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Run {
    pub id: i64,
    pub pipeline_id: i64,
    pub trigger: RunTrigger,
    pub dry_run: bool,
    pub status: RunStatus,
    pub window_from: NaiveDate,
    pub window_to: NaiveDate,
    /// For ticket-scoped runs (webhooks): only these tickets.
    pub ticket_ids: Option<Vec<i64>>,
    /// For resolution runs: only these entries.
    pub scope: Option<RunScope>,
    /// `{"fetched","in_sync","created","updated","skipped","conflicts","errors"}`.
    pub stats: Value,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Not to be started before this instant (webhook debounce).
    pub run_after: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    /// The projects project mirroring created before this run (in a dry run: would have
    /// created); empty when it did none or mirroring is off.
    pub mirrored_projects: Vec<crate::repo::mirror::MirroredProject>,
    /// For an undo run (trigger `undo`): the run it takes back.
    pub undo_of: Option<i64>,
}

/// Input of [`Store::enqueue_run`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub pipeline_id: i64,
    pub trigger: RunTrigger,
    pub dry_run: bool,
    pub window_from: NaiveDate,
    pub window_to: NaiveDate,
    pub ticket_ids: Option<Vec<i64>>,
    pub run_after: DateTime<Utc>,
    /// For resolution runs: only these entries.
    pub scope: Option<RunScope>,
    /// For undo runs: the run to take back.
    pub undo_of: Option<i64>,
}

/// What a resolution run writes: the entries of one group of conflicts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunScope {
    /// Only these source entries are planned and written.
    pub source_keys: Vec<String>,
    /// A person asked to send what the target's rules predict it refuses (they fixed
    /// the target).
    #[serde(default)]
    pub retry_refused: bool,
    /// The group of conflicts the run resolves (its API id), for people.
    #[serde(default)]
    pub group: Option<String>,
}

/// One outcome of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunItem {
    pub source_key: String,
    pub outcome: ItemOutcome,
    /// The conflict reason, for `conflict` items.
    pub reason: Option<String>,
    pub target_id: Option<String>,
    pub conflict_id: Option<i64>,
    pub message: Option<String>,
    /// Signed seconds the pipeline's rounding added to the entry written (null: none).
    pub rounded_seconds: Option<i64>,
    /// The rounding rule (#1, #2, …) that applied; null: the pipeline's default.
    pub rounding_rule: Option<i32>,
    /// What an undo needs of a create or update: the target entry as the target returned
    /// it after the write, the raw source entry's fingerprint, and for an update the
    /// target entry before it.
    pub undo: Option<UndoRecord>,
}

/// What a written run item keeps so that an undo can take the write back.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UndoRecord {
    /// Fingerprint of the target entry as the target returned it after the write.
    pub written_fingerprint: i64,
    /// Fingerprint of the raw source entry that was written.
    pub source_fingerprint: i64,
    /// For an update: the target entry before it (normalised entry JSON).
    pub before: Option<Value>,
}

/// How a run ended, for [`Store::finish_run`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// `Succeeded`, `Partial` or `Failed`.
    pub status: RunStatus,
    pub stats: Value,
    pub error: Option<String>,
    pub items: Vec<RunItem>,
}

/// A run not finished after this many claims is failed instead of requeued.
pub const MAX_ATTEMPTS: i32 = 3;

/// The row of a newly queued run.
fn queued_run(new: NewRun, now: DateTime<Utc>) -> run::ActiveModel {
    run::ActiveModel {
        id: NotSet,
        pipeline_id: Set(new.pipeline_id),
        trigger: Set(new.trigger),
        dry_run: Set(new.dry_run),
        status: Set(RunStatus::Queued),
        window_from: Set(new.window_from.to_string()),
        window_to: Set(new.window_to.to_string()),
        ticket_ids: Set(new.ticket_ids.map(|t| serde_json::json!(t))),
        scope: Set(new
            .scope
            .map(|s| serde_json::to_value(s).unwrap_or_default())),
        stats: Set(empty_stats()),
        error: Set(None),
        created_at: Set(now),
        run_after: Set(new.run_after),
        started_at: Set(None),
        finished_at: Set(None),
        lease_owner: Set(None),
        lease_until: Set(None),
        attempts: Set(0),
        mirrored_projects: Set(None),
        undo_of: Set(new.undo_of),
    }
}

fn empty_stats() -> Value {
    serde_json::json!({"fetched": 0, "in_sync": 0, "created": 0, "updated": 0,
        "skipped": 0, "conflicts": 0, "errors": 0})
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

fn conv(m: run::Model) -> Run {
    Run {
        id: m.id,
        pipeline_id: m.pipeline_id,
        trigger: m.trigger,
        dry_run: m.dry_run,
        status: m.status,
        window_from: date(&m.window_from),
        window_to: date(&m.window_to),
        ticket_ids: m.ticket_ids.and_then(|v| serde_json::from_value(v).ok()),
        scope: m.scope.and_then(|v| serde_json::from_value(v).ok()),
        stats: m.stats,
        error: m.error,
        created_at: m.created_at,
        run_after: m.run_after,
        started_at: m.started_at,
        finished_at: m.finished_at,
        attempts: m.attempts,
        mirrored_projects: m
            .mirrored_projects
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
        undo_of: m.undo_of,
    }
}

fn item_model(run_id: i64, i: &RunItem) -> run_item::ActiveModel {
    run_item::ActiveModel {
        id: NotSet,
        run_id: Set(run_id),
        source_key: Set(i.source_key.clone()),
        outcome: Set(i.outcome),
        reason: Set(i.reason.clone()),
        target_id: Set(i.target_id.clone()),
        conflict_id: Set(i.conflict_id),
        message: Set(i.message.clone()),
        rounded_seconds: Set(i.rounded_seconds),
        rounding_rule: Set(i.rounding_rule),
        written_fingerprint: Set(i.undo.as_ref().map(|u| u.written_fingerprint)),
        source_fingerprint: Set(i.undo.as_ref().map(|u| u.source_fingerprint)),
        before: Set(i.undo.as_ref().and_then(|u| u.before.clone())),
    }
}

impl Store {
    /// Puts a run in the queue.
    pub async fn enqueue_run(&self, new: NewRun, now: DateTime<Utc>) -> StoreResult<Run> {
        let m = queued_run(new, now).insert(&self.db).await?;
        Ok(conv(m))
    }

    /// Queues the scheduled run `new` unless its pipeline has a run queued or running, or a
    /// scheduled run created after `not_before`; returns it, or `None` when not queued.
    ///
    /// Exactly one of several processes that try at once queues it: the check and the
    /// insert run in one transaction that first takes the pipeline's row (a no-op `UPDATE`:
    /// a row lock on PostgreSQL, the write lock on SQLite), so a second scheduler waits
    /// and then sees the first one's run.
    pub async fn enqueue_scheduled_run(
        &self,
        new: NewRun,
        not_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Run>> {
        use crate::entities::pipeline;
        let txn = self.db.begin().await?;
        let locked = pipeline::Entity::update_many()
            .col_expr(pipeline::Column::Id, Expr::col(pipeline::Column::Id))
            .filter(pipeline::Column::Id.eq(new.pipeline_id))
            .exec(&txn)
            .await?;
        if locked.rows_affected == 0 {
            return Ok(None);
        }
        let active = run::Entity::find()
            .filter(run::Column::PipelineId.eq(new.pipeline_id))
            .filter(
                Condition::any()
                    .add(run::Column::Status.is_in(RunStatus::ACTIVE))
                    .add(
                        Condition::all()
                            .add(run::Column::Trigger.eq(RunTrigger::Schedule))
                            .add(run::Column::CreatedAt.gt(not_before)),
                    ),
            )
            .count(&txn)
            .await?;
        if active > 0 {
            return Ok(None);
        }
        let m = queued_run(new, now).insert(&txn).await?;
        txn.commit().await?;
        Ok(Some(conv(m)))
    }

    /// A queued webhook run of `pipeline_id` that has not started yet gets `ticket_ids`
    /// added (the debounce); returns it, or `None` when there is none to merge into.
    pub async fn merge_into_queued_webhook_run(
        &self,
        pipeline_id: i64,
        ticket_ids: &[i64],
    ) -> StoreResult<Option<Run>> {
        let txn = self.db.begin().await?;
        let found = run::Entity::find()
            .filter(run::Column::PipelineId.eq(pipeline_id))
            .filter(run::Column::Trigger.eq(RunTrigger::Webhook))
            .filter(run::Column::Status.eq(RunStatus::Queued))
            .order_by_desc(run::Column::Id)
            .one(&txn)
            .await?;
        let Some(m) = found else {
            txn.commit().await?;
            return Ok(None);
        };
        let mut tickets: Vec<i64> = m
            .ticket_ids
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        tickets.extend_from_slice(ticket_ids);
        tickets.sort_unstable();
        tickets.dedup();
        let res = run::Entity::update_many()
            .col_expr(
                run::Column::TicketIds,
                Expr::value(serde_json::json!(tickets)),
            )
            .filter(run::Column::Id.eq(m.id))
            .filter(run::Column::Status.eq(RunStatus::Queued))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        if res.rows_affected == 0 {
            return Ok(None);
        }
        Ok(Some(self.get_run(m.id).await?))
    }

    /// The run of `pipeline_id` that is queued or running, if any (the oldest).
    pub async fn active_run(&self, pipeline_id: i64) -> StoreResult<Option<Run>> {
        Ok(run::Entity::find()
            .filter(run::Column::PipelineId.eq(pipeline_id))
            .filter(run::Column::Status.is_in(RunStatus::ACTIVE))
            .order_by_asc(run::Column::Id)
            .one(&self.db)
            .await?
            .map(conv))
    }

    /// The running run of `pipeline_id`, if any.
    pub async fn running_run(&self, pipeline_id: i64) -> StoreResult<Option<Run>> {
        Ok(run::Entity::find()
            .filter(run::Column::PipelineId.eq(pipeline_id))
            .filter(run::Column::Status.eq(RunStatus::Running))
            .order_by_asc(run::Column::Id)
            .one(&self.db)
            .await?
            .map(conv))
    }

    /// The last finished run of `pipeline_id` (any trigger), if any.
    pub async fn last_finished_run(&self, pipeline_id: i64) -> StoreResult<Option<Run>> {
        Ok(run::Entity::find()
            .filter(run::Column::PipelineId.eq(pipeline_id))
            .filter(run::Column::Status.is_not_in(RunStatus::ACTIVE))
            .order_by_desc(run::Column::Id)
            .one(&self.db)
            .await?
            .map(conv))
    }

    /// The last scheduled run of `pipeline_id` in any state, for the scheduler.
    pub async fn last_scheduled_run(&self, pipeline_id: i64) -> StoreResult<Option<Run>> {
        Ok(run::Entity::find()
            .filter(run::Column::PipelineId.eq(pipeline_id))
            .filter(run::Column::Trigger.eq(RunTrigger::Schedule))
            .order_by_desc(run::Column::Id)
            .one(&self.db)
            .await?
            .map(conv))
    }

    /// One run.
    pub async fn get_run(&self, id: i64) -> StoreResult<Run> {
        run::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(conv)
            .ok_or(crate::StoreError::NotFound)
    }

    /// Runs, newest first, optionally of one pipeline.
    pub async fn list_runs(
        &self,
        pipeline_id: Option<i64>,
        limit: u64,
        offset: u64,
    ) -> StoreResult<(Vec<Run>, u64)> {
        let mut q = run::Entity::find();
        if let Some(p) = pipeline_id {
            q = q.filter(run::Column::PipelineId.eq(p));
        }
        let total = q.clone().count(&self.db).await?;
        let items = q
            .order_by_desc(run::Column::Id)
            .limit(super::clamp_limit(limit))
            .offset(offset)
            .all(&self.db)
            .await?;
        Ok((items.into_iter().map(conv).collect(), total))
    }

    /// Claims the next due queued run whose pipeline is free, for `owner` until
    /// `lease_until`; at most one run per pipeline is ever running.
    pub async fn claim_next_run(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<Run>> {
        let candidates = run::Entity::find()
            .filter(run::Column::Status.eq(RunStatus::Queued))
            .filter(run::Column::RunAfter.lte(now))
            .order_by_asc(run::Column::RunAfter)
            .order_by_asc(run::Column::Id)
            .limit(20)
            .all(&self.db)
            .await?;
        let mut tried = std::collections::HashSet::new();
        for c in candidates {
            if !tried.insert(c.pipeline_id) {
                continue;
            }
            if let Some(run) = self
                .try_claim(c.id, c.pipeline_id, owner, now, lease_until)
                .await?
            {
                return Ok(Some(run));
            }
        }
        Ok(None)
    }

    /// Claims one particular queued run (the CLI's foreground sync), if its pipeline is
    /// free; `None` when it is not queued or another run holds the pipeline.
    pub async fn claim_run(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<Run>> {
        let run = self.get_run(id).await?;
        if run.status != RunStatus::Queued {
            return Ok(None);
        }
        self.try_claim(run.id, run.pipeline_id, owner, now, lease_until)
            .await
    }

    async fn try_claim(
        &self,
        id: i64,
        pipeline_id: i64,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<Run>> {
        if !self
            .acquire_pipeline_lease(pipeline_id, owner, now, lease_until)
            .await?
        {
            return Ok(None);
        }
        let res = run::Entity::update_many()
            .col_expr(run::Column::Status, Expr::value(RunStatus::Running))
            .col_expr(run::Column::LeaseOwner, Expr::value(owner))
            .col_expr(run::Column::LeaseUntil, Expr::value(lease_until))
            .col_expr(run::Column::StartedAt, Expr::value(now))
            .col_expr(
                run::Column::Attempts,
                Expr::col(run::Column::Attempts).add(1),
            )
            .filter(run::Column::Id.eq(id))
            .filter(run::Column::Status.eq(RunStatus::Queued))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 1 {
            return Ok(Some(self.get_run(id).await?));
        }
        self.release_pipeline_lease(pipeline_id, owner).await?;
        Ok(None)
    }

    async fn acquire_pipeline_lease(
        &self,
        pipeline_id: i64,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        pipeline_lease::Entity::insert(pipeline_lease::ActiveModel {
            pipeline_id: Set(pipeline_id),
            owner: Set(None),
            until: Set(None),
        })
        .on_conflict_do_nothing()
        .exec(&self.db)
        .await?;
        let res = pipeline_lease::Entity::update_many()
            .col_expr(pipeline_lease::Column::Owner, Expr::value(owner))
            .col_expr(pipeline_lease::Column::Until, Expr::value(until))
            .filter(pipeline_lease::Column::PipelineId.eq(pipeline_id))
            .filter(
                Condition::any()
                    .add(pipeline_lease::Column::Owner.is_null())
                    .add(pipeline_lease::Column::Until.lt(now))
                    .add(pipeline_lease::Column::Owner.eq(owner)),
            )
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    async fn release_pipeline_lease(&self, pipeline_id: i64, owner: &str) -> StoreResult<()> {
        pipeline_lease::Entity::update_many()
            .col_expr(
                pipeline_lease::Column::Owner,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                pipeline_lease::Column::Until,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(pipeline_lease::Column::PipelineId.eq(pipeline_id))
            .filter(pipeline_lease::Column::Owner.eq(owner))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Extends the lease of a running run; `false` when the lease was lost (another
    /// worker took the pipeline over after it expired), in which case the caller stops.
    pub async fn renew_run_lease(
        &self,
        run: &Run,
        owner: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = pipeline_lease::Entity::update_many()
            .col_expr(pipeline_lease::Column::Until, Expr::value(until))
            .filter(pipeline_lease::Column::PipelineId.eq(run.pipeline_id))
            .filter(pipeline_lease::Column::Owner.eq(owner))
            .exec(&self.db)
            .await?;
        run::Entity::update_many()
            .col_expr(run::Column::LeaseUntil, Expr::value(until))
            .filter(run::Column::Id.eq(run.id))
            .filter(run::Column::LeaseOwner.eq(owner))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Records the end of a run with its items and frees its pipeline, in one
    /// transaction. `None` when `owner` no longer holds the run (its lease expired and
    /// another worker took it over): nothing is recorded then.
    pub async fn finish_run(
        &self,
        run: &Run,
        owner: &str,
        outcome: &RunOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Run>> {
        let items = &outcome.items;
        let txn = self.db.begin().await?;
        let res = run::Entity::update_many()
            .col_expr(run::Column::Status, Expr::value(outcome.status))
            .col_expr(run::Column::Stats, Expr::value(outcome.stats.clone()))
            .col_expr(run::Column::Error, Expr::value(outcome.error.clone()))
            .col_expr(run::Column::FinishedAt, Expr::value(now))
            .col_expr(run::Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(
                run::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(run::Column::Id.eq(run.id))
            .filter(run::Column::Status.eq(RunStatus::Running))
            .filter(run::Column::LeaseOwner.eq(owner))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(None);
        }
        run_item::Entity::delete_many()
            .filter(run_item::Column::RunId.eq(run.id))
            .exec(&txn)
            .await?;
        for chunk in items.chunks(500) {
            run_item::Entity::insert_many(chunk.iter().map(|i| item_model(run.id, i)))
                .exec(&txn)
                .await?;
        }
        // The notifications the end owes, in the same transaction: never lost, never twice.
        let notifications =
            crate::repo::notifications::run_notifications(&txn, run, outcome.status).await?;
        crate::repo::notifications::insert_notifications(&txn, &notifications, now).await?;
        pipeline_lease::Entity::update_many()
            .col_expr(
                pipeline_lease::Column::Owner,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                pipeline_lease::Column::Until,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(pipeline_lease::Column::PipelineId.eq(run.pipeline_id))
            .filter(pipeline_lease::Column::Owner.eq(owner))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(Some(self.get_run(run.id).await?))
    }

    /// Puts runs whose worker's lease expired back in the queue (or fails them after
    /// [`MAX_ATTEMPTS`] claims, enqueueing their `run_failed` notifications in the same
    /// transaction); returns how many were touched.
    pub async fn requeue_expired_runs(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let exhausted = run::Entity::find()
            .filter(run::Column::Status.eq(RunStatus::Running))
            .filter(run::Column::LeaseUntil.lt(now))
            .filter(run::Column::Attempts.gte(MAX_ATTEMPTS))
            .all(&self.db)
            .await?;
        let mut failed_count = 0;
        for m in exhausted {
            let txn = self.db.begin().await?;
            let res = run::Entity::update_many()
                .col_expr(run::Column::Status, Expr::value(RunStatus::Failed))
                .col_expr(
                    run::Column::Error,
                    Expr::value("the worker running it stopped and it failed too often to retry"),
                )
                .col_expr(run::Column::FinishedAt, Expr::value(now))
                .filter(run::Column::Id.eq(m.id))
                .filter(run::Column::Status.eq(RunStatus::Running))
                .filter(run::Column::LeaseUntil.lt(now))
                .exec(&txn)
                .await?;
            if res.rows_affected == 1 {
                let rows = crate::repo::notifications::run_notifications(
                    &txn,
                    &conv(m),
                    RunStatus::Failed,
                )
                .await?;
                crate::repo::notifications::insert_notifications(&txn, &rows, now).await?;
                failed_count += 1;
            }
            txn.commit().await?;
        }
        let requeued = run::Entity::update_many()
            .col_expr(run::Column::Status, Expr::value(RunStatus::Queued))
            .col_expr(run::Column::LeaseOwner, Expr::value(Option::<String>::None))
            .filter(run::Column::Status.eq(RunStatus::Running))
            .filter(run::Column::LeaseUntil.lt(now))
            .exec(&self.db)
            .await?;
        Ok(failed_count + requeued.rows_affected)
    }

    /// Replaces the items of a run (a retried run records its final outcomes only).
    pub async fn replace_run_items(&self, run_id: i64, items: &[RunItem]) -> StoreResult<()> {
        let txn = self.db.begin().await?;
        run_item::Entity::delete_many()
            .filter(run_item::Column::RunId.eq(run_id))
            .exec(&txn)
            .await?;
        for chunk in items.chunks(500) {
            let models = chunk.iter().map(|i| item_model(run_id, i));
            run_item::Entity::insert_many(models).exec(&txn).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Appends items to a run (resolutions record what they did on the run that raised
    /// the conflict).
    pub async fn add_run_items(&self, run_id: i64, items: &[RunItem]) -> StoreResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        let models = items.iter().map(|i| item_model(run_id, i));
        run_item::Entity::insert_many(models).exec(&self.db).await?;
        Ok(())
    }

    /// The items of a run, in the order recorded.
    pub async fn list_run_items(&self, run_id: i64) -> StoreResult<Vec<RunItem>> {
        Ok(run_item::Entity::find()
            .filter(run_item::Column::RunId.eq(run_id))
            .order_by_asc(run_item::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| RunItem {
                source_key: m.source_key,
                outcome: m.outcome,
                reason: m.reason,
                target_id: m.target_id,
                conflict_id: m.conflict_id,
                message: m.message,
                rounded_seconds: m.rounded_seconds,
                rounding_rule: m.rounding_rule,
                undo: m
                    .written_fingerprint
                    .zip(m.source_fingerprint)
                    .map(|(written, source)| UndoRecord {
                        written_fingerprint: written,
                        source_fingerprint: source,
                        before: m.before,
                    }),
            })
            .collect())
    }

    /// The undo of `run_id` that stands: a real (not dry) undo run queued, running or
    /// succeeded. A second undo is refused while one stands (the partial unique index
    /// `uq_runs_one_undo` holds it across processes).
    pub async fn standing_undo(&self, run_id: i64) -> StoreResult<Option<Run>> {
        Ok(run::Entity::find()
            .filter(run::Column::UndoOf.eq(run_id))
            .filter(run::Column::DryRun.eq(false))
            .filter(run::Column::Status.is_in([
                RunStatus::Queued,
                RunStatus::Running,
                RunStatus::Succeeded,
            ]))
            .order_by_desc(run::Column::Id)
            .one(&self.db)
            .await?
            .map(conv))
    }

    /// Records a webhook delivery id; `false` when it was seen before.
    pub async fn record_webhook_delivery(
        &self,
        delivery_id: &str,
        connector_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
            delivery_id: Set(delivery_id.to_owned()),
            connector_id: Set(connector_id),
            received_at: Set(now),
        })
        .on_conflict_do_nothing()
        .exec(&self.db)
        .await?;
        Ok(matches!(res, TryInsertResult::Inserted(_)))
    }
}

/// Aggregates for the Prometheus endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncCounts {
    /// `(pipeline_id, status, runs)`.
    pub runs: Vec<(i64, String, i64)>,
    /// `(reason, open conflicts)`.
    pub open_conflicts: Vec<(String, i64)>,
    /// Runs waiting in the queue, and when the oldest was queued.
    pub queued: i64,
    pub oldest_queued_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Counts of runs, open conflicts and the queue, for `/metrics` (no scan of run items:
    /// entries are counted as runs finish).
    pub async fn sync_counts(&self) -> StoreResult<SyncCounts> {
        use crate::entities::conflict;
        let runs: Vec<(i64, String, i64)> = run::Entity::find()
            .select_only()
            .column(run::Column::PipelineId)
            .column(run::Column::Status)
            .column_as(run::Column::Id.count(), "n")
            .group_by(run::Column::PipelineId)
            .group_by(run::Column::Status)
            .into_tuple()
            .all(&self.db)
            .await?;
        let open_conflicts: Vec<(String, i64)> = conflict::Entity::find()
            .select_only()
            .column(conflict::Column::Reason)
            .column_as(conflict::Column::Id.count(), "n")
            .filter(conflict::Column::Status.eq(ConflictStatus::Open))
            .group_by(conflict::Column::Reason)
            .into_tuple()
            .all(&self.db)
            .await?;
        let queued = run::Entity::find()
            .filter(run::Column::Status.eq(RunStatus::Queued))
            .count(&self.db)
            .await? as i64;
        let oldest_queued_at = run::Entity::find()
            .filter(run::Column::Status.eq(RunStatus::Queued))
            .order_by_asc(run::Column::CreatedAt)
            .one(&self.db)
            .await?
            .map(|r| r.created_at);
        Ok(SyncCounts {
            runs,
            open_conflicts,
            queued,
            oldest_queued_at,
        })
    }
}

/// One acknowledged webhook call, waiting to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookCall {
    pub connector_id: i64,
    /// The source records (tickets) the call names; `None`: everything in the window.
    pub ticket_ids: Option<Vec<i64>>,
    pub delivery_id: Option<String>,
    /// The audit event to record for it (when it is not a repeated delivery).
    pub audit: crate::NewAuditEvent,
}

/// Where a pipeline's webhook runs go: the pipeline, the connector it reads, and the window
/// of a run queued now.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookTarget {
    pub pipeline_id: i64,
    pub source_connector_id: i64,
    pub window_from: NaiveDate,
    pub window_to: NaiveDate,
}

impl Store {
    /// Records a batch of webhook calls in one transaction: each delivery id once (calls
    /// whose id was already recorded, e.g. by another process, are left out), one audit
    /// event per call kept, and per pipeline the tickets merged into its queued webhook run
    /// (or a new one due at `run_after`). Returns the calls kept and the runs touched.
    pub async fn record_webhook_batch(
        &self,
        calls: &[WebhookCall],
        targets: &[WebhookTarget],
        now: DateTime<Utc>,
        run_after: DateTime<Utc>,
    ) -> StoreResult<(usize, Vec<i64>)> {
        use crate::entities::audit_event;
        let txn = self.db.begin().await?;
        let mut kept = Vec::new();
        for c in calls {
            if let Some(d) = &c.delivery_id {
                let res = webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
                    delivery_id: Set(d.clone()),
                    connector_id: Set(c.connector_id),
                    received_at: Set(now),
                })
                .on_conflict_do_nothing()
                .exec(&txn)
                .await?;
                if !matches!(res, TryInsertResult::Inserted(_)) {
                    continue;
                }
            }
            kept.push(c);
        }
        let mut runs = Vec::new();
        for t in targets {
            let calls: Vec<&&WebhookCall> = kept
                .iter()
                .filter(|c| c.connector_id == t.source_connector_id)
                .collect();
            if calls.is_empty() {
                continue;
            }
            // `None`: a call asked for everything, so the run is not narrowed to tickets.
            let mut tickets: Option<Vec<i64>> = calls.iter().try_fold(Vec::new(), |mut acc, c| {
                acc.extend(c.ticket_ids.as_ref()?);
                Some(acc)
            });
            let queued = run::Entity::find()
                .filter(run::Column::PipelineId.eq(t.pipeline_id))
                .filter(run::Column::Trigger.eq(RunTrigger::Webhook))
                .filter(run::Column::Status.eq(RunStatus::Queued))
                .order_by_desc(run::Column::Id)
                .one(&txn)
                .await?;
            match queued {
                Some(m) => {
                    // A queued run without tickets already covers everything.
                    let queued_tickets = m
                        .ticket_ids
                        .clone()
                        .filter(|v| !v.is_null())
                        .map(|v| serde_json::from_value::<Vec<i64>>(v).unwrap_or_default());
                    if let (Some(t), Some(q)) = (&mut tickets, queued_tickets) {
                        t.extend(q);
                    } else {
                        tickets = None;
                    }
                    if let Some(t) = &mut tickets {
                        t.sort_unstable();
                        t.dedup();
                    }
                    run::Entity::update_many()
                        .col_expr(
                            run::Column::TicketIds,
                            Expr::value(tickets.map(|t| serde_json::json!(t))),
                        )
                        .filter(run::Column::Id.eq(m.id))
                        .exec(&txn)
                        .await?;
                    runs.push(m.id);
                }
                None => {
                    if let Some(t) = &mut tickets {
                        t.sort_unstable();
                        t.dedup();
                    }
                    let m = run::ActiveModel {
                        id: NotSet,
                        pipeline_id: Set(t.pipeline_id),
                        trigger: Set(RunTrigger::Webhook),
                        dry_run: Set(false),
                        status: Set(RunStatus::Queued),
                        window_from: Set(t.window_from.to_string()),
                        window_to: Set(t.window_to.to_string()),
                        ticket_ids: Set(tickets.map(|t| serde_json::json!(t))),
                        scope: Set(None),
                        stats: Set(empty_stats()),
                        error: Set(None),
                        created_at: Set(now),
                        run_after: Set(run_after),
                        started_at: Set(None),
                        finished_at: Set(None),
                        lease_owner: Set(None),
                        lease_until: Set(None),
                        attempts: Set(0),
                        mirrored_projects: Set(None),
                        undo_of: Set(None),
                    }
                    .insert(&txn)
                    .await?;
                    runs.push(m.id);
                }
            }
        }
        if !kept.is_empty() {
            for chunk in kept.chunks(500) {
                audit_event::Entity::insert_many(chunk.iter().map(|c| {
                    let mut details = c.audit.details.clone();
                    if let serde_json::Value::Object(o) = &mut details {
                        o.insert("run_ids".into(), serde_json::json!(runs));
                    }
                    audit_event::ActiveModel {
                        id: NotSet,
                        at: Set(crate::store::db_time(c.audit.at)),
                        actor: Set(c.audit.actor.clone()),
                        action: Set(c.audit.action),
                        entity_type: Set(c.audit.entity_type.clone()),
                        entity_id: Set(c.audit.entity_id.clone()),
                        details: Set(details),
                        ip: Set(c.audit.ip.clone()),
                    }
                }))
                .exec(&txn)
                .await?;
            }
        }
        txn.commit().await?;
        Ok((kept.len(), runs))
    }
}
