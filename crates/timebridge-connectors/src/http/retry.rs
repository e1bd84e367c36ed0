//! When to retry a call and how long to wait: exponential backoff with full jitter, the
//! remote's `Retry-After` honoured, and only what is safe retried.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// How a connector retries failed calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// Upper bound of one backoff.
    pub max_delay: Duration,
    /// The longest `Retry-After` we wait for inside one call; a longer one ends the call
    /// with a rate-limit error, recorded on the run and retried by the next run.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The backoff before retry number `retry` (1-based): a uniformly random time in
    /// `[0, min(max_delay, base_delay * 2^(retry-1))]` ("full jitter", so that many
    /// clients failing together do not retry together).
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let cap = exp.min(self.max_delay);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }
}

/// What a failed attempt allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after the backoff.
    Retry,
    /// Try again after exactly this long (the remote said so).
    RetryAfter(Duration),
    /// Give up and report the failure.
    Stop,
}

/// The failure of one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No connection was made: nothing reached the remote.
    Connect,
    /// The call timed out or the connection broke after the request went out.
    AfterSend,
    /// The remote answered with this status (and maybe `Retry-After`).
    Status(u16, Option<Duration>),
}

/// Decides whether a failed attempt may be retried. `idempotent` says whether repeating
/// the request is harmless (reads, PATCH/DELETE with the same body, writes the caller made
/// idempotent).
pub fn verdict(failure: Failure, idempotent: bool) -> Verdict {
    match failure {
        // Nothing was sent, so even a create can go again.
        Failure::Connect => Verdict::Retry,
        // The remote may have acted on it: only a repeatable request goes again.
        Failure::AfterSend => {
            if idempotent {
                Verdict::Retry
            } else {
                Verdict::Stop
            }
        }
        // 429 means the request was refused before it was handled.
        Failure::Status(429, after) => after.map_or(Verdict::Retry, Verdict::RetryAfter),
        Failure::Status(503, Some(after)) if idempotent => Verdict::RetryAfter(after),
        Failure::Status(500 | 502 | 503 | 504, _) if idempotent => Verdict::Retry,
        Failure::Status(_, _) => Verdict::Stop,
    }
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_is_retried_only_when_it_never_reached_the_remote() {
        assert_eq!(verdict(Failure::Connect, false), Verdict::Retry);
        assert_eq!(verdict(Failure::AfterSend, false), Verdict::Stop);
        assert_eq!(verdict(Failure::Status(500, None), false), Verdict::Stop);
        assert_eq!(verdict(Failure::Status(502, None), false), Verdict::Stop);
        assert_eq!(
            verdict(Failure::Status(429, Some(Duration::from_secs(3))), false),
            Verdict::RetryAfter(Duration::from_secs(3))
        );
    }

    #[test]
    fn reads_are_retried_on_server_faults_and_broken_connections() {
        assert_eq!(verdict(Failure::AfterSend, true), Verdict::Retry);
        for status in [500, 502, 503, 504] {
            assert_eq!(verdict(Failure::Status(status, None), true), Verdict::Retry);
        }
        for status in [400, 401, 403, 404, 409, 422] {
            assert_eq!(verdict(Failure::Status(status, None), true), Verdict::Stop);
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = "2026-03-01T10:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 01 Mar 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 01 Mar 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_but_never_beyond_the_cap() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            ..RetryPolicy::default()
        };
        for _ in 0..200 {
            assert!(p.backoff(1) <= Duration::from_millis(100));
            assert!(p.backoff(3) <= Duration::from_millis(400));
            assert!(p.backoff(30) <= Duration::from_millis(500));
        }
    }
}
