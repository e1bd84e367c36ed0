//! `GET /metrics`: Prometheus text exposition of runs, entries, conflicts, the run queue,
//! remote calls per connector, route and status, and webhook events. Database figures
//! are read at scrape time; remote calls and webhooks are counted in this process since
//! it started.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use timebridge_connectors::http::BUCKETS;

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

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders every metric.
pub async fn render(state: &AppState) -> Result<String, timebridge_store::StoreError> {
    let counts = state.store.sync_counts().await?;
    let mut out = String::new();

    header(
        &mut out,
        "timebridge_runs",
        "gauge",
        "Sync runs kept, by pipeline and status.",
    );
    for (pipeline, status, n) in &counts.runs {
        let _ = writeln!(
            out,
            "timebridge_runs{{pipeline=\"{pipeline}\",status=\"{}\"}} {n}",
            escape(status)
        );
    }
    header(
        &mut out,
        "timebridge_entries",
        "gauge",
        "Run items kept, by outcome (in_sync, create, update, skip, conflict, error).",
    );
    for (outcome, n) in &counts.items {
        let _ = writeln!(
            out,
            "timebridge_entries{{outcome=\"{}\"}} {n}",
            escape(outcome)
        );
    }
    header(
        &mut out,
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
        &mut out,
        "timebridge_queue_depth",
        "gauge",
        "Runs waiting in the queue.",
    );
    let _ = writeln!(out, "timebridge_queue_depth {}", counts.queued);
    header(
        &mut out,
        "timebridge_queue_oldest_age_seconds",
        "gauge",
        "Age of the oldest queued run (0 when the queue is empty).",
    );
    let age = counts
        .oldest_queued_at
        .map(|t| (state.clock.now() - t).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    let _ = writeln!(out, "timebridge_queue_oldest_age_seconds {age}");

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
    Ok(out)
}

/// Prometheus metrics (text format). Needs no session: operators may protect it at their
/// reverse proxy.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String),
        (status = 503, description = "The database is unreachable", content_type = "text/plain", body = String),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    match render(&state).await {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "Metrics could not be read from the database.");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "# the database is unreachable\n",
            )
                .into_response()
        }
    }
}
