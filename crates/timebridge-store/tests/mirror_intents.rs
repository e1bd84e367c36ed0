//! Project mirroring state on both backends: mirror intents (one per pipeline and name)
//! and the projects a run mirrored.

use chrono::{DateTime, Utc};
use timebridge_store::testing::{march_run, seed_pipeline};
use timebridge_store::{MirroredProject, NewMirrorIntent, Store, db_test};

fn t0() -> DateTime<Utc> {
    "2026-04-01T06:00:00Z".parse().unwrap()
}

fn intent(pipeline_id: i64, name: &str) -> NewMirrorIntent {
    NewMirrorIntent {
        pipeline_id,
        run_id: None,
        name: name.into(),
        client_key: Some("7".into()),
    }
}

db_test!(
    async fn a_mirror_intent_is_kept_until_deleted_and_listed_per_pipeline(store: Store) {
        let a = seed_pipeline(&store, "a", t0()).await;
        let b = seed_pipeline(&store, "b", t0()).await;
        let first = store
            .add_mirror_intent(intent(a, "Website"), t0())
            .await
            .unwrap();
        let second = store
            .add_mirror_intent(intent(a, "Support"), t0())
            .await
            .unwrap();
        store
            .add_mirror_intent(intent(b, "Website"), t0())
            .await
            .unwrap();
        let pending = store.pending_mirror_intents(a).await.unwrap();
        let names: Vec<&str> = pending.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["Website", "Support"]);
        assert_eq!(pending[0].id, first);
        assert_eq!(pending[0].client_key.as_deref(), Some("7"));
        assert_eq!(pending[0].created_at, t0());
        store.delete_mirror_intent(first).await.unwrap();
        let pending = store.pending_mirror_intents(a).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, second);
        assert_eq!(store.pending_mirror_intents(b).await.unwrap().len(), 1);
    }
);

db_test!(
    async fn a_second_intent_for_a_name_in_other_case_or_spacing_is_the_first(store: Store) {
        let a = seed_pipeline(&store, "a", t0()).await;
        let first = store
            .add_mirror_intent(intent(a, "ACME Support"), t0())
            .await
            .unwrap();
        let again = store
            .add_mirror_intent(intent(a, "  acme support "), t0())
            .await
            .unwrap();
        assert_eq!(first, again);
        let pending = store.pending_mirror_intents(a).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].name, "ACME Support");
    }
);

db_test!(
    async fn a_run_keeps_the_projects_it_mirrored(store: Store) {
        let a = seed_pipeline(&store, "a", t0()).await;
        let run = store
            .enqueue_run(
                march_run(a, timebridge_store::RunTrigger::Manual, t0()),
                t0(),
            )
            .await
            .unwrap();
        assert!(run.mirrored_projects.is_empty());
        let list = vec![
            MirroredProject {
                name: "Website".into(),
                source_key: Some("s-1".into()),
            },
            MirroredProject {
                name: "Support".into(),
                source_key: None,
            },
        ];
        store
            .set_run_mirrored_projects(run.id, &list)
            .await
            .unwrap();
        assert_eq!(store.get_run(run.id).await.unwrap().mirrored_projects, list);
    }
);

db_test!(
    async fn deleting_a_pipeline_deletes_its_mirror_intents(store: Store) {
        let a = seed_pipeline(&store, "a", t0()).await;
        store
            .add_mirror_intent(intent(a, "Website"), t0())
            .await
            .unwrap();
        store.delete_pipeline(a).await.unwrap();
        assert!(store.pending_mirror_intents(a).await.unwrap().is_empty());
    }
);
