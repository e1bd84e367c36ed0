//! Zammad 6.x as a source: time accountings with their tickets, agents, organizations and
//! types, normalised into [`timebridge_core::entry::Entry`].

mod memory;
mod normalize;
mod source;
pub mod webhook;

use serde_json::json;

pub use source::ZammadConnector;

use crate::registry::{
    DimensionCatalogs, Dimensions, Feature, KindInfo, Role, WebhookSpec, with_transport_settings,
};

/// The registry entry of the `zammad` kind.
pub fn kind() -> KindInfo {
    KindInfo {
        kind: "zammad",
        label: "Zammad",
        roles: vec![Role::Source],
        features: vec![Feature::Webhook],
        dimensions: Dimensions {
            activity: Some("type"),
            project: Some("organization"),
            user: Some("agent"),
        },
        settings_schema: with_transport_settings(json!({
            "time_unit_minutes": {"type": "number", "exclusiveMinimum": 0, "default": 1.0,
                "title": "Minutes per Zammad time unit"},
            "time_placement": {"type": "string", "enum": ["end_at_created", "begin_at_created"],
                "default": "end_at_created",
                "title": "Place the entry so that it ends (or begins) when it was booked"},
            "read_all_accountings": {"type": "boolean", "default": false,
                "title": "Read every time accounting on each run (only for a Zammad whose \
                          accountings were imported with dates out of order)"},
            "webhook_secret": {"type": "string", "writeOnly": true, "minLength": 8,
                "title": "Webhook signature token"}
        })),
        secret_settings: vec!["webhook_secret"],
        catalogs: &["types", "organizations", "agents"],
        dimension_catalogs: DimensionCatalogs {
            activity: Some("types"),
            project: Some("organizations"),
            user: Some("agents"),
        },
        webhook: Some(WebhookSpec {
            signature: "X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>",
            secret_setting: "webhook_secret",
            protocol: &webhook::ZammadWebhook,
        }),
        rounds_itself: None,
        build: ZammadConnector::build,
    }
}
