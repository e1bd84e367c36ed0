//! The Slack simulator (external-apis-v2.md §6): an incoming webhook
//! (`POST /services/T…/B…/<secret>`, answers `ok` as text/plain, errors as plain-text codes
//! with a 4xx status), the Web API methods a notifier uses under `/api` — `auth.test`,
//! `chat.postMessage` (failures as `{"ok":false,"error":…}` inside an HTTP 200),
//! `conversations.list` — with the channel catalog, the v1 fault injection (a 429 answers
//! `{"ok":false,"error":"ratelimited"}` with `Retry-After`), a record of every message
//! received (`GET /_sim/messages`, [`SlackControl::messages`]) and an HTML page at `/`
//! showing them: the demo's "Slack-like sink". It can also send a signed slash command
//! ([`SlackControl::send_command`]), as Slack does when someone types `/timebridge …`.
//!
//! Documented choices where the facts leave room (UNCONFIRMED there): an unknown hook
//! path answers 404 `no_service`; [`SlackControl::set_hook_error`] makes the hook answer a
//! given status and code (e.g. 410 `channel_is_archived`); a channel the bot is not a
//! member of is posted to anyway (as with `chat:write.public`).

mod page;
mod routes;

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::faults::{Faults, Flavor, Infra, RequestLog};
use crate::server::Running;
use crate::{SimError, SimOptions};

/// How a message arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The incoming webhook.
    IncomingWebhook,
    /// `chat.postMessage` with the bot token.
    PostMessage,
}

/// One message the simulator accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlackMessage {
    /// How it arrived.
    pub via: Via,
    /// The channel id it was posted to.
    pub channel: String,
    /// The `text` (with blocks: the notification fallback).
    pub text: String,
    /// The Block Kit blocks, `null` when none were sent.
    pub blocks: Value,
    /// The message's `ts`.
    pub ts: String,
    /// When the simulator got it (its clock).
    pub received_at: DateTime<Utc>,
}

/// A channel of the workspace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Channel {
    /// `C…` (public) or `G…` (private).
    pub id: String,
    /// The name without `#`.
    pub name: String,
    /// A private channel.
    pub is_private: bool,
    /// Archived: posts are refused with `is_archived`.
    pub is_archived: bool,
}

#[derive(Debug)]
pub(crate) struct SState {
    pub channels: Vec<Channel>,
    pub messages: Vec<SlackMessage>,
    /// The channel the incoming webhook posts to.
    pub hook_channel: String,
    /// `(status, code)` the incoming webhook answers instead of accepting.
    pub hook_error: Option<(u16, String)>,
    /// Messages posted so far (for `ts`).
    pub seq: u64,
}

/// A cloneable handle on the simulator's state, faults, log and clock.
#[derive(Debug, Clone)]
pub struct SlackControl {
    pub(crate) state: Arc<Mutex<SState>>,
    pub(crate) infra: Infra,
    pub(crate) clock: Clock,
    /// The bot token `chat.postMessage` accepts (`Authorization: Bearer …`).
    pub bot_token: String,
    /// The secret last part of the incoming webhook's path.
    pub hook_secret: String,
}

/// The team and bot the simulator pretends to be.
pub const TEAM: &str = "timebridge-demo";
/// The bot user's name.
pub const BOT_USER: &str = "timebridge";

