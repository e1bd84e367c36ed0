//! The executor's group commit on both backends: write intents, completed writes and
//! conflicts recorded several at a time, each as it would be alone.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use timebridge_core::ConflictOrigin;
use timebridge_store::testing::{march_run, seed_pipeline};
use timebridge_store::{
    AuditAction, AuditFilter, CompletedWrite, LinkRow, NewAuditEvent, NewConflict, NewWriteIntent,
    RunTrigger, Store, db_test,
};

fn t0() -> DateTime<Utc> {
    "2026-04-01T06:00:00Z".parse().unwrap()
}

fn intent(pipeline_id: i64, key: &str) -> NewWriteIntent {
    NewWriteIntent {
        pipeline_id,
        run_id: None,
        source_key: key.into(),
        action: "create".into(),
        target_id: None,
        desired: json!({"key": key}),
    }
}

fn link(key: &str, target: &str) -> LinkRow {
    LinkRow {
        source_key: key.into(),
        target_id: Some(target.into()),
        desired_fingerprint: Some(1),
        target_fingerprint: Some(2),
        memory: None,
        ticket_id: None,
        rounded_seconds: None,
        rounding_rule: None,
    }
}

fn created(key: &str) -> NewAuditEvent {
    NewAuditEvent {
        at: t0(),
        actor: "system".into(),
        action: AuditAction::EntryCreated,
        entity_type: "entry".into(),
        entity_id: Some(key.into()),
        details: json!({"source_key": key}),
        ip: None,
    }
}

async fn audited(store: &Store, action: AuditAction) -> Vec<serde_json::Value> {
    let filter = AuditFilter {
        action: Some(action),
        ..Default::default()
    };
    let (events, _) = store.list_audit(&filter, 500, 0).await.unwrap();
    events.into_iter().map(|e| e.details).collect()
}

async fn run_of(store: &Store, pipeline_id: i64, trigger: RunTrigger) -> i64 {
    store
        .enqueue_run(march_run(pipeline_id, trigger, t0()), t0())
        .await
        .unwrap()
        .id
}

db_test!(
    async fn intents_recorded_as_a_group_get_their_own_ids_in_the_order_given(store: Store) {
        let p = seed_pipeline(&store, "p", t0()).await;
        let keys = ["7", "3", "11", "5"];
        let ids = store
            .add_write_intents(keys.iter().map(|k| (intent(p, k), t0())).collect())
            .await
            .unwrap();
        assert_eq!(ids.len(), keys.len());
        let pending = store.pending_write_intents(p).await.unwrap();
        for (key, id) in keys.iter().zip(&ids) {
            let row = pending.iter().find(|i| i.id == *id).unwrap();
            assert_eq!(row.source_key, *key);
            assert_eq!(row.desired, json!({"key": key}));
        }
        // A group that names one key twice is stored row by row, still one id each.
        let twice = store
            .add_write_intents(vec![(intent(p, "8"), t0()), (intent(p, "8"), t0())])
            .await
            .unwrap();
        assert_eq!(twice.len(), 2);
        assert_ne!(twice[0], twice[1]);
        assert_eq!(store.pending_write_intents(p).await.unwrap().len(), 6);
    }
);

db_test!(
    async fn completed_writes_in_a_group_each_link_unrecord_and_audit(store: Store) {
        let p = seed_pipeline(&store, "p", t0()).await;
        let ids = store
            .add_write_intents(vec![(intent(p, "1"), t0()), (intent(p, "2"), t0())])
            .await
            .unwrap();
        let untouched = store.add_write_intent(intent(p, "3"), t0()).await.unwrap();
        let done = |key: &str, target: &str, intent_id| CompletedWrite {
            pipeline_id: p,
            link: link(key, target),
            intent_id,
            event: created(key),
            at: t0(),
        };
        store
            .complete_writes(vec![
                done("1", "101", Some(ids[0])),
                done("2", "102", Some(ids[1])),
                // Two completions of one key in a group: the later one wins.
                done("1", "111", None),
            ])
            .await
            .unwrap();
        let mut links = store.load_links(p).await.unwrap();
        links.sort_by(|a, b| a.source_key.cmp(&b.source_key));
        let targets: Vec<_> = links
            .iter()
            .map(|l| (l.source_key.as_str(), l.target_id.as_deref()))
            .collect();
        assert_eq!(targets, [("1", Some("111")), ("2", Some("102"))]);
        let pending: Vec<i64> = store
            .pending_write_intents(p)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(pending, [untouched]);
        assert_eq!(audited(&store, AuditAction::EntryCreated).await.len(), 3);
    }
);

