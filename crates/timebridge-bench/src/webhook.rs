//! `timebridge serve`: its memory when idle, and signed Zammad webhooks fired at a fixed
//! rate (open loop: each call is sent at its scheduled instant whether or not earlier
//! ones were answered, so a slow server cannot slow the load down).

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use timebridge_sim::{Seed, SimOptions};

use crate::procfs::{kb_to_mb, rss_mb, status_kb};
use crate::world::{WEBHOOK_SECRET, World};

#[derive(Debug, Clone)]
pub struct WebhookOptions {
    pub latency: Duration,
    /// Calls per second.
    pub rate: u32,
    pub duration: Duration,
    /// How long the server idles before its memory is read.
    pub idle: Duration,
    /// HTTP clients the calls are spread over.
    pub clients: usize,
}

/// Stops the server on drop, whatever happened.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        // SIGTERM for a graceful stop (no `unsafe` here, so through kill(1)), then SIGKILL.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Returns `(idle_rss_mb, webhook JSON)`.
pub async fn run(bin: &Path, opts: &WebhookOptions) -> anyhow::Result<(f64, Value)> {
    let world = World::new(SimOptions {
        seed: Seed::Small,
        latency: opts.latency,
        ..SimOptions::default()
    })
    .await?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = world.command(bin, &["serve"], "serve")?;
    cmd.env("BIND", format!("127.0.0.1:{port}"));
    let server = Server(cmd.spawn()?);
    let pid = server.0.id();

    let probe = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let ok = probe
            .get(format!("{base}/api/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "`timebridge serve` did not become healthy; see {}",
            world.log_path("serve", "err").display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready_after = started.elapsed();
    eprintln!(
        "serve: healthy after {:.2} s; idling {} s…",
        ready_after.as_secs_f64(),
        opts.idle.as_secs()
    );
    tokio::time::sleep(opts.idle).await;
    let idle_rss = rss_mb(pid).unwrap_or(0.0);
    let start_peak = status_kb(&pid.to_string(), "VmHWM").map(kb_to_mb);

    // The calls, signed in advance so that the load generator does little per call.
    let url = format!("{base}/api/webhook/zammad/{}", world.zammad_connector);
    let tickets: Vec<u64> = world.zammad.tickets().iter().map(|t| t.id).collect();
    let total = (u64::from(opts.rate) * opts.duration.as_millis() as u64 / 1000) as usize;
    let warmup = 50usize;
    let calls: Vec<(String, String, Vec<u8>)> = (0..warmup + 100 + total)
        .map(|i| {
            let ticket = tickets[i % tickets.len()];
            let body = serde_json::to_vec(&json!({
                "ticket": {"id": ticket, "title": "Printer on 2nd floor offline", "state": "open"},
                "article": {"ticket_id": ticket, "type": "note", "body": "Worked on the ticket."}
            }))
            .expect("JSON");
            let sig = timebridge_sim::webhook::signature(WEBHOOK_SECRET, &body);
            (format!("bench-{i:08}"), sig, body)
        })
        .collect();
    let clients: Vec<reqwest::Client> = (0..opts.clients.max(1))
        .map(|_| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
        })
        .collect::<Result<_, _>>()?;
    let send = |client: reqwest::Client, url: String, call: (String, String, Vec<u8>)| async move {
        let t = Instant::now();
        let status = client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("User-Agent", "Zammad User Agent")
            .header("X-Zammad-Trigger", "timebridge")
            .header("X-Zammad-Delivery", call.0)
            .header("X-Hub-Signature", call.1)
            .body(call.2)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        (t.elapsed(), status, Instant::now())
    };
    let mut calls = calls.into_iter();
    // Warm-up: connections opened, caches filled; not counted.
    for (i, call) in calls.by_ref().take(warmup).enumerate() {
        let c = clients[i % clients.len()].clone();
        send(c, url.clone(), call).await;
    }
    eprintln!(
        "webhook: {} calls at {}/s over {} clients…",
        total,
        opts.rate,
        clients.len()
    );
    // A light load first (100/s for 1 s): the acknowledgement without queueing.
    let light_total = 100usize;
    let light: Vec<_> = calls.by_ref().take(light_total).collect();
    let (light_lat, light_statuses, light_elapsed) = fire(&clients, &url, light, 100, send).await?;
    let (latencies, statuses, elapsed) =
        fire(&clients, &url, calls.collect(), opts.rate, send).await?;
    let light_json = json!({
        "rate": 100,
        "calls": light_total,
        "ack_p50_ms": percentile(&light_lat, 50.0),
        "ack_p99_ms": percentile(&light_lat, 99.0),
        "requests_per_second": light_total as f64 / light_elapsed,
        "all_202": light_statuses.get(&202).copied().unwrap_or(0) as usize == light_total,
    });
    let ok = statuses.get(&202).copied().unwrap_or(0);
    let after_rss = rss_mb(pid);
    let peak = status_kb(&pid.to_string(), "VmHWM").map(kb_to_mb);
    let runs = world.store.list_runs(Some(world.pipeline), 1, 0).await?.1;
    drop(server);
    let result = json!({
        "target_rate": opts.rate,
        "duration_seconds": opts.duration.as_secs_f64(),
        "clients": clients.len(),
        "calls": total,
        "accepted_202": ok,
        "all_202": ok as usize == total,
        "statuses": statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
        "ack_p50_ms": percentile(&latencies, 50.0),
        "ack_p90_ms": percentile(&latencies, 90.0),
        "ack_p99_ms": percentile(&latencies, 99.0),
        "ack_max_ms": latencies.last().copied().unwrap_or(0.0),
        "requests_per_second": total as f64 / elapsed,
        "runs_queued": runs,
        "light_load": light_json,
        "server_ready_seconds": ready_after.as_secs_f64(),
        "server_rss_after_load_mb": after_rss,
        "server_peak_rss_mb": peak,
        "server_peak_rss_at_idle_mb": start_peak,
    });
    eprintln!(
        "webhook: at 100/s p99 {:.2} ms; at full rate p50 {:.2} ms, p99 {:.2} ms, {:.0}/s, {ok}/{total} answered 202",
        result["light_load"]["ack_p99_ms"].as_f64().unwrap_or(0.0),
        result["ack_p50_ms"].as_f64().unwrap_or(0.0),
        result["ack_p99_ms"].as_f64().unwrap_or(0.0),
        result["requests_per_second"].as_f64().unwrap_or(0.0),
    );
    Ok((idle_rss, result))
}

type Outcome = (Duration, u16, Instant);

/// Sends `calls` at `rate` per second (open loop) and returns the sorted latencies in
/// ms, the statuses, and the seconds from the first send to the last answer.
async fn fire<F, Fut>(
    clients: &[reqwest::Client],
    url: &str,
    calls: Vec<(String, String, Vec<u8>)>,
    rate: u32,
    send: F,
) -> anyhow::Result<(Vec<f64>, std::collections::BTreeMap<u16, u64>, f64)>
where
    F: Fn(reqwest::Client, String, (String, String, Vec<u8>)) -> Fut,
    Fut: std::future::Future<Output = Outcome> + Send + 'static,
{
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let t0 = tokio::time::Instant::now();
    let mut handles = Vec::with_capacity(calls.len());
    for (i, call) in calls.into_iter().enumerate() {
        tokio::time::sleep_until(t0 + period * i as u32).await;
        let c = clients[i % clients.len()].clone();
        handles.push(tokio::spawn(send(c, url.to_owned(), call)));
    }
    let mut latencies = Vec::with_capacity(handles.len());
    let mut statuses: std::collections::BTreeMap<u16, u64> = Default::default();
    let mut last_done = t0.into_std();
    for h in handles {
        let (lat, status, done) = h.await?;
        latencies.push(lat.as_secs_f64() * 1000.0);
        *statuses.entry(status).or_default() += 1;
        last_done = last_done.max(done);
    }
    latencies.sort_by(f64::total_cmp);
    let elapsed = last_done.duration_since(t0.into_std()).as_secs_f64();
    Ok((latencies, statuses, elapsed))
}
