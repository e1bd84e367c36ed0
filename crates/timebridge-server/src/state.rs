//! The shared application state handed to every handler.

use std::sync::Arc;

use timebridge_connectors::ConnectorContext;
use timebridge_store::Store;

use crate::auth::rate_limit::LoginLimiter;
use crate::clock::SharedClock;
use crate::config::{Config, Keys};

/// Everything a request handler may need. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The keys in use (the secret key signs session tokens).
    pub keys: Arc<Keys>,
    /// The only source of "now".
    pub clock: SharedClock,
    /// Failed-login bookkeeping.
    pub login_limiter: Arc<LoginLimiter>,
    /// What every connector instance shares: call metrics and the retry sleeper.
    pub connectors: ConnectorContext,
    /// Wakes the sync worker when a run was queued.
    pub wake: Arc<tokio::sync::Notify>,
    /// Wakes the notification delivery worker when notifications were enqueued.
    pub notify_wake: Arc<tokio::sync::Notify>,
    /// Progress of the runs executing in this process.
    pub progress: crate::sync::progress::ProgressBoard,
    /// Lease confirmations of the runs executing in this process (write fencing).
    pub fences: crate::sync::fence::Fences,
    /// Webhook calls by result, for `/metrics`.
    pub webhooks: Arc<crate::metrics::WebhookCounters>,
    /// The webhook fast path (cached secrets, recent delivery ids, the batch queue).
    pub webhook_queue: Arc<crate::webhook_queue::WebhookQueue>,
    /// When this process last ran the retention purge.
    pub retention_ran_at: Arc<std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>>,
    /// Runs finished and entries processed by this process, for `/metrics`.
    pub counters: Arc<crate::metrics::RunCounters>,
    /// Signalled whenever this process finishes a run (`?wait=true` waits on it).
    pub run_finished: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// Assembles the state from its parts.
    pub fn new(store: Store, config: Config, keys: Keys, clock: SharedClock) -> Self {
        let connectors = ConnectorContext {
            public_url: Some(config.public_url.clone()),
            ..ConnectorContext::default()
        };
        Self {
            store,
            config: Arc::new(config),
            keys: Arc::new(keys),
            clock,
            login_limiter: Arc::new(LoginLimiter::default()),
            connectors,
            wake: Arc::new(tokio::sync::Notify::new()),
            notify_wake: Arc::new(tokio::sync::Notify::new()),
            progress: Default::default(),
            fences: Default::default(),
            webhooks: Default::default(),
            webhook_queue: Default::default(),
            retention_ran_at: Default::default(),
            counters: Default::default(),
            run_finished: Default::default(),
        }
    }
}
