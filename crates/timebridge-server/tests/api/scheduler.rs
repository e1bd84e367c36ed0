//! The scheduler on its own (no server, no worker running the runs it queues).

use std::sync::Arc;

use timebridge_server::clock::{Clock, ManualClock};
use timebridge_server::sync::SyncEnv;
use timebridge_store::testing::seed_pipeline;
use timebridge_store::{Store, db_test};

db_test!(
    async fn scheduler_beyond_500(store: Store) {
        let clock = ManualClock::new("2026-03-01T09:30:00Z".parse().unwrap());
        let count = 501;
        for i in 0..count {
            seed_pipeline(&store, &format!("p{i:03}"), clock.now()).await;
        }
        // Every seeded pipeline is due one interval (60 minutes) after its creation.
        clock.advance(chrono::Duration::minutes(61));
        let env = SyncEnv::new(store.clone(), Arc::new(clock.clone()));
        timebridge_server::sync::worker::enqueue_scheduled(&env)
            .await
            .unwrap();
        let (_, total) = store.list_runs(None, 500, 0).await.unwrap();
        assert_eq!(total, count, "one scheduled run per pipeline");
        let last = store.all_pipelines().await.unwrap().last().unwrap().id;
        let (of_last, _) = store.list_runs(Some(last), 10, 0).await.unwrap();
        assert_eq!(of_last.len(), 1, "the 501st pipeline is scheduled too");
    }
);
