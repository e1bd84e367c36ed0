//! The generic signed webhook notifier (kind `webhook`): each notification is `POST`ed as
//! JSON `{"event","pipeline","run","summary","url"}` to the receiver (`base_url`) with
//! `X-Timebridge-Event`, `X-Timebridge-Delivery` (unique per notification, the same on a
//! repeat, so receivers drop repeats) and `X-Timebridge-Signature: sha256=<hex
//! HMAC-SHA256 of the body>` under the connector's `signing_secret`.

mod sender;

use serde_json::json;

pub use sender::{WebhookNotifier, payload, signature};

use crate::registry::{DimensionCatalogs, Dimensions, KindInfo, Role, with_transport_settings};

/// The registry entry of the `webhook` kind.
pub fn kind() -> KindInfo {
    KindInfo {
        kind: "webhook",
        label: "Signed webhook",
        roles: vec![Role::Notifier],
        features: vec![],
        dimensions: Dimensions {
            activity: None,
            project: None,
            user: None,
        },
        settings_schema: with_transport_settings(json!({
            "signing_secret": {"type": "string", "writeOnly": true, "minLength": 16,
                "title": "Signing secret: the receiver checks X-Timebridge-Signature with it"},
            "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 10,
                "title": "Timeout of one delivery, in seconds"}
        })),
        secret_settings: vec!["signing_secret"],
        catalogs: &[],
        dimension_catalogs: DimensionCatalogs {
            activity: None,
            project: None,
            user: None,
        },
        webhook: None,
        rounds_itself: None,
        build: WebhookNotifier::build,
    }
}
