//! OAuth 2.0 for connectors: access tokens from a client-credentials grant (Jibble) or a
//! refresh token (Google Calendar, after the connect flow), the authorization URL and the
//! code exchange of that flow.
//!
//! The protocol (request encoding, client authentication, token responses) is the
//! `oauth2` crate's; its requests travel through the connector's own [`HttpClient`], so
//! token calls get the same timeouts, retries, rate limit, metrics and error classes as
//! every other call. Access tokens live only in memory ([`TokenKeeper`]) and are renewed
//! before they expire; nothing here logs or stores a secret.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, header};
use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest,
    HttpResponse, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{ErrorContext, HttpClient, HttpClientBuilder, Request, default_error};

/// A registered OAuth client (the connector's `client_id` and `client_secret`) and the
/// authorization server's endpoints.
#[derive(Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: SecretString,
    /// The token endpoint, absolute (`https://oauth2.googleapis.com/token`).
    pub token_url: String,
    /// The authorization endpoint of the connect flow; `None` for client credentials.
    pub auth_url: Option<String>,
    /// How the client authenticates at the token endpoint.
    pub credentials: ClientAuth,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("token_url", &self.token_url)
            .field("auth_url", &self.auth_url)
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// Where the client id and secret go in a token request (RFC 6749 §2.3.1 allows both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// HTTP Basic authentication.
    #[default]
    BasicAuth,
    /// `client_id` and `client_secret` form fields.
    RequestBody,
}

/// How a [`TokenKeeper`] obtains access tokens.
#[derive(Clone)]
pub enum Grant {
    /// `grant_type=client_credentials`, with these scopes (may be empty).
    ClientCredentials { scopes: Vec<String> },
    /// `grant_type=refresh_token` with a refresh token from the connect flow.
    RefreshToken(SecretString),
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::ClientCredentials { scopes } => f
                .debug_struct("ClientCredentials")
                .field("scopes", scopes)
                .finish(),
            Grant::RefreshToken(_) => f.write_str("RefreshToken([redacted])"),
        }
    }
}

/// What a token endpoint answered.
#[derive(Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    /// Present after a code exchange with `access_type=offline` (and when a server
    /// rotates refresh tokens).
    pub refresh_token: Option<SecretString>,
    /// The access token's lifetime, if the server said.
    pub expires_in: Option<Duration>,
    /// The scopes granted, if the server said.
    pub scopes: Vec<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// Lifetime assumed when a token response names none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// Keeps one access token in memory and renews it before it expires.
pub struct TokenKeeper {
    app: OAuthApp,
    grant: Grant,
    http: HttpClient,
    held: Mutex<Option<Held>>,
}

struct Held {
    token: SecretString,
    /// When to fetch a new one: some time before the token expires.
    renew_at: Instant,
}

impl fmt::Debug for TokenKeeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeeper")
            .field("app", &self.app)
            .field("grant", &self.grant)
            .finish_non_exhaustive()
    }
}

impl TokenKeeper {
    /// A keeper that fetches tokens for `app` with `grant` through `http`, a client whose
    /// base URL is the token endpoint's origin (see [`token_client`]).
    pub fn new(app: OAuthApp, grant: Grant, http: HttpClient) -> Self {
        TokenKeeper {
            app,
            grant,
            http,
            held: Mutex::new(None),
        }
    }

    /// An `Authorization: Bearer …` value with a token that is valid for a while yet
    /// (marked sensitive, so no debug output shows it).
    pub async fn authorization(&self) -> ConnectorResult<HeaderValue> {
        let token = self.access_token().await?;
        bearer(&token)
    }

    /// A token that is valid for a while yet: the held one, or a new one.
    pub async fn access_token(&self) -> ConnectorResult<SecretString> {
        let mut held = self.held.lock().await;
        if let Some(h) = held.as_ref()
            && Instant::now() < h.renew_at
        {
            return Ok(h.token.clone());
        }
        let set = self.fetch().await?;
        let lifetime = set.expires_in.unwrap_or(DEFAULT_LIFETIME);
        *held = Some(Held {
            token: set.access_token.clone(),
            renew_at: Instant::now() + lifetime.saturating_sub(renewal_margin(lifetime)),
        });
        Ok(set.access_token)
    }

