//! The notification outbox on both backends: enqueued with the run's end in one
//! transaction, once per event and notifier; claimed by exactly one of two claimers;
//! retried, given up and recovered after a crash with their audit events.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use timebridge_core::notify::NotificationEvent;
use timebridge_store::testing::{march_run, seed_pipeline};
use timebridge_store::{
    AuditAction, AuditFilter, NewAuditEvent, NewConnector, NewNotification, NotificationStatus,
    PipelineInput, RunOutcome, RunStatus, RunTrigger, Store, db_test,
};

fn t0() -> DateTime<Utc> {
    "2026-04-01T06:00:00Z".parse().unwrap()
}

fn audit(action: AuditAction) -> NewAuditEvent {
    NewAuditEvent {
        at: t0(),
        actor: "system".into(),
        action,
        entity_type: "notification".into(),
        entity_id: None,
        details: json!({}),
        ip: None,
    }
}

/// A pipeline whose `notify` sends `events` to a new notifier; returns (pipeline, notifier).
async fn notifying_pipeline(store: &Store, events: &[&str]) -> (i64, i64) {
    let pipeline = seed_pipeline(store, "p", t0()).await;
    let notifier = store
        .create_connector(NewConnector {
            kind: "slack".into(),
            name: "slack".into(),
            base_url: "https://slack.com/api".into(),
            api_token: None,
            settings: json!({}),
            secret_settings: Default::default(),
        })
        .await
        .unwrap();
    let p = store.get_pipeline(pipeline).await.unwrap();
    store
        .update_pipeline(
            pipeline,
            PipelineInput {
                name: p.name,
                source_connector_id: p.source_connector_id,
                target_connector_id: p.target_connector_id,
                enabled: true,
                schedule_enabled: true,
                interval_minutes: 60,
                window_days: 31,
                options: json!({"notify": [{"connector_id": notifier.id, "events": events}]}),
            },
            t0(),
        )
        .await
        .unwrap();
    (pipeline, notifier.id)
}

async fn finished_run(store: &Store, pipeline: i64, status: RunStatus) -> i64 {
    let queued = store
        .enqueue_run(march_run(pipeline, RunTrigger::Schedule, t0()), t0())
        .await
        .unwrap();
    let run = store
        .claim_run(queued.id, "w", t0(), t0() + Duration::minutes(1))
        .await
        .unwrap()
        .unwrap();
    let outcome = RunOutcome {
        status,
        stats: json!({}),
        error: Some("cannot reach the target".into()),
        items: Vec::new(),
    };
    store
        .finish_run(&run, "w", &outcome, t0())
        .await
        .unwrap()
        .unwrap();
    run.id
}

db_test!(
    async fn failed_run_enqueues_once(store: Store) {
        let (pipeline, notifier) = notifying_pipeline(&store, &["run_failed"]).await;
        let ok = finished_run(&store, pipeline, RunStatus::Succeeded).await;
        let failed = finished_run(&store, pipeline, RunStatus::Failed).await;
        let rows = store.list_notifications(Some(notifier), 50).await.unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        let row = &rows[0];
        assert_eq!(row.event, NotificationEvent::RunFailed);
        assert_eq!(row.run_id, Some(failed));
        assert_ne!(row.run_id, Some(ok));
        assert_eq!(row.status, NotificationStatus::Pending);
        // Enqueueing the same event again (a retried finish) adds nothing.
        let again =
            NewNotification::for_run(NotificationEvent::RunFailed, pipeline, failed, notifier);
        assert_eq!(
            store.enqueue_notifications(&[again], t0()).await.unwrap(),
            0
        );
        assert_eq!(
            store
                .list_notifications(Some(notifier), 50)
                .await
                .unwrap()
                .len(),
            1
        );
    }
);

db_test!(
    async fn unsubscribed_events_wait(store: Store) {
        let (pipeline, notifier) = notifying_pipeline(&store, &["run_partial"]).await;
        finished_run(&store, pipeline, RunStatus::Failed).await;
        assert!(
            store
                .list_notifications(Some(notifier), 50)
                .await
                .unwrap()
                .is_empty()
        );
        finished_run(&store, pipeline, RunStatus::Partial).await;
        let rows = store.list_notifications(Some(notifier), 50).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].event, NotificationEvent::RunPartial);
    }
);

