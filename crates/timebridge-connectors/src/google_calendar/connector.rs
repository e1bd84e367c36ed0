//! The Google Calendar connector instance: settings, the OAuth app and the access tokens
//! it keeps between runs, authorised calls (a rejected access token is dropped and the
//! call made once more with a new one), the connector test, the `calendars` catalog and
//! the connect flow.

use std::sync::Arc;

use async_trait::async_trait;
use http::header::AUTHORIZATION;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use timebridge_core::entry::UserRef;
use tokio::sync::OnceCell;

use super::api::{ApiCalendar, ApiCalendarList, google_error};
use crate::connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, InstanceMemory, OAuthConnect,
    SourceConnector, TestReport,
};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{ErrorContext, HttpClient, HttpSettings, Request, Response};
use crate::oauth::{
    ClientAuth, Grant, OAuthApp, REFRESH_TOKEN_SECRET, TokenKeeper, TokenSet, bearer, oauth_error,
    token_client,
};

/// The scope the connect flow asks for: read the calendars and their events.
pub const SCOPE: &str = "https://www.googleapis.com/auth/calendar.readonly";

/// What a connector test and a failed run say when Google refuses the refresh token.
pub const REVOKED_MESSAGE: &str =
    "The Google authorization was revoked or has expired. Connect again.";

/// The token endpoint's refusals, worded for Google: a refused grant means the person must
/// connect again.
fn google_token_error(ctx: &ErrorContext<'_>) -> ConnectorError {
    let grant_refused = serde_json::from_slice::<Value>(ctx.body)
        .ok()
        .is_some_and(|v| v["error"] == "invalid_grant");
    if grant_refused {
        return ConnectorError::Unauthorized {
            status: ctx.status,
            message: REVOKED_MESSAGE.to_owned(),
        };
    }
    oauth_error(ctx)
}

/// The access-token keeper of a connector, kept between its instances (one per run) for
/// the configuration it was made for.
#[derive(Default)]
struct Tokens {
    held: std::sync::Mutex<Option<(String, Arc<TokenKeeper>)>>,
}

/// The Google Calendar connector (source).
#[derive(Debug)]
pub struct GoogleCalendarConnector {
    pub(crate) id: i64,
    pub(crate) client: HttpClient,
    token_http: HttpClient,
    app: OAuthApp,
    refresh: Option<SecretString>,
    pub(crate) calendar_id: String,
    owner_email: Option<String>,
    pub(crate) memory: Arc<InstanceMemory>,
    pub(crate) public_url: Option<String>,
    /// Digest of everything the remembered state depends on (URLs, client, calendar and
    /// the refresh token); state made for another digest is discarded.
    pub(crate) fingerprint: String,
    owner: OnceCell<UserRef>,
}

