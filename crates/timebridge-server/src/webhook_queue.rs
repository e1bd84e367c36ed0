//! The fast path of webhooks (every kind). A call is checked (signature, payload, delivery id) with
//! nothing but memory — connector secrets are cached for a few seconds, recent delivery
//! ids are remembered — acknowledged, and handed to a flusher task that records the
//! calls in batches, one transaction each: delivery ids (which also catches a repeat seen
//! by another process), audit events, and the records (tickets) merged into each pipeline's
//! queued webhook run. A crash can lose at most the calls of the batch being written; webhooks
//! are hints, and the scheduled scan reads everything anyway.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use timebridge_store::{Secret, WebhookCall, WebhookTarget};
use tokio::sync::mpsc;

use crate::sync::SyncEnv;
use crate::sync::worker::default_window;

/// How long a connector's kind and webhook secret are trusted from the cache.
const SECRET_TTL: Duration = Duration::from_secs(10);
/// How many recent delivery ids are remembered in memory.
const RECENT_IDS: usize = 100_000;
/// Calls recorded in one transaction at most.
const BATCH: usize = 1000;

/// A connector as the webhook needs it.
#[derive(Debug, Clone)]
pub struct WebhookConnector {
    pub id: i64,
    pub kind: String,
    pub secret: Option<Secret>,
}

#[derive(Debug, Default)]
struct Recent {
    set: HashSet<String>,
    order: VecDeque<String>,
}

/// Shared state of the fast path; one per process.
#[derive(Debug)]
pub struct WebhookQueue {
    tx: mpsc::UnboundedSender<WebhookCall>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<WebhookCall>>>,
    recent: Mutex<Recent>,
    connectors: Mutex<HashMap<i64, (WebhookConnector, Instant)>>,
}

impl Default for WebhookQueue {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        WebhookQueue {
            tx,
            rx: Mutex::new(Some(rx)),
            recent: Mutex::default(),
            connectors: Mutex::default(),
        }
    }
}

impl WebhookQueue {
    /// The cached connector, if fresh.
    pub fn cached(&self, id: i64) -> Option<WebhookConnector> {
        let map = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&id)
            .filter(|(_, at)| at.elapsed() < SECRET_TTL)
            .map(|(c, _)| c.clone())
    }

    /// Remembers a connector read from the database.
    pub fn remember(&self, c: WebhookConnector) {
        self.connectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(c.id, (c, Instant::now()));
    }

    /// Forgets a connector (after it changed or was deleted in this process).
    pub fn forget(&self, id: i64) {
        self.connectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Whether `delivery` is new here; remembers it.
    pub fn first_time(&self, delivery: &str) -> bool {
        let mut r = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if !r.set.insert(delivery.to_owned()) {
            return false;
        }
        r.order.push_back(delivery.to_owned());
        if r.order.len() > RECENT_IDS
            && let Some(old) = r.order.pop_front()
        {
            r.set.remove(&old);
        }
        true
    }

    /// Hands an acknowledged call to the flusher.
    pub fn push(&self, call: WebhookCall) {
        // The receiver lives as long as the server; a closed channel only happens during
        // shutdown, when losing a hint is harmless.
        let _ = self.tx.send(call);
    }
}

/// Records the calls queued on `queue` through the engine's environment (its store,
/// clock and worker wake-up; not the web state); when `stop` turns true, records what is
/// left and returns.
pub async fn run_flusher(
    queue: Arc<WebhookQueue>,
    state: SyncEnv,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Some(mut rx) = queue.rx.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return;
    };
    loop {
        let first = tokio::select! {
            msg = rx.recv() => match msg {
                Some(m) => m,
                None => return,
            },
            _ = stop.changed() => {
                let mut rest = Vec::new();
                while let Ok(c) = rx.try_recv() {
                    rest.push(c);
                }
                if !rest.is_empty() {
                    flush(&state, rest).await;
                }
                return;
            }
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        flush(&state, batch).await;
    }
}

async fn flush(state: &SyncEnv, batch: Vec<WebhookCall>) {
    for attempt in 1..=5u32 {
        match write(state, &batch).await {
            Ok((kept, runs)) => {
                tracing::debug!(calls = batch.len(), kept, runs = ?runs, "Webhook calls recorded.");
                state.wake.notify_one();
                return;
            }
            Err(e) => {
                tracing::warn!(calls = batch.len(), attempt, error = %e, "Could not record webhook calls; retrying.");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
    }
    tracing::error!(
        calls = batch.len(),
        "Webhook calls dropped after repeated database errors; the scheduled sync will read their records."
    );
}

async fn write(
    state: &SyncEnv,
    batch: &[WebhookCall],
) -> Result<(usize, Vec<i64>), timebridge_store::StoreError> {
    let now = state.clock.now();
    let pipelines = state.store.all_pipelines().await?;
    let connectors: HashSet<i64> = batch.iter().map(|c| c.connector_id).collect();
    let targets: Vec<WebhookTarget> = pipelines
        .into_iter()
        .filter(|p| p.enabled && connectors.contains(&p.source_connector_id))
        .map(|p| {
            let (from, to) = default_window(now.date_naive(), p.window_days);
            WebhookTarget {
                pipeline_id: p.id,
                source_connector_id: p.source_connector_id,
                window_from: from,
                window_to: to,
            }
        })
        .collect();
    state
        .store
        .record_webhook_batch(
            batch,
            &targets,
            now,
            now + crate::routes::webhooks::DEBOUNCE,
        )
        .await
}
