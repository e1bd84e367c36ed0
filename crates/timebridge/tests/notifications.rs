//! Notifications through real `timebridge serve` processes: a Clockify → Clockify pipeline
//! on a daily schedule whose scheduled run fails tells the Slack simulator exactly once —
//! also when the server is killed after the run finished but before the notification was
//! claimed, or after Slack got it but before that was recorded. A kill between the claim
//! and the send leaves the outcome unknown: Slack is never told twice, so the notification
//! is given up and audited (docs/notifications.md).

mod common;

use std::process::{Child, Stdio};
use std::time::Duration;

use common::Proc;
use timebridge_sim::{Seed, SimOptions, SlackSim};
use timebridge_store::testing::TestDb;
use timebridge_store::{
    AuditAction, AuditFilter, Backend, NewConnector, NotificationStatus, RunStatus, RunTrigger,
    Secret,
};
use timebridge_world::{Pair, World};

/// Killed on drop, so that a failing assertion leaves no server behind.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(w: &Proc, crash_at: Option<&str>) -> Server {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cmd = w.command(&["serve"]);
    cmd.env("BIND", format!("127.0.0.1:{port}"))
        .env("PUBLIC_URL", "https://tb.example.com")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(point) = crash_at {
        cmd.env("TIMEBRIDGE_CRASH_AT", point);
    }
    Server(cmd.spawn().unwrap())
}

/// A Clockify → Clockify world whose source token is wrong (every run fails), on a daily
/// schedule that is due at once, notifying a Slack simulator of failed runs.
async fn setup(backend: Backend) -> (Proc, SlackSim) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut world = World::start(Pair::ClockifyClockify, SimOptions::with_seed(Seed::Tiny))
        .await
        .unwrap();
    let slack = SlackSim::start(SimOptions::default()).await.unwrap();
    let notifier = store
        .create_connector(NewConnector {
            kind: "slack".into(),
            name: "Slack".into(),
            base_url: "https://slack.com/api".into(),
            api_token: None,
            settings: serde_json::json!({}),
            secret_settings: [("webhook_url".to_owned(), Secret::new(slack.webhook_url()))]
                .into_iter()
                .collect(),
        })
        .await
        .unwrap();
    let plan = &mut world.plan;
    plan.source.api_token = "not-the-key".into();
    plan.pipeline.schedule_enabled = true;
    plan.pipeline.interval_minutes = 24 * 60;
    plan.pipeline.options["notify"] =
        serde_json::json!([{"connector_id": notifier.id, "events": ["run_failed"]}]);
    // Created a day ago: its daily run is due when the server starts.
    let created = chrono::Utc::now() - chrono::Duration::hours(25);
    let pipeline = timebridge_world::configure_store(&store, &world.plan, created)
        .await
        .unwrap()
        .pipeline;
    let proc = Proc {
        db,
        store,
        data: tempfile::tempdir().unwrap(),
        world,
        pipeline,
    };
    (proc, slack)
}

/// Waits until `server` exits (it was armed to abort) and says so.
async fn killed(mut server: Server) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(!status.success(), "the server was not killed");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached the crash point"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every notification is sent or given up.
async fn settled(w: &Proc) -> Vec<timebridge_store::OutboxRow> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let rows = w.store.list_notifications(None, 50).await.unwrap();
        if !rows.is_empty()
            && rows.iter().all(|r| {
                matches!(
                    r.status,
                    NotificationStatus::Sent | NotificationStatus::Failed
                )
            })
        {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not settled: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn audited(w: &Proc, action: AuditAction) -> Vec<timebridge_store::AuditEvent> {
    let filter = AuditFilter {
        action: Some(action),
        ..Default::default()
    };
    w.store.list_audit(&filter, 50, 0).await.unwrap().0
}

async fn told(crash_at: Option<&str>, backend: Backend) -> (Proc, SlackSim) {
    let (w, slack) = setup(backend).await;
    let first = serve(&w, crash_at);
    if crash_at.is_some() {
        killed(first).await;
        // The claim of a killed delivery expires with the lease.
        common::lease_expiry().await;
        let _again = serve(&w, None);
        settled(&w).await;
        // A few more rounds of the worker change nothing.
        tokio::time::sleep(Duration::from_secs(3)).await;
    } else {
        let _server = first;
        settled(&w).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let (runs, _) = w.store.list_runs(Some(w.pipeline), 10, 0).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, RunStatus::Failed, "{runs:?}");
    assert_eq!(runs[0].trigger, RunTrigger::Schedule);
    (w, slack)
}

async fn exactly_once(crash_at: Option<&str>, backend: Backend) {
    let (w, slack) = told(crash_at, backend).await;
    let got = slack.messages();
    assert_eq!(got.len(), 1, "{got:?}");
    let run = w.last_run().await;
    assert!(
        got[0].text.contains(&format!("Run #{} of", run.id)),
        "{}",
        got[0].text
    );
    assert!(
        got[0]
            .text
            .contains(&format!("https://tb.example.com/sync/runs/{}", run.id)),
        "{}",
        got[0].text
    );
    let rows = w.store.list_notifications(None, 50).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    match crash_at {
        // Slack got it, the record did not: given up as unknown, never sent again.
        Some("after_notify:1") => {
            assert_eq!(rows[0].status, NotificationStatus::Failed);
            let failed = audited(&w, AuditAction::NotificationFailed).await;
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].details["reason"], "outcome_unknown");
        }
        _ => {
            assert_eq!(rows[0].status, NotificationStatus::Sent);
            assert_eq!(audited(&w, AuditAction::NotificationSent).await.len(), 1);
        }
    }
    w.db.cleanup().await;
}

async fn never_twice(backend: Backend) {
    let (w, slack) = told(Some("before_notify:1"), backend).await;
    assert!(slack.messages().is_empty(), "{:?}", slack.messages());
    let failed = audited(&w, AuditAction::NotificationFailed).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].details["reason"], "outcome_unknown");
    w.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_scheduled_run_is_told_once_sqlite() {
    exactly_once(None, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_scheduled_run_is_told_once_postgres() {
    exactly_once(None, Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_before_the_claim_still_tells_once_sqlite() {
    exactly_once(Some("notify_due:1"), Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_before_the_claim_still_tells_once_postgres() {
    exactly_once(Some("notify_due:1"), Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_after_the_send_never_tells_twice_sqlite() {
    exactly_once(Some("after_notify:1"), Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_after_the_send_never_tells_twice_postgres() {
    exactly_once(Some("after_notify:1"), Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_during_the_send_gives_slack_up_sqlite() {
    never_twice(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_during_the_send_gives_slack_up_postgres() {
    never_twice(Backend::Postgres).await;
}
