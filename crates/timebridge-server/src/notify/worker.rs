//! The delivery worker inside every `serve` process: it settles rows a dead process left
//! `sending`, enqueues the daily summaries that are due, and delivers due rows, each with
//! a time limit, retrying with backoff what failed without reaching the receiver.
//!
//! At most once per event and notifier: a row is claimed and marked `sending` in one
//! conditional update before the remote call. If the process dies during the call, the
//! outcome is unknown: the signed webhook (whose receivers drop repeats by delivery id,
//! [`timebridge_connectors::Notifier::repeat_safe`]) is sent again with the same id; Slack
//! and e-mail are never sent twice — the row is given up as `failed` ("outcome unknown")
//! and audited `notification_failed`, so a person can look.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use timebridge_connectors::{ConnectorError, Notification, Notifier};
use timebridge_store::{AuditAction, NewAuditEvent, OutboxRow, StoreError};
use tokio::sync::watch;

use super::NotifyEnv;
use super::daily::{Enqueued, enqueue_due};
use crate::audit::Actor;

/// How often the worker looks for due rows when nothing wakes it (rows another process
/// enqueued, retries that come due).
const POLL_EVERY: Duration = Duration::from_secs(2);

/// Attempts in all before a notification is given up.
pub const MAX_ATTEMPTS: i32 = 6;

/// Rows claimed per round.
const BATCH: u64 = 20;

/// The wait before attempt `attempts + 1`: 30 s, 2 min, 10 min, 1 h, 3 h.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let secs = match attempts {
        ..=1 => 30,
        2 => 120,
        3 => 600,
        4 => 3600,
        _ => 3 * 3600,
    };
    chrono::Duration::seconds(secs)
}

/// How long a claim lasts: the sync lease (`TIMEBRIDGE_LEASE_SECONDS`, 60 s by default).
fn claim() -> chrono::Duration {
    crate::sync::worker::lease()
}

/// The time limit of one delivery: three quarters of the claim, at most 30 s, so that a
/// claim never expires while its delivery may still be running.
pub fn send_timeout() -> Duration {
    let claim = claim().to_std().unwrap_or(Duration::from_secs(60));
    (claim * 3 / 4).min(Duration::from_secs(30))
}

/// What happens after a failed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Nothing reached the receiver (or it said "not now"): try again at this time.
    Retry(DateTime<Utc>),
    /// Give up, for this reason.
    GiveUp(&'static str),
}

/// Decides what a failure means for a row claimed `attempts` times.
pub fn after_failure(
    error: &ConnectorError,
    attempts: i32,
    repeat_safe: bool,
    now: DateTime<Utc>,
) -> Next {
    let retryable = match error {
        ConnectorError::Unreachable { .. } | ConnectorError::RateLimited { .. } => true,
        // An answer arrived and says the server failed (HTTP 5xx, SMTP 4xx).
        ConnectorError::Remote { status, .. } => *status >= 500 || (400..500).contains(status),
        e if e.outcome_unknown() => {
            if !repeat_safe {
                return Next::GiveUp("outcome_unknown");
            }
            true
        }
        _ => false,
    };
    if !retryable {
        return Next::GiveUp("refused");
    }
    if attempts >= MAX_ATTEMPTS {
        return Next::GiveUp("too_many_attempts");
    }
    let mut wait = backoff(attempts);
    if let Some(after) = error.retry_after() {
        wait = wait.max(chrono::Duration::from_std(after).unwrap_or(wait));
    }
    Next::Retry(now + wait)
}

/// Runs the worker until `shutdown` turns true.
pub async fn run_delivery_worker(env: NotifyEnv, mut shutdown: watch::Receiver<bool>) {
    let owner = crate::sync::worker::worker_name();
    let enqueued = Arc::new(Enqueued::default());
    tracing::info!(worker = %owner, "Notification worker started.");
    loop {
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = tick(&env, &owner, &enqueued).await {
            tracing::warn!(error = %e, "Notification worker round failed; retrying.");
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = env.wake.notified() => {}
            _ = tokio::time::sleep(POLL_EVERY) => {}
        }
    }
    tracing::info!(worker = %owner, "Notification worker stopped.");
}

