//! Logging and request tracing: a global `tracing` subscriber writing JSON or pretty
//! lines to stdout, and the HTTP layers that give every request an id
//! (`x-request-id`, generated when absent, echoed in the response and recorded in the
//! request span) while keeping credentials out of the logs.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, Request, Response, header};
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::request_id::RequestId;
use tracing::Span;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// Default filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str =
    "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,tower_http=info";

/// Headers whose values never appear in logs.
pub fn sensitive_request_headers() -> [HeaderName; 4] {
    [
        header::AUTHORIZATION,
        header::COOKIE,
        HeaderName::from_static("x-hub-signature"),
        header::PROXY_AUTHORIZATION,
    ]
}

/// Installs the global subscriber writing to stdout; `RUST_LOG` overrides
/// [`DEFAULT_FILTER`]. Calling it twice is harmless (the second call does nothing).
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stdout));
}

/// The subscriber `init` installs, writing to `writer`; tests use it to capture logs.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Pretty => Box::new(builder.finish()),
    }
}

/// The span of one HTTP request: method, path and request id (never headers or query
/// values, which may hold credentials).
pub fn make_request_span(request: &Request<Body>) -> Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .or_else(|| {
            request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
        })
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

/// Logs the start of a request; headers at debug level only, with sensitive values
/// already replaced by `Sensitive`.
pub fn on_request(request: &Request<Body>, _span: &Span) {
    tracing::debug!(headers = ?request.headers(), "Request started.");
}

/// Logs the end of a request.
pub fn on_response(response: &Response<Body>, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    tracing::info!(status, latency_ms, "Request finished.");
}

/// Logs a failed request (5xx or a broken connection).
pub fn on_failure(failure: ServerErrorsFailureClass, latency: Duration, _span: &Span) {
    let latency_ms = latency.as_secs_f64() * 1000.0;
    tracing::warn!(failure = %failure, latency_ms, "Request failed.");
}