db_test!(
    async fn conflicts_in_a_group_raise_new_ones_and_keep_unchanged_ones(store: Store) {
        let p = seed_pipeline(&store, "p", t0()).await;
        let r1 = run_of(&store, p, RunTrigger::Manual).await;
        let r2 = run_of(&store, p, RunTrigger::Schedule).await;
        let new = |key: &str, reason: &str, message: &str, run: i64| NewConflict {
            pipeline_id: p,
            source_key: key.into(),
            reason: reason.into(),
            origin: ConflictOrigin::Planner,
            source: Some(json!({"key": key, "duration_seconds": 900})),
            raw_source: None,
            target: None,
            target_id: None,
            diff: json!([]),
            allowed_actions: json!(["create", "skip"]),
            message: message.into(),
            explanation: Some(json!({"steps": [{"field": "user", "rule": null}]})),
            run_id: Some(run),
            group: Default::default(),
        };
        let first = store
            .raise_conflicts(
                vec![
                    new("a", "unmapped_user", "no user", r1),
                    new("b", "unmapped_user", "no user", r1),
                    new("c", "unmapped_user", "no user", r1),
                ],
                "system",
                t0(),
            )
            .await
            .unwrap();
        assert!(first.iter().all(|(_, raised)| *raised));
        let later = t0() + Duration::hours(1);
        let second = store
            .raise_conflicts(
                vec![
                    // As it was.
                    new("a", "unmapped_user", "no user", r2),
                    // Same reason, other words.
                    new("b", "unmapped_user", "no user for agent 4", r2),
                    // Another reason.
                    new("c", "unmapped_project", "no project", r2),
                    // New, and asked twice in the group.
                    new("d", "unmapped_user", "no user", r2),
                    new("d", "unmapped_user", "no user", r2),
                ],
                "scheduler",
                later,
            )
            .await
            .unwrap();
        assert_eq!(second[0], (first[0].0, false));
        assert_eq!(second[1], (first[1].0, false));
        assert_eq!(second[2], (first[2].0, true));
        assert!(second[3].1);
        assert_eq!(second[4], (second[3].0, false));

        let a = store.get_conflict(first[0].0).await.unwrap();
        assert_eq!((a.message.as_str(), a.run_id), ("no user", Some(r2)));
        assert_eq!(a.updated_at, later);
        assert_eq!(
            a.explanation,
            Some(json!({"steps": [{"field": "user", "rule": null}]}))
        );
        let b = store.get_conflict(first[1].0).await.unwrap();
        assert_eq!(b.message, "no user for agent 4");
        let c = store.get_conflict(first[2].0).await.unwrap();
        assert_eq!(c.reason, "unmapped_project");

        // One audit event per conflict raised (new or with another reason), none for the
        // ones refreshed: a, b, c, then c again and d.
        let raised = audited(&store, AuditAction::ConflictRaised).await;
        assert_eq!(raised.len(), 5);
        let by_r2: Vec<_> = raised
            .iter()
            .filter(|d| d["run_id"] == json!(r2))
            .map(|d| (d["source_key"].clone(), d["reason"].clone()))
            .collect();
        assert_eq!(by_r2.len(), 2);
        assert!(by_r2.contains(&(json!("c"), json!("unmapped_project"))));
        assert!(by_r2.contains(&(json!("d"), json!("unmapped_user"))));
        assert_eq!(
            store
                .conflicts_raised_by(&store.get_run(r2).await.unwrap())
                .await
                .unwrap()
                .len(),
            2
        );
    }
);
