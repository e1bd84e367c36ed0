//! The Slack connector: posts notifications to an incoming webhook or with a bot token
//! (`chat.postMessage`), checks the token with `auth.test`, lists channels
//! (`conversations.list`), and reads Slack's errors — plain-text bodies of the incoming
//! webhook, `{"ok":false,"error":…}` in an HTTP 200 of the Web API — into
//! [`ConnectorError`]s by their code.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use timebridge_core::notify::Notification;

use crate::connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, Delivered, Notifier, TestReport,
};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{ErrorContext, HttpClient, HttpSettings, Request, error_message};

/// Where messages go.
#[derive(Debug, Clone)]
enum Mode {
    /// An incoming webhook: the client talks to the hook's host, `path` is its secret path.
    Webhook { client: HttpClient, path: String },
    /// The Web API with a bot token, posting to `channel`.
    Bot {
        client: HttpClient,
        channel: Option<String>,
    },
}

/// A configured Slack notifier.
#[derive(Debug, Clone)]
pub struct SlackConnector {
    mode: Mode,
}

impl SlackConnector {
    /// The registry's constructor.
    pub fn build(
        config: ConnectorConfig,
        ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        Ok(Arc::new(Self::new(config, ctx)?))
    }

    /// Builds the connector: webhook mode when `webhook_url` is set, else bot mode.
    pub fn new(config: ConnectorConfig, ctx: &ConnectorContext) -> ConnectorResult<Self> {
        let mut http = HttpSettings::from_settings(&config.settings);
        http.retry = ctx.notifier_retry();
        if let Some(hook) = config.secrets.get("webhook_url") {
            let url = reqwest::Url::parse(hook.expose_secret().trim())
                .map_err(|_| ConnectorError::Config("settings.webhook_url is not a URL".into()))?;
            if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
                return Err(ConnectorError::Config(
                    "settings.webhook_url must be an https URL".into(),
                ));
            }
            let host = url.host_str().unwrap_or_default();
            let base = match url.port() {
                Some(p) => format!("{}://{host}:{p}", url.scheme()),
                None => format!("{}://{host}", url.scheme()),
            };
            let path = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            let client = HttpClient::builder(&base, &config.name)
                .settings(http)
                .metrics(ctx.metrics.clone())
                .sleeper(ctx.sleeper.clone())
                .error_mapper(webhook_error)
                .build()?;
            return Ok(Self {
                mode: Mode::Webhook { client, path },
            });
        }
        let token = config.api_token.expose_secret().trim().to_owned();
        if token.is_empty() {
            return Err(ConnectorError::Config(
                "neither settings.webhook_url nor a bot token (api_token, xoxb-…) is set".into(),
            ));
        }
        let client = HttpClient::builder(&config.base_url, &config.name)
            .auth_header(
                "authorization",
                SecretString::from(format!("Bearer {token}")),
            )
            .settings(http)
            .metrics(ctx.metrics.clone())
            .sleeper(ctx.sleeper.clone())
            .error_mapper(api_error)
            .build()?;
        let channel = config.settings["channel"]
            .as_str()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| c.trim_start_matches('#').to_owned());
        Ok(Self {
            mode: Mode::Bot { client, channel },
        })
    }

    /// Calls a Web API method and returns its body when `ok` is true; `ok: false` is read
    /// by its error code.
    async fn call(client: &HttpClient, req: Request) -> ConnectorResult<Value> {
        let resp = client.send(req).await?;
        let body: Value = resp.json()?;
        if body["ok"].as_bool() == Some(true) {
            return Ok(body);
        }
        let code = body["error"].as_str().unwrap_or("unknown_error");
        Err(api_code_error(client.host(), code, &body))
    }
}

/// The error for a Web API error code (`{"ok":false,"error":code}`).
fn api_code_error(host: &str, code: &str, body: &Value) -> ConnectorError {
    let message = match (body["needed"].as_str(), body["provided"].as_str()) {
        (Some(needed), Some(provided)) => {
            format!("{code} (needed {needed}, the token has {provided})")
        }
        _ => code.to_owned(),
    };
    match code {
        "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked" | "token_expired" => {
            ConnectorError::Unauthorized {
                status: 200,
                message,
            }
        }
        "missing_scope" | "not_in_channel" | "restricted_action" | "ekm_access_denied" => {
            ConnectorError::Forbidden { message }
        }
        "channel_not_found" | "is_archived" => ConnectorError::NotFound { message },
        "ratelimited" | "rate_limited" => ConnectorError::RateLimited {
            retry_after_secs: 1,
        },
        "msg_too_long"
        | "no_text"
        | "invalid_blocks"
        | "invalid_blocks_format"
        | "too_many_attachments" => ConnectorError::Rejected {
            message,
            fields: Default::default(),
        },
        _ => ConnectorError::Remote {
            host: host.to_owned(),
            status: 200,
            message,
        },
    }
}

/// A non-2xx answer of the Web API (429 is read by the client itself).
fn api_error(ctx: &ErrorContext<'_>) -> ConnectorError {
    let body: Value = serde_json::from_slice(ctx.body).unwrap_or(Value::Null);
    match body["error"].as_str() {
        Some(code) if ctx.status < 500 => api_code_error(ctx.host, code, &body),
        _ => crate::http::default_error(ctx),
    }
}

