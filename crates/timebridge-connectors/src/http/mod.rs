//! The HTTP client shared by all connectors: timeouts, per-connector concurrency and rate
//! limits, retries with backoff and jitter that honour `Retry-After` and repeat only what
//! is safe, metrics per connector, route and status, and readable remote errors. Secrets
//! travel only in a header marked sensitive and never reach a log line.

mod client;
mod limiter;
mod metrics;
mod retry;

pub use client::{
    ErrorContext, ErrorMapper, HttpClient, HttpClientBuilder, HttpSettings, Request, Response,
    Sleeper, default_error, error_message, tokio_sleeper,
};
pub use limiter::RateLimiter;
pub use metrics::{BUCKETS, CallLabels, CallStats, HttpMetrics};
pub use retry::{Failure, RetryPolicy, Verdict, parse_retry_after, verdict};
