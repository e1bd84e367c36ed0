//! Fault injection, latency and the request log, applied to every route of a simulator by
//! one middleware.
//!
//! Routes are named `"METHOD /template"`, e.g. `"GET /api/timesheets"` or
//! `"PATCH /api/timesheets/{id}"`. A route pattern given to [`Faults`] is either such a key,
//! a bare template (any method), or `"*"` (every route).
//!
//! Faults are deterministic: queued faults ("the next N calls fail with F") fire in order,
//! and rate-based faults draw from a RNG seeded from [`crate::SimOptions::rng_seed`], so a
//! serial request sequence always sees the same faults.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One kind of injected failure.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer 500 with the server's usual error body, without running the handler.
    InternalError,
    /// Answer 429 with `Retry-After: <retry_after_secs>`, without running the handler.
    TooManyRequests {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// Answer 429 without a `Retry-After` header (servers that do not say how long to
    /// wait), without running the handler.
    TooManyRequestsWithoutRetryAfter,
    /// Close the connection without sending any response (the handler does not run).
    DropConnection,
    /// Run the handler (the request TAKES EFFECT), then close the connection without a
    /// response — a write the client cannot know succeeded.
    DropAfterHandling,
    /// Wait this long, then run the handler; it runs to completion even if the client gave
    /// up meanwhile (as on an overloaded server), so a write still takes effect.
    Slow(Duration),
    /// Run the handler at once (the request takes effect), then wait this long before
    /// answering — to exceed a client's timeout after the write happened.
    LateResponse(Duration),
    /// Run the handler, then replace the body by truncated, invalid JSON (status kept).
    MalformedJson,
    /// Answer 403 with the server's quota error (Google: `usageLimits` /
    /// `rateLimitExceeded`), without running the handler.
    QuotaExceeded,
    /// Kimai timesheet list only: a page after the first also starts with the last item of
    /// the previous page, as in kimai#4881 (no item is lost; one id appears twice).
    RepeatPreviousPageId,
}

#[derive(Debug)]
struct FaultsInner {
    queued: Vec<(String, u32, Fault)>,
    rates: Vec<(String, f64, Fault)>,
    rng: StdRng,
}

/// Cloneable handle on a simulator's injected faults.
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Mutex<FaultsInner>>,
}

fn route_matches(pattern: &str, key: &str) -> bool {
    if pattern == "*" || pattern == key {
        return true;
    }
    if !pattern.contains(' ') {
        return key.split_once(' ').is_some_and(|(_, path)| path == pattern);
    }
    false
}

impl Faults {
    /// No faults; rate-based faults will draw from a RNG seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(FaultsInner {
                queued: Vec::new(),
                rates: Vec::new(),
                rng: StdRng::seed_from_u64(seed ^ 0x5eed_fa17),
            })),
        }
    }

    /// The next `n` calls matching `route` fail with `fault` (queued after earlier ones).
    pub fn fail_next(&self, route: &str, n: u32, fault: Fault) {
        if n > 0 {
            self.inner
                .lock()
                .unwrap()
                .queued
                .push((route.to_owned(), n, fault));
        }
    }

    /// Each call matching `route` fails with `fault` with probability `rate` (0.0–1.0).
    /// Replaces an earlier rate for the same route and the same kind of fault.
    pub fn set_rate(&self, route: &str, rate: f64, fault: Fault) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.rates.retain(|(r, _, f)| {
            !(r == route && std::mem::discriminant(f) == std::mem::discriminant(&fault))
        });
        if rate > 0.0 {
            inner.rates.push((route.to_owned(), rate.min(1.0), fault));
        }
    }

    /// Re-seeds the RNG of rate-based faults.
    pub fn reseed(&self, seed: u64) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .rng = StdRng::seed_from_u64(seed ^ 0x5eed_fa17);
    }

    /// Removes every queued and rate-based fault.
    pub fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.queued.clear();
        inner.rates.clear();
    }

    /// Number of queued faults not yet fired.
    pub fn pending(&self) -> u32 {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .queued
            .iter()
            .map(|q| q.1)
            .sum()
    }

    /// Picks the fault (if any) for one call of the route `key`.
    pub(crate) fn decide(&self, key: &str) -> Option<Fault> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pos) = inner
            .queued
            .iter()
            .position(|(r, _, _)| route_matches(r, key))
        {
            let fault = inner.queued[pos].2.clone();
            inner.queued[pos].1 -= 1;
            if inner.queued[pos].1 == 0 {
                inner.queued.remove(pos);
            }
            return Some(fault);
        }
        let FaultsInner { rates, rng, .. } = &mut *inner;
        for (r, rate, fault) in rates.iter() {
            if route_matches(r, key) && rng.gen_bool(*rate) {
                return Some(fault.clone());
            }
        }
        None
    }
}

