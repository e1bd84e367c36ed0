//! The Jibble connector instance: settings, one HTTP client per host (identity,
//! workspace, time tracking), authorised requests (a 401 forgets the token once and
//! retries with a new one), OData paging, the master data it loads once per instance (one
//! instance per run), the connection test and the catalogs.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;

use super::api::{ApiNamed, ApiPerson, ApiPunch, Envelope, jibble_error};
use super::auth::{TokenAuth, Tokens};
use crate::connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, SourceConnector, TestReport,
};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{HttpClient, HttpSettings, Request, Response};
use crate::oauth::{ClientAuth, Grant, OAuthApp, TokenKeeper, bearer, token_client};

/// Pages read at most in one list (a guard against a server that never ends one).
const MAX_PAGES: usize = 10_000;

/// What one instance loads once.
#[derive(Debug)]
pub(crate) struct Master {
    pub people: Vec<ApiPerson>,
    pub activities: HashMap<String, ApiNamed>,
    pub projects: HashMap<String, ApiNamed>,
}

impl Master {
    /// The person a time-tracking `personId` names: by People `id`, else by `userId`
    /// (the time-tracking person id may differ from the workspace's, UNCONFIRMED).
    pub fn person(&self, id: &str) -> Option<&ApiPerson> {
        self.people.iter().find(|p| p.id == id).or_else(|| {
            self.people
                .iter()
                .find(|p| p.user_id.as_deref() == Some(id))
        })
    }
}

/// Which API a request goes to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Host {
    Workspace,
    TimeTracking,
}

/// The Jibble connector (source).
#[derive(Debug)]
pub struct JibbleConnector {
    pub(crate) workspace: HttpClient,
    pub(crate) time_tracking: HttpClient,
    pub(crate) tokens: Tokens,
    pub(crate) page_size: usize,
    client_id: String,
    token_url: String,
    master: OnceCell<Arc<Master>>,
}

fn url_setting(settings: &Value, name: &str, default: &str) -> String {
    settings[name]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(default)
        .trim_end_matches('/')
        .to_owned()
}

impl JibbleConnector {
    /// Builds the connector from its configuration (the registry's constructor).
    pub fn build(
        config: ConnectorConfig,
        ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        Ok(Arc::new(Self::new(config, ctx)?))
    }

