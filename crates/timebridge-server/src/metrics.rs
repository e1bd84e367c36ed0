//! `GET /metrics`: Prometheus text exposition of runs, entries, conflicts, the run queue,
//! remote calls per connector, route and status, webhook events, the build and the
//! process. Counters (`*_total`: runs finished, entries processed, remote calls, webhook
//! calls) count in this process since it started, so `increase()` reads them right across
//! retention deletes; gauges of the database (runs kept, open conflicts, the queue) are
//! read at scrape time with small grouped counts (never a scan of run items). When the
//! database does not answer, the rest is still served with `timebridge_database_up 0`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use timebridge_connectors::http::BUCKETS;
use timebridge_store::states::{ItemOutcome, RunStatus};

use crate::state::AppState;

/// Webhook calls by result, since the process started.
#[derive(Debug, Default)]
pub struct WebhookCounters {
    pub accepted: AtomicU64,
    pub duplicate: AtomicU64,
    pub rejected: AtomicU64,
    pub invalid: AtomicU64,
}

impl WebhookCounters {
    /// Counts one call.
    pub fn count(&self, result: &AtomicU64) {
        result.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs finished and entries processed by this process, since it started.
#[derive(Debug, Default)]
pub struct RunCounters {
    runs: Mutex<BTreeMap<(i64, &'static str), u64>>,
    entries: Mutex<BTreeMap<&'static str, u64>>,
}

impl RunCounters {
    /// Counts a finished run of `pipeline` and the outcomes of its entries.
    pub fn record(
        &self,
        pipeline: i64,
        status: RunStatus,
        outcomes: impl IntoIterator<Item = ItemOutcome>,
    ) {
        *self
            .runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((pipeline, status.as_str()))
            .or_default() += 1;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for outcome in outcomes {
            *entries.entry(outcome.as_str()).or_default() += 1;
        }
    }

    fn runs(&self) -> BTreeMap<(i64, &'static str), u64> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn entries(&self) -> BTreeMap<&'static str, u64> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders every metric. Never fails: what the database cannot answer is left out and
/// `timebridge_database_up` says so.
pub async fn render(state: &AppState) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "timebridge_build_info",
        "gauge",
        "The running build (always 1), labelled with its version.",
    );
    let _ = writeln!(
        out,
        "timebridge_build_info{{version=\"{}\"}} 1",
        crate::VERSION
    );
    process_metrics(&mut out);

    header(
        &mut out,
        "timebridge_runs_total",
        "counter",
        "Sync runs finished by this process, by pipeline and status.",
    );
    for ((pipeline, status), n) in state.counters.runs() {
        let _ = writeln!(
            out,
            "timebridge_runs_total{{pipeline=\"{pipeline}\",status=\"{status}\"}} {n}"
        );
    }
    header(
        &mut out,
        "timebridge_entries_total",
        "counter",
        "Entries processed by this process's runs, by outcome (in_sync, create, update, skip, conflict, error).",
    );
    for (outcome, n) in state.counters.entries() {
        let _ = writeln!(out, "timebridge_entries_total{{outcome=\"{outcome}\"}} {n}");
    }

    header(
        &mut out,
        "timebridge_database_statements_total",
        "counter",
        "SQL statements this process sent to the database.",
    );
    let _ = writeln!(
        out,
        "timebridge_database_statements_total {}",
        state.store.statements_executed()
    );
    let database = state.store.sync_counts().await;
    header(
        &mut out,
        "timebridge_database_up",
        "gauge",
        "Whether the database answered this scrape (1) or not (0).",
    );
    let _ = writeln!(out, "timebridge_database_up {}", u8::from(database.is_ok()));
    match database {
        Ok(counts) => database_metrics(&mut out, state, &counts),
        Err(e) => tracing::warn!(error = %e, "Metrics could not be read from the database."),
    }

    let calls = state.connectors.metrics.snapshot();
    header(
        &mut out,
        "timebridge_remote_requests_total",
        "counter",
        "Remote API calls (attempts) by connector, route and status (`error`: no answer).",
    );
    for (l, s) in &calls {
        let _ = writeln!(
            out,
            "timebridge_remote_requests_total{{connector=\"{}\",route=\"{}\",status=\"{}\"}} {}",
            escape(&l.connector),
            escape(l.route),
            escape(&l.status),
            s.count
        );
    }
    header(
        &mut out,
        "timebridge_remote_request_duration_seconds",
        "histogram",
        "Latency of remote API calls by connector, route and status.",
    );
    for (l, s) in &calls {
        let labels = format!(
            "connector=\"{}\",route=\"{}\",status=\"{}\"",
            escape(&l.connector),
            escape(l.route),
            escape(&l.status)
        );
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "timebridge_remote_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                s.buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "timebridge_remote_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            s.count
        );
        let _ = writeln!(
            out,
            "timebridge_remote_request_duration_seconds_sum{{{labels}}} {}",
            s.seconds_sum
        );
        let _ = writeln!(
            out,
            "timebridge_remote_request_duration_seconds_count{{{labels}}} {}",
            s.count
        );
    }

    header(
        &mut out,
        "timebridge_webhook_events_total",
        "counter",
        "Webhook calls by result (accepted, duplicate, rejected: bad or missing signature, invalid: not JSON or no ticket).",
    );
    let w = &state.webhooks;
    for (result, n) in [
        ("accepted", &w.accepted),
        ("duplicate", &w.duplicate),
        ("rejected", &w.rejected),
        ("invalid", &w.invalid),
    ] {
        let _ = writeln!(
            out,
            "timebridge_webhook_events_total{{result=\"{result}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    out
}

/// The gauges read from the database at scrape time.
fn database_metrics(out: &mut String, state: &AppState, counts: &timebridge_store::SyncCounts) {
    header(
        out,
        "timebridge_runs",
        "gauge",
        "Sync runs kept (after retention), by pipeline and status.",
    );
    for (pipeline, status, n) in &counts.runs {
        let _ = writeln!(
            out,
            "timebridge_runs{{pipeline=\"{pipeline}\",status=\"{}\"}} {n}",
            escape(status)
        );
    }
    header(
        out,
        "timebridge_open_conflicts",
        "gauge",
        "Open conflicts by reason.",
    );
    for (reason, n) in &counts.open_conflicts {
        let _ = writeln!(
            out,
            "timebridge_open_conflicts{{reason=\"{}\"}} {n}",
            escape(reason)
        );
    }
    header(
        out,
        "timebridge_queue_depth",
        "gauge",
        "Runs waiting in the queue.",
    );
    let _ = writeln!(out, "timebridge_queue_depth {}", counts.queued);
    header(
        out,
        "timebridge_queue_oldest_age_seconds",
        "gauge",
        "Age of the oldest queued run (0 when the queue is empty).",
    );
    let age = counts
        .oldest_queued_at
        .map(|t| (state.clock.now() - t).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    let _ = writeln!(out, "timebridge_queue_oldest_age_seconds {age}");
}

/// The standard process metrics (Linux `/proc/self`): resident memory, CPU time, open
/// file descriptors, start time. Left out where `/proc` is not there.
fn process_metrics(out: &mut String) {
    // Linux reports CPU times and the start time in clock ticks of USER_HZ, 100 on every
    // architecture Linux supports for user space.
    const TICKS_PER_SECOND: f64 = 100.0;
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(kb) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        header(
            out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        let _ = writeln!(out, "process_resident_memory_bytes {}", kb * 1024);
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
        // Fields after the command name (which may hold spaces) start at field 3.
        && let Some((_, rest)) = stat.rsplit_once(')')
    {
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        if let (Some(utime), Some(stime)) = (field(14), field(15)) {
            header(
                out,
                "process_cpu_seconds_total",
                "counter",
                "User and system CPU time spent, in seconds.",
            );
            let _ = writeln!(
                out,
                "process_cpu_seconds_total {}",
                (utime + stime) / TICKS_PER_SECOND
            );
        }
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
        if let (Some(start), Some(boot)) = (field(22), boot) {
            header(
                out,
                "process_start_time_seconds",
                "gauge",
                "Start time of the process since the Unix epoch, in seconds.",
            );
            let _ = writeln!(
                out,
                "process_start_time_seconds {}",
                boot + start / TICKS_PER_SECOND
            );
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        header(out, "process_open_fds", "gauge", "Open file descriptors.");
        let _ = writeln!(out, "process_open_fds {}", fds.count());
    }
}

/// Prometheus metrics (text format). Needs no session: operators may protect it at their
/// reverse proxy.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4 (also while the database is down: `timebridge_database_up 0`)", content_type = "text/plain", body = String),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&state).await,
    )
        .into_response()
}