/// One round: settle stale rows, enqueue due daily summaries, deliver everything due.
pub async fn tick(env: &NotifyEnv, owner: &str, enqueued: &Enqueued) -> Result<(), StoreError> {
    settle_stale(env).await?;
    enqueue_due(env, enqueued).await?;
    loop {
        let now = env.clock.now();
        if env
            .store
            .next_notification_due()
            .await?
            .is_some_and(|due| due <= now)
        {
            crate::faults::notify_due();
        }
        let rows = env
            .store
            .claim_notifications(owner, now, now + claim(), BATCH)
            .await?;
        if rows.is_empty() {
            return Ok(());
        }
        for row in rows {
            deliver_row(env, owner, row).await?;
        }
    }
}

fn event(env: &NotifyEnv, action: AuditAction, row: &OutboxRow, details: Value) -> NewAuditEvent {
    let mut d = json!({"connector_id": row.connector_id, "event": row.event,
                       "pipeline_id": row.pipeline_id, "run_id": row.run_id,
                       "delivery_id": row.delivery_id, "attempts": row.attempts});
    if let (Value::Object(d), Value::Object(extra)) = (&mut d, details) {
        d.extend(extra);
    }
    NewAuditEvent {
        at: env.clock.now(),
        actor: Actor::System.as_str().to_owned(),
        action,
        entity_type: "notification".to_owned(),
        entity_id: Some(row.id.to_string()),
        details: d,
        ip: None,
    }
}

/// Whether connector `id` is a notifier whose receivers drop repeats.
async fn repeat_safe(env: &NotifyEnv, id: i64) -> bool {
    match crate::remote::instance(env, id).await {
        Ok(c) => c.as_notifier().is_some_and(Notifier::repeat_safe),
        Err(_) => false,
    }
}

/// Rows a dead process left `sending`: sent again where that is harmless, else given up.
async fn settle_stale(env: &NotifyEnv) -> Result<(), StoreError> {
    let now = env.clock.now();
    for row in env.store.stale_notifications(now).await? {
        if repeat_safe(env, row.connector_id).await {
            if env.store.requeue_stale_notification(row.id, now).await? {
                tracing::warn!(
                    notification = row.id,
                    "A delivery was interrupted; sending it again with the same delivery id."
                );
            }
            continue;
        }
        let error = "the process sending it stopped; whether it arrived is unknown, so it is not sent again";
        let audit = event(
            env,
            AuditAction::NotificationFailed,
            &row,
            json!({"reason": "outcome_unknown", "error": error}),
        );
        if env
            .store
            .fail_stale_notification(row.id, error, now, audit)
            .await?
        {
            tracing::warn!(
                notification = row.id,
                "A delivery was interrupted; given up, never sent twice."
            );
        }
    }
    Ok(())
}

async fn give_up(
    env: &NotifyEnv,
    owner: &str,
    row: &OutboxRow,
    reason: &str,
    error: &str,
    class: Value,
) -> Result<(), StoreError> {
    let audit = event(
        env,
        AuditAction::NotificationFailed,
        row,
        json!({"reason": reason, "error": error, "error_class": class}),
    );
    env.store
        .mark_notification_failed(row.id, owner, error, env.clock.now(), audit)
        .await?;
    tracing::warn!(notification = row.id, connector = row.connector_id, event = %row.event,
        reason, error, "Notification given up.");
    Ok(())
}

