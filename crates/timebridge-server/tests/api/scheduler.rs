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

db_test!(
    async fn two_schedulers_race(store: Store) {
        let clock = ManualClock::new("2026-03-01T09:30:00Z".parse().unwrap());
        let count = 30;
        for i in 0..count {
            seed_pipeline(&store, &format!("p{i:02}"), clock.now()).await;
        }
        clock.advance(chrono::Duration::minutes(61));
        // Four schedulers (as in four processes) at the same moment, on their own
        // connections of the pool.
        let schedulers: Vec<_> = (0..4)
            .map(|_| {
                let env = SyncEnv::new(store.clone(), Arc::new(clock.clone()));
                tokio::spawn(async move {
                    // A scheduler that lost a lock race may fail its tick; it tries
                    // again at the next one.
                    for _ in 0..3 {
                        if timebridge_server::sync::worker::enqueue_scheduled(&env)
                            .await
                            .is_ok()
                        {
                            break;
                        }
                    }
                })
            })
            .collect();
        for s in schedulers {
            s.await.unwrap();
        }
        for p in store.all_pipelines().await.unwrap() {
            let (runs, _) = store.list_runs(Some(p.id), 10, 0).await.unwrap();
            assert_eq!(
                runs.len(),
                1,
                "pipeline {} has {} scheduled runs",
                p.name,
                runs.len()
            );
        }
    }
);

db_test!(
    async fn idle_worker_queries(store: Store) {
        use timebridge_server::sync::worker::{Housekeeping, tick};
        let clock = ManualClock::new("2026-03-01T09:30:00Z".parse().unwrap());
        let pipelines = 20;
        for i in 0..pipelines {
            seed_pipeline(&store, &format!("p{i:02}"), clock.now()).await;
        }
        let env = SyncEnv::new(store.clone(), Arc::new(clock.clone()));
        let mut housekeeping = Housekeeping::default();
        tick(&env, "worker-1", &mut housekeeping).await.unwrap();
        let before = store.statements_executed();
        let seconds = 10;
        for _ in 0..seconds {
            clock.advance(chrono::Duration::seconds(1));
            tick(&env, "worker-1", &mut housekeeping).await.unwrap();
        }
        let per_second = (store.statements_executed() - before) as f64 / f64::from(seconds);
        // One question per second (is a run queued?), not a few per pipeline.
        assert!(
            per_second <= 1.5,
            "{per_second} statements per idle second with {pipelines} pipelines"
        );
        // Scheduling still happens: the pipelines fall due an hour after their creation.
        clock.advance(chrono::Duration::minutes(61));
        tick(&env, "worker-1", &mut housekeeping).await.ok();
        let (_, total) = store.list_runs(None, 500, 0).await.unwrap();
        assert!(total > 0, "due pipelines were scheduled");
    }
);
