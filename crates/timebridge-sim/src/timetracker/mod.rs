//! The DRYTRIX TimeTracker 5.10 simulator: users, API tokens with scopes, clients,
//! projects, tasks, time entries and timers, served like the real REST API under
//! `/api/v1` (calibrated on the recordings in `tests/fixtures/real/timetracker-5.10/`),
//! with outgoing webhooks signed `X-Webhook-Signature: sha256=…`.
//!
//! What it reproduces: the setup redirect (302 → `/setup`, [`TimetrackerControl::set_setup_required`]),
//! the auth variants (`Bearer`, `Token`, `X-API-Key`) and the 401/403 bodies (with
//! `required_scope`), `GET /api/v1/info` with the instance's zone, the `pagination` object,
//! newest first, `include_active=true`, naive local times (an offset in a body is dropped
//! on SQLite or converted to the session zone on PostgreSQL, [`Backend`]), the
//! `Idempotency-Key` replay (per token, ≤ 128 characters, only 201s stored, with a TTL),
//! the overlap 400s with their two texts, 400 for missing ids on update and delete, and the
//! per-token rate limit with `Retry-After` ([`TimetrackerControl::set_rate_limit`]).
//!
//! Documented choices where the facts leave room:
//! - Any registered token is accepted, whatever its form; an unknown one without the `tt_`
//!   prefix is "Invalid token format", with it "Token not found".
//! - The rate limit is off unless set (a standing test clock would otherwise lock a test
//!   out); requests count after the token and scope checks (§4.2, not recorded).
//! - Ties in `start_time` are ordered by id, newest first (the server has no tie-breaker).
//! - A second timer start for the same user is refused ("Timer already running").
//! - Tasks are not checked on update (the SQLite recording); the requirement settings
//!   ([`Requirements`]) are off by default, and so is a closed timesheet period
//!   ([`TimetrackerControl::set_closed_period`]; both unrecorded, texts from §4.6).
//! - Webhooks are sent once each, without the server's retries; API writes send them in
//!   the background, [`TimetrackerControl::send_event`] sends one and waits.

mod routes;
mod seed;
pub(crate) mod state;
pub mod time;
mod views;
pub mod webhook;

pub use seed::TASKS;
pub use state::{
    ADMIN_USER_ID, Backend, Client, Entry, MAIN_TOKEN_SCOPES, NewEntry, NewUser, Project,
    RateLimit, Requirements, Role, Task, TimetrackerControl, Token, User, Webhook,
};
pub use webhook::WebhookDelivery;

use crate::server::Running;
use crate::{SimError, SimOptions};

/// A running TimeTracker simulator. Dereferences to its [`TimetrackerControl`]; stops on
/// drop.
#[derive(Debug)]
pub struct TimetrackerSim {
    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash; the API is under
    /// `/api/v1`).
    pub url: String,
    /// The admin's API token (`Authorization: Bearer <token>`, scope `admin:all`).
    pub token: String,
    control: TimetrackerControl,
    running: Running,
}

impl TimetrackerSim {
    /// Seeds the state from `opts` and starts serving on 127.0.0.1.
    pub async fn start(opts: SimOptions) -> Result<Self, SimError> {
        let control = TimetrackerControl::new(&opts);
        let router = routes::router(control.clone());
        let running = Running::bind(opts.port, router).await?;
        Ok(Self {
            url: running.url(),
            token: opts.token,
            control,
            running,
        })
    }

    /// A cloneable handle on the state, faults, log and clock.
    pub fn control(&self) -> TimetrackerControl {
        self.control.clone()
    }

    /// Stops the server (waits up to a second for open requests).
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

impl std::ops::Deref for TimetrackerSim {
    type Target = TimetrackerControl;
    fn deref(&self) -> &TimetrackerControl {
        &self.control
    }
}
