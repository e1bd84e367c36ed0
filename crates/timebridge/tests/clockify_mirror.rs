//! Clockify → Clockify through real `timebridge sync` processes: the agency's active
//! projects are mirrored into the contractor's workspace under the "Agency" client, each
//! exactly once, also when a process is killed just before or just after a create; the
//! projects the contractor already had are left alone. And the same pipeline under remote
//! faults.

mod common;

use std::collections::BTreeMap;

use common::{Proc, lease_expiry};
use timebridge_core::plan::ConflictReason;
use timebridge_sim::clockify::AGENCY_CLIENT;
use timebridge_sim::{Fault, Seed};
use timebridge_store::{Backend, RunStatus};
use timebridge_world::Pair;

async fn mirrors_once(crash_at: &str, backend: Backend) {
    let w = Proc::start(Pair::ClockifyClockify, Seed::Small, backend).await;
    let sim = w.world.clockify();
    let (contractor, agency) = (&sim.contractor_workspace, &sim.agency_workspace);
    let client = sim
        .clients(contractor)
        .into_iter()
        .find(|c| c.name == AGENCY_CLIENT)
        .unwrap()
        .id;
    let before = sim.projects(contractor);
    let had: Vec<String> = before.iter().map(|p| p.name.to_lowercase()).collect();
    let missing: Vec<String> = sim
        .projects(agency)
        .into_iter()
        .filter(|p| !p.archived && !had.contains(&p.name.to_lowercase()))
        .map(|p| p.name)
        .collect();
    assert!(missing.len() >= 2, "the seed leaves projects to mirror");

    let killed = w.sync(Some(crash_at));
    assert!(
        !killed.status.success(),
        "the sync was not killed at {crash_at}"
    );
    lease_expiry().await;
    let run = w.sync_to_completion().await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let again = w.sync_to_completion().await;
    assert!(again.mirrored_projects.is_empty(), "{again:?}");

    let after = sim.projects(contractor);
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for p in &after {
        *by_name.entry(p.name.to_lowercase()).or_default() += 1;
    }
    for p in sim.projects(agency).iter().filter(|p| !p.archived) {
        assert_eq!(by_name.get(&p.name.to_lowercase()), Some(&1), "{}", p.name);
    }
    for name in &missing {
        let p = after.iter().find(|p| &p.name == name).unwrap();
        assert_eq!(p.client.as_deref(), Some(client.as_str()), "{name}");
    }
    for old in &before {
        assert!(after.contains(old), "{} was changed", old.name);
    }
    let creates = sim
        .log()
        .entries()
        .into_iter()
        .filter(|r| r.route == "POST /api/v1/workspaces/{ws}/projects")
        .count();
    assert_eq!(creates, missing.len(), "a project was created twice");
    // Each mirrored project is audited once, also when the kill fell between its create
    // and its settlement (intent and audit event are settled in one transaction).
    let filter = timebridge_store::AuditFilter {
        action: Some(timebridge_store::AuditAction::ProjectMirrored),
        ..Default::default()
    };
    let (events, _) = w.store.list_audit(&filter, 500, 0).await.unwrap();
    let mut audited: Vec<String> = events
        .iter()
        .filter_map(|e| e.details["name"].as_str().map(str::to_lowercase))
        .collect();
    audited.sort();
    let mut expected: Vec<String> = missing.iter().map(|n| n.to_lowercase()).collect();
    expected.sort();
    assert_eq!(audited, expected, "project_mirrored once per project");
    w.db.cleanup().await;
}

macro_rules! crash {
    ($name:ident, $point:expr, $backend:expr) => {
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            mirrors_once($point, $backend).await;
        }
    };
}

crash!(
    killed_after_a_create_on_sqlite,
    "after_mirror:1",
    Backend::Sqlite
);
crash!(
    killed_after_a_create_on_postgres,
    "after_mirror:1",
    Backend::Postgres
);
crash!(
    killed_before_a_create_on_sqlite,
    "before_mirror:1",
    Backend::Sqlite
);
crash!(
    killed_before_a_create_on_postgres,
    "before_mirror:1",
    Backend::Postgres
);

/// Clockify → Clockify under remote faults: 429 with and without `Retry-After`, 500s,
/// creates whose answers are lost. Every entry ends up in the agency's workspace once.
async fn survives_faults(backend: Backend) {
    let w = Proc::start(Pair::ClockifyClockify, Seed::Small, backend).await;
    let sim = w.world.clockify();
    let faults = sim.faults();
    let list = "GET /api/v1/workspaces/{ws}/user/{uid}/time-entries";
    let create = "POST /api/v1/workspaces/{ws}/user/{uid}/time-entries";
    faults.set_rate(create, 0.15, Fault::DropAfterHandling);
    faults.set_rate(create, 0.1, Fault::TooManyRequestsWithoutRetryAfter);
    faults.set_rate(
        list,
        0.1,
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
    );
    faults.set_rate(list, 0.1, Fault::InternalError);
    let mut succeeded = false;
    for _ in 0..4 {
        let run = w.sync_to_completion().await;
        if run.status == RunStatus::Succeeded {
            succeeded = true;
            break;
        }
    }
    assert!(succeeded, "no run succeeded under faults");
    let injected = sim
        .log()
        .entries()
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    assert!(injected > 0, "no fault was injected");
    faults.clear();
    let clean = w.sync_to_completion().await;
    assert_eq!(clean.status, RunStatus::Succeeded, "{clean:?}");
    w.assert_every_entry_answered_once().await;
    w.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn survives_remote_faults_on_sqlite() {
    survives_faults(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn survives_remote_faults_on_postgres() {
    survives_faults(Backend::Postgres).await;
}

/// An entry locked in the agency's workspace (approved) is never changed: its source's edit
/// becomes a `locked` conflict.
async fn a_locked_copy_is_a_conflict(backend: Backend) {
    let w = Proc::start(Pair::ClockifyClockify, Seed::Tiny, backend).await;
    let first = w.sync_to_completion().await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    let sim = w.world.clockify();
    let (key, target) = w
        .store
        .load_links(w.pipeline)
        .await
        .unwrap()
        .into_iter()
        .find_map(|l| Some((l.source_key, l.target_id?)))
        .expect("a synced entry");
    sim.set_locked(&target, true).unwrap();
    let before = sim.entry(&target).unwrap();
    w.world.source().edit(&key).unwrap();
    let run = w.sync_to_completion().await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(
        w.open_conflicts().await.get(&key).map(String::as_str),
        Some(ConflictReason::Locked.as_str())
    );
    assert_eq!(
        sim.entry(&target).unwrap(),
        before,
        "a locked entry was changed"
    );
    w.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_copy_is_a_conflict_on_sqlite() {
    a_locked_copy_is_a_conflict(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_copy_is_a_conflict_on_postgres() {
    a_locked_copy_is_a_conflict(Backend::Postgres).await;
}