    /// Drops the held token if it is `rejected` (the API answered 401 with it), so that
    /// the next call fetches a new one.
    pub async fn forget(&self, rejected: &SecretString) {
        let mut held = self.held.lock().await;
        if held
            .as_ref()
            .is_some_and(|h| h.token.expose_secret() == rejected.expose_secret())
        {
            *held = None;
        }
    }

    async fn fetch(&self) -> ConnectorResult<TokenSet> {
        let client = basic_client(&self.app)?;
        let transport = Transport {
            http: &self.http,
            route: "POST {token_url}",
            // Asking for a token again is harmless for these two grants.
            idempotent: true,
        };
        let answer = match &self.grant {
            Grant::ClientCredentials { scopes } => {
                client
                    .exchange_client_credentials()
                    .add_scopes(scopes.iter().cloned().map(Scope::new))
                    .request_async(&transport)
                    .await
            }
            Grant::RefreshToken(refresh) => {
                let refresh = RefreshToken::new(refresh.expose_secret().to_owned());
                client
                    .exchange_refresh_token(&refresh)
                    .request_async(&transport)
                    .await
            }
        };
        answer
            .map(token_set)
            .map_err(|e| token_error(&self.http, e))
    }
}

/// How long before its expiry a token is renewed: a tenth of its lifetime, at least
/// 30 s and at most 5 minutes (never more than half of it).
fn renewal_margin(lifetime: Duration) -> Duration {
    (lifetime / 10)
        .clamp(Duration::from_secs(30), Duration::from_secs(300))
        .min(lifetime / 2)
}

/// The `Authorization` header value for a bearer token, marked sensitive.
pub fn bearer(token: &SecretString) -> ConnectorResult<HeaderValue> {
    let mut value =
        HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).map_err(|_| {
            ConnectorError::Protocol {
                host: String::new(),
                message: "the access token is not a valid header value".into(),
            }
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// An HTTP client for the token endpoint `token_url`: its origin as base URL and the OAuth
/// error reading (`{"error":"invalid_grant",…}` → unauthorized). Configure transport,
/// metrics and sleeper on the returned builder as for the connector's own client.
pub fn token_client(token_url: &str, label: &str) -> ConnectorResult<HttpClientBuilder> {
    let (origin, _) = split_url(token_url)?;
    Ok(HttpClient::builder(&origin, label).error_mapper(oauth_error))
}

/// The URL to send a person to in the connect flow (authorization-code grant), with a
/// one-time `state` the caller stores and checks, and extra parameters (Google:
/// `access_type=offline`, `prompt=consent`).
pub fn authorize_url(
    app: &OAuthApp,
    redirect_uri: &str,
    scopes: &[String],
    state: &str,
    extra: &[(&str, &str)],
) -> ConnectorResult<String> {
    let auth_url = app
        .auth_url
        .as_deref()
        .ok_or_else(|| ConnectorError::Config("no authorization URL is configured".into()))?;
    let auth_url = AuthUrl::new(auth_url.to_owned())
        .map_err(|e| ConnectorError::Config(format!("auth_url: {e}")))?;
    let redirect = RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|e| ConnectorError::Config(format!("redirect URI: {e}")))?;
    let client = basic_client(app)?
        .set_auth_uri(auth_url)
        .set_redirect_uri(redirect);
    let state = state.to_owned();
    let mut request = client
        .authorize_url(move || CsrfToken::new(state))
        .add_scopes(scopes.iter().cloned().map(Scope::new));
    for (name, value) in extra {
        request = request.add_extra_param(*name, *value);
    }
    let (url, _) = request.url();
    Ok(url.to_string())
}

/// Exchanges the connect flow's authorization `code` for tokens. Not retried: a code is
/// good for one exchange.
pub async fn exchange_code(
    app: &OAuthApp,
    http: &HttpClient,
    code: &str,
    redirect_uri: &str,
) -> ConnectorResult<TokenSet> {
    let redirect = RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|e| ConnectorError::Config(format!("redirect URI: {e}")))?;
    let client = basic_client(app)?;
    let transport = Transport {
        http,
        route: "POST {token_url}",
        idempotent: false,
    };
    client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_redirect_uri(Cow::Owned(redirect))
        .request_async(&transport)
        .await
        .map(token_set)
        .map_err(|e| token_error(http, e))
}