    /// Builds the connector as its concrete type.
    pub fn new(config: ConnectorConfig, ctx: &ConnectorContext) -> ConnectorResult<Self> {
        let s = &config.settings;
        let client_id = s["client_id"]
            .as_str()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                ConnectorError::Config(
                    "settings.client_id is missing: the client id of Jibble's API credentials"
                        .into(),
                )
            })?
            .to_owned();
        let secret = config.api_token.expose_secret().trim().to_owned();
        if secret.is_empty() {
            return Err(ConnectorError::Config(
                "the API token (the client secret of Jibble's API credentials) is empty".into(),
            ));
        }
        let identity = url_setting(s, "identity_url", "https://identity.prod.jibble.io");
        let token_url = format!("{identity}/connect/token");
        let mut http = HttpSettings::from_settings(s);
        if let Some(retry) = ctx.retry {
            http.retry = retry;
        }
        let client = |base: &str| {
            HttpClient::builder(base, &config.name)
                .settings(http.clone())
                .metrics(ctx.metrics.clone())
                .sleeper(ctx.sleeper.clone())
                .error_mapper(jibble_error)
                .build()
        };
        let workspace = client(&url_setting(
            s,
            "workspace_url",
            "https://workspace.prod.jibble.io/v1",
        ))?;
        let time_tracking = client(&url_setting(
            s,
            "time_tracking_url",
            "https://time-tracking.prod.jibble.io/v1",
        ))?;
        let identity_http = token_client(&token_url, &config.name)?
            .settings(http.clone())
            .metrics(ctx.metrics.clone())
            .sleeper(ctx.sleeper.clone())
            .build()?;
        let scopes: Vec<String> = s["scope"]
            .as_str()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let keeper = |credentials| {
            TokenKeeper::new(
                OAuthApp {
                    client_id: client_id.clone(),
                    client_secret: SecretString::from(secret.clone()),
                    token_url: token_url.clone(),
                    auth_url: None,
                    credentials,
                },
                Grant::ClientCredentials {
                    scopes: scopes.clone(),
                },
                identity_http.clone(),
            )
        };
        let tokens = Tokens::new(
            TokenAuth::from_setting(s["token_auth"].as_str()),
            keeper(ClientAuth::RequestBody),
            keeper(ClientAuth::BasicAuth),
        );
        let page_size = s["page_size"]
            .as_u64()
            .map_or(500, |n| n.clamp(1, 1000) as usize);
        Ok(JibbleConnector {
            workspace,
            time_tracking,
            tokens,
            page_size,
            client_id,
            token_url,
            master: OnceCell::new(),
        })
    }

    fn client(&self, host: Host) -> &HttpClient {
        match host {
            Host::Workspace => &self.workspace,
            Host::TimeTracking => &self.time_tracking,
        }
    }

    /// Sends `req` with a bearer token; a 401 (the token expired early or was revoked)
    /// forgets the token and tries once more with a new one.
    pub(crate) async fn send(&self, host: Host, req: Request) -> ConnectorResult<Response> {
        let client = self.client(host);
        let token = self.tokens.token().await?;
        let first = client
            .send(
                req.clone()
                    .header(http::header::AUTHORIZATION, bearer(&token)?),
            )
            .await;
        match first {
            Err(ConnectorError::Unauthorized { .. }) => {
                self.tokens.forget(&token).await;
                let token = self.tokens.token().await?;
                client
                    .send(req.header(http::header::AUTHORIZATION, bearer(&token)?))
                    .await
            }
            other => other,
        }
    }

    /// The request an `@odata.nextLink` names, if it points into `host`'s API (else the
    /// caller pages on with `$skip`).
    fn link_request(&self, host: Host, route: &'static str, link: &str) -> Option<Request> {
        let base = reqwest::Url::parse(self.client(host).base_url()).ok()?;
        let url = reqwest::Url::parse(link)
            .or_else(|_| base.join(link))
            .ok()?;
        if url.origin() != base.origin() {
            return None;
        }
        let path = url.path().strip_prefix(base.path().trim_end_matches('/'))?;
        let mut req = Request::get(route, path.to_owned());
        for (k, v) in url.query_pairs() {
            req = req.query(&k, v);
        }
        Some(req)
    }

    /// Every row of an entity set for `query` (e.g. `$filter`, `$orderby`): `$top`/`$skip`
    /// pages, with `$count=true` on the first; follows `@odata.nextLink` when the server
    /// sends one; otherwise asks for more while a page is full or the count says rows
    /// remain (a server that caps pages below `$top` is read completely when it counts),
    /// until a page comes back empty or short. Returns the rows and the pages read.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        host: Host,
        route: &'static str,
        path: &str,
        query: &[(&str, String)],
    ) -> ConnectorResult<(Vec<T>, usize)> {
        let page = |skip: usize, count: bool| {
            let mut req = Request::get(route, path.to_owned());
            for (k, v) in query {
                req = req.query(k, v);
            }
            req = req.query("$top", self.page_size).query("$skip", skip);
            if count {
                req = req.query("$count", "true");
            }
            req
        };
        let mut out: Vec<T> = Vec::new();
        let mut count: Option<u64> = None;
        let mut req = page(0, true);
        let mut pages = 0;
        loop {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(ConnectorError::Protocol {
                    host: self.client(host).host().to_owned(),
                    message: format!("{route} did not end after {MAX_PAGES} pages"),
                });
            }
            let env: Envelope<T> = self.send(host, req).await?.json()?;
            count = env.count.or(count);
            let n = env.value.len();
            out.extend(env.value);
            if let Some(next) = env
                .next_link
                .as_deref()
                .filter(|l| !l.is_empty() && n > 0)
                .and_then(|l| self.link_request(host, route, l))
            {
                req = next;
                continue;
            }
            let more = match count {
                Some(total) => n > 0 && (out.len() as u64) < total,
                None => n >= self.page_size,
            };
            if !more {
                break;
            }
            req = page(out.len(), false);
        }
        Ok((out, pages))
    }

    /// The master data, loaded on first use.
    pub(crate) async fn master(&self) -> ConnectorResult<Arc<Master>> {
        self.master
            .get_or_try_init(|| async {
                let (people, activities, projects) = futures::try_join!(
                    self.list_all::<ApiPerson>(Host::Workspace, "GET /People", "/People", &[]),
                    self.list_all::<ApiNamed>(
                        Host::Workspace,
                        "GET /Activities",
                        "/Activities",
                        &[]
                    ),
                    self.list_all::<ApiNamed>(Host::Workspace, "GET /Projects", "/Projects", &[]),
                )?;
                Ok::<_, ConnectorError>(Arc::new(Master {
                    people: people.0,
                    activities: activities
                        .0
                        .into_iter()
                        .map(|a| (a.id.clone(), a))
                        .collect(),
                    projects: projects.0.into_iter().map(|p| (p.id.clone(), p)).collect(),
                }))
            })
            .await
            .cloned()
    }

    /// The punches with these ids that still exist (archived ones included; the caller
    /// decides), twenty ids per request.
    pub(crate) async fn punches_by_ids(&self, ids: &[String]) -> ConnectorResult<Vec<ApiPunch>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(20) {
            let filter = chunk
                .iter()
                .filter(|id| is_guid_like(id))
                .map(|id| format!("id eq {id}"))
                .collect::<Vec<_>>()
                .join(" or ");
            if filter.is_empty() {
                continue;
            }
            let (found, _) = self
                .list_all::<ApiPunch>(
                    Host::TimeTracking,
                    "GET /TimeEntries",
                    "/TimeEntries",
                    &[("$filter", filter)],
                )
                .await?;
            out.extend(found);
        }
        Ok(out)
    }

    async fn check(&self, details: &mut Map<String, Value>) -> Result<String, TestReport> {
        let fail = |step: &str, e: &ConnectorError, d: &Map<String, Value>| {
            TestReport::failed(step, e, Value::Object(d.clone()))
        };
        self.tokens
            .token()
            .await
            .map_err(|e| fail("Getting an access token", &e, details))?;
        details.insert("credentials_sent_as".into(), json!(self.tokens.form()));
        let m = self
            .master()
            .await
            .map_err(|e| fail("Reading the people, activities and projects", &e, details))?;
        let joined = m
            .people
            .iter()
            .filter(|p| p.status.as_deref().is_none_or(|s| s == "Joined"))
            .count();
        details.insert("people".into(), json!(m.people.len()));
        details.insert("people_joined".into(), json!(joined));
        details.insert(
            "people_without_email".into(),
            json!(m.people.iter().filter(|p| p.email.is_none()).count()),
        );
        details.insert("activities".into(), json!(m.activities.len()));
        details.insert("projects".into(), json!(m.projects.len()));
        self.send(
            Host::TimeTracking,
            Request::get("GET /TimeEntries", "/TimeEntries").query("$top", 1),
        )
        .await
        .map_err(|e| fail("Reading one time entry", &e, details))?;
        Ok(format!(
            "Connected to Jibble: {} people ({joined} joined), {} activities, {} projects",
            m.people.len(),
            m.activities.len(),
            m.projects.len()
        ))
    }
}

