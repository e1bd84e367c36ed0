//! The timebridge HTTP server: configuration, telemetry, the axum application (API
//! routes, authentication, OpenAPI, embedded UI) and its startup.
//!
//! [`prepare`] turns a [`Config`] into an [`AppState`] (keys, database, migrations, admin
//! account); [`launch_with_listener`] serves it on a listener until a shutdown future
//! completes. `main` and the tests share both, so tests exercise the real startup path.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod extract;
pub mod faults;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod remote;
pub mod routes;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod ui;
pub mod webhook_queue;

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::map_response;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use config::{Config, ConfigError, Keys};
pub use error::ApiError;
pub use state::AppState;
use timebridge_store::{Cipher, Store, StoreError};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The version reported by `/api/health` and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Maps a store error to its API error: missing rows → 404, collisions and rows still in
/// use → 409, invalid references → 422, everything else → 500 (logged in full).
pub fn store_error(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound => ApiError::not_found("The requested item was"),
        StoreError::Conflict(message) => ApiError::conflict("conflict", message),
        StoreError::InUse(message) => ApiError::conflict("in_use", message),
        StoreError::Invalid(message) => ApiError::Unprocessable {
            code: "validation_failed",
            message,
            details: serde_json::json!({}),
        },
        other => ApiError::Internal(anyhow::Error::new(other)),
    }
}

/// Connects to the database with the configured encryption key and applies migrations.
/// A key that does not match the stored data stops here with a clear error.
pub async fn open_store(config: &Config, keys: &Keys) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database_url, Cipher::new(keys.encryption.bytes()))
        .await
        .context("cannot open the database (DATABASE_URL)")?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    store.verify_encryption_key().await.map_err(|e| match e {
        StoreError::WrongEncryptionKey => anyhow::anyhow!("{e}"),
        other => anyhow::Error::new(other).context("cannot check the encryption key"),
    })?;
    Ok(store)
}

/// Makes sure the admin account can log in: with `ADMIN_PASSWORD` set, the admin is
/// created or its password replaced (Argon2id); without it, an admin must already exist.
pub async fn ensure_admin(store: &Store, config: &Config) -> anyhow::Result<()> {
    let username = &config.admin_username;
    match config.admin_password() {
        Some(password) => {
            let password = password.to_string();
            let hash =
                tokio::task::spawn_blocking(move || auth::password::hash_password(&password))
                    .await
                    .context("password hashing task failed")??;
            store
                .ensure_admin(username, &hash)
                .await
                .context("cannot store the admin account")?;
            tracing::info!(username = %username, "Admin password set from ADMIN_PASSWORD.");
        }
        None => {
            let exists = store
                .get_admin(username)
                .await
                .context("cannot read the admin account")?
                .is_some();
            if !exists {
                anyhow::bail!(
                    "ADMIN_PASSWORD: expected a password, because no admin `{username}` exists \
                     in the database yet (set ADMIN_PASSWORD for the first start)"
                );
            }
        }
    }
    Ok(())
}

/// Everything `serve` does before listening: keys, database, migrations, admin account.
pub async fn prepare(config: Config, clock: SharedClock) -> anyhow::Result<AppState> {
    let keys = config.resolve_keys()?;
    // Computed once up front so that the first login with an unknown username costs no
    // more than any other.
    tokio::task::spawn_blocking(|| {
        auth::password::dummy_hash();
    })
    .await
    .context("password hashing task failed")?;
    let store = open_store(&config, &keys).await?;
    ensure_admin(&store, &config).await?;
    Ok(AppState::new(store, config, keys, clock))
}

/// The complete application: API routes, OpenAPI and Swagger UI, the embedded web UI,
/// and the cross-cutting layers (request ids, tracing, body limit, CORS, headers).
pub fn app(state: AppState) -> Router {
    let routes = routes::api_routes();
    let doc = openapi::openapi(&routes);
    let api = routes::router(&routes, &state)
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", doc))
        .layer(map_response(error::json_error_fallback))
        // API answers are per-session data: never cached by browsers or proxies.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    let request_id = HeaderName::from_static("x-request-id");
    let mut router = Router::new()
        .merge(api)
        .fallback(ui::fallback)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ));

    let origins: Vec<HeaderValue> = state
        .config
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if !origins.is_empty() {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_credentials(true)
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    request_id.clone(),
                ])
                .expose_headers([request_id.clone(), header::RETRY_AFTER]),
        );
    }

    router
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new(
                    telemetry::sensitive_request_headers(),
                ))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(telemetry::make_request_span)
                        .on_request(telemetry::on_request)
                        .on_response(telemetry::on_response)
                        .on_failure(telemetry::on_failure),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(SetSensitiveResponseHeadersLayer::new([header::SET_COOKIE])),
        )
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes, then drains
/// in-flight requests. Used by `timebridge serve` and by the tests.
pub async fn launch_with_listener<F>(
    listener: TcpListener,
    state: AppState,
    shutdown: F,
) -> anyhow::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let addr = listener
        .local_addr()
        .context("listener has no local address")?;
    tracing::info!(%addr, ui_built = ui::is_built(), "Listening.");
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    let worker_stopped_for_flusher = worker_stopped.clone();
    let notifier = tokio::spawn(notify::worker::run_delivery_worker(
        notify::NotifyEnv::from_ref(&state),
        worker_stopped.clone(),
    ));
    let worker_env = sync::SyncEnv::from_ref(&state);
    let stopping = worker_env.stopping.clone();
    let grace = state.config.shutdown_grace;
    let worker = tokio::spawn(sync::worker::run_worker(worker_env, worker_stopped));
    let flusher = tokio::spawn(webhook_queue::run_flusher(
        state.webhook_queue.clone(),
        sync::SyncEnv::from_ref(&state),
        worker_stopped_for_flusher,
    ));
    let shutdown = async move {
        shutdown.await;
        tracing::info!(
            grace_seconds = grace.as_secs(),
            "Stopping: finishing the writes in flight."
        );
        stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = stop_worker.send(true);
    };
    let served = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("the HTTP server failed");
    // A run in progress finishes its writes in flight, sends no new ones and is recorded,
    // within SHUTDOWN_GRACE_SECONDS (shorter than the orchestrator's grace); if it does
    // not, its lease expires and another worker (or the next start) picks it up, its write
    // intents making that safe.
    let deadline = tokio::time::Instant::now() + grace;
    let _ = tokio::time::timeout_at(deadline, flusher).await;
    // A delivery cut off here stays `sending`; the next start settles it.
    let _ = tokio::time::timeout_at(deadline, notifier).await;
    if tokio::time::timeout_at(deadline, worker).await.is_err() {
        tracing::warn!("The sync worker did not stop in time; its run will be resumed later.");
    }
    served?;
    tracing::info!("Server stopped.");
    Ok(())
}
