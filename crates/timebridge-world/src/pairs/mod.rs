//! One file per [`crate::Pair`]: start its simulators, write the plan that fits their seed.

pub(crate) mod clockify_clockify;
pub(crate) mod clockify_kimai;
pub(crate) mod google_calendar_kimai;
pub(crate) mod google_calendar_timetracker;
pub(crate) mod jibble_odoo;
pub(crate) mod timetracker_kimai;
pub(crate) mod timetracker_odoo;
pub(crate) mod zammad_clockify;
pub(crate) mod zammad_kimai;
pub(crate) mod zammad_odoo;
pub(crate) mod zammad_timetracker;

/// A Google Calendar source connected to `google`: its OAuth client, endpoints and a
/// refresh token the simulator issued (as the connect flow would have stored it).
pub(crate) fn google_calendar_source(
    google: &timebridge_sim::GoogleCalendarSim,
) -> crate::ConnectorDef {
    crate::ConnectorDef {
        kind: "google_calendar".into(),
        name: "Google Calendar".into(),
        base_url: google.api_url(),
        api_token: String::new(),
        settings: serde_json::json!({
            "client_id": google.client_id,
            "client_secret": google.client_secret,
            "auth_url": google.auth_url(),
            "token_url": google.token_url(),
            "refresh_token": google.issue_refresh_token(),
        }),
    }
}
