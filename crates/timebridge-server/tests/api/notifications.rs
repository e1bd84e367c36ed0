//! Notifications through the real server: pipeline `notify` options validated, a failed
//! run delivered to the Slack simulator exactly once and audited, retries with backoff on
//! the app's clock, the daily summary once per local date, the connector test's message,
//! and the `/timebridge` slash command (signed, fresh, answered).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::{Fault, SimOptions, SlackSim};

use crate::api_test;
use crate::common::{TestApp, error_code};

const SIGNING_SECRET: &str = "slack-signing-secret-1";

/// A Slack notifier on `sim`'s incoming webhook (with the slash command's secret).
async fn slack(app: &TestApp, token: &str, sim: &SlackSim) -> i64 {
    app.create_connector(
        token,
        json!({"kind": "slack", "name": "Slack", "base_url": "https://slack.com/api",
               "settings": {"webhook_url": sim.webhook_url(), "signing_secret": SIGNING_SECRET}}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

/// A pipeline whose source cannot be reached (every run fails), notifying `notify`.
async fn failing_pipeline(app: &TestApp, token: &str, notify: Value) -> (StatusCode, Value) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let source = app
        .create_connector(
            token,
            json!({"kind": "zammad", "name": format!("Zammad (down) {n}"), "base_url": "http://127.0.0.1:9",
                   "api_token": "t", "settings": {"timeout_seconds": 2}}),
        )
        .await;
    let target = app
        .create_connector(
            token,
            json!({"kind": "kimai", "name": format!("Kimai (down) {n}"), "base_url": "http://127.0.0.1:9",
                   "api_token": "t", "settings": {}}),
        )
        .await;
    app.send_json(
        Method::POST,
        "/api/pipelines",
        token,
        &json!({"name": if n == 0 { "Down".to_owned() } else { format!("Down {n}") },
                "source_connector_id": source["id"],
                "target_connector_id": target["id"],
                "schedule": {"enabled": false},
                "options": {"notify": notify}}),
    )
    .await
}

/// Waits until `sim` holds `n` messages (or the deadline passes) and returns them.
async fn wait_for_messages(sim: &SlackSim, n: usize) -> Vec<timebridge_sim::slack::SlackMessage> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = sim.messages();
        if got.len() >= n || tokio::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run_now(app: &TestApp, token: &str, pipeline: i64) -> i64 {
    let (status, body) = app
        .send_json(
            Method::POST,
            "/api/sync/manual",
            token,
            &json!({"pipeline_id": pipeline}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["run_id"].as_i64().unwrap()
}

api_test!(async fn notify_options_are_checked(app) {
    let token = app.login().await;
    let sim = SlackSim::start(SimOptions::default()).await.unwrap();
    let slack = slack(app, &token, &sim).await;
    let (status, body) = failing_pipeline(app, &token, json!([{"connector_id": 9999, "events": ["run_failed"]}])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "validation_failed");
    assert_eq!(body["error"]["details"]["field"], "options.notify[0].connector_id", "{body}");
    let (status, body) = failing_pipeline(app, &token, json!([{"connector_id": slack, "events": ["run_exploded"]}])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["field"], "options.notify[0].events[0]", "{body}");
    let (status, body) = failing_pipeline(app, &token, json!([{"connector_id": slack, "events": ["test"]}])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, ok) = failing_pipeline(app, &token,
        json!([{"connector_id": slack, "events": ["run_failed", "daily_summary", "run_failed"]}])).await;
    assert_eq!(status, StatusCode::CREATED, "{ok}");
    assert_eq!(ok["options"]["notify"], json!([{"connector_id": slack, "events": ["run_failed", "daily_summary"]}]));
    assert_eq!(ok["options"]["daily_summary_at"], Value::Null);
    let id = ok["id"].as_i64().unwrap();
    // A source connector is not a notifier.
    let source = ok["source_connector_id"].as_i64().unwrap();
    let (status, body) = app.send_json(Method::PUT, &format!("/api/pipelines/{id}"), &token,
        &json!({"name": "Down", "source_connector_id": source, "target_connector_id": ok["target_connector_id"],
                "options": {"notify": [{"connector_id": source, "events": ["run_failed"]}]}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    for bad in ["8:00", "25:00", "noon"] {
        let (status, body) = app.send_json(Method::PUT, &format!("/api/pipelines/{id}"), &token,
            &json!({"name": "Down", "source_connector_id": source, "target_connector_id": ok["target_connector_id"],
                    "options": {"daily_summary_at": bad}})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["details"]["field"], "options.daily_summary_at");
    }
    let (status, body) = app.send_json(Method::PUT, &format!("/api/pipelines/{id}"), &token,
        &json!({"name": "Down", "source_connector_id": source, "target_connector_id": ok["target_connector_id"],
                "options": {"daily_summary_at": "17:30"}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["options"]["daily_summary_at"], "17:30");
    assert_eq!(body["options"]["notify"][0]["connector_id"], slack, "kept when omitted");
    // Settings: the zone and the default time.
    let (status, body) = app.send_json(Method::PUT, "/api/settings", &token,
        &json!({"timezone": "Mars/Olympus"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app.send_json(Method::PUT, "/api/settings", &token,
        &json!({"timezone": "Europe/Berlin", "daily_summary_at": "07:45"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["timezone"].as_str(), body["daily_summary_at"].as_str()), (Some("Europe/Berlin"), Some("07:45")));
});

api_test!(async fn a_failed_run_is_told_once(app) {
    let token = app.login().await;
    let sim = SlackSim::start(SimOptions::default()).await.unwrap();
    let slack = slack(app, &token, &sim).await;
    let (status, p) = failing_pipeline(app, &token, json!([{"connector_id": slack, "events": ["run_failed"]}])).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let run = run_now(app, &token, p["id"].as_i64().unwrap()).await;
    let got = wait_for_messages(&sim, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].text.contains(&format!("Run #{run} of “Down” failed.")), "{}", got[0].text);
    assert!(got[0].text.contains(&format!("/sync/runs/{run}")), "{}", got[0].text);
    // Several more rounds of the worker send nothing more.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sim.messages().len(), 1);
    let sent = app.audit(&token, "notification_sent").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["details"]["event"], "run_failed");
    assert_eq!(sent[0]["details"]["run_id"], run);
});

api_test!(async fn a_refused_notification_waits_and_is_given_up(app) {
    let token = app.login().await;
    let sim = SlackSim::start(SimOptions::default()).await.unwrap();
    let slack = slack(app, &token, &sim).await;
    let (_, p) = failing_pipeline(app, &token, json!([{"connector_id": slack, "events": ["run_failed"]}])).await;
    let pipeline = p["id"].as_i64().unwrap();
    // Rate limited once: retried after the backoff, on the app's clock.
    sim.faults().fail_next("POST /services/{team}/{bot}/{secret}", 1,
        Fault::TooManyRequests { retry_after_secs: 10 });
    run_now(app, &token, pipeline).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while sim.log().count("POST /services/{team}/{bot}/{secret}") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never tried");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(sim.messages().is_empty(), "retried before its time");
    app.clock.advance(chrono::Duration::seconds(31));
    assert_eq!(wait_for_messages(&sim, 1).await.len(), 1);
    // A hook that is gone: given up at once, audited.
    sim.set_hook_error(Some((404, "no_service")));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    run_now(app, &token, pipeline).await;
    loop {
        let failed = app.audit(&token, "notification_failed").await;
        if let Some(f) = failed.first() {
            assert_eq!(f["details"]["reason"], "refused", "{f}");
            assert_eq!(f["details"]["error_class"], "not_found", "{f}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never given up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sim.messages().len(), 1);
});

api_test!(async fn the_daily_summary_comes_once_a_day(app) {
    let token = app.login().await;
    let sim = SlackSim::start(SimOptions::default()).await.unwrap();
    let slack = slack(app, &token, &sim).await;
    // The app's clock stands at 09:30 UTC; the default time is 08:00 UTC: due at once.
    let (status, p) = failing_pipeline(app, &token, json!([{"connector_id": slack, "events": ["daily_summary"]}])).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let got = wait_for_messages(&sim, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].text.contains("Daily summary: Down"), "{}", got[0].text);
    assert!(got[0].text.contains("0 entries written"), "{}", got[0].text);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sim.messages().len(), 1, "once per date");
    // The next day, before 08:00: nothing; after: the second one.
    app.clock.advance(chrono::Duration::hours(20));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sim.messages().len(), 1);
    app.clock.advance(chrono::Duration::hours(3));
    assert_eq!(wait_for_messages(&sim, 2).await.len(), 2);
});

api_test!(async fn testing_a_notifier_sends_a_test_message(app) {
    let token = app.login().await;
    let sim = SlackSim::start(SimOptions::default()).await.unwrap();
    let slack = slack(app, &token, &sim).await;
    let (status, body) = app.send_json(Method::POST, &format!("/api/connectors/{slack}/test"), &token, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["details"]["test_message"]["sent"], true, "{body}");
    assert_eq!(sim.messages().len(), 1);
    assert!(sim.messages()[0].text.contains("Test message from timebridge"));
    sim.set_hook_error(Some((410, "channel_is_archived")));
    let (_, body) = app.send_json(Method::POST, &format!("/api/connectors/{slack}/test"), &token, &json!({})).await;
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["details"]["test_message"]["error_class"], "not_found", "{body}");
    // An e-mail connector's address must be smtp:// or smtps://.
    let (status, body) = app.send_json(Method::POST, "/api/connectors", &token,
        &json!({"kind": "email", "name": "Mail", "base_url": "https://mail.example.com",
                "settings": {"from": "tb@example.com", "to": ["ops@example.com"]}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["field"], "base_url");
    let (status, body) = app.send_json(Method::POST, "/api/connectors", &token,
        &json!({"kind": "email", "name": "Mail", "base_url": "smtps://mail.example.com",
                "settings": {"from": "tb@example.com", "to": ["ops@example.com"]}})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
});

api_test!(async fn slash_commands_are_signed_fresh_and_answered(app) {
    let token = app.login().await;
    let sim = SlackSim::start(SimOptions::default()).await.unwrap();
    let slack = slack(app, &token, &sim).await;
    let (_, p) = failing_pipeline(app, &token, json!([])).await;
    let pipeline = p["id"].as_i64().unwrap();
    let url = app.url(&format!("/api/webhook/slack/{slack}"));
    use timebridge_server::Clock;
    let now = app.clock.now().timestamp();
    let (status, body) = sim.send_command(&url, SIGNING_SECRET, "status", Some(now)).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["response_type"], "ephemeral");
    assert!(v["text"].as_str().unwrap().contains("Down"), "{v}");
    let (status, _) = sim.send_command(&url, "a forged secret", "status", Some(now)).await.unwrap();
    assert_eq!(status, 401);
    let (status, _) = sim.send_command(&url, SIGNING_SECRET, "status", Some(now - 301)).await.unwrap();
    assert_eq!(status, 401, "stale");
    let (status, _) = sim.send_command(&url, SIGNING_SECRET, "status", Some(now + 301)).await.unwrap();
    assert_eq!(status, 401, "from the future");
    let rejected = app.audit(&token, "webhook_rejected").await;
    assert_eq!(rejected.len(), 3);
    let (status, body) = sim.send_command(&url, SIGNING_SECRET, "sync down", Some(now)).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["response_type"], "in_channel", "{v}");
    let run = app.state.store.active_run(pipeline).await.unwrap();
    let run = run.or(app.state.store.last_finished_run(pipeline).await.unwrap()).expect("a run was queued");
    assert!(v["text"].as_str().unwrap().contains(&format!("run #{}", run.id)), "{v}");
    let (_, body) = sim.send_command(&url, SIGNING_SECRET, "sync nothing-like-this", Some(now)).await.unwrap();
    assert!(body.contains("No pipeline"), "{body}");
    let (_, body) = sim.send_command(&url, SIGNING_SECRET, "", Some(now)).await.unwrap();
    assert!(body.contains("/timebridge sync"), "{body}");
    let (_, body) = sim.send_command(&url, SIGNING_SECRET, "conflicts", Some(now)).await.unwrap();
    assert!(body.contains("No open conflicts"), "{body}");
});

api_test!(async fn a_synced_entry_edited_or_deleted_in_the_target_is_told_once_as_drift(app) {
    use crate::sync_e2e::{setup, sync};
    let env = setup(app, timebridge_sim::Seed::Tiny).await;
    let sim = SlackSim::start(SimOptions::default()).await.unwrap();
    let notifier = slack(app, &env.token, &sim).await;
    let (_, p) = app
        .get_json(&format!("/api/pipelines/{}", env.pipeline), &env.token)
        .await;
    let mut options = p["options"].clone();
    options["notify"] = json!([{"connector_id": notifier, "events": ["drift_detected"]}]);
    let (status, body) = app
        .send_json(
            Method::PUT,
            &format!("/api/pipelines/{}", env.pipeline),
            &env.token,
            &json!({"name": p["name"], "source_connector_id": p["source_connector_id"],
                    "target_connector_id": p["target_connector_id"], "options": options}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = sync(app, &env, false).await;
    let written: Vec<u64> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["outcome"] == "create")
        .map(|i| i["target_id"].as_str().unwrap().parse().unwrap())
        .take(2)
        .collect();
    // Someone edits one synced entry in Kimai and deletes another.
    env.kimai
        .edit_timesheet(written[0], |t| t.description = Some("edited by hand".into()))
        .unwrap();
    env.kimai.delete_timesheet(written[1]).unwrap();
    sync(app, &env, false).await;
    let got = wait_for_messages(&sim, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let text = &got[0].text;
    assert!(text.contains("changed in the target"), "{text}");
    assert!(text.contains(&format!("Entry {} ", written[0])), "{text}");
    assert!(text.contains("edited (description)"), "{text}");
    assert!(text.contains(&format!("Entry {} ", written[1])) && text.contains("deleted"), "{text}");
    assert!(text.contains("drift=1"), "{text}");

    // The Drift filter and the drift per day.
    let (status, drift) = app
        .get_json(&format!("/api/conflicts?drift=true&pipeline_id={}", env.pipeline), &env.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{drift}");
    let reasons: Vec<&str> = drift["items"].as_array().unwrap().iter().map(|c| c["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons.len(), 2, "{drift}");
    assert!(reasons.contains(&"target_modified") && reasons.contains(&"target_deleted"));
    let (status, series) = app
        .get_json(&format!("/api/conflicts/drift?pipeline_id={}&days=7", env.pipeline), &env.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{series}");
    let days = series["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    let today = days.last().unwrap();
    assert_eq!((today["target_modified"].as_u64(), today["target_deleted"].as_u64()), (Some(1), Some(1)), "{series}");
    let (status, _) = app.get_json("/api/conflicts/drift?days=0", &env.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The same drift found again is not told again (the outbox gets rows when the run
    // finishes, in the same transaction).
    sync(app, &env, false).await;
    let rows = app.state.store.list_notifications(None, 100).await.unwrap();
    let drift_rows = rows
        .iter()
        .filter(|r| r.event == timebridge_core::notify::NotificationEvent::DriftDetected)
        .count();
    assert_eq!(drift_rows, 1, "{rows:?}");
});
