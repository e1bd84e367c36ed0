//! The HTTP client every connector talks through.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::limiter::RateLimiter;
use super::metrics::HttpMetrics;
use super::retry::{Failure, RetryPolicy, Verdict, parse_retry_after, verdict};
use crate::error::{ConnectorError, ConnectorResult};

/// How long to wait, injectable so that tests can observe backoff without waiting.
pub type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// The default sleeper: the tokio timer.
pub fn tokio_sleeper() -> Sleeper {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// Transport settings of one connector (from its `settings` object, see
/// [`HttpSettings::from_settings`]).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Time to establish a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time for a whole attempt, answer body included.
    pub timeout: Duration,
    /// Calls in flight at once through this connector.
    pub max_concurrent: usize,
    /// Request starts per second; `None` is unlimited.
    pub max_requests_per_second: Option<f64>,
    /// Extra trusted root certificate(s), PEM, for on-premises servers with their own CA.
    pub ca_certificate: Option<String>,
    pub retry: RetryPolicy,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_concurrent: 8,
            max_requests_per_second: None,
            ca_certificate: None,
            retry: RetryPolicy::default(),
        }
    }
}

impl HttpSettings {
    /// Reads the transport settings every kind accepts (`timeout_seconds`,
    /// `max_concurrent_requests`, `max_requests_per_second`, `ca_certificate`).
    pub fn from_settings(settings: &Value) -> Self {
        let mut s = HttpSettings::default();
        if let Some(t) = settings["timeout_seconds"].as_f64().filter(|t| *t > 0.0) {
            s.timeout = Duration::from_secs_f64(t);
            s.connect_timeout = s.connect_timeout.min(s.timeout);
        }
        if let Some(n) = settings["max_concurrent_requests"]
            .as_u64()
            .filter(|n| *n > 0)
        {
            s.max_concurrent = usize::try_from(n).unwrap_or(usize::MAX);
        }
        s.max_requests_per_second = settings["max_requests_per_second"]
            .as_f64()
            .filter(|r| *r > 0.0);
        s.ca_certificate = settings["ca_certificate"]
            .as_str()
            .filter(|c| !c.trim().is_empty())
            .map(str::to_owned);
        s
    }
}

/// What the client needs to know about the failing answer to build an error.
#[derive(Debug)]
pub struct ErrorContext<'a> {
    pub host: &'a str,
    pub route: &'static str,
    pub status: u16,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Turns a non-2xx answer into an error; each system supplies its own reading of error
/// bodies, falling back to [`default_error`].
pub type ErrorMapper = fn(&ErrorContext<'_>) -> ConnectorError;

/// A request to send. Its `Debug` output names the route and the shape of the request but
/// never the body or header values: a body may carry a credential (Odoo's JSON-RPC sends
/// the API key in it).
#[derive(Clone)]
pub struct Request {
    pub method: Method,
    /// Route template for metrics and logs (`GET /api/timesheets/{id}`), never with ids.
    pub route: &'static str,
    /// Path and nothing else, e.g. `/api/timesheets/17`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// A body that is not JSON (e.g. an OAuth token request's form), with its content
    /// type; sent instead of `body`.
    pub raw_body: Option<(HeaderValue, Bytes)>,
    /// Whether sending it twice is harmless; decides what may be retried.
    pub idempotent: bool,
    /// Extra headers of this request (e.g. an `Idempotency-Key`), sent on every attempt.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("route", &self.route)
            .field(
                "body",
                &(self.body.is_some() || self.raw_body.is_some()).then_some("[redacted]"),
            )
            .field("idempotent", &self.idempotent)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Request {
    fn new(method: Method, route: &'static str, path: impl Into<String>) -> Self {
        let idempotent = method != Method::POST;
        Request {
            method,
            route,
            path: path.into(),
            query: Vec::new(),
            body: None,
            raw_body: None,
            idempotent,
            headers: Vec::new(),
        }
    }

    /// A GET (idempotent).
    pub fn get(route: &'static str, path: impl Into<String>) -> Self {
        Self::new(Method::GET, route, path)
    }

    /// A POST with a JSON body (not idempotent unless said otherwise).
    pub fn post(route: &'static str, path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::POST, route, path).json(body)
    }

    /// A PATCH with a JSON body (idempotent: the same body twice has the same effect).
    pub fn patch(route: &'static str, path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::PATCH, route, path).json(body)
    }

    /// A PUT with a JSON body (idempotent: a full replace sent twice has the same effect).
    pub fn put(route: &'static str, path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::PUT, route, path).json(body)
    }

    /// A DELETE (idempotent; the caller treats a 404 on a repeat as success).
    pub fn delete(route: &'static str, path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, route, path)
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_owned(), value.to_string()));
        self
    }

    /// Sets the JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Sets a body that is not JSON, with its content type.
    pub fn raw_body(mut self, content_type: HeaderValue, body: Bytes) -> Self {
        self.raw_body = Some((content_type, body));
        self
    }

    /// Adds a header to this request (sent unchanged on every retry).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Overrides whether the request may be repeated.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }
}

