//! `POST /api/auth/login`, `POST /api/auth/logout`, `GET /api/auth/me`.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use timebridge_store::AuditAction;
use utoipa::ToSchema;

use crate::audit::{Actor, record};
use crate::auth::session::{COOKIE_NAME, SESSION_TTL, generate_token, token_digest};
use crate::auth::{AuthSession, password};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ClientIp, Json};
use crate::state::AppState;
use crate::store_error;

/// Credentials.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The admin's username.
    pub username: String,
    /// The admin's password.
    #[schema(format = Password)]
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <access_token>` (or rely on the cookie).
    pub access_token: String,
    /// Always `bearer`.
    #[schema(example = "bearer")]
    pub token_type: &'static str,
    /// Seconds until the session expires.
    pub expires_in: i64,
}

/// The logged-in admin.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The admin's username.
    pub username: String,
}

const MAX_AUDITED_USERNAME: usize = 64;

/// Whether the request reached our proxy over HTTPS, so the cookie gets `Secure`.
fn came_over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("https")
        })
        || headers
            .get(header::FORWARDED)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"))
}

fn session_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are URL-safe base64")
}

/// Logs the admin in; repeated failures from one client are rate limited.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; also sets the `timebridge_session` cookie (HttpOnly, SameSite=Strict)", body = LoginResponse,
            headers(("set-cookie" = String, description = "The session cookie"))),
        (status = 400, description = "Malformed request", body = ErrorResponse),
        (status = 401, description = "Wrong username or password", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 429, description = "Too many failed logins; see Retry-After", body = ErrorResponse,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let audited_username: String = body.username.chars().take(MAX_AUDITED_USERNAME).collect();
    let ip_text = ip.map(|ip| ip.to_string());

    if let Err(retry_after_secs) = state.login_limiter.check(ip, now) {
        record(
            &state,
            Actor::Admin,
            AuditAction::LoginFailed,
            "admin_user",
            None,
            json!({ "username": audited_username, "reason": "rate_limited" }),
            ip_text.clone(),
        )
        .await;
        tracing::warn!(ip = ?ip, retry_after_secs, "Login refused by the rate limit.");
        return Err(ApiError::RateLimited { retry_after_secs });
    }

    let admin = state
        .store
        .get_admin(&body.username)
        .await
        .map_err(store_error)?;
    let hash = admin.as_ref().map(|a| a.password_hash.clone());
    let ok = password::verify_password_blocking(body.password, hash).await;
    if !ok || admin.is_none() {
        state.login_limiter.record_failure(ip, now);
        record(
            &state,
            Actor::Admin,
            AuditAction::LoginFailed,
            "admin_user",
            None,
            json!({ "username": audited_username, "reason": "invalid_credentials" }),
            ip_text,
        )
        .await;
        tracing::info!(ip = ?ip, "Login failed.");
        return Err(ApiError::Unauthenticated {
            code: "invalid_credentials",
            message: "Wrong username or password.".into(),
        });
    }
    let username = body.username;

    let token = generate_token();
    let digest = token_digest(&state.keys.secret, &token);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(255).collect::<String>());
    state
        .store
        .create_session(
            &digest,
            &username,
            now + SESSION_TTL,
            ip_text.as_deref(),
            user_agent.as_deref(),
        )
        .await
        .map_err(store_error)?;
    if let Err(err) = state.store.delete_expired_sessions(now).await {
        tracing::warn!(error = %err, "Could not delete expired sessions.");
    }
    state.login_limiter.clear(ip);
    record(
        &state,
        Actor::Admin,
        AuditAction::LoginSucceeded,
        "admin_user",
        None,
        json!({ "username": username }),
        ip_text,
    )
    .await;
    tracing::info!(username = %username, "Login succeeded.");

    let expires_in = SESSION_TTL.num_seconds();
    let mut response = (
        StatusCode::OK,
        Json(LoginResponse {
            access_token: token.clone(),
            token_type: "bearer",
            expires_in,
        }),
    )
        .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&token, expires_in, came_over_https(&headers)),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Ends the current session and clears the cookie.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    Extension(session): Extension<AuthSession>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state
        .store
        .delete_session(&session.token_digest)
        .await
        .map_err(store_error)?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie("", 0, came_over_https(&headers)),
    );
    Ok(response)
}

/// The logged-in admin.
#[utoipa::path(
    get,
    path = "/api/auth/me",
    tag = "auth",
    responses(
        (status = 200, description = "The admin", body = Me),
        (status = 401, description = "Unauthenticated", body = ErrorResponse),
    )
)]
pub async fn me(Extension(session): Extension<AuthSession>) -> Json<Me> {
    Json(Me {
        username: session.username,
    })
}
