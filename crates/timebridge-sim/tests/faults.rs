//! Injected faults, latency and the request log of both simulators.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::Value;
use timebridge_sim::{Fault, KimaiSim, Seed, SimOptions, ZammadSim};

async fn kimai() -> KimaiSim {
    KimaiSim::start(SimOptions::with_seed(Seed::Tiny))
        .await
        .unwrap()
}

async fn ping(sim: &KimaiSim) -> Result<reqwest::Response, reqwest::Error> {
    Client::new()
        .get(format!("{}/api/ping", sim.url))
        .bearer_auth(&sim.token)
        .send()
        .await
}

#[tokio::test]
async fn the_next_n_calls_fail_with_500_then_calls_succeed() {
    let sim = kimai().await;
    sim.faults()
        .fail_next("GET /api/ping", 2, Fault::InternalError);
    assert_eq!(
        ping(&sim).await.unwrap().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        ping(&sim).await.unwrap().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(ping(&sim).await.unwrap().status(), StatusCode::OK);
    assert_eq!(sim.faults().pending(), 0);
}

#[tokio::test]
async fn a_429_carries_retry_after() {
    let sim = kimai().await;
    sim.faults().fail_next(
        "/api/ping",
        1,
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
    );
    let r = ping(&sim).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "7");
}

#[tokio::test]
async fn a_dropped_connection_yields_no_response_and_the_server_keeps_serving() {
    let sim = kimai().await;
    sim.faults().fail_next("*", 1, Fault::DropConnection);
    let err = ping(&sim).await.unwrap_err();
    assert!(!err.is_status(), "{err}");
    assert_eq!(ping(&sim).await.unwrap().status(), StatusCode::OK);
    assert_eq!(sim.log().entries()[0].status, 0);
}

#[tokio::test]
async fn a_slow_response_exceeds_a_client_timeout() {
    let sim = kimai().await;
    sim.faults()
        .fail_next("GET /api/ping", 1, Fault::Slow(Duration::from_secs(5)));
    let err = Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap()
        .get(format!("{}/api/ping", sim.url))
        .bearer_auth(&sim.token)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

#[tokio::test]
async fn a_malformed_json_body_fails_to_parse() {
    let sim = kimai().await;
    sim.faults()
        .fail_next("GET /api/timesheets", 1, Fault::MalformedJson);
    let r = Client::new()
        .get(format!("{}/api/timesheets", sim.url))
        .bearer_auth(&sim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.json::<Value>().await.is_err());
}

async fn statuses(seed: u64) -> Vec<u16> {
    let sim = ZammadSim::start(SimOptions {
        rng_seed: seed,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    sim.faults()
        .set_rate("GET /api/v1/users/me", 0.3, Fault::InternalError);
    let mut out = Vec::new();
    for _ in 0..40 {
        let r = Client::new()
            .get(format!("{}/api/v1/users/me", sim.url))
            .header("Authorization", format!("Token token={}", sim.token))
            .send()
            .await
            .unwrap();
        out.push(r.status().as_u16());
    }
    out
}

#[tokio::test]
async fn rate_based_faults_are_deterministic_for_a_seed() {
    let a = statuses(9).await;
    let b = statuses(9).await;
    assert_eq!(a, b);
    let failures = a.iter().filter(|s| **s == 500).count();
    assert!((3..=25).contains(&failures), "{failures}");
}

#[tokio::test]
async fn the_request_log_counts_by_route_and_latency_is_added() {
    let sim = kimai().await;
    sim.set_latency(Duration::from_millis(20));
    for _ in 0..3 {
        ping(&sim).await.unwrap();
    }
    Client::new()
        .get(format!("{}/api/timesheets/77", sim.url))
        .bearer_auth(&sim.token)
        .send()
        .await
        .unwrap();
    let counts = sim.log().counts_by_route();
    assert_eq!(counts["GET /api/ping"], 3);
    assert_eq!(sim.log().count("GET /api/timesheets/{id}"), 1);
    let entries = sim.log().entries();
    assert_eq!(entries[3].path, "/api/timesheets/77");
    assert_eq!(entries[3].status, 404);
    assert!(
        entries
            .iter()
            .all(|e| e.latency >= Duration::from_millis(20))
    );
}

#[tokio::test]
async fn unknown_routes_answer_404_json_and_are_logged() {
    let sim = kimai().await;
    let r = Client::new()
        .get(format!("{}/api/nope?x=1", sim.url))
        .bearer_auth(&sim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 404);
    assert_eq!(sim.log().entries()[0].path, "/api/nope?x=1");
    // Matched routes are still logged under their template.
    ping(&sim).await.unwrap();
    assert_eq!(sim.log().count("GET /api/ping"), 1);

    let z = ZammadSim::start(SimOptions::default()).await.unwrap();
    let r = Client::new()
        .get(format!("{}/api/v1/nope", z.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());
}

async fn post_entry(
    sim: &KimaiSim,
    timeout: Duration,
) -> Result<reqwest::Response, reqwest::Error> {
    Client::builder()
        .timeout(timeout)
        .build()
        .unwrap()
        .post(format!("{}/api/timesheets", sim.url))
        .bearer_auth(&sim.token)
        .json(&serde_json::json!({
            "project": 1, "activity": 1,
            "begin": "2026-03-02T08:00:00", "end": "2026-03-02T09:00:00"
        }))
        .send()
        .await
}

#[tokio::test]
async fn a_late_response_times_out_the_client_after_the_write_took_effect() {
    let sim = kimai().await;
    sim.faults().fail_next(
        "POST /api/timesheets",
        1,
        Fault::LateResponse(Duration::from_secs(5)),
    );
    let err = post_entry(&sim, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(sim.timesheet_count(), 1);
}

#[tokio::test]
async fn a_connection_dropped_after_handling_leaves_the_write_in_place() {
    let sim = kimai().await;
    sim.faults()
        .fail_next("POST /api/timesheets", 1, Fault::DropAfterHandling);
    let err = post_entry(&sim, Duration::from_secs(5)).await.unwrap_err();
    assert!(!err.is_status(), "{err}");
    assert_eq!(sim.timesheet_count(), 1);
}

#[tokio::test]
async fn a_slow_write_still_takes_effect_after_the_client_gave_up() {
    let sim = kimai().await;
    sim.faults().fail_next(
        "POST /api/timesheets",
        1,
        Fault::Slow(Duration::from_millis(400)),
    );
    let err = post_entry(&sim, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while sim.timesheet_count() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sim.timesheet_count(), 1);
}