/// Delivers one claimed row and records what happened.
async fn deliver_row(env: &NotifyEnv, owner: &str, row: OutboxRow) -> Result<(), StoreError> {
    let message = match super::render::render(&env.store, &row, &env.public_url).await? {
        Some(m) => m,
        None => {
            return give_up(
                env,
                owner,
                &row,
                "gone",
                "the pipeline or run no longer exists",
                Value::Null,
            )
            .await;
        }
    };
    let connector = match crate::remote::instance(env, row.connector_id).await {
        Ok(c) => c,
        Err(e) => {
            let text = format!("the notifier cannot be built: {e:?}");
            return give_up(env, owner, &row, "misconfigured", &text, Value::Null).await;
        }
    };
    let Some(notifier) = connector.as_notifier() else {
        return give_up(
            env,
            owner,
            &row,
            "not_a_notifier",
            "the connector is not a notifier",
            Value::Null,
        )
        .await;
    };
    let result = send(notifier, &message).await;
    let now = env.clock.now();
    match result {
        Ok(delivered) => {
            let audit = event(
                env,
                AuditAction::NotificationSent,
                &row,
                json!({"details": delivered.details}),
            );
            env.store
                .mark_notification_sent(row.id, owner, now, audit)
                .await?;
            tracing::info!(notification = row.id, connector = row.connector_id, event = %row.event,
                "Notification delivered.");
            Ok(())
        }
        Err(e) => {
            let class = serde_json::to_value(e.class()).unwrap_or_default();
            match after_failure(&e, row.attempts, notifier.repeat_safe(), now) {
                Next::Retry(at) => {
                    env.store
                        .retry_notification(row.id, owner, at, &e.to_string(), now)
                        .await?;
                    tracing::warn!(notification = row.id, connector = row.connector_id,
                        error = %e, retry_at = %at, "Notification failed; retrying later.");
                    Ok(())
                }
                Next::GiveUp(reason) => {
                    give_up(env, owner, &row, reason, &e.to_string(), class).await
                }
            }
        }
    }
}

/// Sends with the time limit, between the crash points of the tests.
async fn send(
    notifier: &dyn Notifier,
    message: &Notification,
) -> Result<timebridge_connectors::Delivered, ConnectorError> {
    crate::faults::before_notify();
    let limit = send_timeout();
    let result = match tokio::time::timeout(limit, notifier.deliver(message)).await {
        Ok(r) => r,
        Err(_) => Err(ConnectorError::Timeout {
            host: "the notifier".into(),
            seconds: limit.as_secs(),
        }),
    };
    crate::faults::after_notify();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-04-01T08:00:00Z".parse().unwrap()
    }

    #[test]
    fn what_left_nothing_behind_is_retried_with_growing_waits() {
        let e = ConnectorError::Unreachable {
            host: "h".into(),
            message: "refused".into(),
        };
        assert_eq!(
            after_failure(&e, 1, false, now()),
            Next::Retry(now() + chrono::Duration::seconds(30))
        );
        assert_eq!(
            after_failure(&e, 2, false, now()),
            Next::Retry(now() + chrono::Duration::minutes(2))
        );
        assert_eq!(
            after_failure(&e, MAX_ATTEMPTS, false, now()),
            Next::GiveUp("too_many_attempts")
        );
        let limited = ConnectorError::RateLimited {
            retry_after_secs: 600,
        };
        assert_eq!(
            after_failure(&limited, 1, false, now()),
            Next::Retry(now() + chrono::Duration::minutes(10))
        );
    }

    #[test]
    fn an_unknown_outcome_is_repeated_only_where_receivers_drop_repeats() {
        let e = ConnectorError::Timeout {
            host: "h".into(),
            seconds: 30,
        };
        assert_eq!(
            after_failure(&e, 1, false, now()),
            Next::GiveUp("outcome_unknown")
        );
        assert!(matches!(after_failure(&e, 1, true, now()), Next::Retry(_)));
    }

    #[test]
    fn refusals_are_final() {
        for e in [
            ConnectorError::Unauthorized {
                status: 200,
                message: "invalid_auth".into(),
            },
            ConnectorError::NotFound {
                message: "channel_not_found".into(),
            },
            ConnectorError::Config("x".into()),
            ConnectorError::Rejected {
                message: "no_text".into(),
                fields: Default::default(),
            },
        ] {
            assert_eq!(
                after_failure(&e, 1, true, now()),
                Next::GiveUp("refused"),
                "{e}"
            );
        }
    }
}
