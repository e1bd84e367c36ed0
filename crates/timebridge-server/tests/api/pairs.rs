//! The hub's pairs with a TimeTracker side (#15), configured through the API from their
//! test world: the first sync writes every entry the target can take, once, and a second
//! sync writes nothing. (The lead's generic scenario test runs the full list over every
//! `Pair`; this is the quick check that each pair's plan fits its seed.)

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::timetracker::NewEntry;
use timebridge_sim::{Seed, SimOptions};
use timebridge_world::{Pair, World};

use crate::api_test;
use crate::common::TestApp;

async fn start(app: &TestApp, pair: Pair) -> (String, World, i64) {
    let (token, world, ids) = start_ids(app, pair).await;
    (token, world, ids.pipeline)
}

async fn start_ids(app: &TestApp, pair: Pair) -> (String, World, timebridge_world::Configured) {
    app.clock.set("2026-04-01T06:00:00Z".parse().unwrap());
    let token = app.login().await;
    let world = World::start(pair, SimOptions::with_seed(Seed::Tiny))
        .await
        .unwrap();
    let ids = timebridge_world::configure_api(&app.api(&token), &world.plan)
        .await
        .unwrap();
    (token, world, ids)
}

async fn sync(app: &TestApp, token: &str, pipeline: i64) -> Value {
    let (status, run) = app
        .send_json(
            Method::POST,
            "/api/sync/manual?wait=true",
            token,
            &json!({"pipeline_id": pipeline, "from": "2026-03-01", "to": "2026-03-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    run
}

/// Outcome (or `conflict:<reason>`) of each item.
fn outcomes(run: &Value) -> HashMap<String, String> {
    run["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let o = match i["reason"].as_str() {
                Some(r) => format!("conflict:{r}"),
                None => i["outcome"].as_str().unwrap().to_owned(),
            };
            (i["source_key"].as_str().unwrap().to_owned(), o)
        })
        .collect()
}

/// Each target record's marked source key, counted.
fn written(world: &World) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for r in world.target().records() {
        if let Some(k) = r.identity {
            *out.entry(k).or_default() += 1;
        }
    }
    out
}

api_test!(async fn zammad_to_timetracker_writes_every_entry_it_can_once(app) {
    let (token, world, pipeline) = start(app, Pair::ZammadTimetracker).await;
    let run = sync(app, &token, pipeline).await;
    assert!(run["status"] == "succeeded" || run["status"] == "partial", "{run}");
    let outcomes = outcomes(&run);
    let zammad = world.zammad();
    let accountings = zammad.accountings();
    assert_eq!(outcomes.len(), accountings.len(), "{run}");
    let written = written(&world);
    for a in &accountings {
        let key = a.id.to_string();
        let Some(outcome) = outcomes.get(&key) else {
            panic!("no item for {key}: {run}");
        };
        let minutes: f64 = a.time_unit.parse().unwrap();
        match outcome.as_str() {
            "create" => assert_eq!(written.get(&key), Some(&1), "{key}"),
            // Zero and negative corrections are the planner's negative_duration.
            "conflict:negative_duration" => assert!(minutes <= 0.0, "{key}"),
            // TimeTracker refuses a zero length and an overlap of the agent's own entries.
            "conflict:target_rejected" => {
                let item = run["items"].as_array().unwrap().iter()
                    .find(|i| i["source_key"] == key.as_str()).unwrap();
                let m = item["message"].as_str().unwrap();
                assert!(m.contains("overlaps") || m.contains("End time must be after start time"), "{m}");
                assert!(!written.contains_key(&key));
            }
            other => panic!("{key}: {other}"),
        }
    }
    let created = outcomes.values().filter(|o| *o == "create").count();
    assert!(created * 2 > accountings.len(), "most entries are written: {outcomes:?}");
    assert_eq!(written.values().sum::<usize>(), created);
    // One create per written entry (plus a PATCH for its task: TimeTracker refuses a task
    // on create).
    let posts = world.timetracker().log().count("POST /api/v1/time-entries");
    let rejected = outcomes.values().filter(|o| o.contains("target_rejected")).count();
    assert_eq!(posts, created + rejected);
    assert!(world.timetracker().entries().iter().any(|e| e.task_id.is_some()));
    let writes = world.target().write_requests();
    let again = sync(app, &token, pipeline).await;
    assert_eq!(again["stats"]["created"], json!(0), "{again}");
    assert_eq!(again["stats"]["updated"], json!(0), "{again}");
    assert_eq!(world.target().write_requests(), writes);
});