/// Whether `id` can stand unquoted in a `$filter` (a GUID: hex digits and dashes).
pub(crate) fn is_guid_like(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

#[async_trait]
impl Connector for JibbleConnector {
    fn kind(&self) -> &'static str {
        "jibble"
    }

    async fn test(&self) -> TestReport {
        let mut details = Map::new();
        details.insert("token_url".into(), json!(self.token_url));
        details.insert("workspace_url".into(), json!(self.workspace.base_url()));
        details.insert(
            "time_tracking_url".into(),
            json!(self.time_tracking.base_url()),
        );
        details.insert("client_id".into(), json!(self.client_id));
        match self.check(&mut details).await {
            Ok(message) => TestReport {
                ok: true,
                message,
                details: Value::Object(details),
            },
            Err(report) => report,
        }
    }

    async fn catalog(&self, what: &str) -> ConnectorResult<Vec<CatalogItem>> {
        let m = self.master().await?;
        let named = |list: &HashMap<String, ApiNamed>| -> Vec<CatalogItem> {
            list.values()
                .map(|n| CatalogItem {
                    key: n.id.clone(),
                    label: n.name.clone().unwrap_or_else(|| n.id.clone()),
                    extra: json!({"code": n.code}),
                })
                .collect()
        };
        let mut items = match what {
            "people" => m
                .people
                .iter()
                .map(|p| CatalogItem {
                    key: p.id.clone(),
                    label: p.label(),
                    extra: json!({"email": p.email, "status": p.status}),
                })
                .collect(),
            "activities" => named(&m.activities),
            "projects" => named(&m.projects),
            other => {
                return Err(ConnectorError::NotFound {
                    message: format!(
                        "Jibble has no catalog {other:?} (people, activities, projects)"
                    ),
                });
            }
        };
        items.sort_by_cached_key(|i: &CatalogItem| i.label.to_lowercase());
        Ok(items)
    }

    fn as_source(&self) -> Option<&dyn SourceConnector> {
        Some(self)
    }
}
