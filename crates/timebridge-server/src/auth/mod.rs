//! Authentication of the single admin: Argon2id passwords ([`password`]), opaque session
//! tokens stored as HMAC digests ([`session`]), the login rate limit ([`rate_limit`]),
//! and the middleware that admits a request by bearer token or session cookie.

pub mod password;
pub mod rate_limit;
pub mod session;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated admin, added to the request extensions by [`require_admin`].
#[derive(Debug, Clone)]
pub struct AuthSession {
    /// The admin's username.
    pub username: String,
    /// The stored digest of the session token (addresses the session for logout).
    pub token_digest: String,
}

/// The session token of a request: `Authorization: Bearer …`, else the session cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let mut parts = value.splitn(2, ' ');
        if let (Some(scheme), Some(token)) = (parts.next(), parts.next())
            && scheme.eq_ignore_ascii_case("bearer")
            && !token.trim().is_empty()
        {
            return Some(token.trim().to_string());
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == session::COOKIE_NAME && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// Admits requests with a valid, unexpired session; answers 401 otherwise.
pub async fn require_admin(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = token_from_headers(request.headers()).ok_or_else(ApiError::unauthenticated)?;
    let digest = session::token_digest(&state.keys.secret, &token);
    let found = state
        .store
        .find_session(&digest, state.clock.now())
        .await
        .map_err(crate::store_error)?;
    let Some(found) = found else {
        return Err(ApiError::unauthenticated());
    };
    if found.expires_at <= state.clock.now() {
        return Err(ApiError::unauthenticated());
    }
    request.extensions_mut().insert(AuthSession {
        username: found.username,
        token_digest: digest,
    });
    Ok(next.run(request).await)
}
