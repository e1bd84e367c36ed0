//! Chat commands (a Slack slash command): typed commands in, typed replies out.
//!
//! A kind whose webhook calls are commands rather than change notices returns a
//! [`CommandProtocol`] from [`crate::WebhookProtocol::as_command`]. The server then verifies
//! the call with the clock it owns (replay window), parses it into a [`ChatCommand`],
//! answers it from its own data as a [`CommandReply`], and lets the protocol render the
//! reply in the kind's format. The server never sees the chat system's wire format, and
//! the connector never sees the database.

use chrono::{DateTime, Utc};
use http::HeaderMap;
use serde_json::Value;

use crate::webhook::WebhookRejection;

/// What a person asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatCommand {
    /// Every pipeline with its last run and open conflicts.
    Status,
    /// Open conflicts per pipeline.
    Conflicts,
    /// Queue a manual run of the pipeline with this name or id.
    Sync { pipeline: String },
    /// What the command can do.
    Help,
    /// Anything else (answered with the help and what was not understood).
    Unknown { text: String },
}

impl ChatCommand {
    /// Reads the text after the command (`status`, `sync Zammad → Kimai`, …); words are
    /// case-insensitive, a pipeline name is kept as typed.
    pub fn parse(text: &str) -> ChatCommand {
        let text = text.trim();
        let (word, rest) = match text.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (text, ""),
        };
        match word.to_ascii_lowercase().as_str() {
            "" | "help" => ChatCommand::Help,
            "status" if rest.is_empty() => ChatCommand::Status,
            "conflicts" if rest.is_empty() => ChatCommand::Conflicts,
            "sync" if !rest.is_empty() => ChatCommand::Sync {
                pipeline: rest.to_owned(),
            },
            _ => ChatCommand::Unknown {
                text: text.to_owned(),
            },
        }
    }
}

/// A verified call, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandCall {
    pub command: ChatCommand,
    /// Who typed it (the chat system's user name or id), for the audit trail.
    pub user: Option<String>,
}

/// One pipeline in a `status` or `conflicts` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineLine {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    /// The last finished run's status (`succeeded`, `partial`, `failed`) and end.
    pub last_status: Option<String>,
    pub last_finished_at: Option<DateTime<Utc>>,
    /// Whether a run is queued or running now.
    pub active: bool,
    pub open_conflicts: u64,
    /// The pipeline's page in the UI.
    pub url: String,
}

/// The server's answer to a command, rendered by the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandReply {
    Status {
        pipelines: Vec<PipelineLine>,
    },
    Conflicts {
        pipelines: Vec<PipelineLine>,
        url: String,
    },
    /// A manual run was queued (or one was already queued or running: `already`).
    SyncQueued {
        pipeline: String,
        run_id: i64,
        already: bool,
        url: String,
    },
    /// No pipeline has that name or id.
    NoSuchPipeline {
        asked: String,
        known: Vec<String>,
    },
    Help,
    /// Not understood; the help follows.
    Unknown {
        text: String,
    },
}

/// A kind's command protocol; implemented in the kind's folder.
pub trait CommandProtocol: std::fmt::Debug + Send + Sync {
    /// Checks the call's signature over the raw `body` with `secret` and that it was made
    /// close enough to `now` (a replay window). Missing → [`WebhookRejection::Unsigned`],
    /// wrong, malformed or stale → [`WebhookRejection::BadSignature`].
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secret: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookRejection>;

    /// Reads a verified call.
    fn parse(&self, headers: &HeaderMap, body: &[u8]) -> Result<CommandCall, WebhookRejection>;

    /// The JSON answer the chat system shows.
    fn render(&self, reply: &CommandReply) -> Value;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_their_word_and_keep_the_pipeline_name() {
        assert_eq!(ChatCommand::parse(""), ChatCommand::Help);
        assert_eq!(ChatCommand::parse(" HELP "), ChatCommand::Help);
        assert_eq!(ChatCommand::parse("status"), ChatCommand::Status);
        assert_eq!(ChatCommand::parse("Conflicts"), ChatCommand::Conflicts);
        assert_eq!(
            ChatCommand::parse("sync  Zammad → Kimai "),
            ChatCommand::Sync {
                pipeline: "Zammad → Kimai".into()
            }
        );
        assert_eq!(
            ChatCommand::parse("sync"),
            ChatCommand::Unknown {
                text: "sync".into()
            }
        );
        assert_eq!(
            ChatCommand::parse("status now"),
            ChatCommand::Unknown {
                text: "status now".into()
            }
        );
    }
}
