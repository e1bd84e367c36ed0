//! `GET /api/health`: liveness plus database reachability.

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
