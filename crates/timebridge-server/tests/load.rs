//! Webhook load on loopback while a sync runs: signed webhooks at a fixed rate (in the
//! default suite 200/s for 1 s; the long run is 1,000/s for 30 s), each with its own delivery id,
//! then a replay of some of them. Every call is acknowledged with 202, every delivery is
//! accepted exactly once, every replay is recognised, and the acknowledgement latency
//! percentiles are printed (measured, never asserted).
//!
//! Long run: `LOAD_RATE=1000 LOAD_SECONDS=30 cargo test -p timebridge-server --test load -- --nocapture`

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use timebridge_sim::{Seed, SimOptions};
use timebridge_world::{Pair, WEBHOOK_SECRET as SECRET, World};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_under_load_are_each_acknowledged_and_processed_once() {
    let seconds: u64 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let rate: u64 = std::env::var("LOAD_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let app = common::spawn_app(common::Backend::Sqlite).await;
    app.clock.set("2026-04-01T06:00:00Z".parse().unwrap());
    let token = app.login().await;
    let mut world = World::start(Pair::ZammadKimai, SimOptions::with_seed(Seed::Small))
        .await
        .unwrap();
    // The sync only has to run meanwhile: without mappings, as this test always had it.
    world.plan.mappings.clear();
    let ids = timebridge_world::configure_api(&app.api(&token), &world.plan)
        .await
        .unwrap();
    let z = ids.source_connector;
    let kimai = world.kimai();
    // A sync runs meanwhile (slowed down so that it overlaps the load).
    kimai.set_latency(Duration::from_millis(5));
    let (status, _) = app
        .send_json(
            Method::POST,
            "/api/sync/manual",
            &token,
            &json!({"from": "2026-03-01", "to": "2026-03-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let url = Arc::new(app.url(&format!("/api/webhook/zammad/{z}")));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let total = seconds * rate;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        // Pace the starts evenly; each call runs on its own task.
        let due = started + Duration::from_micros(i * 1_000_000 / rate);
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"ticket": {"id": 1 + i % 40}, "article": {}}).to_string();
            let sig = timebridge_sim::webhook::signature(SECRET, body.as_bytes());
            let t = Instant::now();
            let res = client
                .post(url.as_str())
                .header("content-type", "application/json")
                .header("x-hub-signature", sig)
                .header("x-zammad-delivery", format!("load-{i}"))
                .body(body)
                .send()
                .await;
            let took = t.elapsed();
            let accepted = match res {
                Ok(r) if r.status() == StatusCode::ACCEPTED => r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .map(|v| v["accepted"] == true),
                _ => None,
            };
            (accepted, took)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut accepted = 0u64;
    for t in tasks {
        let (ok, took) = t.await.unwrap();
        assert_eq!(ok, Some(true), "a webhook was not acknowledged as new");
        accepted += 1;
        latencies.push(took);
    }
    let wall = started.elapsed();
    latencies.sort();
    // Replays of the first deliveries are recognised and not processed again.
    let replays = (total / 10).max(1);
    for i in 0..replays {
        let body = json!({"ticket": {"id": 1 + i % 40}, "article": {}}).to_string();
        let sig = timebridge_sim::webhook::signature(SECRET, body.as_bytes());
        let v: serde_json::Value = client
            .post(url.as_str())
            .header("content-type", "application/json")
            .header("x-hub-signature", sig)
            .header("x-zammad-delivery", format!("load-{i}"))
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["accepted"], false, "replay {i} was processed again");
    }
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "timebridge_webhook_events_total{{result=\"accepted\"}} {total}"
        )),
        "{metrics}"
    );
    assert!(metrics.contains(&format!(
        "timebridge_webhook_events_total{{result=\"duplicate\"}} {replays}"
    )));
    assert_eq!(accepted, total);
    let audit = app.audit(&token, "webhook_received").await;
    assert!(!audit.is_empty());
    println!(
        "webhook load: {total} calls in {:.1} s ({:.0}/s offered {rate}/s) while a sync ran; \
         ack latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {replays} replays \
         recognised",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.9).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    app.stop().await;
}
