//! Slack as a notifier: messages in Block Kit with a plain-text fallback, posted to an
//! incoming webhook (the URL is the credential; errors are plain-text bodies with a 4xx/5xx
//! status) or with a bot token through `chat.postMessage` (errors come as
//! `{"ok":false,"error":…}` inside an HTTP 200); and the slash command
//! `/timebridge status|conflicts|sync <pipeline>|help`, signed with the app's signing
//! secret (external-apis-v2.md §6).

mod blocks;
pub mod command;
mod notifier;

use serde_json::json;

pub use notifier::SlackConnector;

use crate::registry::{
    DimensionCatalogs, Dimensions, Feature, KindInfo, Role, WebhookSpec, with_transport_settings,
};

/// The registry entry of the `slack` kind.
pub fn kind() -> KindInfo {
    KindInfo {
        kind: "slack",
        label: "Slack",
        roles: vec![Role::Notifier],
        features: vec![Feature::Webhook],
        dimensions: Dimensions {
            activity: None,
            project: None,
            user: None,
        },
        settings_schema: with_transport_settings(json!({
            "webhook_url": {"type": "string", "writeOnly": true, "minLength": 12,
                "title": "Incoming webhook URL (https://hooks.slack.com/services/…); \
                          leave empty to post with a bot token instead"},
            "channel": {"type": ["string", "null"], "default": null,
                "title": "Channel (bot token): a channel id such as C0123456789, or #name"},
            "signing_secret": {"type": "string", "writeOnly": true, "minLength": 8,
                "title": "Signing secret of the Slack app (for the /timebridge slash command)"},
            "max_requests_per_second": {"type": ["number", "null"], "exclusiveMinimum": 0,
                "default": 1,
                "title": "Request rate limit (Slack allows about one message per second)"}
        })),
        secret_settings: vec!["webhook_url", "signing_secret"],
        catalogs: &["channels"],
        dimension_catalogs: DimensionCatalogs {
            activity: None,
            project: None,
            user: None,
        },
        webhook: Some(WebhookSpec {
            signature: "X-Slack-Signature: v0=<hex HMAC-SHA256 of \"v0:{X-Slack-Request-Timestamp}:{raw body}\"> \
                        with the signing secret; a timestamp more than 300 s away is refused",
            secret_setting: "signing_secret",
            protocol: &command::SlackCommand,
        }),
        rounds_itself: None,
        build: SlackConnector::build,
    }
}
