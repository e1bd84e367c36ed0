//! Odoo 18 over JSON-RPC: a target for timesheets (`account.analytic.line`) or
//! attendances (`hr.attendance`), chosen by the `model` setting, and a source of
//! timesheets. Credentials are the database, the login and an API key (or password);
//! the uid comes from `common.login` once per instance.

mod client;
mod connector;
mod convert;
mod rpc;

use serde_json::json;

pub use connector::{OdooConnector, OdooModel};

use crate::registry::{
    DimensionCatalogs, Dimensions, Feature, KindInfo, Role, with_transport_settings,
};

/// The registry entry of the `odoo` kind.
pub fn kind() -> KindInfo {
    KindInfo {
        kind: "odoo",
        label: "Odoo",
        roles: vec![Role::Target, Role::Source],
        // Attendances: a running entry is an open attendance, closed when it ends.
        features: vec![Feature::RunningEntries],
        dimensions: Dimensions {
            activity: Some("task"),
            project: Some("project"),
            user: Some("employee"),
        },
        settings_schema: with_transport_settings(json!({
            "database": {"type": "string", "minLength": 1, "default": "",
                "title": "Database name"},
            "login": {"type": "string", "minLength": 1, "default": "",
                "title": "Login of the API user (the API key goes into the token field)"},
            "model": {"type": "string", "enum": ["timesheet", "attendance"], "default": "timesheet",
                "title": "Write timesheets (account.analytic.line) or attendances (hr.attendance)"},
            "timezone": {"type": ["string", "null"], "default": null, "format": "timezone",
                "title": "Time zone of timesheet dates (default: the employee's, else UTC)"}
        })),
        secret_settings: vec![],
        catalogs: &["employees", "projects", "tasks"],
        dimension_catalogs: DimensionCatalogs {
            activity: Some("tasks"),
            project: Some("projects"),
            user: Some("employees"),
        },
        webhook: None,
        rounds_itself: None,
        build: OdooConnector::build,
    }
}
