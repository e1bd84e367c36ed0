//! What a source connector remembers between runs, on both backends: kept and replaced,
//! forgotten when the connector is edited or deleted, and dropped by a privacy purge that
//! finds the address in it.

use chrono::{DateTime, Utc};
use serde_json::json;
use timebridge_store::{ConnectorUpdate, NewConnector, Store, db_test};

fn t0() -> DateTime<Utc> {
    "2026-04-01T06:00:00Z".parse().unwrap()
}

async fn connector(store: &Store, name: &str) -> i64 {
    store
        .create_connector(NewConnector {
            kind: "zammad".into(),
            name: name.into(),
            base_url: "http://127.0.0.1:9".into(),
            api_token: None,
            settings: json!({}),
            secret_settings: Default::default(),
        })
        .await
        .unwrap()
        .id
}

db_test!(
    async fn a_connector_remembers_the_last_memory_it_was_given(store: Store) {
        let id = connector(&store, "z").await;
        assert_eq!(store.connector_memory(id).await.unwrap(), None);
        store
            .remember_for_connector(id, json!({"v": 1}), t0())
            .await
            .unwrap();
        store
            .remember_for_connector(id, json!({"v": 2, "tickets": {"7": {"title": "x"}}}), t0())
            .await
            .unwrap();
        assert_eq!(
            store.connector_memory(id).await.unwrap(),
            Some(json!({"v": 2, "tickets": {"7": {"title": "x"}}}))
        );
        let other = connector(&store, "other").await;
        assert_eq!(store.connector_memory(other).await.unwrap(), None);
    }
);

db_test!(
    async fn editing_or_deleting_a_connector_forgets_its_memory(store: Store) {
        let edited = connector(&store, "edited").await;
        let deleted = connector(&store, "deleted").await;
        for id in [edited, deleted] {
            store
                .remember_for_connector(id, json!({"v": 1}), t0())
                .await
                .unwrap();
        }
        store
            .update_connector(
                edited,
                ConnectorUpdate {
                    base_url: Some("http://127.0.0.1:10".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(store.connector_memory(edited).await.unwrap(), None);
        store.delete_connector(deleted).await.unwrap();
        assert_eq!(store.connector_memory(deleted).await.unwrap(), None);
        // A memory for a connector that is gone is not kept (and is no error).
        store
            .remember_for_connector(deleted, json!({"v": 2}), t0())
            .await
            .unwrap();
        assert_eq!(store.connector_memory(deleted).await.unwrap(), None);
    }
);

db_test!(
    async fn an_export_lists_and_a_purge_drops_a_memory_naming_the_address(store: Store) {
        let named = connector(&store, "named").await;
        let other = connector(&store, "other").await;
        store
            .remember_for_connector(
                named,
                json!({"users": {"3": {"email": "Ann@Example.com", "firstname": "Ann"}}}),
                t0(),
            )
            .await
            .unwrap();
        store
            .remember_for_connector(
                other,
                json!({"users": {"4": {"email": "bob@example.com"}}}),
                t0(),
            )
            .await
            .unwrap();
        let export = store.personal_data("ANN@example.com").await.unwrap();
        assert_eq!(
            export.remembered,
            vec![json!({"connector_id": named,
                        "record": {"email": "Ann@Example.com", "firstname": "Ann"}})]
        );
        store.purge_personal_data("ann@example.com").await.unwrap();
        assert!(
            store
                .personal_data("ann@example.com")
                .await
                .unwrap()
                .remembered
                .is_empty()
        );
        assert_eq!(store.connector_memory(named).await.unwrap(), None);
        assert!(store.connector_memory(other).await.unwrap().is_some());
    }
);
