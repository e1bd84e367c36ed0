//! The shared test world (`timebridge_world`) driven through real `timebridge` processes:
//! a fresh database of one backend, a pair's simulators, the plan configured through the
//! store, and `timebridge sync` / `serve` run as child processes against them.

#![allow(dead_code)] // each test binary uses its own part

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Command, Output};
use std::time::Duration;

use base64::Engine;
use timebridge_sim::{Seed, SimOptions};
use timebridge_store::testing::{TEST_KEY, TestDb};
use timebridge_store::{Backend, ItemOutcome, Run, Store};
use timebridge_world::{Pair, World};

/// The lease of the processes under test: short, so that a killed run's pipeline is free
/// again soon, but long enough for a loaded machine to renew it in time.
pub const LEASE_SECONDS: u64 = 3;

/// The window every process syncs: the month the simulators' seeds fill.
pub const FROM: &str = "2026-03-01";
/// Last day of the window.
pub const TO: &str = "2026-03-31";

/// Waits out the lease of a killed process.
pub async fn lease_expiry() {
    tokio::time::sleep(Duration::from_millis(LEASE_SECONDS * 1000 + 300)).await;
}

/// A pair's world configured on a fresh database, with a data directory for processes.
pub struct Proc {
    pub db: TestDb,
    pub store: Store,
    pub data: tempfile::TempDir,
    pub world: World,
    pub pipeline: i64,
}

impl Proc {
    pub async fn start(pair: Pair, seed: Seed, backend: Backend) -> Proc {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let world = World::start(pair, SimOptions::with_seed(seed))
            .await
            .unwrap();
        let pipeline = timebridge_world::configure_store(&store, &world.plan, chrono::Utc::now())
            .await
            .unwrap()
            .pipeline;
        Proc {
            db,
            store,
            data: tempfile::tempdir().unwrap(),
            world,
            pipeline,
        }
    }

    /// `timebridge <args>` with this world's database, keys and data directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_timebridge"));
        let key = base64::engine::general_purpose::STANDARD.encode(TEST_KEY);
        cmd.env_clear()
            .current_dir(self.data.path())
            .env("DATABASE_URL", self.db.url())
            .env("DATA_DIR", self.data.path())
            .env("ENCRYPTION_KEY", key)
            .env(
                "SECRET_KEY",
                base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
            )
            .env("ADMIN_PASSWORD", "a long enough password")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .env("TIMEBRIDGE_LEASE_SECONDS", LEASE_SECONDS.to_string())
            .args(args);
        cmd
    }

    /// One `timebridge sync` of the window, aborted at `crash_at` if given.
    pub fn sync(&self, crash_at: Option<&str>) -> Output {
        let mut cmd = self.command(&["sync", "--from", FROM, "--to", TO]);
        if let Some(point) = crash_at {
            cmd.env("TIMEBRIDGE_CRASH_AT", point);
        }
        cmd.output().unwrap()
    }

    /// Runs `timebridge sync` until a run completes (a killed run's lease takes a few
    /// seconds to expire; meanwhile the command says the pipeline is busy), and returns
    /// that run.
    pub async fn sync_to_completion(&self) -> Run {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.sync(None);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if out.status.success() && text.contains("status") {
                return self.last_run().await;
            }
            assert!(
                text.contains("being synced by another process") || text.contains("is running"),
                "{text}"
            );
            assert!(
                tokio::time::Instant::now() < deadline,
                "never completed: {text}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Queues the undo of `of` as `POST /api/sync/runs/{id}/undo` does; the next
    /// `timebridge sync` (or `serve`) runs it.
    pub async fn queue_undo(&self, of: &Run) -> Run {
        let now = chrono::Utc::now();
        self.store
            .enqueue_run(
                timebridge_store::NewRun {
                    pipeline_id: self.pipeline,
                    trigger: timebridge_store::RunTrigger::Undo,
                    dry_run: false,
                    window_from: of.window_from,
                    window_to: of.window_to,
                    ticket_ids: None,
                    run_after: now,
                    scope: None,
                    undo_of: Some(of.id),
                },
                now,
            )
            .await
            .unwrap()
    }

    /// The pipeline's newest run.
    pub async fn last_run(&self) -> Run {
        let (runs, _) = self
            .store
            .list_runs(Some(self.pipeline), 1, 0)
            .await
            .unwrap();
        runs.into_iter().next().expect("a run")
    }

    /// Open conflicts by source key, with their reason.
    pub async fn open_conflicts(&self) -> HashMap<String, String> {
        self.store
            .open_conflicts(self.pipeline)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.source_key, c.reason))
            .collect()
    }

    /// No target record is written twice, and every entry the newest run read is in the
    /// target (linked to a record that exists) or has an open conflict, or was skipped
    /// for a stated reason.
    pub async fn assert_every_entry_answered_once(&self) {
        let records = self.world.target().records();
        let mut identities: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &records {
            if let Some(i) = &r.identity {
                *identities.entry(i).or_default() += 1;
            }
        }
        let twice: Vec<_> = identities.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "written twice: {twice:?}");
        let ids: HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
        let links: HashMap<String, Option<String>> = self
            .store
            .load_links(self.pipeline)
            .await
            .unwrap()
            .into_iter()
            .map(|l| (l.source_key, l.target_id))
            .collect();
        let open = self.open_conflicts().await;
        let run = self.last_run().await;
        let items = self.store.list_run_items(run.id).await.unwrap();
        assert!(!items.is_empty(), "the run read nothing: {run:?}");
        for item in items {
            let key = &item.source_key;
            match item.outcome {
                ItemOutcome::InSync | ItemOutcome::Create | ItemOutcome::Update => {
                    let target = links.get(key).cloned().flatten();
                    assert!(
                        target.as_deref().is_some_and(|t| ids.contains(t)),
                        "{key} is {:?} but its target record {target:?} is missing",
                        item.outcome
                    );
                }
                ItemOutcome::Conflict => {
                    assert!(open.contains_key(key), "{key}: conflict not open")
                }
                ItemOutcome::Skip => assert!(item.message.is_some(), "{key}: skip unexplained"),
                other => panic!("{key}: {other:?} in a clean run: {item:?}"),
            }
        }
    }
}