/// One request as the simulator saw it.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Path and query as sent, e.g. `/api/timesheets?page=2`.
    pub path: String,
    /// Route key, e.g. `GET /api/timesheets/{id}`.
    pub route: String,
    /// Status answered; 0 when the connection was dropped.
    pub status: u16,
    /// Time from arrival to response, including injected latency.
    pub latency: Duration,
    /// The injected fault, if any.
    pub fault: Option<Fault>,
}

/// Cloneable handle on a simulator's request log.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<Vec<LoggedRequest>>>,
}

impl RequestLog {
    /// All logged requests, oldest first.
    pub fn entries(&self) -> Vec<LoggedRequest> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Number of logged requests.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when nothing was logged.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of requests whose route matches `route` (same patterns as [`Faults`]).
    pub fn count(&self, route: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .iter()
            .filter(|r| route_matches(route, &r.route))
            .count()
    }

    /// Number of requests per route key.
    pub fn counts_by_route(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for r in self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            *out.entry(r.route.clone()).or_insert(0) += 1;
        }
        out
    }

    /// Number of requests with a method other than GET.
    pub fn write_count(&self) -> usize {
        self.inner
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method != "GET")
            .count()
    }

    /// Forgets every logged request.
    pub fn clear(&self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn push(&self, r: LoggedRequest) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(r);
    }
}

/// Which server's error bodies the middleware imitates.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Flavor {
    Zammad,
    Kimai,
    Odoo,
    Timetracker,
    Clockify,
    Slack,
    Jibble,
    Google,
}

/// A route key a simulator computed before routing (Odoo: every call is `POST /jsonrpc`,
/// so its key names the service, model and method, e.g.
/// `execute_kw account.analytic.line.create`). Put into the request's extensions by a layer
/// outside [`middleware`], which then uses it instead of `METHOD /template`.
#[derive(Debug, Clone)]
pub(crate) struct RouteKey(pub String);

/// State of the shared middleware.
#[derive(Debug, Clone)]
pub(crate) struct Infra {
    pub faults: Faults,
    pub log: RequestLog,
    pub latency_us: Arc<AtomicU64>,
    pub flavor: Flavor,
}

impl Infra {
    pub fn new(seed: u64, latency: Duration, flavor: Flavor) -> Self {
        Self {
            faults: Faults::new(seed),
            log: RequestLog::default(),
            latency_us: Arc::new(AtomicU64::new(latency.as_micros() as u64)),
            flavor,
        }
    }

    pub fn set_latency(&self, latency: Duration) {
        self.latency_us
            .store(latency.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Ordering::Relaxed))
    }
}

/// Marker put into request extensions when the handler itself must apply a fault.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RepeatPreviousPageId;

