//! Notifications: the delivery worker that sends the outbox's rows through notifier
//! connectors ([`worker`]), the rendering of a row into the message every notifier kind
//! shows its own way ([`render`]), the daily summary's schedule ([`daily`]), and the
//! answers to chat commands ([`command`]). The worker is separate from the sync worker:
//! a slow or failing notifier never delays or fails a sync.

pub mod command;
pub mod daily;
pub mod render;
pub mod worker;

use std::sync::Arc;

use axum::extract::FromRef;
use timebridge_connectors::ConnectorContext;
use timebridge_store::Store;

use crate::clock::SharedClock;
use crate::state::AppState;
use crate::sync::Services;

/// What the delivery worker works with: narrow, buildable without a web state.
#[derive(Clone)]
pub struct NotifyEnv {
    pub store: Store,
    pub clock: SharedClock,
    pub connectors: ConnectorContext,
    /// `PUBLIC_URL`: links in messages point here.
    pub public_url: Arc<str>,
    /// Wakes the worker when rows were enqueued.
    pub wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for NotifyEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyEnv")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl FromRef<AppState> for NotifyEnv {
    fn from_ref(state: &AppState) -> Self {
        NotifyEnv {
            store: state.store.clone(),
            clock: state.clock.clone(),
            connectors: state.connectors.clone(),
            public_url: Arc::from(state.config.public_url.as_str()),
            wake: state.notify_wake.clone(),
        }
    }
}

impl Services for NotifyEnv {
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

/// Links into the UI.
pub mod links {
    /// A run's page.
    pub fn run(public_url: &str, run_id: i64) -> String {
        format!("{public_url}/sync/runs/{run_id}")
    }

    /// The open conflicts of a pipeline.
    pub fn conflicts(public_url: &str, pipeline_id: Option<i64>) -> String {
        match pipeline_id {
            Some(p) => format!("{public_url}/conflicts?pipeline_id={p}"),
            None => format!("{public_url}/conflicts"),
        }
    }

    /// The conflicts page filtered to drift (synced entries changed in the target).
    pub fn drift(public_url: &str, pipeline_id: Option<i64>) -> String {
        match pipeline_id {
            Some(p) => format!("{public_url}/conflicts?pipeline_id={p}&drift=1"),
            None => format!("{public_url}/conflicts?drift=1"),
        }
    }

    /// A pipeline's page.
    pub fn pipeline(public_url: &str, pipeline_id: i64) -> String {
        format!("{public_url}/pipelines/{pipeline_id}")
    }

    /// A connector's page.
    pub fn connector(public_url: &str, connector_id: i64) -> String {
        format!("{public_url}/connectors/{connector_id}")
    }
}