/// A successful (2xx) answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    host: String,
}

impl Response {
    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> ConnectorResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| ConnectorError::Protocol {
            host: self.host.clone(),
            message: format!("the body is not the documented JSON ({e})"),
        })
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The shared HTTP client: base URL, auth header, timeouts, concurrency and rate limits,
/// retries, metrics and error reading for one connector. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    base_url: String,
    host: String,
    auth: Option<(HeaderName, HeaderValue)>,
    label: String,
    settings: Arc<HttpSettings>,
    limiter: Arc<RateLimiter>,
    in_flight: Arc<Semaphore>,
    metrics: Arc<HttpMetrics>,
    sleeper: Sleeper,
    error_mapper: ErrorMapper,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("base_url", &self.base_url)
            .field("label", &self.label)
            .field("auth", &self.auth.as_ref().map(|(n, _)| (n, "[redacted]")))
            .finish_non_exhaustive()
    }
}

/// Builder of an [`HttpClient`].
pub struct HttpClientBuilder {
    base_url: String,
    label: String,
    auth: Option<(HeaderName, SecretString)>,
    settings: HttpSettings,
    metrics: Arc<HttpMetrics>,
    sleeper: Sleeper,
    error_mapper: ErrorMapper,
}

impl std::fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("base_url", &self.base_url)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Starts a client for `base_url` (no trailing slash needed); `label` names the
    /// connector in metrics and logs.
    pub fn builder(base_url: &str, label: &str) -> HttpClientBuilder {
        HttpClientBuilder {
            base_url: base_url.trim_end_matches('/').to_owned(),
            label: label.to_owned(),
            auth: None,
            settings: HttpSettings::default(),
            metrics: Arc::new(HttpMetrics::default()),
            sleeper: tokio_sleeper(),
            error_mapper: default_error,
        }
    }

    /// The host the client talks to, for messages.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The connector label used in metrics.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The metrics registry this client records into.
    pub fn metrics(&self) -> &Arc<HttpMetrics> {
        &self.metrics
    }

    /// Sends `req`, retrying what is safe, and returns the 2xx answer or the error.
    pub async fn send(&self, req: Request) -> ConnectorResult<Response> {
        let policy = self.settings.retry;
        let mut attempt = 1u32;
        loop {
            let outcome = self.attempt(&req).await;
            let (failure, error) = match outcome {
                Ok(resp) => return Ok(resp),
                Err(f) => f,
            };
            let verdict = if attempt >= policy.max_attempts {
                Verdict::Stop
            } else {
                verdict(failure, req.idempotent)
            };
            let wait = match verdict {
                Verdict::Stop => return Err(error),
                Verdict::Retry => policy.backoff(attempt),
                Verdict::RetryAfter(after) => {
                    if after > policy.max_retry_after {
                        return Err(error);
                    }
                    self.limiter.pause_for(after);
                    after
                }
            };
            tracing::warn!(
                connector = %self.label,
                route = req.route,
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "Remote call failed; retrying."
            );
            (self.sleeper)(wait).await;
            attempt += 1;
        }
    }

    /// Sends `req` and parses the answer as JSON.
    pub async fn json<T: DeserializeOwned>(&self, req: Request) -> ConnectorResult<T> {
        self.send(req).await?.json()
    }

    async fn attempt(&self, req: &Request) -> Result<Response, (Failure, ConnectorError)> {
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        self.limiter.acquire().await;
        let url = format!("{}{}", self.base_url, req.path);
        let mut builder = self
            .inner
            .request(req.method.clone(), &url)
            .header(http::header::ACCEPT, "application/json");
        if !req.query.is_empty() {
            builder = builder.query(&req.query);
        }
        if let Some((name, value)) = &self.auth {
            builder = builder.header(name.clone(), value.clone());
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.clone(), value.clone());
        }
        if let Some((content_type, body)) = &req.raw_body {
            builder = builder
                .header(http::header::CONTENT_TYPE, content_type.clone())
                .body(body.clone());
        } else if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        let started = Instant::now();
        let result = async {
            let resp = builder.send().await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        }
        .await;
        let took = started.elapsed();
        match result {
            Ok((status, headers, body)) => {
                self.metrics
                    .record(&self.label, req.route, Some(status), took);
                tracing::debug!(
                    connector = %self.label,
                    route = req.route,
                    status,
                    took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                    "Remote call answered."
                );
                if (200..300).contains(&status) {
                    return Ok(Response {
                        status,
                        headers,
                        body,
                        host: self.host.clone(),
                    });
                }
                let retry_after = headers
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
                let ctx = ErrorContext {
                    host: &self.host,
                    route: req.route,
                    status,
                    headers: &headers,
                    body: &body,
                };
                let mut error = (self.error_mapper)(&ctx);
                // An answer the system's error mapper reads as rate limiting (Google's 403
                // `usageLimits`) is retried like a 429.
                let mut failure_status = status;
                if status == 429 || matches!(error, ConnectorError::RateLimited { .. }) {
                    failure_status = 429;
                    error = ConnectorError::RateLimited {
                        retry_after_secs: retry_after.map_or(0, |d| d.as_secs()),
                    };
                }
                Err((Failure::Status(failure_status, retry_after), error))
            }
            Err(e) => {
                self.metrics.record(&self.label, req.route, None, took);
                Err(self.classify(&e))
            }
        }
    }

    fn classify(&self, e: &reqwest::Error) -> (Failure, ConnectorError) {
        let cause = root_cause(e);
        let host = self.host.clone();
        let seconds = self.settings.timeout.as_secs();
        if e.is_connect() {
            if is_tls_failure(e) {
                return (
                    Failure::Connect,
                    ConnectorError::Tls {
                        host,
                        message: cause,
                    },
                );
            }
            if e.is_timeout() {
                return (
                    Failure::Connect,
                    ConnectorError::Timeout {
                        host,
                        seconds: self.settings.connect_timeout.as_secs(),
                    },
                );
            }
            return (
                Failure::Connect,
                ConnectorError::Unreachable {
                    host,
                    message: cause,
                },
            );
        }
        if e.is_timeout() {
            return (
                Failure::AfterSend,
                ConnectorError::Timeout { host, seconds },
            );
        }
        (
            Failure::AfterSend,
            ConnectorError::Interrupted {
                host,
                message: cause,
            },
        )
    }
}