fn setting(settings: &Value, name: &str) -> Option<String> {
    settings[name]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl GoogleCalendarConnector {
    /// Builds the connector from its configuration (the registry's constructor).
    pub fn build(
        config: ConnectorConfig,
        ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        Ok(Arc::new(Self::new(config, ctx)?))
    }

    /// Builds the connector as its concrete type. A connector that was never connected
    /// builds (the connect flow needs it); its reads say it is not connected.
    pub fn new(config: ConnectorConfig, ctx: &ConnectorContext) -> ConnectorResult<Self> {
        let s = &config.settings;
        let client_id = setting(s, "client_id").ok_or_else(|| {
            ConnectorError::Config(
                "settings.client_id is missing: the OAuth client id from the Google Cloud \
                 console"
                    .into(),
            )
        })?;
        let client_secret = config
            .secrets
            .get("client_secret")
            .filter(|c| !c.expose_secret().trim().is_empty())
            .cloned()
            .ok_or_else(|| ConnectorError::Config("settings.client_secret is missing".into()))?;
        let refresh = config
            .secrets
            .get(REFRESH_TOKEN_SECRET)
            .filter(|t| !t.expose_secret().trim().is_empty())
            .cloned();
        let calendar_id = setting(s, "calendar_id").unwrap_or_else(|| "primary".into());
        let auth_url = setting(s, "auth_url").unwrap_or_else(|| super::AUTH_URL.into());
        let token_url = setting(s, "token_url").unwrap_or_else(|| super::TOKEN_URL.into());
        let mut http = HttpSettings::from_settings(s);
        if let Some(retry) = ctx.retry {
            http.retry = retry;
        }
        let client = HttpClient::builder(&config.base_url, &config.name)
            .settings(http.clone())
            .metrics(ctx.metrics.clone())
            .sleeper(ctx.sleeper.clone())
            .error_mapper(google_error)
            .build()?;
        let token_http = token_client(&token_url, &config.name)?
            .settings(http)
            .metrics(ctx.metrics.clone())
            .sleeper(ctx.sleeper.clone())
            .error_mapper(google_token_error)
            .build()?;
        let mut digest = Sha256::new();
        for part in [
            config.base_url.as_str(),
            &token_url,
            &client_id,
            client_secret.expose_secret(),
            &calendar_id,
            refresh.as_ref().map_or("", |r| r.expose_secret()),
        ] {
            digest.update(part.as_bytes());
            digest.update([0u8]);
        }
        Ok(GoogleCalendarConnector {
            id: config.id,
            client,
            token_http,
            app: OAuthApp {
                client_id,
                client_secret,
                token_url,
                auth_url: Some(auth_url),
                // Google takes the client's id and secret in the form.
                credentials: ClientAuth::RequestBody,
            },
            refresh,
            calendar_id,
            owner_email: setting(s, "owner_email"),
            memory: ctx.memory.clone(),
            public_url: ctx.public_url.clone(),
            fingerprint: hex::encode(digest.finalize()),
            owner: OnceCell::new(),
        })
    }

    /// Whether the connect flow has stored a refresh token.
    pub fn is_connected(&self) -> bool {
        self.refresh.is_some()
    }

    /// The refresh token, for deriving the push channel's token.
    pub(crate) fn refresh_token(&self) -> Option<&SecretString> {
        self.refresh.as_ref()
    }

    fn not_connected() -> ConnectorError {
        ConnectorError::Config(
            "the connector is not connected to Google yet: use \"Connect with Google\" on its \
             page"
                .into(),
        )
    }

    /// The keeper of this configuration's access tokens, shared with earlier instances.
    fn keeper(&self) -> ConnectorResult<Arc<TokenKeeper>> {
        let refresh = self.refresh.clone().ok_or_else(Self::not_connected)?;
        let slot = self.memory.slot::<Tokens>(self.id);
        let mut held = slot.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((fp, keeper)) = held.as_ref()
            && *fp == self.fingerprint
        {
            return Ok(keeper.clone());
        }
        let keeper = Arc::new(TokenKeeper::new(
            self.app.clone(),
            Grant::RefreshToken(refresh),
            self.token_http.clone(),
        ));
        *held = Some((self.fingerprint.clone(), keeper.clone()));
        Ok(keeper)
    }

    /// A valid access token (renewed before it expires).
    pub(crate) async fn access_token(&self) -> ConnectorResult<SecretString> {
        self.keeper()?.access_token().await
    }

    /// Sends `req` with an access token; a token the API rejects (401) is dropped and the
    /// call made once more with a new one.
    pub(crate) async fn send(&self, req: Request) -> ConnectorResult<Response> {
        let keeper = self.keeper()?;
        let token = keeper.access_token().await?;
        let first = self
            .client
            .send(req.clone().header(AUTHORIZATION, bearer(&token)?))
            .await;
        match first {
            Err(ConnectorError::Unauthorized { .. }) => {
                keeper.forget(&token).await;
                let token = keeper.access_token().await?;
                self.client
                    .send(req.header(AUTHORIZATION, bearer(&token)?))
                    .await
            }
            other => other,
        }
    }

    /// The calendar id as a path segment.
    pub(crate) fn calendar_path(&self, rest: &str) -> String {
        format!("/calendars/{}{rest}", encode(&self.calendar_id))
    }

    /// The calendar itself (`GET /calendars/{calendarId}`).
    async fn calendar(&self) -> ConnectorResult<ApiCalendar> {
        self.send(Request::get(
            "GET /calendars/{calendarId}",
            self.calendar_path(""),
        ))
        .await?
        .json()
    }

    /// The person whose time the events are: `owner_email`, else the calendar's id (the
    /// owner's e-mail for a primary calendar), named by the calendar's summary.
    pub(crate) async fn owner(&self) -> ConnectorResult<UserRef> {
        self.owner
            .get_or_try_init(|| async {
                let cal = self.calendar().await?;
                let email = self
                    .owner_email
                    .clone()
                    .or_else(|| cal.id.contains('@').then(|| cal.id.clone()));
                Ok::<_, ConnectorError>(UserRef {
                    key: email.clone().unwrap_or(cal.id),
                    email,
                    name: cal.summary,
                })
            })
            .await
            .cloned()
    }

    /// Every calendar the account sees (`calendarList`, all pages).
    async fn calendars(&self) -> ConnectorResult<Vec<CatalogItem>> {
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut req = Request::get("GET /users/me/calendarList", "/users/me/calendarList")
                .query("maxResults", 250);
            if let Some(p) = &page {
                req = req.query("pageToken", p);
            }
            let list: ApiCalendarList = self.send(req).await?.json()?;
            for c in list.items {
                out.push(CatalogItem {
                    label: c.summary.clone().unwrap_or_else(|| c.id.clone()),
                    extra: json!({"primary": c.primary.unwrap_or(false),
                                  "access_role": c.access_role, "time_zone": c.time_zone}),
                    key: c.id,
                });
            }
            match list.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => page = Some(t),
                None => break,
            }
        }
        out.sort_by(|a, b| a.label.cmp(&b.label));
        Ok(out)
    }

    /// Whether push channels can be opened: Google delivers only to https addresses.
    pub(crate) fn push_address(&self) -> Result<String, String> {
        match &self.public_url {
            None => Err("no PUBLIC_URL in this process (polling only)".into()),
            Some(url) if !url.starts_with("https://") => Err(format!(
                "PUBLIC_URL {url} is not https, and Google delivers push notifications only \
                 to https addresses (polling only)"
            )),
            Some(url) => Ok(format!(
                "{}/api/webhook/google_calendar/{}",
                url.trim_end_matches('/'),
                self.id
            )),
        }
    }
}

