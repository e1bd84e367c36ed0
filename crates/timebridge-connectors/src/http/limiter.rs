//! A per-connector request pacer: at most `rate` requests per second, evenly spaced, and a
//! shared pause when the remote answers 429 so that concurrent calls back off together.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Spaces request starts `1 / rate` apart (a GCRA-style scheduler without bursts beyond
/// one request), and holds every caller while a `Retry-After` pause is in force.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Option<Duration>,
    next_free: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter for `per_second` requests per second; `None` means no limit (pauses
    /// still apply).
    pub fn new(per_second: Option<f64>) -> Self {
        let interval = per_second
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r));
        RateLimiter {
            interval,
            next_free: Mutex::new(None),
        }
    }

    /// The moment the caller may start its request, reserving that slot.
    pub fn reserve(&self) -> Instant {
        let now = Instant::now();
        let mut next = self.next_free.lock().unwrap_or_else(|e| e.into_inner());
        let slot = match *next {
            Some(t) if t > now => t,
            _ => now,
        };
        match self.interval {
            Some(i) => *next = Some(slot + i),
            None if slot > now => {}
            None => *next = None,
        }
        slot
    }

    /// Waits for the caller's slot.
    pub async fn acquire(&self) {
        let slot = self.reserve();
        if slot > Instant::now() {
            tokio::time::sleep_until(slot).await;
        }
    }

    /// Holds every caller of this limiter back for `pause` from now (after a 429).
    pub fn pause_for(&self, pause: Duration) {
        let until = Instant::now() + pause;
        let mut next = self.next_free.lock().unwrap_or_else(|e| e.into_inner());
        if next.is_none_or(|t| t < until) {
            *next = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_rate() {
        let l = RateLimiter::new(Some(10.0));
        let start = Instant::now();
        let slots: Vec<Instant> = (0..5).map(|_| l.reserve()).collect();
        let offsets: Vec<u128> = slots.iter().map(|s| (*s - start).as_millis()).collect();
        assert_eq!(offsets, vec![0, 100, 200, 300, 400]);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_rate_only_a_pause_holds_callers() {
        let l = RateLimiter::new(None);
        let start = Instant::now();
        assert_eq!(l.reserve(), start);
        l.pause_for(Duration::from_secs(2));
        assert_eq!(l.reserve() - start, Duration::from_secs(2));
        assert_eq!(l.reserve() - start, Duration::from_secs(2));
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(l.reserve(), Instant::now());
    }
}