fn error_response(flavor: Flavor, status: StatusCode) -> Response {
    let body = match flavor {
        Flavor::Kimai => serde_json::json!({
            "code": status.as_u16(),
            "message": status.canonical_reason().unwrap_or("Error"),
        }),
        Flavor::Timetracker => {
            let m = if status == StatusCode::TOO_MANY_REQUESTS {
                "Rate limit exceeded"
            } else {
                "An internal error occurred"
            };
            let code = if status == StatusCode::TOO_MANY_REQUESTS {
                "rate_limited"
            } else {
                "internal_error"
            };
            serde_json::json!({"success": false, "error": m, "message": m, "error_code": code})
        }
        // The Web API's envelope; an incoming webhook would answer plain text, but
        // injected faults imitate the API (429 `ratelimited` is the documented body).
        Flavor::Slack => serde_json::json!({
            "ok": false,
            "error": if status == StatusCode::TOO_MANY_REQUESTS { "ratelimited" } else { "internal_error" },
        }),
        Flavor::Clockify => serde_json::json!({
            "message": if status == StatusCode::TOO_MANY_REQUESTS {
                "Too many requests"
            } else {
                status.canonical_reason().unwrap_or("Error")
            },
            "code": status.as_u16(),
        }),
        Flavor::Jibble => serde_json::json!({"error": {
            "code": if status == StatusCode::TOO_MANY_REQUESTS {
                "TooManyRequests"
            } else {
                "InternalServerError"
            },
            "message": status.canonical_reason().unwrap_or("Error"),
        }}),
        Flavor::Google => {
            let (reason, domain, message) = match status.as_u16() {
                429 => ("rateLimitExceeded", "usageLimits", "Rate Limit Exceeded"),
                403 => ("rateLimitExceeded", "usageLimits", "Rate Limit Exceeded"),
                _ => ("backendError", "global", "Backend Error"),
            };
            serde_json::json!({"error": {
                "errors": [{"domain": domain, "reason": reason, "message": message}],
                "code": status.as_u16(),
                "message": message,
            }})
        }
        Flavor::Zammad => serde_json::json!({
            "error": status.canonical_reason().unwrap_or("Error"),
            "error_human": status.canonical_reason().unwrap_or("Error"),
        }),
        // Odoo's WSGI server answers transport-level failures with an HTML page.
        Flavor::Odoo => {
            let reason = status.canonical_reason().unwrap_or("Error");
            let html = format!(
                "<!doctype html>\n<html lang=en>\n<title>{code} {reason}</title>\n<h1>{reason}</h1>\n",
                code = status.as_u16()
            );
            return (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response();
        }
    };
    (status, axum::Json(body)).into_response()
}

/// The middleware: latency, faults, request log.
pub(crate) async fn middleware(
    State(infra): State<Infra>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let route = match req.extensions().get::<RouteKey>() {
        Some(key) => key.0.clone(),
        None => format!("{method} {template}"),
    };
    let latency = infra.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault = infra.faults.decide(&route);
    let log = |status: u16, fault: Option<Fault>| {
        infra.log.push(LoggedRequest {
            method: method.clone(),
            path: path.clone(),
            route: route.clone(),
            status,
            latency: started.elapsed(),
            fault,
        })
    };
    let response = match &fault {
        Some(Fault::InternalError) => {
            error_response(infra.flavor, StatusCode::INTERNAL_SERVER_ERROR)
        }
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut r = error_response(infra.flavor, StatusCode::TOO_MANY_REQUESTS);
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&retry_after_secs.to_string()).unwrap(),
            );
            r
        }
        Some(Fault::QuotaExceeded) => error_response(infra.flavor, StatusCode::FORBIDDEN),
        Some(Fault::TooManyRequestsWithoutRetryAfter) => {
            error_response(infra.flavor, StatusCode::TOO_MANY_REQUESTS)
        }
        Some(Fault::DropConnection) => {
            log(0, fault.clone());
            // Unwinding the connection task closes the socket without a response;
            // `resume_unwind` does not run the panic hook, so nothing is printed.
            std::panic::resume_unwind(Box::new("timebridge-sim: injected dropped connection"));
        }
        Some(Fault::Slow(d)) => {
            let d = *d;
            // Spawned so that the handler completes even if the client disconnects.
            let task = tokio::spawn(async move {
                tokio::time::sleep(d).await;
                next.run(req).await
            });
            task.await
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Some(Fault::LateResponse(d)) => {
            let d = *d;
            let task = tokio::spawn(next.run(req));
            let response = task
                .await
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
            tokio::time::sleep(d).await;
            response
        }
        Some(Fault::DropAfterHandling) => {
            let response = tokio::spawn(next.run(req))
                .await
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
            log(0, fault.clone());
            drop(response);
            std::panic::resume_unwind(Box::new(
                "timebridge-sim: injected dropped connection after handling",
            ));
        }
        Some(Fault::MalformedJson) => {
            let r = next.run(req).await;
            let (mut parts, _) = r.into_parts();
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Response::from_parts(
                parts,
                Body::from(Bytes::from_static(b"{\"id\": 1, \"begin\": \"20")),
            )
        }
        Some(Fault::RepeatPreviousPageId) => {
            req.extensions_mut().insert(RepeatPreviousPageId);
            next.run(req).await
        }
        None => next.run(req).await,
    };
    log(response.status().as_u16(), fault);
    response
}
