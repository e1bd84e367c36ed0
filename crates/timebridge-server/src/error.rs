//! The one error type of the HTTP API and its JSON shape
//! `{"error": {"code", "message", "details"}}`.
//!
//! Every handler returns [`ApiError`]; extractor rejections are converted into it (see
//! [`crate::extract`]), and a last-resort layer ([`json_error_fallback`]) rewrites any other
//! non-JSON error response under `/api` so that axum's plain-text defaults never leak.

use axum::body::Body;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// An error answered by the API. Each variant names the status it is answered with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 — the request is malformed (bad JSON, wrong types, bad query or path values).
    #[error("{message}")]
    BadRequest {
        /// Machine-readable code.
        code: &'static str,
        /// Human-readable message.
        message: String,
        /// Extra context, e.g. the offending field.
        details: Value,
    },
    /// 401 — no valid session, or bad credentials at login.
    #[error("{message}")]
    Unauthenticated {
        /// `unauthenticated` or `invalid_credentials`.
        code: &'static str,
        /// Human-readable message.
        message: String,
    },
    /// 403 — authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404 — unknown id or path.
    #[error("{0}")]
    NotFound(String),
    /// 409 — conflicts with the current state (duplicate, still in use, …).
    #[error("{message}")]
    Conflict {
        /// Machine-readable code.
        code: &'static str,
        /// Human-readable message.
        message: String,
        /// Extra context.
        details: Value,
    },
    /// 413 — the request body is larger than the limit.
    #[error("request body is too large")]
    PayloadTooLarge,
    /// 422 — well-formed but semantically invalid (unknown kind, bad setting, …).
    #[error("{message}")]
    Unprocessable {
        /// Machine-readable code.
        code: &'static str,
        /// Human-readable message.
        message: String,
        /// `{"field": "...", "reason": "..."}` for field errors.
        details: Value,
    },
    /// 429 — rate limited; answered with `Retry-After` in seconds.
    #[error("too many requests")]
    RateLimited {
        /// Seconds until the client may try again.
        retry_after_secs: u64,
    },
    /// 502 — a remote system (Zammad, Kimai) failed while serving a request that needs it;
    /// `details.error_class` says how (`unauthorized`, `unreachable`, `tls`, …).
    #[error("{message}")]
    BadGateway {
        /// Machine-readable code.
        code: &'static str,
        /// Human-readable message.
        message: String,
        /// Extra context.
        details: Value,
    },
    /// 503 — a dependency (the database) is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 500 — a real server fault. The full error chain is logged; the client sees a
    /// generic message only.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The JSON error body, as documented in OpenAPI.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

/// The inner object of [`ErrorResponse`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable snake_case code, e.g. `validation_failed`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
    /// Extra context; for field errors `{"field": "base_url", "reason": "…"}`.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    /// 400 with code `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: "bad_request",
            message: message.into(),
            details: json!({}),
        }
    }

    /// 400 naming the offending field.
    pub fn bad_field(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::BadRequest {
            code: "bad_request",
            message: format!("{field}: {reason}"),
            details: json!({ "field": field, "reason": reason }),
        }
    }

    /// 401 for a missing, unknown or expired session.
    pub fn unauthenticated() -> Self {
        Self::Unauthenticated {
            code: "unauthenticated",
            message: "Authentication required.".into(),
        }
    }

    /// 404 for an unknown entity.
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found."))
    }

    /// 409 with a code and message.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    /// 422 naming the offending field (`details: {"field", "reason"}`).
    pub fn invalid_field(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::Unprocessable {
            code: "validation_failed",
            message: format!("{field}: {reason}"),
            details: json!({ "field": field, "reason": reason }),
        }
    }

    /// The status code this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthenticated { code, .. }
            | Self::Conflict { code, .. }
            | Self::BadGateway { code, .. }
            | Self::Unprocessable { code, .. } => code,
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}

/// Builds an error response in our shape.
pub fn error_response(status: StatusCode, code: &str, message: &str, details: Value) -> Response {
    let body = json!({ "error": { "code": code, "message": message, "details": details } });
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        match self {
            Self::Internal(err) => {
                tracing::error!(
                    error = format!("{err:#}"),
                    "Request failed with an internal error."
                );
                error_response(
                    status,
                    code,
                    "An internal error occurred; it has been logged.",
                    json!({}),
                )
            }
            Self::RateLimited { retry_after_secs } => {
                let mut res = error_response(
                    status,
                    code,
                    &format!("Too many attempts; try again in {retry_after_secs} seconds."),
                    json!({ "retry_after": retry_after_secs }),
                );
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                res
            }
            Self::BadRequest {
                message, details, ..
            }
            | Self::Conflict {
                message, details, ..
            }
            | Self::Unprocessable {
                message, details, ..
            }
            | Self::BadGateway {
                message, details, ..
            } => error_response(status, code, &message, details),
            Self::Unauthenticated { message, .. } => {
                let mut res = error_response(status, code, &message, json!({}));
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                res
            }
            Self::Forbidden(message) | Self::NotFound(message) | Self::Unavailable(message) => {
                error_response(status, code, &message, json!({}))
            }
            Self::PayloadTooLarge => error_response(
                status,
                code,
                "The request body is larger than the limit of 1 MiB.",
                json!({}),
            ),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::PayloadTooLarge;
        }
        let code = match rejection {
            JsonRejection::MissingJsonContentType(_) => "unsupported_content_type",
            JsonRejection::JsonSyntaxError(_) => "malformed_json",
            JsonRejection::JsonDataError(_) => "invalid_body",
            _ => "bad_request",
        };
        Self::BadRequest {
            code,
            message: rejection.body_text(),
            details: json!({}),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest {
            code: "invalid_query",
            message: rejection.body_text(),
            details: json!({}),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest {
            code: "invalid_path",
            message: rejection.body_text(),
            details: json!({}),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::PayloadTooLarge
        } else {
            Self::bad_request(rejection.body_text())
        }
    }
}

/// Rewrites error responses that are not already JSON (axum's 405, a stray 413, …) into
/// our shape. Applied to the `/api` router only.
pub async fn json_error_fallback(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, _body) = response.into_parts();
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This method is not allowed on this path.",
        ),
        StatusCode::NOT_FOUND => ("not_found", "No such API path."),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "The request body is larger than the limit of 1 MiB.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_content_type",
            "Expected a request with `Content-Type: application/json`.",
        ),
        s if s.is_server_error() => ("internal_error", "An internal error occurred."),
        _ => ("bad_request", "The request could not be processed."),
    };
    let fresh = error_response(status, code, message, json!({}));
    let (fresh_parts, body) = fresh.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        fresh_parts.headers[header::CONTENT_TYPE].clone(),
    );
    Response::from_parts(parts, Body::new(body))
}