impl SlackControl {
    fn new(opts: &SimOptions) -> Self {
        let hook_secret = hex::encode(&Sha256::digest(format!("hook:{}", opts.token))[..12]);
        let channels = vec![
            Channel {
                id: "C0TBGENERAL".into(),
                name: "general".into(),
                is_private: false,
                is_archived: false,
            },
            Channel {
                id: "C0TIMEBRDG1".into(),
                name: "timebridge".into(),
                is_private: false,
                is_archived: false,
            },
            Channel {
                id: "G0BILLING01".into(),
                name: "billing".into(),
                is_private: true,
                is_archived: false,
            },
            Channel {
                id: "C0OLDPROJ01".into(),
                name: "old-project".into(),
                is_private: false,
                is_archived: true,
            },
        ];
        SlackControl {
            state: Arc::new(Mutex::new(SState {
                channels,
                messages: Vec::new(),
                hook_channel: "C0TIMEBRDG1".into(),
                hook_error: None,
                seq: 0,
            })),
            infra: Infra::new(opts.rng_seed, opts.latency, Flavor::Slack),
            clock: {
                let now = opts.now.unwrap_or_else(crate::default_now);
                if opts.running_clock {
                    Clock::running(now)
                } else {
                    Clock::fixed(now)
                }
            },
            bot_token: opts.token.clone(),
            hook_secret,
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, SState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<SlackMessage> {
        self.lock().messages.clone()
    }

    /// The workspace's channels.
    pub fn channels(&self) -> Vec<Channel> {
        self.lock().channels.clone()
    }

    /// Makes the incoming webhook answer `status` with the plain-text `code` (e.g. 410
    /// `channel_is_archived`); `None` accepts again.
    pub fn set_hook_error(&self, error: Option<(u16, &str)>) {
        self.lock().hook_error = error.map(|(s, c)| (s, c.to_owned()));
    }

    /// Fault injection (routes `POST /api/chat.postMessage`, `POST /services/{team}/{bot}/{secret}`, …).
    pub fn faults(&self) -> &Faults {
        &self.infra.faults
    }

    /// The request log.
    pub fn log(&self) -> &RequestLog {
        &self.infra.log
    }

    /// The simulator's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Sends a slash command as Slack does: form-encoded, signed with `signing_secret`
    /// (`X-Slack-Signature: v0=…` over `v0:{timestamp}:{body}`), stamped `timestamp`
    /// (Unix seconds; `None`: now). Returns the status and the body of the answer.
    pub async fn send_command(
        &self,
        url: &str,
        signing_secret: &str,
        text: &str,
        timestamp: Option<i64>,
    ) -> Result<(u16, String), SimError> {
        let timestamp = timestamp.unwrap_or_else(|| Utc::now().timestamp());
        let body = form_body(&[
            ("token", "deprecated-verification-token"),
            ("team_id", "T0TIMEBRDG"),
            ("team_domain", TEAM),
            ("channel_id", "C0TIMEBRDG1"),
            ("channel_name", "timebridge"),
            ("user_id", "U0ADA00001"),
            ("user_name", "ada"),
            ("command", "/timebridge"),
            ("text", text),
            (
                "response_url",
                "https://hooks.slack.invalid/commands/T0TIMEBRDG/1/x",
            ),
            ("trigger_id", "1.2.3"),
        ]);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(signing_secret.as_bytes())
            .map_err(|e| SimError::Invalid(e.to_string()))?;
        mac.update(format!("v0:{timestamp}:{body}").as_bytes());
        let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
        let resp = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", timestamp.to_string())
            .header("x-slack-signature", signature)
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await?))
    }
}

/// `application/x-www-form-urlencoded` of `pairs`.
fn form_body(pairs: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A running Slack simulator. Dereferences to its [`SlackControl`]; stops on drop.
#[derive(Debug)]
pub struct SlackSim {
    /// Base URL, e.g. `http://127.0.0.1:41234`; the page of received messages is at `/`.
    pub url: String,
    control: SlackControl,
    running: Running,
}

impl SlackSim {
    /// Starts serving on 127.0.0.1; `opts.token` is the bot token.
    pub async fn start(opts: SimOptions) -> Result<Self, SimError> {
        let control = SlackControl::new(&opts);
        let running = Running::bind(opts.port, routes::router(control.clone())).await?;
        Ok(Self {
            url: running.url(),
            control,
            running,
        })
    }

    /// The Web API base (`<url>/api`), a bot-mode connector's `base_url`.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.url)
    }

    /// The incoming webhook's URL (a secret, like Slack's).
    pub fn webhook_url(&self) -> String {
        format!(
            "{}/services/T0TIMEBRDG/B0TIMEBRDG/{}",
            self.url, self.control.hook_secret
        )
    }

    /// A cloneable handle on the state.
    pub fn control(&self) -> SlackControl {
        self.control.clone()
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

impl std::ops::Deref for SlackSim {
    type Target = SlackControl;
    fn deref(&self) -> &SlackControl {
        &self.control
    }
}
