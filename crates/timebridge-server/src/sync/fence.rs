//! Write fencing: a worker writes to the target only while its lease on the pipeline is
//! confirmed. The lease is renewed four times per period; if the last confirmation is
//! older than three quarters of the lease (the database was unreachable, the process
//! stalled), another worker may be about to take the pipeline over, so writes stop until
//! the lease is confirmed again. This closes the gap between a lease expiring and its old
//! owner noticing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Last lease confirmation of each run executing in this process.
#[derive(Debug, Clone, Default)]
pub struct Fences {
    confirmed: Arc<Mutex<HashMap<i64, Instant>>>,
}

impl Fences {
    /// The lease of `run` was just taken or renewed.
    pub fn confirm(&self, run: i64) {
        self.lock().insert(run, Instant::now());
    }

    /// Whether `run` may write now, given the lease length. Runs this process does not
    /// execute under a lease (conflict resolutions) always may.
    pub fn may_write(&self, run: i64, lease: Duration) -> bool {
        match self.lock().get(&run) {
            Some(at) => at.elapsed() < lease.mul_f64(0.75),
            None => true,
        }
    }

    /// The run ended.
    pub fn remove(&self, run: i64) {
        self.lock().remove(&run);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Instant>> {
        self.confirmed.lock().unwrap_or_else(|e| e.into_inner())
    }
}
