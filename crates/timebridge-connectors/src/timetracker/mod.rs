//! DRYTRIX TimeTracker 5.x as a source and a target: time entries, users (by e-mail),
//! projects, tasks and clients over the REST API `/api/v1` with a Bearer token; times are
//! naive wall times in the instance's zone (`GET /api/v1/info`), read and written in it.
//!
//! Writes: a create is one `POST` carrying an `Idempotency-Key` made from the link marker
//! (the marker also ends the entry's `notes`, so what we wrote can be found); a task is
//! set by a `PATCH` right after, because TimeTracker refuses `task_id` on every create.
//! The pseudo task [`NO_TASK`] writes an entry without a task; a task key
//! `name:<task name>` ([`TASK_NAME_PREFIX`]) names the task of that name in the entry's own
//! project. Master data is read once per run, never per entry.

mod api;
mod connector;
mod source;
mod target;
pub mod webhook;

use serde_json::json;

pub use connector::{NO_TASK, TASK_NAME_PREFIX, TimetrackerConnector};

use crate::registry::{
    DimensionCatalogs, Dimensions, Feature, KindInfo, Role, WebhookSpec, with_transport_settings,
};

/// The registry entry of the `timetracker` kind.
pub fn kind() -> KindInfo {
    KindInfo {
        kind: "timetracker",
        label: "TimeTracker",
        roles: vec![Role::Source, Role::Target],
        features: vec![
            Feature::Webhook,
            Feature::RunningEntries,
            Feature::IdempotencyKey,
            Feature::CreateProjects,
        ],
        dimensions: Dimensions {
            activity: Some("task"),
            project: Some("project"),
            user: Some("user"),
        },
        settings_schema: with_transport_settings(json!({
            "timezone": {"type": ["string", "null"], "format": "timezone", "default": null,
                "title": "Time zone of the instance (empty: read from /api/v1/info)"},
            "webhook_secret": {"type": "string", "writeOnly": true, "minLength": 8,
                "title": "Webhook secret (X-Webhook-Signature)"}
        })),
        secret_settings: vec!["webhook_secret"],
        catalogs: &["projects", "tasks", "clients", "users"],
        dimension_catalogs: DimensionCatalogs {
            activity: Some("tasks"),
            project: Some("projects"),
            user: Some("users"),
        },
        webhook: Some(WebhookSpec {
            signature: "X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>",
            secret_setting: "webhook_secret",
            protocol: &webhook::TimetrackerWebhook,
        }),
        rounds_itself: Some(
            "TimeTracker can round each user's entries itself (the user's time rounding, \
             `time_rounding_minutes`, 1 minute by default: off); its API does not show the \
             setting",
        ),
        build: TimetrackerConnector::build,
    }
}
