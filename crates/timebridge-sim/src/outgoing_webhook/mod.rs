//! A receiver of timebridge's signed webhook notifier (kind `webhook`), as a user's own
//! endpoint would be: it checks `X-Timebridge-Signature` (`sha256=<hex HMAC-SHA256 of the
//! body>`) with the shared secret, answers 401 to a bad one, and records each accepted
//! delivery once by its `X-Timebridge-Delivery` id (a repeat is acknowledged, not recorded
//! again), so that tests can assert on what arrived.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use tokio::task::JoinHandle;

use crate::SimError;

/// One accepted delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `X-Timebridge-Delivery`.
    pub id: String,
    /// `X-Timebridge-Event`.
    pub event: String,
    /// `X-Timebridge-Signature` as sent.
    pub signature: String,
    /// The raw body.
    pub body: Bytes,
}

#[derive(Debug, Default)]
struct Received {
    deliveries: Vec<Delivery>,
    repeats: u64,
    refused: u64,
}

struct Shared {
    secret: String,
    received: Mutex<Received>,
}

/// The receiver, listening on loopback at [`WebhookReceiver::url`].
pub struct WebhookReceiver {
    /// `http://127.0.0.1:<port>/hooks/timebridge`: the notifier's `base_url`.
    pub url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookReceiver")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl WebhookReceiver {
    /// Starts a receiver that shares `secret` with the notifier, on `port` (0: any).
    pub async fn start(port: u16, secret: &str) -> Result<Self, SimError> {
        let shared = Arc::new(Shared {
            secret: secret.to_owned(),
            received: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/hooks/timebridge", post(receive))
            .with_state(shared.clone());
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(WebhookReceiver {
            url: format!("http://{addr}/hooks/timebridge"),
            shared,
            task,
        })
    }

    /// The deliveries accepted, each once, in arrival order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    /// Deliveries whose id had arrived before (acknowledged, not recorded again).
    pub fn repeats(&self) -> u64 {
        self.lock().repeats
    }

    /// Calls refused for a missing or wrong signature.
    pub fn refused(&self) -> u64 {
        self.lock().refused
    }

    /// Stops listening.
    pub async fn shutdown(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Received> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let signature = header("x-timebridge-signature");
    let mut received = shared
        .received
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if !signed(&shared.secret, &body, &signature) {
        received.refused += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let id = header("x-timebridge-delivery");
    if received.deliveries.iter().any(|d| d.id == id) {
        received.repeats += 1;
        return StatusCode::OK;
    }
    received.deliveries.push(Delivery {
        id,
        event: header("x-timebridge-event"),
        signature,
        body,
    });
    StatusCode::OK
}

fn signed(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}