/// Percent-encodes a path segment (calendar and event ids may hold `@` and `#`).
pub(crate) fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[async_trait]
impl Connector for GoogleCalendarConnector {
    fn kind(&self) -> &'static str {
        "google_calendar"
    }

    async fn test(&self) -> TestReport {
        let push = match self.push_address() {
            Ok(address) => json!({"enabled": true, "address": address}),
            Err(why) => json!({"enabled": false, "reason": why}),
        };
        let mut details = json!({"connected": self.is_connected(), "push_channels": push,
                                 "calendar_id": self.calendar_id});
        if !self.is_connected() {
            return TestReport {
                ok: false,
                message: "Not connected to Google yet: use \"Connect with Google\".".into(),
                details: {
                    details["error_class"] = json!("unauthorized");
                    details["failed_step"] = json!("authorization");
                    details
                },
            };
        }
        if let Err(e) = self.access_token().await {
            let mut report = TestReport::failed("authorization", &e, details);
            if let ConnectorError::Unauthorized { message, .. } = &e {
                report.message = message.clone();
            }
            return report;
        }
        let owner = match self.owner().await {
            Ok(o) => o,
            Err(e) => return TestReport::failed("calendar", &e, details),
        };
        let probe = Request::get(
            "GET /calendars/{calendarId}/events",
            self.calendar_path("/events"),
        )
        .query("maxResults", 1)
        .query("singleEvents", "true");
        if let Err(e) = self.send(probe).await {
            return TestReport::failed("events", &e, details);
        }
        details["owner"] = json!({"email": owner.email, "name": owner.name});
        TestReport {
            ok: true,
            message: format!(
                "Connected; reads calendar {} of {}.",
                self.calendar_id,
                owner.email.as_deref().unwrap_or(&owner.key)
            ),
            details,
        }
    }

    async fn catalog(&self, what: &str) -> ConnectorResult<Vec<CatalogItem>> {
        match what {
            "calendars" => self.calendars().await,
            other => Err(ConnectorError::NotFound {
                message: format!("Google Calendar has no catalog {other}"),
            }),
        }
    }

    fn as_source(&self) -> Option<&dyn SourceConnector> {
        Some(self)
    }

    fn as_oauth(&self) -> Option<&dyn OAuthConnect> {
        Some(self)
    }
}

#[async_trait]
impl OAuthConnect for GoogleCalendarConnector {
    fn authorize_url(&self, redirect_uri: &str, state: &str) -> ConnectorResult<String> {
        crate::oauth::authorize_url(
            &self.app,
            redirect_uri,
            &[SCOPE.to_owned()],
            state,
            // A refresh token comes only with offline access, and again only with consent.
            &[("access_type", "offline"), ("prompt", "consent")],
        )
    }

    async fn exchange(&self, code: &str, redirect_uri: &str) -> ConnectorResult<TokenSet> {
        let set =
            crate::oauth::exchange_code(&self.app, &self.token_http, code, redirect_uri).await?;
        if set.refresh_token.is_none() {
            return Err(ConnectorError::Protocol {
                host: self.token_http.host().to_owned(),
                message: "Google answered without a refresh token; remove timebridge's access \
                          in the Google account (Security → Third-party access) and connect \
                          again"
                    .into(),
            });
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_at_signs_and_hashes_stay_one_path_segment() {
        assert_eq!(encode("primary"), "primary");
        assert_eq!(encode("ann@example.com"), "ann@example.com");
        assert_eq!(
            encode("en.german#holiday@group.v.calendar.google.com"),
            "en.german%23holiday@group.v.calendar.google.com"
        );
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
    }
}
