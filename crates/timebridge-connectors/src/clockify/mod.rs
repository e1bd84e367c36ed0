//! Clockify (REST API v1) as a source and a target: time entries of one workspace read by
//! user and window (padded by a day on each side and filtered here, because Clockify may
//! read the window as wall clock in the account's zone), written with the link marker in
//! the description, for the token's user or another member; projects created under a
//! client for project mirroring; webhooks signed with the webhook's token.

mod api;
mod connector;
mod source;
mod target;
pub mod webhook;

use serde_json::json;

pub use connector::ClockifyConnector;

use crate::registry::{
    DimensionCatalogs, Dimensions, Feature, KindInfo, Role, WebhookSpec, with_transport_settings,
};

/// The registry entry of the `clockify` kind.
pub fn kind() -> KindInfo {
    KindInfo {
        kind: "clockify",
        label: "Clockify",
        roles: vec![Role::Source, Role::Target],
        features: vec![
            Feature::Webhook,
            Feature::RunningEntries,
            Feature::CreateProjects,
        ],
        dimensions: Dimensions {
            activity: Some("task"),
            project: Some("project"),
            user: Some("user"),
        },
        settings_schema: with_transport_settings(json!({
            "workspace_id": {"type": "string", "minLength": 1,
                "title": "Workspace id (Clockify: workspace settings, or GET /workspaces)"},
            "user_ids": {"type": ["string", "null"], "default": null,
                "title": "As a source: ids of the users whose entries are read, separated by \
                          commas (empty: every user of the workspace)"},
            "auth_header": {"type": "string", "enum": ["X-Api-Key", "X-Addon-Token"],
                "default": "X-Api-Key",
                "title": "How the token is sent: a personal API key or an add-on token"},
            "max_requests_per_second": {"type": ["number", "null"], "exclusiveMinimum": 0,
                "default": 40,
                "title": "Request rate limit (Clockify allows 50 per second on paid plans, \
                          30 per hour on new free workspaces)"},
            "webhook_secret": {"type": "string", "writeOnly": true, "minLength": 8,
                "title": "Webhook token (Clockify shows it when the webhook is created)"}
        })),
        secret_settings: vec!["webhook_secret"],
        catalogs: &["projects", "tasks", "clients", "users", "tags"],
        dimension_catalogs: DimensionCatalogs {
            activity: Some("tasks"),
            project: Some("projects"),
            user: Some("users"),
        },
        webhook: Some(WebhookSpec {
            signature: "Clockify-Signature: <the webhook's token> (compared whole)",
            secret_setting: "webhook_secret",
            protocol: &webhook::ClockifyWebhook,
        }),
        rounds_itself: None,
        build: ClockifyConnector::build,
    }
}
