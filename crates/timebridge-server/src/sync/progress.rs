//! Live progress of the runs this process executes: the phase and, while writing, how
//! many decisions are applied. Read by `timebridge sync` for its progress bar and by
//! `GET /api/sync/status` (as `progress` of the current run).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// Where a run is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Progress {
    /// `recovering`, `reading_source`, `reading_target`, `planning`, `writing`.
    pub phase: String,
    /// Decisions applied so far (while `writing`).
    pub done: u64,
    /// Decisions in the plan (0 before planning ends).
    pub total: u64,
}

/// Progress of every run in flight in this process.
#[derive(Debug, Clone, Default)]
pub struct ProgressBoard {
    runs: Arc<Mutex<HashMap<i64, Progress>>>,
}

impl ProgressBoard {
    /// Sets the phase of a run (resets the counters).
    pub fn phase(&self, run: i64, phase: &str, total: u64) {
        self.lock().insert(
            run,
            Progress {
                phase: phase.to_owned(),
                done: 0,
                total,
            },
        );
    }

    /// Counts one applied decision.
    pub fn tick(&self, run: i64) {
        if let Some(p) = self.lock().get_mut(&run) {
            p.done += 1;
        }
    }

    /// The progress of a run, if it runs here.
    pub fn get(&self, run: i64) -> Option<Progress> {
        self.lock().get(&run).cloned()
    }

    /// Forgets a finished run.
    pub fn remove(&self, run: i64) {
        self.lock().remove(&run);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Progress>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }
}
