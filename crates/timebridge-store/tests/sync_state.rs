//! The sync state on both backends: the run queue with per-pipeline leases, links,
//! write intents, conflicts and webhook deliveries.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use timebridge_core::ConflictOrigin;
use timebridge_store::testing::{march_run, seed_pipeline};
use timebridge_store::{
    ConflictFilter, ItemOutcome, LinkRow, NewConflict, NewRun, NewWriteIntent, RunItem, RunOutcome,
    RunStatus, RunTrigger, Store, UndoRecord, db_test,
};

fn t0() -> DateTime<Utc> {
    "2026-04-01T06:00:00Z".parse().unwrap()
}

fn outcome(status: RunStatus) -> RunOutcome {
    RunOutcome {
        status,
        stats: json!({}),
        error: None,
        items: Vec::new(),
    }
}

fn new_run(pipeline_id: i64, trigger: RunTrigger) -> NewRun {
    march_run(pipeline_id, trigger, t0())
}

db_test!(
    async fn only_one_run_per_pipeline_is_claimed_at_a_time(store: Store) {
        let a = seed_pipeline(&store, "a", t0()).await;
        let b = seed_pipeline(&store, "b", t0()).await;
        let a1 = store
            .enqueue_run(new_run(a, RunTrigger::Manual), t0())
            .await
            .unwrap();
        let a2 = store
            .enqueue_run(new_run(a, RunTrigger::Schedule), t0())
            .await
            .unwrap();
        let b1 = store
            .enqueue_run(new_run(b, RunTrigger::Manual), t0())
            .await
            .unwrap();
        let lease = t0() + Duration::minutes(1);
        let first = store
            .claim_next_run("w1", t0(), lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.id, a1.id);
        assert_eq!(first.status, RunStatus::Running);
        // Another worker gets the other pipeline, never a second run of `a`.
        let second = store
            .claim_next_run("w2", t0(), lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.id, b1.id);
        assert!(
            store
                .claim_next_run("w3", t0(), lease)
                .await
                .unwrap()
                .is_none()
        );
        // When `a`'s run ends, its next run can start.
        // Only the owner can finish it.
        assert!(
            store
                .finish_run(&first, "w2", &outcome(RunStatus::Succeeded), t0())
                .await
                .unwrap()
                .is_none()
        );
        let done = store
            .finish_run(
                &first,
                "w1",
                &RunOutcome {
                    stats: json!({"created": 1}),
                    ..outcome(RunStatus::Succeeded)
                },
                t0(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.status, RunStatus::Succeeded);
        let third = store
            .claim_next_run("w3", t0(), lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(third.id, a2.id);
    }
);

db_test!(
    async fn a_dead_workers_run_is_requeued_after_its_lease_expires(store: Store) {
        let p = seed_pipeline(&store, "p", t0()).await;
        let run = store
            .enqueue_run(new_run(p, RunTrigger::Manual), t0())
            .await
            .unwrap();
        let lease = t0() + Duration::seconds(30);
        let claimed = store
            .claim_next_run("dead", t0(), lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.id, run.id);
        let later = t0() + Duration::seconds(10);
        assert_eq!(store.requeue_expired_runs(later).await.unwrap(), 0);
        assert!(
            store
                .claim_next_run("w2", later, later + Duration::seconds(30))
                .await
                .unwrap()
                .is_none()
        );
        let expired = t0() + Duration::seconds(31);
        assert_eq!(store.requeue_expired_runs(expired).await.unwrap(), 1);
        let again = store
            .claim_next_run("w2", expired, expired + Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, run.id);
        assert_eq!(again.attempts, 2);
        // The dead worker cannot extend a lease it lost.
        assert!(
            !store
                .renew_run_lease(&again, "dead", expired + Duration::minutes(5))
                .await
                .unwrap()
        );
        assert!(
            store
                .renew_run_lease(&again, "w2", expired + Duration::minutes(5))
                .await
                .unwrap()
        );
    }
);

db_test!(
    async fn webhook_runs_not_yet_started_collect_their_tickets(store: Store) {
        let p = seed_pipeline(&store, "p", t0()).await;
        assert!(
            store
                .merge_into_queued_webhook_run(p, &[5])
                .await
                .unwrap()
                .is_none()
        );
        let mut r = new_run(p, RunTrigger::Webhook);
        r.ticket_ids = Some(vec![5]);
        r.run_after = t0() + Duration::seconds(2);
        let run = store.enqueue_run(r, t0()).await.unwrap();
        let merged = store
            .merge_into_queued_webhook_run(p, &[7, 5])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(merged.id, run.id);
        assert_eq!(merged.ticket_ids, Some(vec![5, 7]));
        // Not due yet: nobody claims it.
        assert!(
            store
                .claim_next_run("w", t0(), t0() + Duration::minutes(1))
                .await
                .unwrap()
                .is_none()
        );
    }
);

db_test!(
    async fn run_items_and_history_are_kept_per_run(store: Store) {
        let p = seed_pipeline(&store, "p", t0()).await;
        let run = store
            .enqueue_run(new_run(p, RunTrigger::Manual), t0())
            .await
            .unwrap();
        let items = vec![
            RunItem {
                source_key: "1".into(),
                outcome: ItemOutcome::Create,
                reason: None,
                target_id: Some("10".into()),
                conflict_id: None,
                message: None,
                rounded_seconds: Some(450),
                rounding_rule: Some(3),
                undo: Some(UndoRecord {
                    written_fingerprint: 11,
                    source_fingerprint: -12,
                    before: None,
                }),
            },
            RunItem {
                source_key: "2".into(),
                outcome: ItemOutcome::Conflict,
                reason: Some("unmapped_user".into()),
                target_id: None,
                conflict_id: Some(3),
                message: Some("no user".into()),
                rounded_seconds: None,
                rounding_rule: None,
                undo: None,
            },
        ];
        store.replace_run_items(run.id, &items).await.unwrap();
        store.replace_run_items(run.id, &items).await.unwrap();
        assert_eq!(store.list_run_items(run.id).await.unwrap(), items);
        let (runs, total) = store.list_runs(Some(p), 50, 0).await.unwrap();
        assert_eq!(total, 1);
        assert_eq!(
            runs[0].window_from,
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
    }
);

db_test!(
    async fn links_upsert_by_source_key_and_intents_survive_until_deleted(store: Store) {
        let p = seed_pipeline(&store, "p", t0()).await;
        let mut row = LinkRow {
            source_key: "42".into(),
            target_id: Some("7".into()),
            desired_fingerprint: Some(-5),
            target_fingerprint: Some(i64::MAX),
            memory: None,
            ticket_id: Some(3),
            rounded_seconds: Some(-120),
            rounding_rule: None,
        };
        store.upsert_link(p, &row, t0()).await.unwrap();
        assert_eq!(store.load_links(p).await.unwrap(), vec![row.clone()]);
        row.memory = Some(json!({"kind": "skipped", "source_fingerprint": "00ff"}));
        row.rounded_seconds = Some(450);
        row.rounding_rule = Some(2);
        store.upsert_link(p, &row, t0()).await.unwrap();
        assert_eq!(store.load_links(p).await.unwrap(), vec![row.clone()]);
        store.delete_link(p, "42").await.unwrap();
        assert!(store.get_link(p, "42").await.unwrap().is_none());

        let id = store
            .add_write_intent(
                NewWriteIntent {
                    pipeline_id: p,
                    run_id: None,
                    source_key: "42".into(),
                    action: "create".into(),
                    target_id: None,
                    desired: json!({"key": "42"}),
                },
                t0(),
            )
            .await
            .unwrap();
        let pending = store.pending_write_intents(p).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].desired["key"], "42");
        store.delete_write_intent(id).await.unwrap();
        assert!(store.pending_write_intents(p).await.unwrap().is_empty());
    }
);

db_test!(
    async fn a_conflict_is_raised_once_and_refreshed_by_later_runs(store: Store) {
        let p = seed_pipeline(&store, "p", t0()).await;
        let new = |reason: &str| NewConflict {
            pipeline_id: p,
            source_key: "9".into(),
            reason: reason.into(),
            origin: ConflictOrigin::Planner,
            source: Some(json!({"key": "9"})),
            raw_source: None,
            target: None,
            target_id: None,
            diff: json!([]),
            allowed_actions: json!(["create", "skip"]),
            message: "m".into(),
            explanation: None,
            run_id: None,
            group: Default::default(),
        };
        let (c1, fresh) = store
            .raise_conflict(new("unmapped_user"), t0())
            .await
            .unwrap();
        assert!(fresh);
        let (c2, fresh) = store
            .raise_conflict(new("unmapped_user"), t0())
            .await
            .unwrap();
        assert!(!fresh);
        assert_eq!(c1.id, c2.id);
        let (c3, fresh) = store
            .raise_conflict(new("unmapped_project"), t0())
            .await
            .unwrap();
        assert!(fresh);
        assert_eq!(c3.id, c1.id);
        assert_eq!(c3.reason, "unmapped_project");
        assert!(
            store
                .resolve_conflict(c1.id, json!({"action": "skip"}), t0())
                .await
                .unwrap()
        );
        assert!(
            !store
                .resolve_conflict(c1.id, json!({"action": "skip"}), t0())
                .await
                .unwrap()
        );
        let filter = ConflictFilter {
            status: Some("open".into()),
            ..Default::default()
        };
        assert_eq!(store.list_conflicts(&filter, 50, 0).await.unwrap().1, 0);
        let (c4, fresh) = store
            .raise_conflict(new("unmapped_user"), t0())
            .await
            .unwrap();
        assert!(fresh);
        assert_ne!(c4.id, c1.id);
    }
);

db_test!(
    async fn target_refusals_are_found_by_origin_not_by_wording(store: Store) {
        let p = seed_pipeline(&store, "p", t0()).await;
        let new = |key: &str, reason: &str, origin: ConflictOrigin, message: &str| NewConflict {
            pipeline_id: p,
            source_key: key.into(),
            reason: reason.into(),
            origin,
            source: Some(json!({"key": key})),
            raw_source: None,
            target: None,
            target_id: None,
            diff: json!([]),
            allowed_actions: json!(["create", "skip"]),
            message: message.into(),
            explanation: None,
            run_id: None,
            group: Default::default(),
        };
        let mut ids = Vec::new();
        for (key, reason, origin, message) in [
            (
                "1",
                "target_rejected",
                ConflictOrigin::Target,
                "begin: invalid",
            ),
            (
                "2",
                "target_rejected",
                ConflictOrigin::Planner,
                "The target refused the create (a message that looks like a refusal)",
            ),
            (
                "3",
                "target_rejected",
                ConflictOrigin::Target,
                "any wording at all",
            ),
            (
                "4",
                "unmapped_user",
                ConflictOrigin::Target,
                "not this reason",
            ),
            ("5", "target_rejected", ConflictOrigin::Target, "resolved"),
        ] {
            ids.push(
                store
                    .raise_conflict(new(key, reason, origin, message), t0())
                    .await
                    .unwrap()
                    .0
                    .id,
            );
        }
        store
            .resolve_conflict(ids[4], json!({"action": "skip"}), t0())
            .await
            .unwrap();
        let keys = store.open_conflict_keys(p).await.unwrap();
        assert_eq!(
            keys.iter().map(|k| k.1.as_str()).collect::<Vec<_>>(),
            ["1", "2", "3", "4"]
        );
        assert_eq!(
            keys[3],
            (ids[3], "4".to_owned(), "unmapped_user".to_owned())
        );
        let refused = store
            .open_target_refusals(p, "target_rejected")
            .await
            .unwrap();
        let refused_ids: Vec<i64> = refused.iter().map(|r| r.0).collect();
        assert_eq!(refused_ids, [ids[0], ids[2]], "{refused:?}");
        assert_eq!(refused[0].3, Some(json!({"key": "1"})));
        let stored = store.get_conflict(ids[1]).await.unwrap();
        assert_eq!(stored.origin, ConflictOrigin::Planner);
        // A later run's refresh may change who raised it.
        let (again, _) = store
            .raise_conflict(
                new(
                    "2",
                    "target_rejected",
                    ConflictOrigin::Target,
                    "now refused",
                ),
                t0(),
            )
            .await
            .unwrap();
        assert_eq!(again.id, ids[1]);
        assert_eq!(again.origin, ConflictOrigin::Target);
    }
);

db_test!(
    async fn the_origin_migration_classifies_v1_target_refusals_by_their_old_wording(store: Store) {
        use sea_orm_migration::MigratorTrait;
        let p = seed_pipeline(&store, "p", t0()).await;
        let new = |key: &str, reason: &str, message: &str| NewConflict {
            pipeline_id: p,
            source_key: key.into(),
            reason: reason.into(),
            origin: ConflictOrigin::Planner,
            source: None,
            raw_source: None,
            target: None,
            target_id: None,
            diff: json!([]),
            allowed_actions: json!(["create", "skip"]),
            message: message.into(),
            explanation: None,
            run_id: None,
            group: Default::default(),
        };
        let mut ids = Vec::new();
        for (key, reason, message) in [
            (
                "1",
                "target_rejected",
                "The target refused the create: begin: invalid",
            ),
            ("2", "locked", "The target refused the update: exported"),
            (
                "3",
                "target_rejected",
                "The target would refuse 3, so nothing was sent",
            ),
            (
                "4",
                "unmapped_user",
                "The target refused the create: not this reason",
            ),
        ] {
            ids.push(
                store
                    .raise_conflict(new(key, reason, message), t0())
                    .await
                    .unwrap()
                    .0
                    .id,
            );
        }
        // Back to the v1 schema and forward again, as an upgrade from v0.1 runs it.
        let db = store.raw_connection();
        // Undo the origin migration (the fourth) and every one after it, however many
        // later issues added.
        let from_origin =
            u32::try_from(timebridge_store::Migrator::migrations().len() - 3).unwrap();
        timebridge_store::Migrator::down(db, Some(from_origin))
            .await
            .unwrap();
        timebridge_store::Migrator::up(db, None).await.unwrap();
        let origins: Vec<ConflictOrigin> = {
            let mut out = Vec::new();
            for id in &ids {
                out.push(store.get_conflict(*id).await.unwrap().origin);
            }
            out
        };
        assert_eq!(
            origins,
            [
                ConflictOrigin::Target,
                ConflictOrigin::Target,
                ConflictOrigin::Planner,
                ConflictOrigin::Planner
            ]
        );
    }
);

db_test!(
    async fn a_webhook_delivery_id_is_accepted_once(store: Store) {
        assert!(store.record_webhook_delivery("d-1", 1, t0()).await.unwrap());
        assert!(!store.record_webhook_delivery("d-1", 1, t0()).await.unwrap());
        assert!(store.record_webhook_delivery("d-2", 1, t0()).await.unwrap());
    }
);

db_test!(
    async fn a_webhook_call_naming_everything_widens_the_queued_run(store: Store) {
        use timebridge_store::{NewAuditEvent, WebhookCall, WebhookTarget};
        let p = seed_pipeline(&store, "p", t0()).await;
        let source = store.get_pipeline(p).await.unwrap().source_connector_id;
        let call = |delivery: &str, ticket_ids: Option<Vec<i64>>| WebhookCall {
            connector_id: source,
            ticket_ids,
            delivery_id: Some(delivery.into()),
            audit: NewAuditEvent {
                at: t0(),
                actor: "webhook".into(),
                action: timebridge_store::AuditAction::WebhookReceived,
                entity_type: "connector".into(),
                entity_id: Some(source.to_string()),
                details: json!({}),
                ip: None,
            },
        };
        let targets = [WebhookTarget {
            pipeline_id: p,
            source_connector_id: source,
            window_from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            window_to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
        }];
        let after = t0() + Duration::seconds(2);
        let (kept, runs) = store
            .record_webhook_batch(&[call("a", Some(vec![7, 5]))], &targets, t0(), after)
            .await
            .unwrap();
        assert_eq!((kept, runs.len()), (1, 1));
        let run = runs[0];
        assert_eq!(
            store.get_run(run).await.unwrap().ticket_ids,
            Some(vec![5, 7])
        );
        // A call naming everything widens the queued run ...
        let batch = [call("b", Some(vec![9])), call("c", None)];
        let (kept, runs) = store
            .record_webhook_batch(&batch, &targets, t0(), after)
            .await
            .unwrap();
        assert_eq!((kept, runs), (2, vec![run]));
        assert_eq!(store.get_run(run).await.unwrap().ticket_ids, None);
        // ... and a later ticket does not narrow it again.
        store
            .record_webhook_batch(&[call("d", Some(vec![3]))], &targets, t0(), after)
            .await
            .unwrap();
        assert_eq!(store.get_run(run).await.unwrap().ticket_ids, None);
        // A repeated delivery id is left out.
        let (kept, _) = store
            .record_webhook_batch(&[call("d", Some(vec![4]))], &targets, t0(), after)
            .await
            .unwrap();
        assert_eq!(kept, 0);
    }
);

db_test!(
    async fn an_undos_entry_before_is_exported_and_purged_with_the_person(store: Store) {
        let p = seed_pipeline(&store, "p", t0()).await;
        let run = store
            .enqueue_run(new_run(p, RunTrigger::Manual), t0())
            .await
            .unwrap();
        let before = json!({"user": {"key": "7", "email": "Anna@Example.com"},
                            "description": "call with anna@example.com"});
        let item = RunItem {
            source_key: "1".into(),
            outcome: ItemOutcome::Update,
            reason: None,
            target_id: Some("10".into()),
            conflict_id: None,
            message: None,
            rounded_seconds: None,
            rounding_rule: None,
            undo: Some(UndoRecord {
                written_fingerprint: 1,
                source_fingerprint: 2,
                before: Some(before),
            }),
        };
        store.replace_run_items(run.id, &[item]).await.unwrap();
        let export = store.personal_data("anna@example.com").await.unwrap();
        assert_eq!(export.run_items.len(), 1);
        assert_eq!(export.run_items[0]["before"]["user"]["key"], "7");
        let purged = store.purge_personal_data("anna@example.com").await.unwrap();
        assert_eq!(purged.run_items, 1);
        let kept = store.list_run_items(run.id).await.unwrap().remove(0);
        let text = kept
            .undo
            .unwrap()
            .before
            .unwrap()
            .to_string()
            .to_lowercase();
        assert!(!text.contains("anna@example.com"), "{text}");
    }
);
