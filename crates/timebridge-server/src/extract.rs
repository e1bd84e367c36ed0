//! Extractors that answer rejections in our error shape instead of axum's plain text:
//! [`Json`], [`Query`], [`Path`], plus [`ClientIp`] and the list parameters.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::state::AppState;

/// JSON body extractor and response; malformed bodies are answered with 400 (413 when
/// too large) in our shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// An optional JSON body: an empty (or blank) one is `T::default()`; a malformed one is
/// answered with 400 in our shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("The body cannot be read: {e}")))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        serde_json::from_slice(&body)
            .map(Self)
            .map_err(|e| ApiError::bad_request(format!("The body is not valid: {e}")))
    }
}

/// Query string extractor; bad values are answered with 400 in our shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// Path parameter extractor; bad values are answered with 400 in our shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// The client's IP address: the socket peer, or — only when `TRUST_FORWARDED_FOR=true`
/// — the right-most `X-Forwarded-For` entry (the address our reverse proxy saw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// The address as text, for audit events.
    pub fn to_audit(self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

/// Resolves the client IP from request parts; shared by the extractor and middleware.
pub fn client_ip(parts: &Parts, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(ip) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return Some(ip);
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(parts, state.config.trust_forwarded_for)))
    }
}

/// Largest page size; larger requests are clamped.
pub const MAX_LIMIT: u64 = 500;
/// Page size when none is given.
pub const DEFAULT_LIMIT: u64 = 50;

/// `limit` and `offset` of a list request.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Page size (default 50, larger values are clamped to 500).
    #[param(minimum = 0, maximum = 500, default = 50)]
    pub limit: Option<i64>,
    /// Number of items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}

impl Page {
    /// Validated `(limit, offset)`; negative values are a 400.
    pub fn resolve(self) -> Result<(u64, u64), ApiError> {
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(l) if l < 0 => return Err(ApiError::bad_field("limit", "must not be negative")),
            Some(l) => (l as u64).min(MAX_LIMIT),
        };
        let offset = match self.offset {
            None => 0,
            Some(o) if o < 0 => {
                return Err(ApiError::bad_field("offset", "must not be negative"));
            }
            Some(o) => o as u64,
        };
        Ok((limit, offset))
    }
}

/// A list response: one page of items and the total count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListResponse<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The number of items matching the filter.
    pub total: u64,
}