api_test!(async fn timetracker_to_kimai_writes_every_entry_once(app) {
    let (token, world, pipeline) = start(app, Pair::TimetrackerKimai).await;
    let run = sync(app, &token, pipeline).await;
    assert_eq!(run["status"], json!("succeeded"), "{run}");
    let outcomes = outcomes(&run);
    let entries = world.timetracker().entries();
    assert!(!entries.is_empty());
    assert_eq!(outcomes.len(), entries.len(), "{run}");
    let written = written(&world);
    for e in &entries {
        let key = e.id.to_string();
        assert_eq!(outcomes[&key], "create", "{key}: {run}");
        assert_eq!(written.get(&key), Some(&1), "{key}");
    }
    let writes = world.target().write_requests();
    let creates = world.kimai().log().count("POST /api/timesheets");
    assert_eq!(creates, entries.len(), "one create per entry: {:?}", world.kimai().log().counts_by_route());
    let again = sync(app, &token, pipeline).await;
    assert_eq!(again["stats"]["created"], json!(0), "{again}");
    assert_eq!(again["stats"]["updated"], json!(0), "{again}");
    assert_eq!(world.target().write_requests(), writes);
});

api_test!(async fn a_signed_timetracker_webhook_brings_a_new_entry_in(app) {
    let (token, world, ids) = start_ids(app, Pair::TimetrackerKimai).await;
    sync(app, &token, ids.pipeline).await;
    let tt = world.timetracker();
    let hook = app.url(&format!("/api/webhook/timetracker/{}", ids.source_connector));
    tt.add_webhook(&hook, timebridge_world::WEBHOOK_SECRET, &["*"]);
    let before = tt.entries().into_iter().find(|e| e.project_id == Some(1)).unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    let mut new = NewEntry::new(
        before.user_id,
        1,
        day.and_hms_opt(18, 0, 0).unwrap(),
        day.and_hms_opt(19, 0, 0).unwrap(),
    );
    new.task_id = before.task_id;
    let e = tt.insert_entry(new).unwrap();
    let sent = tt.send_event("time_entry.created", e.id).await.unwrap();
    assert_eq!(sent[0].status, 202, "acknowledged at once");
    // A wrong secret is refused.
    tt.add_webhook(&hook, "another-secret", &["*"]);
    let sent = tt.send_event("time_entry.updated", e.id).await.unwrap();
    assert_eq!(sent.iter().map(|d| d.status).collect::<Vec<_>>(), vec![202, 401]);
    // The debounce runs on the app's (manual) clock.
    app.clock.advance(chrono::Duration::seconds(3));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !written(&world).contains_key(&e.id.to_string()) {
        assert!(std::time::Instant::now() < deadline, "the webhook's run did not write the entry");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
});

// Edits, deletions and kills on every pair: `crates/timebridge/tests/pairs.rs`.

api_test!(async fn lost_timetracker_answers_never_leave_a_duplicate(app) {
    let (token, world, pipeline) = start(app, Pair::ZammadTimetracker).await;
    // Every attempt of every create takes effect but its answer is lost, retries too (a
    // few lost answers alone are absorbed by the retries: the Idempotency-Key replays).
    world.timetracker().faults().fail_next(
        "POST /api/v1/time-entries",
        1000,
        timebridge_sim::Fault::DropAfterHandling,
    );
    let first = sync(app, &token, pipeline).await;
    assert!(
        first["items"].as_array().unwrap().iter().any(|i| i["outcome"] == "error"),
        "{first}"
    );
    world.timetracker().faults().clear();
    // Several attempts per create, and still one entry each.
    let dropped = world.timetracker().log().count("POST /api/v1/time-entries");
    let tried = first["items"].as_array().unwrap().iter().filter(|i| i["outcome"] == "error").count();
    assert!(dropped > tried, "{dropped} {tried}");
    assert!(written(&world).values().all(|n| *n == 1));
    // The next run adopts what the lost creates wrote (found by the marker in the notes).
    let second = sync(app, &token, pipeline).await;
    let counts = written(&world);
    assert!(counts.values().all(|n| *n == 1), "{counts:?} {second}");
    let outcomes = outcomes(&second);
    assert!(!outcomes.values().any(|o| o == "error"), "{second}");
    let third = sync(app, &token, pipeline).await;
    assert_eq!(third["stats"]["created"], json!(0), "{third}");
    assert_eq!(written(&world), counts);
});
