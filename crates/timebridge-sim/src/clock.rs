//! The simulators' injectable clock: all timestamps the simulators produce come from here,
//! never from the wall clock directly, so tests are reproducible.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

/// A settable, cloneable clock. Fixed by default; optionally running with real time.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Mutex<ClockState>>,
}

#[derive(Debug)]
struct ClockState {
    base: DateTime<Utc>,
    running_since: Option<Instant>,
}

impl Clock {
    /// A clock that stands at `now` until moved.
    pub fn fixed(now: DateTime<Utc>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ClockState {
                base: now,
                running_since: None,
            })),
        }
    }

    /// A clock that starts at `now` and runs forward with real (monotonic) time.
    pub fn running(now: DateTime<Utc>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ClockState {
                base: now,
                running_since: Some(Instant::now()),
            })),
        }
    }

    /// The current simulated instant.
    pub fn now(&self) -> DateTime<Utc> {
        let s = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match s.running_since {
            None => s.base,
            Some(since) => {
                s.base + Duration::from_std(since.elapsed()).unwrap_or_else(|_| Duration::zero())
            }
        }
    }

    /// Moves the clock to `now` (keeps running if it was running).
    pub fn set(&self, now: DateTime<Utc>) {
        let mut s = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        s.base = now;
        if s.running_since.is_some() {
            s.running_since = Some(Instant::now());
        }
    }

    /// Moves the clock forward (or back, for a negative value) by `by`.
    pub fn advance(&self, by: Duration) {
        let now = self.now();
        self.set(now + by);
    }
}