db_test!(
    async fn two_claimers_one_send(store: Store) {
        let (pipeline, _) = notifying_pipeline(&store, &["run_failed"]).await;
        for _ in 0..5 {
            finished_run(&store, pipeline, RunStatus::Failed).await;
        }
        let until = t0() + Duration::minutes(1);
        let (a, b) = tokio::join!(
            store.claim_notifications("a", t0(), until, 10),
            store.claim_notifications("b", t0(), until, 10),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 5, "every row claimed once: {a:?} {b:?}");
        for row in a.iter().chain(&b) {
            assert_eq!(row.status, NotificationStatus::Sending);
            assert_eq!(row.attempts, 1);
        }
        let ids_a: Vec<i64> = a.iter().map(|r| r.id).collect();
        assert!(b.iter().all(|r| !ids_a.contains(&r.id)));
        assert!(
            store
                .claim_notifications("c", t0(), until, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // Only the owner can settle its claim.
        let row = a.first().or(b.first()).unwrap().clone();
        let owner = row.claim_owner.clone().unwrap();
        let other = if owner == "a" { "b" } else { "a" };
        assert!(
            !store
                .mark_notification_sent(row.id, other, t0(), audit(AuditAction::NotificationSent))
                .await
                .unwrap()
        );
        assert!(
            store
                .mark_notification_sent(row.id, &owner, t0(), audit(AuditAction::NotificationSent))
                .await
                .unwrap()
        );
        assert_eq!(
            store.get_notification(row.id).await.unwrap().status,
            NotificationStatus::Sent
        );
        let filter = AuditFilter {
            action: Some(AuditAction::NotificationSent),
            ..Default::default()
        };
        assert_eq!(store.list_audit(&filter, 10, 0).await.unwrap().1, 1);
    }
);

db_test!(
    async fn retry_then_give_up(store: Store) {
        let (pipeline, _) = notifying_pipeline(&store, &["run_failed"]).await;
        finished_run(&store, pipeline, RunStatus::Failed).await;
        let until = t0() + Duration::minutes(1);
        let row = store
            .claim_notifications("w", t0(), until, 1)
            .await
            .unwrap()
            .remove(0);
        let later = t0() + Duration::seconds(30);
        assert!(
            store
                .retry_notification(row.id, "w", later, "cannot reach slack.com", t0())
                .await
                .unwrap()
        );
        // Not due before its time.
        assert!(
            store
                .claim_notifications("w", t0(), until, 1)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.next_notification_due().await.unwrap(), Some(later));
        let row = store
            .claim_notifications("w", later, later + Duration::minutes(1), 1)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(row.attempts, 2);
        assert_eq!(
            row.delivery_id,
            store.get_notification(row.id).await.unwrap().delivery_id
        );
        assert!(
            store
                .mark_notification_failed(
                    row.id,
                    "w",
                    "gave up",
                    later,
                    audit(AuditAction::NotificationFailed)
                )
                .await
                .unwrap()
        );
        let row = store.get_notification(row.id).await.unwrap();
        assert_eq!(row.status, NotificationStatus::Failed);
        assert_eq!(row.last_error.as_deref(), Some("gave up"));
        assert!(
            store
                .claim_notifications("w", later + Duration::days(1), later + Duration::days(2), 5)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

db_test!(
    async fn stale_sending_rows(store: Store) {
        let (pipeline, _) = notifying_pipeline(&store, &["run_failed"]).await;
        finished_run(&store, pipeline, RunStatus::Failed).await;
        finished_run(&store, pipeline, RunStatus::Failed).await;
        let until = t0() + Duration::minutes(1);
        let rows = store
            .claim_notifications("dead", t0(), until, 5)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        // Still claimed: not stale yet.
        assert!(store.stale_notifications(t0()).await.unwrap().is_empty());
        let after = until + Duration::seconds(1);
        let stale = store.stale_notifications(after).await.unwrap();
        assert_eq!(stale.len(), 2);
        assert!(
            store
                .requeue_stale_notification(stale[0].id, after)
                .await
                .unwrap()
        );
        assert!(
            store
                .fail_stale_notification(
                    stale[1].id,
                    "outcome unknown",
                    after,
                    audit(AuditAction::NotificationFailed)
                )
                .await
                .unwrap()
        );
        // Settled once only.
        assert!(
            !store
                .requeue_stale_notification(stale[1].id, after)
                .await
                .unwrap()
        );
        let again = store
            .claim_notifications("w", after, after + Duration::minutes(1), 5)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, stale[0].id);
        assert_eq!(
            again[0].delivery_id, stale[0].delivery_id,
            "the same delivery id"
        );
        assert_eq!(
            store.get_notification(stale[1].id).await.unwrap().status,
            NotificationStatus::Failed
        );
    }
);
