//! The notification outbox. A row says "tell notifier C about event E (of run R, or of
//! pipeline P on a date)"; what the message says is rendered at delivery time from the
//! stored run, conflicts and audit trail, so that the row can be written in the very
//! transaction that records the run's end (a crash neither loses nor doubles it).
//!
//! Delivery at most once: a worker claims a due `pending` row with a conditional
//! `UPDATE … WHERE status = 'pending'` that also marks it `sending` (one winner across
//! processes), then sends, then records the outcome conditionally on still holding the
//! claim, together with its audit event. A row left `sending` past its claim (the process
//! died mid-send) has an unknown outcome; the server decides per notifier whether it may be
//! sent again ([`Store::requeue_stale_notification`]) or is given up
//! ([`Store::fail_stale_notification`]).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::*;
use serde_json::Value;
use timebridge_core::notify::NotificationEvent;

use crate::Store;
use crate::entities::{audit_event, notification, pipeline};
use crate::error::StoreResult;
use crate::repo::audit::{NewAuditEvent, insert_audit};
use crate::states::{AuditAction, NotificationStatus, RunStatus};

/// A notification to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// Unique per event and notifier; a second enqueue of the same key is a no-op.
    pub dedupe_key: String,
    pub connector_id: i64,
    pub pipeline_id: Option<i64>,
    pub run_id: Option<i64>,
    pub event: NotificationEvent,
    /// What the event needs beyond pipeline and run (the daily summary's date).
    pub payload: Value,
}

impl NewNotification {
    /// The notification of a run's `event` for notifier `connector_id`.
    pub fn for_run(
        event: NotificationEvent,
        pipeline_id: i64,
        run_id: i64,
        connector_id: i64,
    ) -> Self {
        NewNotification {
            dedupe_key: format!("{event}:{run_id}:{connector_id}"),
            connector_id,
            pipeline_id: Some(pipeline_id),
            run_id: Some(run_id),
            event,
            payload: Value::Object(Default::default()),
        }
    }
}

/// A row of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub dedupe_key: String,
    pub connector_id: i64,
    pub pipeline_id: Option<i64>,
    pub run_id: Option<i64>,
    pub event: NotificationEvent,
    pub payload: Value,
    /// The same on every attempt.
    pub delivery_id: String,
    pub status: NotificationStatus,
    /// Claims so far (the first included).
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub claim_owner: Option<String>,
    pub claim_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

fn conv(m: notification::Model) -> OutboxRow {
    OutboxRow {
        id: m.id,
        dedupe_key: m.dedupe_key,
        connector_id: m.connector_id,
        pipeline_id: m.pipeline_id,
        run_id: m.run_id,
        event: m.event.parse().unwrap_or(NotificationEvent::Test),
        payload: m.payload,
        delivery_id: m.delivery_id,
        status: m.status,
        attempts: m.attempts,
        next_attempt_at: m.next_attempt_at,
        claim_owner: m.claim_owner,
        claim_until: m.claim_until,
        last_error: m.last_error,
        created_at: m.created_at,
        sent_at: m.sent_at,
    }
}

