//! OAuth connect flows in progress on both backends: a state is taken once, unknown
//! states are not, old ones are purged, and a deleted connector takes its flows along.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use timebridge_store::{NewConnector, Store, db_test};

fn t0() -> DateTime<Utc> {
    "2026-04-01T06:00:00Z".parse().unwrap()
}

async fn connector(store: &Store) -> i64 {
    store
        .create_connector(NewConnector {
            kind: "google_calendar".into(),
            name: "Google".into(),
            base_url: "http://127.0.0.1:9".into(),
            api_token: None,
            settings: json!({}),
            secret_settings: BTreeMap::new(),
        })
        .await
        .unwrap()
        .id
}

db_test!(
    async fn oauth_state_taken_once(store: Store) {
        let c = connector(&store).await;
        store.add_oauth_state("digest-a", c, t0()).await.unwrap();
        let taken = store.take_oauth_state("digest-a").await.unwrap().unwrap();
        assert_eq!(taken.connector_id, c);
        assert_eq!(taken.created_at, t0());
        assert_eq!(store.take_oauth_state("digest-a").await.unwrap(), None);
        assert_eq!(store.take_oauth_state("digest-b").await.unwrap(), None);
    }
);

db_test!(
    async fn oauth_state_purge(store: Store) {
        let c = connector(&store).await;
        store.add_oauth_state("old", c, t0()).await.unwrap();
        store
            .add_oauth_state("new", c, t0() + Duration::minutes(20))
            .await
            .unwrap();
        let purged = store
            .purge_oauth_states(t0() + Duration::minutes(10))
            .await
            .unwrap();
        assert_eq!(purged, 1);
        assert!(store.take_oauth_state("old").await.unwrap().is_none());
        assert!(store.take_oauth_state("new").await.unwrap().is_some());
        store.add_oauth_state("gone", c, t0()).await.unwrap();
        store.delete_connector(c).await.unwrap();
        assert!(store.take_oauth_state("gone").await.unwrap().is_none());
    }
);
