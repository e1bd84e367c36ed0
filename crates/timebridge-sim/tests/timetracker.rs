//! The TimeTracker simulator's configurable behaviours (where the facts are unconfirmed or
//! depend on the instance) and its seed, with plain HTTP. What the real server answered is
//! checked by `replay_timetracker.rs`.

use chrono::{Duration, NaiveDateTime};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::timetracker::{NewEntry, Requirements, TASKS};
use timebridge_sim::{KimaiSim, Seed, SimOptions, TimetrackerSim, ZammadSim};

async fn sim(seed: Seed) -> TimetrackerSim {
    TimetrackerSim::start(SimOptions::with_seed(seed))
        .await
        .unwrap()
}

async fn post(sim: &TimetrackerSim, key: Option<&str>, body: Value) -> Response {
    let mut req = Client::new()
        .post(format!("{}/api/v1/time-entries", sim.url))
        .bearer_auth(&sim.token)
        .json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

fn naive(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
}

fn body(start: &str, end: &str) -> Value {
    json!({"project_id": 1, "start_time": start, "end_time": end, "notes": "x"})
}

#[tokio::test]
async fn an_idempotency_answer_is_replayed_within_its_ttl_and_not_after() {
    let sim = sim(Seed::Tiny).await;
    let first = post(
        &sim,
        Some("k1"),
        body("2026-05-04T09:00:00", "2026-05-04T10:00:00"),
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again: Value = post(
        &sim,
        Some("k1"),
        body("2026-05-05T09:00:00", "2026-05-05T10:00:00"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(again, first);
    // 24 h by default (unconfirmed); a shorter TTL lets the key run again.
    sim.set_idempotency_ttl(Duration::minutes(5));
    sim.clock().advance(Duration::minutes(6));
    let later: Value = post(
        &sim,
        Some("k1"),
        body("2026-05-05T09:00:00", "2026-05-05T10:00:00"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_ne!(later["time_entry"]["id"], first["time_entry"]["id"]);
}

#[tokio::test]
async fn requirement_settings_refuse_entries_with_the_servers_texts() {
    let sim = sim(Seed::Tiny).await;
    sim.set_requirements(Requirements {
        require_description: true,
        ..Requirements::default()
    });
    let r = post(
        &sim,
        None,
        json!({"project_id": 1, "start_time": "2026-05-04T09:00:00",
               "end_time": "2026-05-04T10:00:00"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["message"], "A description is required when logging time");
    assert_eq!(b["error_code"], "error");
}

#[tokio::test]
async fn an_inactive_users_token_is_refused() {
    let sim = sim(Seed::Tiny).await;
    sim.add_token(
        "tt_agent_token_00000000000000000000",
        2,
        &["read:time_entries"],
    )
    .unwrap();
    sim.set_user_active(2, false).unwrap();
    let r = Client::new()
        .get(format!("{}/api/v1/time-entries", sim.url))
        .header("X-API-Key", "tt_agent_token_00000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["message"], "User account is inactive");
}

#[tokio::test]
async fn the_seed_corresponds_to_the_zammad_and_kimai_seeds() {
    let opts = SimOptions::with_seed(Seed::Small);
    let tt = TimetrackerSim::start(opts.clone()).await.unwrap();
    let zammad = ZammadSim::start(opts.clone()).await.unwrap();
    let kimai = KimaiSim::start(opts).await.unwrap();
    // Every Kimai user (but the API user) is a TimeTracker user with the same e-mail.
    for u in kimai.users().into_iter().filter(|u| u.id != 1) {
        assert!(tt.user_by_email(&u.email).is_some(), "{}", u.email);
    }
    // Projects: same ids and names as Kimai's (one per Zammad organization).
    let orgs = zammad.organizations();
    for p in tt.projects() {
        let k = kimai.projects().into_iter().find(|k| k.id == p.id).unwrap();
        assert_eq!(k.name, p.name);
        assert!(orgs.iter().any(|o| o.id == p.id && o.name == p.name));
    }
    // Tasks are named like Kimai's activities; entries are whole minutes without overlaps.
    assert!(tt.tasks().iter().all(|t| TASKS.contains(&t.name.as_str())));
    let entries = tt.entries();
    assert!(entries.len() > 100);
    for e in &entries {
        let end = e.end.unwrap();
        assert!(end > e.start);
        assert_eq!(e.start.and_utc().timestamp() % 60, 0);
        assert!(
            !entries.iter().any(|o| o.id != e.id
                && o.user_id == e.user_id
                && o.start < end
                && o.end.unwrap() > e.start),
            "entry {} overlaps",
            e.id
        );
    }
}

#[tokio::test]
async fn api_writes_send_signed_webhooks_in_the_background() {
    use std::sync::{Arc, Mutex};
    let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                let sig = headers["x-webhook-signature"].to_str().unwrap().to_owned();
                sink.lock().unwrap().push((sig, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let sim = sim(Seed::Tiny).await;
    sim.add_webhook(
        &format!("http://{addr}/hook"),
        "secret-1",
        &["time_entry.created"],
    );
    let r = post(
        &sim,
        None,
        body("2026-05-04T09:00:00", "2026-05-04T10:00:00"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sim.deliveries().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no delivery");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (sig, body) = got.lock().unwrap()[0].clone();
    assert_eq!(
        sig,
        timebridge_sim::timetracker::webhook::signature("secret-1", body.as_bytes())
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["event_type"], "time_entry.created");
    // Control-handle edits send nothing on their own.
    sim.insert_entry(NewEntry::new(
        1,
        1,
        naive("2026-05-06T09:00:00"),
        naive("2026-05-06T10:00:00"),
    ))
    .unwrap();
    assert_eq!(sim.deliveries().len(), 1);
}