type Client = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn basic_client(app: &OAuthApp) -> ConnectorResult<Client> {
    let token_url = TokenUrl::new(app.token_url.clone())
        .map_err(|e| ConnectorError::Config(format!("token_url: {e}")))?;
    let auth_type = match app.credentials {
        ClientAuth::BasicAuth => AuthType::BasicAuth,
        ClientAuth::RequestBody => AuthType::RequestBody,
    };
    Ok(BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_client_secret(ClientSecret::new(
            app.client_secret.expose_secret().to_owned(),
        ))
        .set_token_uri(token_url)
        .set_auth_type(auth_type))
}

fn token_set(answer: BasicTokenResponse) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(answer.access_token().secret().to_owned()),
        refresh_token: answer
            .refresh_token()
            .map(|r| SecretString::from(r.secret().to_owned())),
        expires_in: answer.expires_in(),
        scopes: answer
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
    }
}

fn token_error(
    http: &HttpClient,
    e: RequestTokenError<ConnectorError, oauth2::basic::BasicErrorResponse>,
) -> ConnectorError {
    match e {
        RequestTokenError::Request(e) => e,
        // Non-2xx answers are errors of the transport already (see `oauth_error`); a 2xx
        // with an error body is a server that does not follow the protocol.
        RequestTokenError::ServerResponse(r) => ConnectorError::Protocol {
            host: http.host().to_owned(),
            message: format!(
                "the token endpoint answered an error with 200: {}",
                r.error()
            ),
        },
        RequestTokenError::Parse(e, _) => ConnectorError::Protocol {
            host: http.host().to_owned(),
            message: format!("the token answer does not parse: {e}"),
        },
        RequestTokenError::Other(message) => ConnectorError::Protocol {
            host: http.host().to_owned(),
            message,
        },
    }
}

/// An OAuth token endpoint's error body (RFC 6749 §5.2).
#[derive(Debug, Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The secret setting in which a kind with [`crate::Feature::Oauth`] keeps the refresh
/// token the connect flow obtained.
pub const REFRESH_TOKEN_SECRET: &str = "refresh_token";

/// Reads a token endpoint's refusal: a rejected client or grant is an authorization
/// failure the admin must fix (connect again, new credentials), not a remote fault.
/// Public so that a kind can word the refusals of its own authorization server.
pub fn oauth_error(ctx: &ErrorContext<'_>) -> ConnectorError {
    let Ok(body) = serde_json::from_slice::<OAuthErrorBody>(ctx.body) else {
        return default_error(ctx);
    };
    let described = match &body.error_description {
        Some(d) if !d.is_empty() => format!("{} ({d})", body.error),
        _ => body.error.clone(),
    };
    match body.error.as_str() {
        "invalid_grant" => ConnectorError::Unauthorized {
            status: ctx.status,
            message: format!(
                "the authorization was revoked or has expired; connect again: {described}"
            ),
        },
        "invalid_client" | "unauthorized_client" => ConnectorError::Unauthorized {
            status: ctx.status,
            message: format!("the client id or secret was refused: {described}"),
        },
        "invalid_scope" => ConnectorError::Forbidden {
            message: format!("the requested scope was refused: {described}"),
        },
        "invalid_request" | "unsupported_grant_type" => ConnectorError::Config(format!(
            "the token endpoint refused the request: {described}"
        )),
        _ => default_error(ctx),
    }
}

/// Splits an absolute URL into its origin (`https://host:port`) and the rest (path and
/// query).
fn split_url(url: &str) -> ConnectorResult<(String, String)> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ConnectorError::Config(format!("`{url}` is not a URL: {e}")))?;
    let origin = parsed.origin().ascii_serialization();
    if origin == "null" {
        return Err(ConnectorError::Config(format!(
            "`{url}` is not an http(s) URL"
        )));
    }
    let mut rest = parsed.path().to_owned();
    if let Some(q) = parsed.query() {
        rest.push('?');
        rest.push_str(q);
    }
    Ok((origin, rest))
}

