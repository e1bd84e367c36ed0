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
                    undo_of: None,
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

/// Runs the queued run `run_id` in `serve` armed to abort at `crash_at`, checks that it
/// was killed before the run finished (and `wrote()` says it got some way), then lets a
/// second `serve` take the run up after the lease expired; returns the finished run.
async fn killed_midway_then_finished(
    w: &Proc,
    run_id: i64,
    crash_at: &str,
    wrote: impl Fn() -> bool,
) -> timebridge_store::Run {
    let serve = |crash_at: Option<&str>| {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut cmd = w.command(&["serve"]);
        cmd.env("BIND", format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(point) = crash_at {
            cmd.env("TIMEBRIDGE_CRASH_AT", point);
        }
        cmd.spawn().unwrap()
    };
    let mut first = serve(Some(crash_at));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while first.try_wait().unwrap().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve was not killed: {:?}",
            w.store.get_run(run_id).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !w.store.get_run(run_id).await.unwrap().status.is_finished(),
        "the run finished before the kill"
    );
    assert!(wrote(), "the killed run wrote nothing");
    lease_expiry().await;
    let mut second = serve(None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let done = loop {
        let r = w.store.get_run(run_id).await.unwrap();
        if r.status.is_finished() {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never finished: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = second.kill();
    let _ = second.wait();
    done
}

/// A fix applied to a group of 500 conflicts (a mapping for the unmapped agent, then one
/// run with trigger `resolution` scoped to the group) survives `serve` being killed in
/// the middle of that run: a second `serve` takes the run up again, and every entry of
/// the group is in Kimai exactly once.
async fn a_resolution_run_killed_midway_writes_each_entry_of_its_group_once(backend: Backend) {
    use timebridge_store::{ConflictFilter, GroupKey, MappingInput, MappingKind, RunScope};
    let w = world(backend).await;
    w.sync_to_completion().await;
    let open = ConflictFilter {
        pipeline_id: Some(w.pipeline),
        status: Some("open".into()),
        reason: Some("unmapped_user".into()),
        drift: false,
    };
    let group = w.store.conflict_groups(&open).await.unwrap().remove(0);
    let agent: u64 = group.cause.key.parse().unwrap();
    let like = w
        .world
        .zammad()
        .accountings()
        .into_iter()
        .filter(|a| a.created_by_id == agent && !a.time_unit.starts_with('-'))
        .max_by_key(|a| a.created_at)
        .unwrap();
    // On the day of one of the agent's entries: whatever else holds for it (the project's
    // period) holds for these.
    w.world.zammad().clock().set(like.created_at);
    for _ in group.count..500 {
        let mut new = timebridge_sim::zammad::NewAccounting::new(like.ticket_id, "5.0", agent);
        new.type_id = like.type_id;
        w.world.zammad().add_accounting(new).unwrap();
    }
    w.sync_to_completion().await;
    let key = GroupKey {
        pipeline_id: w.pipeline,
        reason: "unmapped_user".into(),
        kind: group.cause.kind,
        key: group.cause.key.clone(),
    };
    let members = w.store.conflicts_in_group(&open, &key, None).await.unwrap();
    assert_eq!(members.len(), 500);
    // What `POST /api/conflicts/groups/apply` stores: the mapping, then the scoped run.
    w.store
        .create_mapping(MappingInput {
            pipeline_id: w.pipeline,
            kind: MappingKind::User,
            source_key: group.cause.key.clone(),
            source_label: None,
            target_key: Some("1".into()),
            target_label: None,
            billable: None,
            sync: true,
        })
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let run = w
        .store
        .enqueue_run(
            NewRun {
                pipeline_id: w.pipeline,
                trigger: timebridge_store::RunTrigger::Resolution,
                dry_run: false,
                window_from: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                window_to: chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
                ticket_ids: None,
                run_after: now,
                scope: Some(RunScope {
                    source_keys: members.iter().map(|c| c.source_key.clone()).collect(),
                    retry_refused: false,
                    group: None,
                }),
                undo_of: None,
            },
            now,
        )
        .await
        .unwrap();
    let written = w.world.kimai().log().count("POST /api/timesheets");
    // Killed after its 200th write of the run.
    let done = killed_midway_then_finished(&w, run.id, "after_write:200", || {
        w.world.kimai().log().count("POST /api/timesheets") > written
    })
    .await;
    assert_eq!(
        done.status,
        timebridge_store::RunStatus::Succeeded,
        "{done:?}"
    );
    assert!(w.world.kimai().log().count("POST /api/timesheets") > written);
    let marks: HashMap<String, usize> = w
        .world
        .target()
        .records()
        .into_iter()
        .filter_map(|r| r.identity)
        .fold(HashMap::new(), |mut m, i| {
            *m.entry(i).or_default() += 1;
            m
        });
    assert!(marks.values().all(|n| *n == 1), "written twice");
    // Every entry of the group is linked to its one Kimai entry, or raised for another
    // cause now that its agent maps (e.g. a project that ended): none is unmapped any more.
    let still_open = w.open_conflicts().await;
    let links = w.store.load_links(w.pipeline).await.unwrap();
    let linked: std::collections::HashSet<&str> = links
        .iter()
        .filter(|l| l.target_id.is_some())
        .map(|l| l.source_key.as_str())
        .collect();
    for c in &members {
        match still_open.get(&c.source_key) {
            Some(reason) => assert_ne!(reason, "unmapped_user", "{}", c.source_key),
            None => assert!(linked.contains(c.source_key.as_str()), "{}", c.source_key),
        }
    }
    assert!(linked.len() >= 400, "{}", linked.len());
    w.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resolution_run_killed_midway_writes_each_entry_of_its_group_once_on_sqlite() {
    a_resolution_run_killed_midway_writes_each_entry_of_its_group_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resolution_run_killed_midway_writes_each_entry_of_its_group_once_on_postgres() {
    a_resolution_run_killed_midway_writes_each_entry_of_its_group_once(Backend::Postgres).await;
}

/// Undo runs killed in the middle (after a remote write, before its link) and taken up by
/// a second `serve`: the undo of a run that updated 40 entries writes each back exactly
/// once, and the undo of the run that created them all deletes each exactly once; after
/// both, Kimai holds none of them and the next sync writes nothing again.
async fn an_undo_killed_midway_deletes_nothing_twice_and_restores_nothing_wrongly(
    backend: Backend,
) {
    let w = world(backend).await;
    let first = w.sync_to_completion().await;
    let created = first.stats["created"].as_u64().unwrap() as usize;
    assert!(created > 100, "{first:?}");
    let kimai = w.world.kimai();
    let before: HashMap<u64, u64> = kimai
        .timesheets()
        .into_iter()
        .map(|t| (t.id, t.activity))
        .collect();
    // A second run updates 40 entries: their Zammad type changed.
    let zammad = w.world.zammad();
    let types = zammad.types();
    let links = w.store.load_links(w.pipeline).await.unwrap();
    let mut changed = 0;
    for a in zammad.accountings() {
        let linked = links
            .iter()
            .any(|l| l.source_key == a.id.to_string() && l.target_id.is_some());
        if changed == 40 || !linked || a.type_id.is_none() {
            continue;
        }
        let other = types.iter().find(|t| Some(t.id) != a.type_id).unwrap();
        zammad.set_accounting_type(a.id, Some(other.id)).unwrap();
        changed += 1;
    }
    let second = w.sync_to_completion().await;
    assert_eq!(second.stats["updated"], 40, "{second:?}");

    let patches = kimai.log().count("PATCH /api/timesheets/{id}");
    let undo = w.queue_undo(&second).await;
    let done = killed_midway_then_finished(&w, undo.id, "after_write:15", || {
        kimai.log().count("PATCH /api/timesheets/{id}") >= patches + 15
    })
    .await;
    assert_eq!(
        done.status,
        timebridge_store::RunStatus::Succeeded,
        "{done:?}"
    );
    assert_eq!(done.stats["restored"], 40, "{done:?}");
    assert_eq!(
        kimai.log().count("PATCH /api/timesheets/{id}"),
        patches + 40,
        "each entry is written back exactly once"
    );
    for t in kimai.timesheets() {
        assert_eq!(
            before.get(&t.id),
            Some(&t.activity),
            "timesheet {} restored wrongly",
            t.id
        );
    }

    let deletes = kimai.log().count("DELETE /api/timesheets/{id}");
    let undo = w.queue_undo(&first).await;
    let done = killed_midway_then_finished(&w, undo.id, "after_write:60", || {
        kimai.log().count("DELETE /api/timesheets/{id}") >= deletes + 60
    })
    .await;
    assert_eq!(
        done.status,
        timebridge_store::RunStatus::Succeeded,
        "{done:?}"
    );
    assert_eq!(
        done.stats["deleted"].as_u64().unwrap() as usize,
        created,
        "{done:?}"
    );
    assert_eq!(
        kimai.log().count("DELETE /api/timesheets/{id}"),
        deletes + created,
        "each entry is deleted exactly once"
    );
    assert!(
        w.world
            .target()
            .records()
            .iter()
            .all(|r| r.identity.is_none()),
        "an entry the first run created is left in Kimai"
    );
    let posts = kimai.log().count("POST /api/timesheets");
    let quiet = w.sync_to_completion().await;
    assert_eq!(quiet.stats["created"], 0, "{quiet:?}");
    assert_eq!(kimai.log().count("POST /api/timesheets"), posts);
    w.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undo_killed_midway_deletes_nothing_twice_and_restores_nothing_wrongly_on_sqlite() {
    an_undo_killed_midway_deletes_nothing_twice_and_restores_nothing_wrongly(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undo_killed_midway_deletes_nothing_twice_and_restores_nothing_wrongly_on_postgres() {
    an_undo_killed_midway_deletes_nothing_twice_and_restores_nothing_wrongly(Backend::Postgres)
        .await;
}
