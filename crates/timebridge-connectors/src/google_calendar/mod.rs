//! Google Calendar (API v3) as a source: the timed events of one calendar become time
//! entries of its owner. The connector connects through OAuth (the connect flow stores a
//! refresh token; access tokens live in memory and are renewed before they expire); it
//! reads a window with `singleEvents=true` (each instance of a recurring event its own
//! entry), page by page, then follows changes with a sync token while the process keeps
//! the window's events; all-day, cancelled and declined events are left out and counted;
//! push channels, where `PUBLIC_URL` is https, queue runs on changes.
//!
//! Projects come from keyword rules ([`crate::connector::SourceConnector::project_rule`]):
//! an event names no project, so a `project` mapping's source key is a word of the
//! summary.

mod api;
mod connector;
mod source;
pub mod webhook;

use serde_json::json;

pub use connector::{GoogleCalendarConnector, REVOKED_MESSAGE, SCOPE};
pub use source::{entry_key, event_id};

use crate::registry::{
    DimensionCatalogs, Dimensions, Feature, KindInfo, Role, WebhookSpec, with_transport_settings,
};

/// Google's authorization endpoint.
pub const AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
/// Google's token endpoint.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The Calendar API's base URL (the connector's `base_url`).
pub const BASE_URL: &str = "https://www.googleapis.com/calendar/v3";

/// The registry entry of the `google_calendar` kind.
pub fn kind() -> KindInfo {
    KindInfo {
        kind: "google_calendar",
        label: "Google Calendar",
        roles: vec![Role::Source],
        features: vec![Feature::Oauth, Feature::Webhook],
        dimensions: Dimensions {
            activity: None,
            project: Some("keyword"),
            user: None,
        },
        settings_schema: with_transport_settings(json!({
            "client_id": {"type": "string", "minLength": 1,
                "title": "OAuth client id (Google Cloud console: APIs & Services → Credentials)"},
            "client_secret": {"type": "string", "writeOnly": true, "minLength": 1,
                "title": "OAuth client secret"},
            "refresh_token": {"type": "string", "writeOnly": true, "readOnly": true,
                "title": "Set by \"Connect with Google\"; never shown"},
            "calendar_id": {"type": "string", "minLength": 1, "default": "primary",
                "title": "Calendar id (primary: the account's own calendar)"},
            "owner_email": {"type": ["string", "null"], "default": null,
                "title": "E-mail of the person whose time the events are (empty: the \
                          calendar's id, which is the owner's e-mail for a primary calendar)"},
            "auth_url": {"type": "string", "minLength": 1, "default": AUTH_URL,
                "title": "Authorization endpoint"},
            "token_url": {"type": "string", "minLength": 1, "default": TOKEN_URL,
                "title": "Token endpoint"},
            "max_requests_per_second": {"type": ["number", "null"], "exclusiveMinimum": 0,
                "default": 5,
                "title": "Request rate limit (Google allows 600 per minute and user)"}
        })),
        secret_settings: vec!["client_secret", crate::oauth::REFRESH_TOKEN_SECRET],
        catalogs: &["calendars"],
        dimension_catalogs: DimensionCatalogs {
            activity: None,
            project: None,
            user: None,
        },
        webhook: Some(WebhookSpec {
            signature: "X-Goog-Channel-Token: the push channel's token, set when timebridge \
                        opened the channel (compared whole); X-Goog-Resource-State sync is \
                        acknowledged without a run",
            secret_setting: crate::oauth::REFRESH_TOKEN_SECRET,
            protocol: &webhook::GooglePush,
        }),
        rounds_itself: None,
        build: GoogleCalendarConnector::build,
    }
}
