//! Health: `GET /api/health` (the process and its database), `GET /api/health/live`
//! (the process answers) and `GET /api/health/ready` (it can serve: the database answers
//! and has every migration this version expects).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::extract::Json;
use crate::state::AppState;

/// Health of the process and its database.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `error`.
    pub status: &'static str,
    /// `ok` or `unreachable`.
    pub database: &'static str,
    /// The server version.
    pub version: &'static str,
}

/// Answers 200 when the database answers, else 503.
#[utoipa::path(
    get,
    path = "/api/health",
    tag = "operations",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "The database is unreachable", body = Health),
    )
)]
pub async fn health(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                database: "ok",
                version: crate::VERSION,
            }),
        )
            .into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "Health check found the database unreachable.");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "error",
                    database: "unreachable",
                    version: crate::VERSION,
                }),
            )
                .into_response()
        }
    }
}

/// The process answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok`.
    pub status: &'static str,
    /// The server version.
    pub version: &'static str,
}

/// Liveness: 200 while the process serves requests, whatever the database does (an
/// orchestrator restarts the process only when this fails).
#[utoipa::path(
    get,
    path = "/api/health/live",
    operation_id = "health_live",
    tag = "operations",
    responses((status = 200, description = "The process answers", body = Liveness))
)]
pub async fn live() -> Json<Liveness> {
    Json(Liveness {
        status: "ok",
        version: crate::VERSION,
    })
}

/// What keeps the process from serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotReady {
    /// The database does not answer.
    Database,
    /// The database lacks migrations this version needs (run `timebridge migrate`).
    Migrations,
}

/// Readiness of the process to serve.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` or `error`.
    pub status: &'static str,
    /// Why it is not ready, when it is not.
    pub reason: Option<NotReady>,
    /// Migrations this version expects that the database lacks (null when the database
    /// does not answer).
    pub pending_migrations: Option<usize>,
    /// The server version.
    pub version: &'static str,
}

/// Readiness: 200 when the database answers and has every migration this version
/// expects, else 503 with the reason (a load balancer sends no traffic until then).
#[utoipa::path(
    get,
    path = "/api/health/ready",
    operation_id = "health_ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "The database is unreachable or not migrated", body = Readiness),
    )
)]
pub async fn ready(State(state): State<AppState>) -> Response {
    let (reason, pending) = match state.store.pending_migrations().await {
        Ok(0) => (None, Some(0)),
        Ok(n) => (Some(NotReady::Migrations), Some(n)),
        Err(err) => {
            tracing::warn!(error = %err, "Readiness check found the database unreachable.");
            (Some(NotReady::Database), None)
        }
    };
    let status = if reason.is_none() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if reason.is_none() { "ok" } else { "error" },
        reason,
        pending_migrations: pending,
        version: crate::VERSION,
    };
    (status, Json(body)).into_response()
}
