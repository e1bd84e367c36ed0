//! The `/timebridge` slash command: Slack posts it form-encoded (`command`, `text`,
//! `user_name`, …) and signs it with the app's signing secret:
//! `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{raw body}">`.
//! A timestamp more than 300 s from now is refused (replay). The answer is JSON Slack shows
//! to the person who typed the command (`ephemeral`) or, for a queued sync, to the channel.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde_json::{Value, json};
use sha2::Sha256;

use super::blocks::escape;
use crate::command::{ChatCommand, CommandCall, CommandProtocol, CommandReply, PipelineLine};
use crate::webhook::{WebhookCall, WebhookProtocol, WebhookRejection, WebhookScope, header_str};

const SIGNATURE: &str = "X-Slack-Signature";
const TIMESTAMP: &str = "X-Slack-Request-Timestamp";

/// How far a request's timestamp may be from now, in seconds.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// The `slack` command protocol.
#[derive(Debug, Clone, Copy)]
pub struct SlackCommand;

/// The `v0=` signature of `body` sent at `timestamp`, as Slack computes it.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl CommandProtocol for SlackCommand {
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secret: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookRejection> {
        let signature = header_str(headers, &SIGNATURE.to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .ok_or(WebhookRejection::Unsigned { header: SIGNATURE })?;
        let stale = WebhookRejection::BadSignature { header: TIMESTAMP };
        let timestamp: i64 = header_str(headers, &TIMESTAMP.to_ascii_lowercase())
            .ok_or(WebhookRejection::Unsigned { header: TIMESTAMP })?
            .parse()
            .map_err(|_| stale.clone())?;
        if (now.timestamp() - timestamp).abs() > REPLAY_WINDOW_SECS {
            return Err(stale);
        }
        let bad = WebhookRejection::BadSignature { header: SIGNATURE };
        let hex_sig = signature.strip_prefix("v0=").ok_or_else(|| bad.clone())?;
        let sig = hex::decode(hex_sig).map_err(|_| bad.clone())?;
        if secret.is_empty() {
            return Err(WebhookRejection::NoSecret);
        }
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| bad.clone())?;
        mac.update(format!("v0:{timestamp}:").as_bytes());
        mac.update(body);
        mac.verify_slice(&sig).map_err(|_| bad)
    }

    fn parse(&self, _headers: &HeaderMap, body: &[u8]) -> Result<CommandCall, WebhookRejection> {
        let form = form(body);
        if field(&form, "command").is_none() {
            return Err(WebhookRejection::MissingField { field: "command" });
        }
        let text = field(&form, "text").unwrap_or_default();
        Ok(CommandCall {
            command: ChatCommand::parse(text),
            user: field(&form, "user_name")
                .or_else(|| field(&form, "user_id"))
                .map(str::to_owned),
        })
    }

    fn render(&self, reply: &CommandReply) -> Value {
        let (in_channel, text) = match reply {
            CommandReply::Status { pipelines } if pipelines.is_empty() => {
                (false, "No pipelines are configured yet.".to_owned())
            }
            CommandReply::Status { pipelines } => {
                let lines: Vec<String> = pipelines.iter().map(status_line).collect();
                (false, format!("*Pipelines*\n{}", lines.join("\n")))
            }
            CommandReply::Conflicts { pipelines, url } => {
                let total: u64 = pipelines.iter().map(|p| p.open_conflicts).sum();
                let lines: Vec<String> = pipelines
                    .iter()
                    .filter(|p| p.open_conflicts > 0)
                    .map(|p| format!("• <{}|{}>: {}", p.url, escape(&p.name), p.open_conflicts))
                    .collect();
                if total == 0 {
                    (false, "No open conflicts.".to_owned())
                } else {
                    (
                        false,
                        format!(
                            "*{total} open conflicts* (<{url}|resolve them>)\n{}",
                            lines.join("\n")
                        ),
                    )
                }
            }
            CommandReply::SyncQueued {
                pipeline,
                run_id,
                already,
                url,
            } => (
                true,
                if *already {
                    format!(
                        "A sync of *{}* is already queued or running: <{url}|run #{run_id}>.",
                        escape(pipeline)
                    )
                } else {
                    format!(
                        "Sync of *{}* queued: <{url}|run #{run_id}>.",
                        escape(pipeline)
                    )
                },
            ),
            CommandReply::NoSuchPipeline { asked, known } => (
                false,
                format!(
                    "No pipeline is called or numbered `{}`. Pipelines: {}.",
                    escape(asked),
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known
                            .iter()
                            .map(|k| format!("`{}`", escape(k)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            ),
            CommandReply::Help => (false, HELP.to_owned()),
            CommandReply::Unknown { text } => (
                false,
                format!("I did not understand `{}`.\n{HELP}", escape(text)),
            ),
        };
        json!({
            "response_type": if in_channel { "in_channel" } else { "ephemeral" },
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        })
    }
}

const HELP: &str = "*timebridge* commands:\n\
• `/timebridge status`: every pipeline, its last run and open conflicts\n\
• `/timebridge conflicts`: open conflicts per pipeline\n\
• `/timebridge sync <pipeline name or id>`: start a sync now\n\
• `/timebridge help`: this text";

fn status_line(p: &PipelineLine) -> String {
    let state = match (&p.last_status, p.active) {
        (_, true) => "syncing now".to_owned(),
        (Some(s), false) => match p.last_finished_at {
            Some(at) => format!("last run {s} at {}", at.format("%Y-%m-%d %H:%M UTC")),
            None => format!("last run {s}"),
        },
        (None, false) => "never synced".to_owned(),
    };
    let enabled = if p.enabled { "" } else { " (disabled)" };
    format!(
        "• <{}|{}>{enabled}: {state}; {} open conflicts",
        p.url,
        escape(&p.name),
        p.open_conflicts
    )
}

impl WebhookProtocol for SlackCommand {
    /// The generic check, with the wall clock; the server uses [`CommandProtocol::verify`]
    /// with its own clock instead (see [`WebhookProtocol::as_command`]).
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secret: &[u8],
    ) -> Result<(), WebhookRejection> {
        CommandProtocol::verify(self, headers, body, secret, Utc::now())
    }

    fn parse(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookCall, WebhookRejection> {
        let call = CommandProtocol::parse(self, headers, body)?;
        Ok(WebhookCall {
            delivery_id: None,
            scope: WebhookScope::Everything,
            event: Some(format!("{:?}", call.command)),
            acknowledge_only: true,
        })
    }

    fn as_command(&self) -> Option<&dyn CommandProtocol> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use http::HeaderValue;

    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const BODY: &[u8] =
        b"token=x&team_id=T1&user_name=ada&command=%2Ftimebridge&text=sync+Zammad+%E2%86%92+Kimai";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 4, 1, 8, 0, 0).unwrap()
    }

    fn headers(ts: i64, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "x-slack-request-timestamp",
            HeaderValue::from_str(&ts.to_string()).unwrap(),
        );
        h.insert("x-slack-signature", HeaderValue::from_str(sig).unwrap());
        h
    }

    #[test]
    fn slacks_published_example_signature_verifies() {
        // The example of Slack's "Verifying requests from Slack" guide.
        let secret = b"8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            sign(secret, 1531420618, body),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }

    #[test]
    fn a_signed_fresh_call_is_accepted_and_parsed() {
        let ts = now().timestamp() - 20;
        let h = headers(ts, &sign(SECRET, ts, BODY));
        assert_eq!(
            CommandProtocol::verify(&SlackCommand, &h, BODY, SECRET, now()),
            Ok(())
        );
        let call = CommandProtocol::parse(&SlackCommand, &h, BODY).unwrap();
        assert_eq!(
            call.command,
            ChatCommand::Sync {
                pipeline: "Zammad → Kimai".into()
            }
        );
        assert_eq!(call.user.as_deref(), Some("ada"));
    }

    #[test]
    fn forged_stale_and_unsigned_calls_are_refused() {
        let ts = now().timestamp();
        let forged = headers(ts, &sign(b"another secret", ts, BODY));
        assert_eq!(
            CommandProtocol::verify(&SlackCommand, &forged, BODY, SECRET, now()),
            Err(WebhookRejection::BadSignature { header: SIGNATURE })
        );
        let old = ts - REPLAY_WINDOW_SECS - 1;
        let stale = headers(old, &sign(SECRET, old, BODY));
        assert_eq!(
            CommandProtocol::verify(&SlackCommand, &stale, BODY, SECRET, now()),
            Err(WebhookRejection::BadSignature { header: TIMESTAMP })
        );
        let future = ts + REPLAY_WINDOW_SECS + 1;
        let ahead = headers(future, &sign(SECRET, future, BODY));
        assert!(CommandProtocol::verify(&SlackCommand, &ahead, BODY, SECRET, now()).is_err());
        let tampered = headers(ts, &sign(SECRET, ts, BODY));
        assert!(
            CommandProtocol::verify(&SlackCommand, &tampered, b"text=status", SECRET, now())
                .is_err()
        );
        assert_eq!(
            CommandProtocol::verify(&SlackCommand, &HeaderMap::new(), BODY, SECRET, now()),
            Err(WebhookRejection::Unsigned { header: SIGNATURE })
        );
    }

    #[test]
    fn replies_render_as_slack_json() {
        let r = SlackCommand.render(&CommandReply::SyncQueued {
            pipeline: "P".into(),
            run_id: 9,
            already: false,
            url: "http://tb/runs/9".into(),
        });
        assert_eq!(r["response_type"], "in_channel");
        assert!(r["text"].as_str().unwrap().contains("run #9"));
        let r = SlackCommand.render(&CommandReply::Help);
        assert_eq!(r["response_type"], "ephemeral");
        assert!(r["text"].as_str().unwrap().contains("/timebridge sync"));
    }
}