/// A non-2xx answer of an incoming webhook: a plain-text code. 403/404/410 are final
/// (the hook or channel is gone); other codes Slack may add later are read by status.
fn webhook_error(ctx: &ErrorContext<'_>) -> ConnectorError {
    let code = error_message(ctx.status, ctx.body);
    match ctx.status {
        400 => ConnectorError::Rejected {
            message: code,
            fields: Default::default(),
        },
        401 | 403 => ConnectorError::Forbidden { message: code },
        404 | 410 => ConnectorError::NotFound { message: code },
        status => ConnectorError::Remote {
            host: ctx.host.to_owned(),
            status,
            message: code,
        },
    }
}

#[async_trait]
impl Connector for SlackConnector {
    fn kind(&self) -> &'static str {
        "slack"
    }

    async fn test(&self) -> TestReport {
        match &self.mode {
            // An incoming webhook has no read-only call: the test message the API sends
            // after this check is the test.
            Mode::Webhook { .. } => TestReport {
                ok: true,
                message: "Incoming webhook configured; a test message shows whether it works."
                    .into(),
                details: json!({"mode": "incoming_webhook"}),
            },
            Mode::Bot { client, channel } => {
                let details = json!({"mode": "bot", "channel": channel});
                let auth = match Self::call(
                    client,
                    Request::post("POST /auth.test", "/auth.test", json!({})).idempotent(true),
                )
                .await
                {
                    Ok(a) => a,
                    Err(e) => return TestReport::failed("auth.test", &e, details),
                };
                if channel.is_none() {
                    let e = ConnectorError::Config(
                        "settings.channel is empty: which channel should messages go to?".into(),
                    );
                    return TestReport::failed("channel", &e, details);
                }
                TestReport {
                    ok: true,
                    message: format!(
                        "Signed in to {} as {}.",
                        auth["team"].as_str().unwrap_or("the workspace"),
                        auth["user"].as_str().unwrap_or("the bot")
                    ),
                    details: json!({"mode": "bot", "channel": channel, "team": auth["team"],
                                    "user": auth["user"], "bot_id": auth["bot_id"]}),
                }
            }
        }
    }

    async fn catalog(&self, what: &str) -> ConnectorResult<Vec<CatalogItem>> {
        if what != "channels" {
            return Err(ConnectorError::NotFound {
                message: format!("catalog {what}"),
            });
        }
        let Mode::Bot { client, .. } = &self.mode else {
            return Err(ConnectorError::Config(
                "the channel list needs a bot token; an incoming webhook posts to its own channel"
                    .into(),
            ));
        };
        let mut items = Vec::new();
        let mut cursor = String::new();
        loop {
            let mut req = Request::get("GET /conversations.list", "/conversations.list")
                .query("limit", 200)
                .query("exclude_archived", "true")
                .query("types", "public_channel,private_channel");
            if !cursor.is_empty() {
                req = req.query("cursor", &cursor);
            }
            let page = Self::call(client, req).await?;
            for c in page["channels"].as_array().into_iter().flatten() {
                let (Some(id), Some(name)) = (c["id"].as_str(), c["name"].as_str()) else {
                    continue;
                };
                items.push(CatalogItem {
                    key: id.to_owned(),
                    label: format!("#{name}"),
                    extra: json!({"is_private": c["is_private"], "is_member": c["is_member"]}),
                });
            }
            cursor = page["response_metadata"]["next_cursor"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if cursor.is_empty() {
                break;
            }
        }
        items.sort_by(|a, b| a.label.cmp(&b.label));
        Ok(items)
    }

    fn as_notifier(&self) -> Option<&dyn Notifier> {
        Some(self)
    }
}

#[async_trait]
impl Notifier for SlackConnector {
    async fn deliver(&self, n: &Notification) -> ConnectorResult<Delivered> {
        let message = super::blocks::message(n);
        match &self.mode {
            Mode::Webhook { client, path } => {
                let resp = client
                    .send(Request::post(
                        "POST /services/{hook}",
                        path.clone(),
                        message,
                    ))
                    .await?;
                Ok(Delivered {
                    details: json!({"mode": "incoming_webhook", "status": resp.status}),
                })
            }
            Mode::Bot { client, channel } => {
                let channel = channel
                    .as_deref()
                    .ok_or_else(|| ConnectorError::Config("settings.channel is empty".into()))?;
                let mut body = message;
                body["channel"] = json!(channel);
                body["unfurl_links"] = json!(false);
                let answer = Self::call(
                    client,
                    Request::post("POST /chat.postMessage", "/chat.postMessage", body),
                )
                .await?;
                Ok(Delivered {
                    details: json!({"mode": "bot", "channel": answer["channel"],
                                    "ts": answer["ts"]}),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_api_codes_are_read_by_their_meaning() {
        let body = json!({"ok": false, "error": "missing_scope", "needed": "chat:write",
                          "provided": "channels:read"});
        let e = api_code_error("slack.com", "missing_scope", &body);
        assert!(matches!(e, ConnectorError::Forbidden { .. }));
        assert!(e.to_string().contains("needed chat:write"), "{e}");
        assert!(matches!(
            api_code_error("slack.com", "invalid_auth", &Value::Null),
            ConnectorError::Unauthorized { .. }
        ));
        assert!(matches!(
            api_code_error("slack.com", "channel_not_found", &Value::Null),
            ConnectorError::NotFound { .. }
        ));
        assert!(matches!(
            api_code_error("slack.com", "ratelimited", &Value::Null),
            ConnectorError::RateLimited { .. }
        ));
        // A code nobody knows yet is a remote error, never an unknown outcome.
        let e = api_code_error("slack.com", "team_added_to_org", &Value::Null);
        assert!(!e.outcome_unknown());
    }
}