/// The innermost error's message: reqwest's own ("error sending request for url (…)")
/// says little and repeats the URL.
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// Whether a connect error came from the TLS layer (bad certificate, a server that does
/// not speak TLS, an alert): rustls' errors arrive as I/O errors of kind `InvalidData` or
/// recognisably by their messages.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::InvalidData
        {
            return true;
        }
        // rustls' own messages ("invalid peer certificate: UnknownIssuer", "received
        // corrupt message of type InvalidContentType", "received fatal alert: …").
        let text = err.to_string().to_lowercase();
        if [
            "certificate",
            "handshake",
            "corrupt message",
            "fatal alert",
            "peer is incompatible",
            "peer misbehaved",
            "tls",
        ]
        .iter()
        .any(|k| text.contains(k))
        {
            return true;
        }
        current = err.source();
    }
    false
}

impl HttpClientBuilder {
    /// Sends `name: value` on every request; the value is marked sensitive so that no
    /// debug output of the request shows it.
    pub fn auth_header(mut self, name: &'static str, value: SecretString) -> Self {
        self.auth = Some((HeaderName::from_static(name), value));
        self
    }

    /// Transport settings.
    pub fn settings(mut self, settings: HttpSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The registry to count calls in.
    pub fn metrics(mut self, metrics: Arc<HttpMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// How to wait between retries.
    pub fn sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// How the remote's error answers read.
    pub fn error_mapper(mut self, mapper: ErrorMapper) -> Self {
        self.error_mapper = mapper;
        self
    }

    /// Builds the client; fails on an unusable base URL, auth value or CA certificate.
    pub fn build(self) -> ConnectorResult<HttpClient> {
        let url = reqwest::Url::parse(&self.base_url)
            .map_err(|e| ConnectorError::Config(format!("base_url is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConnectorError::Config(
                "base_url must start with http:// or https://".into(),
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| ConnectorError::Config("base_url has no host".into()))?
            .to_owned();
        let host = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.settings.connect_timeout)
            .timeout(self.settings.timeout)
            .user_agent(concat!("timebridge/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(self.settings.max_concurrent);
        if let Some(pem) = &self.settings.ca_certificate {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                ConnectorError::Config(format!("ca_certificate is not a PEM certificate: {e}"))
            })?;
            if certs.is_empty() {
                return Err(ConnectorError::Config(
                    "ca_certificate holds no PEM certificate".into(),
                ));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let inner = builder
            .build()
            .map_err(|e| ConnectorError::Config(format!("cannot build the HTTP client: {e}")))?;
        let auth = match self.auth {
            Some((name, value)) => {
                let mut v = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                    ConnectorError::Config(
                        "the API token contains characters not allowed in an HTTP header".into(),
                    )
                })?;
                v.set_sensitive(true);
                Some((name, v))
            }
            None => None,
        };
        Ok(HttpClient {
            inner,
            base_url: self.base_url,
            host,
            auth,
            label: self.label,
            limiter: Arc::new(RateLimiter::new(self.settings.max_requests_per_second)),
            in_flight: Arc::new(Semaphore::new(self.settings.max_concurrent.max(1))),
            settings: Arc::new(self.settings),
            metrics: self.metrics,
            sleeper: self.sleeper,
            error_mapper: self.error_mapper,
        })
    }
}

/// A readable message from an error body: a JSON `error_human`, `error` or `message`
/// string if there is one, else the start of the text, else the status reason.
pub fn error_message(status: u16, body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        for key in ["error_human", "error", "message"] {
            if let Some(s) = v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                return s.to_owned();
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if !text.is_empty() && !text.starts_with('<') {
        let mut cut: String = text.chars().take(300).collect();
        if cut.len() < text.len() {
            cut.push('…');
        }
        return cut;
    }
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("unexpected status")
        .to_owned()
}

/// The generic reading of a non-2xx answer.
pub fn default_error(ctx: &ErrorContext<'_>) -> ConnectorError {
    let message = error_message(ctx.status, ctx.body);
    match ctx.status {
        401 => ConnectorError::Unauthorized {
            status: 401,
            message,
        },
        403 => ConnectorError::Forbidden { message },
        404 => ConnectorError::NotFound {
            message: format!("{} ({message})", ctx.route),
        },
        400 | 422 => ConnectorError::Rejected {
            message,
            fields: Default::default(),
        },
        status => ConnectorError::Remote {
            host: ctx.host.to_owned(),
            status,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_printed_for_debugging_shows_no_body_and_no_header_value() {
        let req = Request::post(
            "POST /jsonrpc",
            "/jsonrpc",
            serde_json::json!({"params": {"args": ["db", 2, "the-api-key"]}}),
        )
        .header(
            HeaderName::from_static("idempotency-key"),
            HeaderValue::from_static("the-key-value"),
        );
        let text = format!("{req:?}");
        assert!(text.contains("POST /jsonrpc"), "{text}");
        assert!(!text.contains("the-api-key"), "{text}");
        assert!(!text.contains("the-key-value"), "{text}");
    }
}
