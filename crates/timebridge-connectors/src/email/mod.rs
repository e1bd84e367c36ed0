//! E-mail over SMTP as a notifier (through `lettre`): `base_url` `smtp://host[:port]`
//! (STARTTLS when the `starttls` setting is on, the default; port 587) or
//! `smtps://host[:port]` (implicit TLS; port 465); the password (`api_token`) is sent only
//! over TLS unless the host is a loopback address. Each message has a plain-text and an
//! HTML part and its delivery id as `Message-ID`.

mod mailer;
mod message;

use serde_json::json;

pub use mailer::EmailNotifier;
pub use message::build_message;

use crate::registry::{DimensionCatalogs, Dimensions, KindInfo, Role, with_transport_settings};

/// The registry entry of the `email` kind.
pub fn kind() -> KindInfo {
    let mut schema = with_transport_settings(json!({
        "from": {"type": "string", "minLength": 3,
            "title": "Sender address, e.g. timebridge <timebridge@example.com>"},
        "to": {"type": "array", "items": {"type": "string"}, "minItems": 1,
            "title": "Recipients"},
        "username": {"type": ["string", "null"], "default": null,
            "title": "SMTP user name (empty: no authentication)"},
        "starttls": {"type": "boolean", "default": true,
            "title": "smtp://: upgrade to TLS with STARTTLS (required when on)"},
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 20,
            "title": "Timeout of one delivery, in seconds"}
    }));
    schema["x-base-url-schemes"] = json!(["smtp", "smtps"]);
    KindInfo {
        kind: "email",
        label: "E-mail (SMTP)",
        roles: vec![Role::Notifier],
        features: vec![],
        dimensions: Dimensions {
            activity: None,
            project: None,
            user: None,
        },
        settings_schema: schema,
        secret_settings: vec![],
        catalogs: &[],
        dimension_catalogs: DimensionCatalogs {
            activity: None,
            project: None,
            user: None,
        },
        webhook: None,
        rounds_itself: None,
        build: EmailNotifier::build,
    }
}
