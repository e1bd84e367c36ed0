//! The Clockify (REST API v1) simulator: users, workspaces, clients, projects, tasks, tags
//! and time entries, served like the real API under `/api/v1` (external-apis-v2.md §1),
//! with TWO workspaces in one server: the agency's (many clients, its admin's key is the
//! main token) and a contractor's (one client, "Agency", its owner's key is
//! [`ClockifySim::contractor_token`]).
//!
//! What it reproduces: exactly one of `X-Api-Key` / `X-Addon-Token` (401 codes 1000, 4003,
//! 4017), error bodies `{"message","code"}`, bare-array lists with the `Last-Page` header,
//! 400 code 501 "… doesn't belong to Workspace" for unknown or foreign ids (never 404),
//! creates for another user under `/user/{userId}/time-entries` (admins only), running
//! timers (`end: null`, one per user; a new one stops the old one), the `PATCH {end}` stop
//! route, `isLocked`, rates in cents, `?hydrated=true`, `POST …/time-entries/batch`,
//! project creation with the duplicate-name 400, 201 on create and 204 on delete, and
//! webhook deliveries with `Clockify-Signature` ([`ClockifyControl::deliver_webhook`]).
//!
//! Documented choices where the facts leave room (UNCONFIRMED there):
//! - The list window filters on the entry's start, `start <= s < end`, literally in UTC
//!   by default; [`ClockifyControl::set_window_quirk`] re-reads both bounds as wall clock
//!   in the key owner's time zone (the "timezone trap" of §1.3).
//! - Newest first; ties by id. `page-size` is capped at [`ClockifyControl::set_max_page_size`]
//!   (5000 by default); [`ClockifyControl::set_last_page_header`] can switch the header off.
//! - A locked entry refuses PUT and DELETE with 400 code 501 "Time entry is locked".
//! - A task id that is not one of the project's tasks: 400 code 501 "Task doesn't belong
//!   to Project". A foreign workspace: 403 code 403 "Access Denied".
//! - Project names are unique per client (case-insensitive, trimmed).
//! - PUT replaces the entry: omitted fields are cleared.

mod routes;
mod seed;
pub(crate) mod state;

pub use seed::{AGENCY_CLIENT, CONTRACTOR_ONLY_PROJECT, TASKS};
pub use state::{
    Client, ClockifyControl, NewEntry, Project, Role, Tag, Task, TimeEntry, User, Workspace,
};

use crate::server::Running;
use crate::{SimError, SimOptions};

/// A running Clockify simulator. Dereferences to its [`ClockifyControl`]; stops on drop.
#[derive(Debug)]
pub struct ClockifySim {
    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash; the API is under
    /// `/api/v1`, see [`ClockifySim::api_url`]).
    pub url: String,
    /// The agency admin's API key (`X-Api-Key`), the main token.
    pub token: String,
    /// The contractor's API key (owner of the contractor workspace).
    pub contractor_token: String,
    control: ClockifyControl,
    running: Running,
}

impl ClockifySim {
    /// Seeds the state from `opts` and starts serving on 127.0.0.1.
    pub async fn start(opts: SimOptions) -> Result<Self, SimError> {
        let control = ClockifyControl::new(&opts);
        let router = routes::router(control.clone());
        let running = Running::bind(opts.port, router).await?;
        Ok(Self {
            url: running.url(),
            token: opts.token.clone(),
            contractor_token: state::contractor_token(&opts.token),
            control,
            running,
        })
    }

    /// The API base a connector is configured with (`<url>/api/v1`).
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.url)
    }

    /// A cloneable handle on the state, faults, log and clock.
    pub fn control(&self) -> ClockifyControl {
        self.control.clone()
    }

    /// Stops the server (waits up to a second for open requests).
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

impl std::ops::Deref for ClockifySim {
    type Target = ClockifyControl;
    fn deref(&self) -> &ClockifyControl {
        &self.control
    }
}
