//! Jibble (API v1, OData) as a source: clock events (In/Out punches) read by
//! `belongsToDate` window and paired per person into intervals, people matched by e-mail;
//! OAuth2 client credentials from Jibble's identity server, one HTTP client per host; a
//! relay webhook (n8n, Make, …) signed `X-Signature-256` as the fast path beside polling.
//!
//! Files: `api.rs` (wire types, error bodies), `auth.rs` (access tokens: body or Basic
//! credentials), `connector.rs` (settings, paged reads, master data, test, catalogs),
//! `pairing.rs` (punches → intervals, pure), `source.rs` (the source role),
//! `webhook.rs` (the relay's signature).

mod api;
mod auth;
mod connector;
mod pairing;
mod source;
pub mod webhook;

use serde_json::json;

pub use connector::JibbleConnector;

use crate::registry::{
    DimensionCatalogs, Dimensions, Feature, KindInfo, Role, WebhookSpec, with_transport_settings,
};

/// The registry entry of the `jibble` kind.
pub fn kind() -> KindInfo {
    KindInfo {
        kind: "jibble",
        label: "Jibble",
        roles: vec![Role::Source],
        features: vec![Feature::Webhook, Feature::RunningEntries],
        dimensions: Dimensions {
            activity: Some("activity"),
            project: Some("project"),
            user: Some("person"),
        },
        settings_schema: with_transport_settings(json!({
            "client_id": {"type": "string", "minLength": 1,
                "title": "Client id of the API credentials (Jibble: Settings → Integrations → \
                          API credentials); the secret is the API token"},
            "identity_url": {"type": "string", "minLength": 1,
                "default": "https://identity.prod.jibble.io",
                "title": "Identity server (the token is requested at /connect/token)"},
            "workspace_url": {"type": "string", "minLength": 1,
                "default": "https://workspace.prod.jibble.io/v1",
                "title": "Workspace API (people, activities, projects)"},
            "time_tracking_url": {"type": "string", "minLength": 1,
                "default": "https://time-tracking.prod.jibble.io/v1",
                "title": "Time tracking API (time entries)"},
            "token_auth": {"type": "string", "enum": ["auto", "body", "basic"],
                "default": "auto",
                "title": "How the client id and secret reach the token endpoint: in the form \
                          body, as HTTP Basic authentication, or auto (body first, then Basic)"},
            "scope": {"type": ["string", "null"], "default": "api1",
                "title": "Scope asked for (empty: none)"},
            "page_size": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 500,
                "title": "Rows asked for per page ($top)"},
            "max_requests_per_second": {"type": ["number", "null"], "exclusiveMinimum": 0,
                "default": 5,
                "title": "Request rate limit (Jibble publishes none and answers 429 to bursts)"},
            "webhook_secret": {"type": "string", "writeOnly": true, "minLength": 8,
                "title": "Secret of the relay webhook (n8n, Make, …) that signs its calls \
                          X-Signature-256: sha256=<hex HMAC-SHA256 of the body>"}
        })),
        secret_settings: vec!["webhook_secret"],
        catalogs: &["people", "activities", "projects"],
        dimension_catalogs: DimensionCatalogs {
            activity: Some("activities"),
            project: Some("projects"),
            user: Some("people"),
        },
        webhook: Some(WebhookSpec {
            signature: "X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body> (sent by a \
                        relay such as n8n or Make; Jibble has no documented webhooks)",
            secret_setting: "webhook_secret",
            protocol: &webhook::JibbleWebhook,
        }),
        rounds_itself: None,
        build: JibbleConnector::build,
    }
}
