//! Crash safety and one run per pipeline, with real processes: `timebridge sync` is
//! aborted at many points of its writes (`TIMEBRIDGE_CRASH_AT`), and two `timebridge
//! serve` processes share one database. Afterwards every source entry is in Kimai
//! exactly once or has an open conflict, and nothing is ever written twice. Each test
//! runs on SQLite and on PostgreSQL.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{FROM, Proc, TO, lease_expiry};
use timebridge_sim::Seed;
use timebridge_store::{Backend, NewRun};
use timebridge_world::Pair;

/// The shared Zammad → Kimai test world on a fresh database of one backend.
async fn world(backend: Backend) -> Proc {
    Proc::start(Pair::ZammadKimai, Seed::Small, backend).await
}

async fn killed_syncs_leave_no_duplicate_and_no_lost_entry(backend: Backend) {
    let w = world(backend).await;
    for point in [
        "before_write:1",
        "after_write:1",
        "after_write:7",
        "before_write:15",
        "after_write:40",
        "after_write:90",
    ] {
        let out = w.sync(Some(point));
        // The run may finish before reaching a late point; otherwise it was aborted.
        if out.status.success() {
            continue;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("TIMEBRIDGE_CRASH_AT") || stderr.contains("being synced"),
            "{point}: {stderr}"
        );
        // Wait for the dead run's lease to expire, so the next kill hits fresh writes.
        lease_expiry().await;
    }
    w.sync_to_completion().await;
    let posts = w.world.kimai().log().count("POST /api/timesheets");
    w.sync_to_completion().await;
    let (runs, _) = w.store.list_runs(Some(w.pipeline), 1, 0).await.unwrap();
    assert_eq!(runs[0].stats["created"], 0, "{:?}", runs[0]);
    assert_eq!(runs[0].stats["errors"], 0, "{:?}", runs[0]);
    assert_eq!(w.world.kimai().log().count("POST /api/timesheets"), posts);
    w.assert_every_entry_answered_once().await;
    w.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_syncs_leave_no_duplicate_and_no_lost_entry_on_sqlite() {
    killed_syncs_leave_no_duplicate_and_no_lost_entry(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_syncs_leave_no_duplicate_and_no_lost_entry_on_postgres() {
    killed_syncs_leave_no_duplicate_and_no_lost_entry(Backend::Postgres).await;
}

/// SIGKILL at seeded random moments of syncs slowed down by latency, then a final
/// sync: every entry exactly once or raised, no run left stuck.
async fn random_kills_leave_no_duplicate_and_no_lost_entry(backend: Backend) {
    let w = world(backend).await;
    w.world.kimai().set_latency(Duration::from_millis(4));
    w.world.zammad().set_latency(Duration::from_millis(2));
    // A small deterministic generator: the kill moments are the same on every run.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..8 {
        let mut child = w
            .command(&["sync", "--from", FROM, "--to", TO])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let after = Duration::from_millis(150 + next() % 1500);
        tokio::time::sleep(after).await;
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        lease_expiry().await;
    }
    w.world.kimai().set_latency(Duration::ZERO);
    w.world.zammad().set_latency(Duration::ZERO);
    w.sync_to_completion().await;
    w.sync_to_completion().await;
    let (runs, _) = w.store.list_runs(Some(w.pipeline), 1, 0).await.unwrap();
    assert_eq!(runs[0].stats["created"], 0, "{:?}", runs[0]);
    let (all, _) = w.store.list_runs(Some(w.pipeline), 100, 0).await.unwrap();
    assert!(
        all.iter().all(|r| r.status.is_finished()),
        "a run is stuck: {all:?}"
    );
    w.assert_every_entry_answered_once().await;
    w.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn random_kills_leave_no_duplicate_and_no_lost_entry_on_sqlite() {
    random_kills_leave_no_duplicate_and_no_lost_entry(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn random_kills_leave_no_duplicate_and_no_lost_entry_on_postgres() {
    random_kills_leave_no_duplicate_and_no_lost_entry(Backend::Postgres).await;
}

/// Two `serve` processes on one database, many queued runs of one pipeline: the runs
/// never overlap, and every entry is written once.
async fn two_servers_run_a_pipeline_one_at_a_time(backend: Backend) {
    let w = world(backend).await;
    let now = chrono::Utc::now();
    for _ in 0..6 {
        w.store
            .enqueue_run(
                NewRun {
                    pipeline_id: w.pipeline,
                    trigger: timebridge_store::RunTrigger::Schedule,
                    dry_run: false,
                    window_from: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                    window_to: chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
                    ticket_ids: None,
                    run_after: now,
                    scope: None,
                },
                now,
            )
            .await
            .unwrap();
    }
    // Killed on drop, so that a failing assertion leaves no server behind.
    struct Servers(Vec<std::process::Child>);
    impl Drop for Servers {
        fn drop(&mut self) {
            for s in &mut self.0 {
                let _ = s.kill();
                let _ = s.wait();
            }
        }
    }
    let mut servers = Servers(Vec::new());
    for _ in 0..2 {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = w
            .command(&["serve"])
            // A lease long enough that a loaded machine renews it in time; the kill tests
            // cover expiry.
            .env("TIMEBRIDGE_LEASE_SECONDS", "5")
            .env("BIND", format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        servers.0.push(child);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (runs, _) = w.store.list_runs(Some(w.pipeline), 50, 0).await.unwrap();
        if runs.iter().all(|r| r.finished_at.is_some()) {
            let mut spans: Vec<_> = runs
                .iter()
                .map(|r| (r.started_at.unwrap(), r.finished_at.unwrap(), r.id))
                .collect();
            spans.sort();
            let by_id: HashMap<i64, &timebridge_store::Run> =
                runs.iter().map(|r| (r.id, r)).collect();
            for pair in spans.windows(2) {
                // Only a run whose worker lost its lease (and stopped writing before the
                // lease expired) may still be wrapping up when the next one starts.
                let first = by_id[&pair[0].2];
                let lost = first.status == timebridge_store::RunStatus::Failed
                    && first
                        .error
                        .as_deref()
                        .is_some_and(|e| e.contains("lost its lease"));
                assert!(
                    pair[0].1 <= pair[1].0 || lost,
                    "runs {} and {} overlapped: {runs:?}",
                    pair[0].2,
                    pair[1].2
                );
            }
            assert!(
                runs.iter()
                    .all(|r| r.status == timebridge_store::RunStatus::Succeeded
                        || r.error
                            .as_deref()
                            .is_some_and(|e| e.contains("lost its lease"))),
                "{runs:?}"
            );
            assert!(
                runs.iter()
                    .any(|r| r.status == timebridge_store::RunStatus::Succeeded)
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "runs did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(servers);
    w.assert_every_entry_answered_once().await;
    w.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_run_a_pipeline_one_at_a_time_on_sqlite() {
    two_servers_run_a_pipeline_one_at_a_time(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_run_a_pipeline_one_at_a_time_on_postgres() {
    two_servers_run_a_pipeline_one_at_a_time(Backend::Postgres).await;
}

/// SIGTERM during a sync: the writes in flight finish, no new ones are sent, the run is
/// recorded (partial, "interrupted", the rest not attempted) and the process exits on its
/// own; the next sync writes the rest, nothing twice.
async fn a_terminated_sync_records_its_run(backend: Backend) {
    let w = world(backend).await;
    // Slow writes, so that the run is still writing when the signal comes.
    w.world.kimai().faults().set_rate(
        "POST /api/timesheets",
        1.0,
        timebridge_sim::Fault::Slow(Duration::from_millis(40)),
    );
    let child = w
        .command(&["sync", "--from", FROM, "--to", TO])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while w.world.target().records().len() < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sync never started writing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "exits by itself, not killed by the signal: {stdout}"
    );
    assert!(stdout.contains("interrupted"), "{stdout}");
    let run = w.last_run().await;
    assert_eq!(run.status, timebridge_store::RunStatus::Partial, "{run:?}");
    let items = w.store.list_run_items(run.id).await.unwrap();
    let not_attempted = items
        .iter()
        .filter(|i| {
            i.message
                .as_deref()
                .is_some_and(|m| m.starts_with("not attempted"))
        })
        .count();
    assert!(not_attempted > 0, "the run stopped writing early: {run:?}");
    let written_before = w.world.target().records().len();
    assert!(
        written_before < items.len(),
        "it did not write everything after the signal"
    );
    w.world.kimai().faults().clear();
    w.sync_to_completion().await;
    w.assert_every_entry_answered_once().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terminated_sync_records_its_run_on_sqlite() {
    a_terminated_sync_records_its_run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terminated_sync_records_its_run_on_postgres() {
    a_terminated_sync_records_its_run(Backend::Postgres).await;
}
