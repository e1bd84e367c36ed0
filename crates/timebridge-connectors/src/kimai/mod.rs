//! Kimai 2.x as a target: timesheets read, created, updated and deleted with wall times in
//! the zone Kimai reads them in, tags created before use, and the link marker in the
//! description.

mod api;
mod rates;
mod target;
pub mod time;

use serde_json::json;

pub use target::KimaiConnector;

use crate::registry::{
    DimensionCatalogs, Dimensions, Feature, KindInfo, Role, with_transport_settings,
};

/// The registry entry of the `kimai` kind.
pub fn kind() -> KindInfo {
    KindInfo {
        kind: "kimai",
        label: "Kimai",
        roles: vec![Role::Target],
        // Writes running entries without `end` and reads running timesheets as running.
        features: vec![Feature::RunningEntries],
        dimensions: Dimensions {
            activity: Some("activity"),
            project: Some("project"),
            user: Some("user"),
        },
        settings_schema: with_transport_settings(json!({
            "billable_tag": {"type": "string", "default": "billable", "minLength": 1},
            "non_billable_tag": {"type": "string", "default": "non-billable", "minLength": 1},
            "set_billable_field": {"type": "boolean", "default": true},
            "timezone": {"type": ["string", "null"], "default": null, "format": "timezone",
                "title": "Time zone of the API user (default: as Kimai reports it, else UTC)"}
        })),
        secret_settings: vec![],
        catalogs: &["activities", "projects", "customers", "users"],
        dimension_catalogs: DimensionCatalogs {
            activity: Some("activities"),
            project: Some("projects"),
            user: Some("users"),
        },
        webhook: None,
        rounds_itself: Some(
            "Kimai rounds every timesheet itself: by default the begin down and the end up to the \
             whole minute, and its administrators can configure other rounding rules; its API \
             does not show that configuration",
        ),
        build: KimaiConnector::build,
    }
}