/// The notifiers a pipeline's stored `options.notify` (`[{"connector_id","events"}]`)
/// names for `event`.
pub fn subscribers(options: &Value, event: NotificationEvent) -> Vec<i64> {
    let mut ids: Vec<i64> = options["notify"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| {
            n["events"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e.as_str() == Some(event.as_str()))
        })
        .filter_map(|n| n["connector_id"].as_i64())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Inserts `rows`, skipping keys already present; returns how many were new.
pub(crate) async fn insert_notifications(
    db: &impl ConnectionTrait,
    rows: &[NewNotification],
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let now = crate::store::db_time(now);
    let mut inserted = 0;
    for n in rows {
        let res = notification::Entity::insert(notification::ActiveModel {
            id: NotSet,
            dedupe_key: Set(n.dedupe_key.clone()),
            connector_id: Set(n.connector_id),
            pipeline_id: Set(n.pipeline_id),
            run_id: Set(n.run_id),
            event: Set(n.event.as_str().to_owned()),
            payload: Set(n.payload.clone()),
            delivery_id: Set(uuid::Uuid::new_v4().to_string()),
            status: Set(NotificationStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            claim_owner: Set(None),
            claim_until: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            sent_at: Set(None),
        })
        .on_conflict_do_nothing_on([notification::Column::DedupeKey])
        .exec(db)
        .await?;
        if matches!(res, TryInsertResult::Inserted(_)) {
            inserted += 1;
        }
    }
    Ok(inserted)
}

/// The notifications a run that ended `status` owes its pipeline's notifiers: `run_failed`
/// or `run_partial` by status, `conflicts_raised` when it raised conflicts (audited
/// `conflict_raised` with its id). Dry runs notify nobody.
pub(crate) async fn run_notifications(
    db: &impl ConnectionTrait,
    run: &crate::Run,
    status: RunStatus,
) -> StoreResult<Vec<NewNotification>> {
    if run.dry_run {
        return Ok(Vec::new());
    }
    let Some(p) = pipeline::Entity::find_by_id(run.pipeline_id)
        .one(db)
        .await?
    else {
        return Ok(Vec::new());
    };
    let mut events = Vec::new();
    match status {
        RunStatus::Failed => events.push(NotificationEvent::RunFailed),
        RunStatus::Partial => events.push(NotificationEvent::RunPartial),
        _ => {}
    }
    let wants_conflicts = !subscribers(&p.options, NotificationEvent::ConflictsRaised).is_empty();
    let wants_drift = !subscribers(&p.options, NotificationEvent::DriftDetected).is_empty();
    if wants_conflicts || wants_drift {
        let raised = raised_conflicts(db, run).await?;
        if wants_conflicts && !raised.is_empty() {
            events.push(NotificationEvent::ConflictsRaised);
        }
        if wants_drift && raised.iter().any(|r| is_drift(r)) {
            events.push(NotificationEvent::DriftDetected);
        }
    }
    let mut rows = Vec::new();
    for event in events {
        for connector in subscribers(&p.options, event) {
            rows.push(NewNotification::for_run(
                event,
                run.pipeline_id,
                run.id,
                connector,
            ));
        }
    }
    Ok(rows)
}

/// Whether a conflict reason means someone changed a synced entry in the target.
pub fn is_drift(reason: &str) -> bool {
    reason == "target_modified" || reason == "target_deleted"
}

/// The conflicts `run` raised (audited `conflict_raised` with its id) as `(conflict id,
/// reason)`, in the order raised.
async fn raised_conflict_ids(
    db: &impl ConnectionTrait,
    run: &crate::Run,
) -> StoreResult<Vec<(Option<i64>, String)>> {
    let since = run.started_at.unwrap_or(run.created_at);
    let events = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(AuditAction::ConflictRaised))
        .filter(audit_event::Column::At.gte(crate::store::db_time(since)))
        .order_by_asc(audit_event::Column::Id)
        .all(db)
        .await?;
    Ok(events
        .into_iter()
        .filter(|e| e.details["run_id"].as_i64() == Some(run.id))
        .map(|e| {
            let id = e.entity_id.as_deref().and_then(|i| i.parse().ok());
            let reason = e.details["reason"].as_str().unwrap_or("unknown").to_owned();
            (id, reason)
        })
        .collect())
}

/// The reasons of the conflicts `run` raised, one per conflict.
pub(crate) async fn raised_conflicts(
    db: &impl ConnectionTrait,
    run: &crate::Run,
) -> StoreResult<Vec<String>> {
    Ok(raised_conflict_ids(db, run)
        .await?
        .into_iter()
        .map(|(_, reason)| reason)
        .collect())
}

impl Store {
    /// Enqueues `rows` (keys already present are skipped); returns how many were new.
    pub async fn enqueue_notifications(
        &self,
        rows: &[NewNotification],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        insert_notifications(&self.db, rows, now).await
    }

    /// The reasons of the conflicts `run` raised, one per conflict.
    pub async fn conflicts_raised_by(&self, run: &crate::Run) -> StoreResult<Vec<String>> {
        raised_conflicts(&self.db, run).await
    }

    /// The conflicts `run` raised because a synced entry was edited or deleted in the
    /// target, as `(conflict id, reason)`.
    pub async fn drift_raised_by(&self, run: &crate::Run) -> StoreResult<Vec<(i64, String)>> {
        Ok(raised_conflict_ids(&self.db, run)
            .await?
            .into_iter()
            .filter_map(|(id, r)| Some((id?, r)).filter(|(_, r)| is_drift(r)))
            .collect())
    }

    /// One row.
    pub async fn get_notification(&self, id: i64) -> StoreResult<OutboxRow> {
        notification::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(conv)
            .ok_or(crate::StoreError::NotFound)
    }

    /// Rows, newest first, optionally only those of one connector.
    pub async fn list_notifications(
        &self,
        connector_id: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<OutboxRow>> {
        let mut q = notification::Entity::find();
        if let Some(c) = connector_id {
            q = q.filter(notification::Column::ConnectorId.eq(c));
        }
        Ok(q.order_by_desc(notification::Column::Id)
            .limit(super::clamp_limit(limit))
            .all(&self.db)
            .await?
            .into_iter()
            .map(conv)
            .collect())
    }

    /// When the next pending row is due, if any (the delivery worker sleeps until then).
    pub async fn next_notification_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(notification::Entity::find()
            .filter(notification::Column::Status.eq(NotificationStatus::Pending))
            .order_by_asc(notification::Column::NextAttemptAt)
            .one(&self.db)
            .await?
            .map(|m| m.next_attempt_at))
    }

    /// Claims up to `limit` due pending rows for `owner` until `until`, marking each
    /// `sending` with one conditional update: a row goes to exactly one claimer.
    pub async fn claim_notifications(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<OutboxRow>> {
        let now = crate::store::db_time(now);
        let due = notification::Entity::find()
            .filter(notification::Column::Status.eq(NotificationStatus::Pending))
            .filter(notification::Column::NextAttemptAt.lte(now))
            .order_by_asc(notification::Column::NextAttemptAt)
            .order_by_asc(notification::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let mut claimed = Vec::new();
        for m in due {
            let res = notification::Entity::update_many()
                .col_expr(
                    notification::Column::Status,
                    Expr::value(NotificationStatus::Sending),
                )
                .col_expr(notification::Column::ClaimOwner, Expr::value(owner))
                .col_expr(
                    notification::Column::ClaimUntil,
                    Expr::value(crate::store::db_time(until)),
                )
                .col_expr(
                    notification::Column::Attempts,
                    Expr::col(notification::Column::Attempts).add(1),
                )
                .col_expr(notification::Column::UpdatedAt, Expr::value(now))
                .filter(notification::Column::Id.eq(m.id))
                .filter(notification::Column::Status.eq(NotificationStatus::Pending))
                .exec(&self.db)
                .await?;
            if res.rows_affected == 1 {
                claimed.push(self.get_notification(m.id).await?);
            }
        }
        Ok(claimed)
    }

    /// Records that `owner` delivered row `id`, with its audit event, in one transaction;
    /// `false` when the claim was lost (nothing recorded).
    pub async fn mark_notification_sent(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        audit: NewAuditEvent,
    ) -> StoreResult<bool> {
        let now = crate::store::db_time(now);
        let txn = self.db.begin().await?;
        let res = notification::Entity::update_many()
            .col_expr(
                notification::Column::Status,
                Expr::value(NotificationStatus::Sent),
            )
            .col_expr(notification::Column::SentAt, Expr::value(now))
            .col_expr(notification::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                notification::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .filter(notification::Column::Id.eq(id))
            .filter(notification::Column::Status.eq(NotificationStatus::Sending))
            .filter(notification::Column::ClaimOwner.eq(owner))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Puts row `id` back in the queue for another attempt at `next_at` (a failure that
    /// left nothing behind); `false` when the claim was lost.
    pub async fn retry_notification(
        &self,
        id: i64,
        owner: &str,
        next_at: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = requeue(id, next_at, error, now)
            .filter(notification::Column::Status.eq(NotificationStatus::Sending))
            .filter(notification::Column::ClaimOwner.eq(owner))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Gives row `id` up, with its audit event, in one transaction; `false` when the
    /// claim was lost.
    pub async fn mark_notification_failed(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        now: DateTime<Utc>,
        audit: NewAuditEvent,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let res = fail(id, error, now)
            .filter(notification::Column::Status.eq(NotificationStatus::Sending))
            .filter(notification::Column::ClaimOwner.eq(owner))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Rows left `sending` whose claim expired before `now`: their process stopped
    /// mid-send, so whether the remote got them is unknown.
    pub async fn stale_notifications(&self, now: DateTime<Utc>) -> StoreResult<Vec<OutboxRow>> {
        Ok(notification::Entity::find()
            .filter(notification::Column::Status.eq(NotificationStatus::Sending))
            .filter(notification::Column::ClaimUntil.lt(crate::store::db_time(now)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(conv)
            .collect())
    }

    /// Puts a stale row back in the queue (its notifier's receivers drop repeats by
    /// delivery id); `false` when someone else settled it first.
    pub async fn requeue_stale_notification(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = requeue(
            id,
            now,
            "the process sending it stopped; sent again with the same delivery id",
            now,
        )
        .filter(notification::Column::Status.eq(NotificationStatus::Sending))
        .filter(notification::Column::ClaimUntil.lt(crate::store::db_time(now)))
        .exec(&self.db)
        .await?;
        Ok(res.rows_affected == 1)
    }

    /// Gives a stale row up as "outcome unknown", with its audit event, in one
    /// transaction; `false` when someone else settled it first.
    pub async fn fail_stale_notification(
        &self,
        id: i64,
        error: &str,
        now: DateTime<Utc>,
        audit: NewAuditEvent,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let res = fail(id, error, now)
            .filter(notification::Column::Status.eq(NotificationStatus::Sending))
            .filter(notification::Column::ClaimUntil.lt(crate::store::db_time(now)))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }
}

/// Releases row `id`'s claim and sets its `status` and `last_error` (the conditions on
/// who may do it are the caller's).
fn release(
    id: i64,
    status: NotificationStatus,
    error: &str,
    now: DateTime<Utc>,
) -> UpdateMany<notification::Entity> {
    let now = crate::store::db_time(now);
    notification::Entity::update_many()
        .col_expr(notification::Column::Status, Expr::value(status))
        .col_expr(
            notification::Column::ClaimOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            notification::Column::ClaimUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(notification::Column::LastError, Expr::value(error))
        .col_expr(notification::Column::UpdatedAt, Expr::value(now))
        .filter(notification::Column::Id.eq(id))
}

/// Gives row `id` up.
fn fail(id: i64, error: &str, now: DateTime<Utc>) -> UpdateMany<notification::Entity> {
    release(id, NotificationStatus::Failed, error, now)
}

/// Puts row `id` back in the queue for an attempt at `next_at`.
fn requeue(
    id: i64,
    next_at: DateTime<Utc>,
    error: &str,
    now: DateTime<Utc>,
) -> UpdateMany<notification::Entity> {
    release(id, NotificationStatus::Pending, error, now).col_expr(
        notification::Column::NextAttemptAt,
        Expr::value(crate::store::db_time(next_at)),
    )
}