/// The `oauth2` crate's requests sent through a connector's [`HttpClient`].
struct Transport<'a> {
    http: &'a HttpClient,
    route: &'static str,
    idempotent: bool,
}

impl<'c> oauth2::AsyncHttpClient<'c> for Transport<'_> {
    type Error = ConnectorError;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, ConnectorError>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        let http = self.http.clone();
        let host = http.host().to_owned();
        let req = self.request(request);
        // The crate wants a `Sync` future and the client's is not: the call runs as its
        // own task, whose handle is.
        let sent = req.map(|req| tokio::spawn(async move { http.send(req).await }));
        Box::pin(async move {
            let answer = sent?.await.map_err(|e| ConnectorError::Interrupted {
                host: host.clone(),
                message: e.to_string(),
            })??;
            let mut builder = http::Response::builder().status(answer.status);
            for (name, value) in &answer.headers {
                builder = builder.header(name, value);
            }
            builder
                .body(answer.body.to_vec())
                .map_err(|e| ConnectorError::Protocol {
                    host,
                    message: e.to_string(),
                })
        })
    }
}

impl Transport<'_> {
    fn request(&self, request: HttpRequest) -> ConnectorResult<Request> {
        let (parts, body) = request.into_parts();
        let (_, path) = split_url(&parts.uri.to_string())?;
        let content_type =
            parts
                .headers
                .get(header::CONTENT_TYPE)
                .cloned()
                .unwrap_or(HeaderValue::from_static(
                    "application/x-www-form-urlencoded",
                ));
        let mut req =
            Request::post(self.route, path, serde_json::Value::Null).idempotent(self.idempotent);
        req.method = parts.method;
        req.body = None;
        req = req.raw_body(content_type, Bytes::from(body));
        for (name, value) in &parts.headers {
            if name == header::CONTENT_TYPE || name == header::ACCEPT {
                continue;
            }
            let mut value = value.clone();
            if name == header::AUTHORIZATION {
                value.set_sensitive(true);
            }
            req = req.header(name.clone(), value);
        }
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_renewed_well_before_it_expires() {
        assert_eq!(
            renewal_margin(Duration::from_secs(3600)),
            Duration::from_secs(300)
        );
        assert_eq!(
            renewal_margin(Duration::from_secs(600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            renewal_margin(Duration::from_secs(40)),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn the_authorization_url_carries_the_state_scopes_and_extra_parameters() {
        let app = OAuthApp {
            client_id: "client-1".into(),
            client_secret: SecretString::from("s3cret"),
            token_url: "http://127.0.0.1:9/token".into(),
            auth_url: Some("http://127.0.0.1:9/o/oauth2/auth".into()),
            credentials: ClientAuth::RequestBody,
        };
        let url = authorize_url(
            &app,
            "http://tb.example/api/oauth/callback",
            &["https://www.googleapis.com/auth/calendar.readonly".into()],
            "st-123",
            &[("access_type", "offline"), ("prompt", "consent")],
        )
        .unwrap();
        let parsed = reqwest::Url::parse(&url).unwrap();
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(parsed.path(), "/o/oauth2/auth");
        assert_eq!(q["state"], "st-123");
        assert_eq!(q["client_id"], "client-1");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["access_type"], "offline");
        assert_eq!(q["prompt"], "consent");
        assert_eq!(q["redirect_uri"], "http://tb.example/api/oauth/callback");
        assert!(q["scope"].contains("calendar.readonly"));
        assert!(!url.contains("s3cret"));
    }

    #[test]
    fn a_revoked_grant_reads_as_unauthorized_and_says_to_connect_again() {
        let headers = http::HeaderMap::new();
        let ctx = ErrorContext {
            host: "oauth2.example",
            route: "POST {token_url}",
            status: 400,
            headers: &headers,
            body: br#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
        };
        let e = oauth_error(&ctx);
        assert_eq!(e.class(), crate::ErrorClass::Unauthorized);
        assert!(e.to_string().contains("connect again"), "{e}");
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let grant = Grant::RefreshToken(SecretString::from("1//refresh-secret"));
        let set = TokenSet {
            access_token: SecretString::from("ya29.access"),
            refresh_token: Some(SecretString::from("1//refresh-secret")),
            expires_in: None,
            scopes: vec![],
        };
        let text = format!("{grant:?} {set:?}");
        assert!(
            !text.contains("refresh-secret") && !text.contains("ya29"),
            "{text}"
        );
    }

    mod against_a_token_endpoint {
        use std::sync::Arc;
        use std::sync::Mutex as StdMutex;

        use axum::extract::State;
        use axum::routing::post;

        use super::*;

        #[derive(Default)]
        struct Seen {
            forms: StdMutex<Vec<String>>,
        }

        async fn token(State(seen): State<Arc<Seen>>, body: String) -> axum::response::Response {
            use axum::response::IntoResponse;
            let n = {
                let mut forms = seen.forms.lock().unwrap();
                forms.push(body.clone());
                forms.len()
            };
            if body.contains("client_secret=wrong") {
                return (
                    http::StatusCode::BAD_REQUEST,
                    axum::Json(serde_json::json!({"error": "invalid_client"})),
                )
                    .into_response();
            }
            axum::Json(serde_json::json!({
                "access_token": format!("token-{n}"),
                "token_type": "Bearer",
                "expires_in": 1,
            }))
            .into_response()
        }

        async fn endpoint() -> (String, Arc<Seen>) {
            let seen = Arc::new(Seen::default());
            let app = axum::Router::new()
                .route("/connect/token", post(token))
                .with_state(seen.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            (format!("http://{addr}/connect/token"), seen)
        }

        fn keeper(token_url: &str, secret: &str) -> TokenKeeper {
            let app = OAuthApp {
                client_id: "client-1".into(),
                client_secret: SecretString::from(secret.to_owned()),
                token_url: token_url.to_owned(),
                auth_url: None,
                credentials: ClientAuth::RequestBody,
            };
            let http = token_client(token_url, "test").unwrap().build().unwrap();
            let grant = Grant::ClientCredentials {
                scopes: vec!["api1".into()],
            };
            TokenKeeper::new(app, grant, http)
        }

        #[tokio::test]
        async fn a_client_credentials_token_is_fetched_once_and_renewed_before_it_expires() {
            let (url, seen) = endpoint().await;
            let keeper = keeper(&url, "s3cret");
            let first = keeper.access_token().await.unwrap();
            let again = keeper.access_token().await.unwrap();
            assert_eq!(first.expose_secret(), "token-1");
            assert_eq!(again.expose_secret(), "token-1");
            assert_eq!(seen.forms.lock().unwrap().len(), 1);
            let form = seen.forms.lock().unwrap()[0].clone();
            for part in [
                "grant_type=client_credentials",
                "client_id=client-1",
                "client_secret=s3cret",
                "scope=api1",
            ] {
                assert!(form.contains(part), "{form}");
            }
            // The token lives 1 s and is renewed half a second before it ends.
            tokio::time::sleep(Duration::from_millis(600)).await;
            let renewed = keeper.access_token().await.unwrap();
            assert_eq!(renewed.expose_secret(), "token-2");
        }

        #[tokio::test]
        async fn a_forgotten_token_is_replaced_on_the_next_call() {
            let (url, _) = endpoint().await;
            let keeper = keeper(&url, "s3cret");
            let first = keeper.access_token().await.unwrap();
            keeper.forget(&SecretString::from("some-other-token")).await;
            assert_eq!(
                keeper.access_token().await.unwrap().expose_secret(),
                "token-1"
            );
            keeper.forget(&first).await;
            assert_eq!(
                keeper.access_token().await.unwrap().expose_secret(),
                "token-2"
            );
        }

        #[tokio::test]
        async fn refused_client_credentials_are_unauthorized() {
            let (url, _) = endpoint().await;
            let e = keeper(&url, "wrong").access_token().await.unwrap_err();
            assert_eq!(e.class(), crate::ErrorClass::Unauthorized, "{e}");
            assert!(!e.to_string().contains("wrong"), "{e}");
        }
    }
}
