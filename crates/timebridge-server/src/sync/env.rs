//! What the sync engine, the worker and conflict resolutions work with — the database,
//! the clock, the connector context and this process's run bookkeeping — and nothing of
//! the web server. The CLI, tests and the worker build one without a web state; the web
//! state hands its own parts out as one ([`axum::extract::FromRef`]).

use std::sync::Arc;

use axum::extract::FromRef;
use chrono::{DateTime, Utc};
use timebridge_connectors::{Connector, ConnectorContext};
use timebridge_store::Store;

use super::fence::Fences;
use super::progress::ProgressBoard;
use crate::clock::SharedClock;
use crate::state::AppState;

/// The narrow interface of the sync engine. Cloning is cheap (shared handles).
#[derive(Clone)]
pub struct SyncEnv {
    /// The database.
    pub store: Store,
    /// The only source of "now".
    pub clock: SharedClock,
    /// What every connector instance shares: call metrics and the retry sleeper.
    pub connectors: ConnectorContext,
    /// Progress of the runs executing in this process.
    pub progress: ProgressBoard,
    /// Lease confirmations of the runs executing in this process (write fencing).
    pub fences: Fences,
    /// Wakes the worker when a run was queued.
    pub wake: Arc<tokio::sync::Notify>,
    /// Wakes the notification delivery worker when a run's end enqueued notifications.
    pub notify_wake: Arc<tokio::sync::Notify>,
    /// When this process last ran the retention purge.
    pub retention_ran_at: Arc<std::sync::Mutex<Option<DateTime<Utc>>>>,
    /// Runs finished and entries processed by this process, for `/metrics`.
    pub counters: Arc<crate::metrics::RunCounters>,
    /// Set when the process is asked to stop (SIGTERM, Ctrl-C): a run finishes the writes
    /// in flight, sends no new ones and records the rest as not attempted (the next run
    /// does them), so the run ends recorded instead of being cut off.
    pub stopping: Arc<std::sync::atomic::AtomicBool>,
    /// Signalled whenever this process finishes a run (`?wait=true` waits on it).
    pub run_finished: Arc<tokio::sync::Notify>,
    /// Builds the connector instances of runs in place of the registry (tests drive the
    /// engine with in-process connectors); `None` — always outside tests — builds them
    /// from the stored connectors through the registry.
    pub instances: Option<Arc<dyn ConnectorFactory>>,
}

/// Supplies live connector instances by stored connector id (see [`SyncEnv::instances`]).
pub trait ConnectorFactory: Send + Sync {
    /// The instance for connector `connector_id`; `None` falls back to the registry.
    fn instance(&self, connector_id: i64) -> Option<Arc<dyn Connector>>;
}

impl std::fmt::Debug for SyncEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEnv").finish_non_exhaustive()
    }
}

impl SyncEnv {
    /// A fresh environment on `store` with `clock` (the CLI's `sync`, tests).
    pub fn new(store: Store, clock: SharedClock) -> Self {
        SyncEnv {
            store,
            clock,
            connectors: ConnectorContext::default(),
            progress: ProgressBoard::default(),
            fences: Fences::default(),
            wake: Arc::new(tokio::sync::Notify::new()),
            notify_wake: Arc::new(tokio::sync::Notify::new()),
            retention_ran_at: Arc::default(),
            counters: Arc::default(),
            stopping: Arc::default(),
            run_finished: Arc::default(),
            instances: None,
        }
    }

    /// The same environment, building connector instances with `factory` first.
    pub fn with_instances(mut self, factory: Arc<dyn ConnectorFactory>) -> Self {
        self.instances = Some(factory);
        self
    }
}

impl FromRef<AppState> for SyncEnv {
    fn from_ref(state: &AppState) -> Self {
        SyncEnv {
            store: state.store.clone(),
            clock: state.clock.clone(),
            connectors: state.connectors.clone(),
            progress: state.progress.clone(),
            fences: state.fences.clone(),
            wake: state.wake.clone(),
            notify_wake: state.notify_wake.clone(),
            retention_ran_at: state.retention_ran_at.clone(),
            counters: state.counters.clone(),
            stopping: Arc::default(),
            run_finished: state.run_finished.clone(),
            instances: None,
        }
    }
}

/// The parts audit recording and connector building need, shared by the web state and
/// the sync environment so that both record and build the same way.
pub trait Services {
    fn store(&self) -> &Store;
    fn clock(&self) -> &SharedClock;
    fn connector_context(&self) -> &ConnectorContext;
}

impl Services for SyncEnv {
    fn store(&self) -> &Store {
        &self.store
    }
    fn clock(&self) -> &SharedClock {
        &self.clock
    }
    fn connector_context(&self) -> &ConnectorContext {
        &self.connectors
    }
}

impl Services for AppState {
    fn store(&self) -> &Store {
        &self.store
    }
    fn clock(&self) -> &SharedClock {
        &self.clock
    }
    fn connector_context(&self) -> &ConnectorContext {
        &self.connectors
    }
}
