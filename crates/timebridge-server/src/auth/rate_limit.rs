//! Login rate limit: at most [`MAX_FAILURES`] failed logins per client IP within
//! [`WINDOW`]; further attempts are refused with `Retry-After` until the oldest failure
//! leaves the window. Kept in memory, per process.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Failures allowed within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// The sliding window.
pub const WINDOW: Duration = Duration::minutes(15);

/// Failed logins per client.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<Option<IpAddr>, VecDeque<DateTime<Utc>>>>,
}

impl LoginLimiter {
    /// `Err(seconds)` when `ip` must wait that long before trying again.
    pub fn check(&self, ip: Option<IpAddr>, now: DateTime<Utc>) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let Some(list) = map.get_mut(&ip) else {
            return Ok(());
        };
        while list.front().is_some_and(|t| *t + WINDOW <= now) {
            list.pop_front();
        }
        if list.is_empty() {
            map.remove(&ip);
            return Ok(());
        }
        if list.len() >= MAX_FAILURES {
            let oldest = list[list.len() - MAX_FAILURES];
            let wait = (oldest + WINDOW - now).num_seconds().max(1);
            return Err(wait as u64);
        }
        Ok(())
    }

    /// Records a failed login of `ip`.
    pub fn record_failure(&self, ip: Option<IpAddr>, now: DateTime<Utc>) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Bound memory: forget clients whose failures all left the window.
        if map.len() > 10_000 {
            map.retain(|_, list| list.back().is_some_and(|t| *t + WINDOW > now));
        }
        map.entry(ip).or_default().push_back(now);
    }

    /// Forgets the failures of `ip` after a successful login.
    pub fn clear(&self, ip: Option<IpAddr>) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_waits_until_the_first_failure_leaves_the_window() {
        let limiter = LoginLimiter::default();
        let ip = Some("192.0.2.1".parse().unwrap());
        let t0 = DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for i in 0..5 {
            assert!(limiter.check(ip, t0 + Duration::minutes(i)).is_ok());
            limiter.record_failure(ip, t0 + Duration::minutes(i));
        }
        let wait = limiter.check(ip, t0 + Duration::minutes(5)).unwrap_err();
        assert_eq!(wait, 10 * 60);
        assert!(
            limiter
                .check(Some("192.0.2.2".parse().unwrap()), t0)
                .is_ok()
        );
        assert!(limiter.check(ip, t0 + Duration::minutes(15)).is_ok());
    }
}
