//! Zammad, Kimai and TimeTracker simulators that behave like the real servers (see
//! `shared/docs/external-apis.md`, `external-apis-v2.md` and the recordings under
//! `tests/fixtures/real/`), used by the demo, the integration tests and the
//! benchmarks.
//!
//! Each simulator is an axum server bound to `127.0.0.1`, started with
//! [`ZammadSim::start`] or [`KimaiSim::start`] from a [`SimOptions`]. The returned value
//! owns the server (it stops on drop or [`ZammadSim::shutdown`]) and dereferences to a
//! cloneable control handle ([`ZammadControl`], [`KimaiControl`]) through which tests read
//! and change the state without HTTP, inject faults ([`Faults`]) and read the request log
//! ([`RequestLog`]). Both simulators can be seeded with corresponding data ([`Seed`]), and
//! neither depends on the wall clock: time comes from a settable [`Clock`].
//!
//! ```no_run
//! use std::time::Duration;
//! use timebridge_sim::{Fault, Seed, SimOptions, start_both};
//!
//! # async fn demo() -> Result<(), timebridge_sim::SimError> {
//! let (zammad, kimai) = start_both(SimOptions {
//!     seed: Seed::Small,
//!     latency: Duration::from_millis(20),
//!     ..SimOptions::default()
//! })
//! .await?;
//! // HTTP: `Authorization: Token token=<zammad.token>` against `zammad.url`,
//! //       `Authorization: Bearer <kimai.token>` against `kimai.url`.
//! kimai.faults().fail_next("POST /api/timesheets", 1, Fault::InternalError);
//! zammad.clock().advance(chrono::Duration::minutes(5));
//! zammad.add_accounting(timebridge_sim::zammad::NewAccounting::new(1, "15.0", 2))?;
//! assert_eq!(kimai.log().count("POST /api/timesheets"), 0);
//! # Ok(())
//! # }
//! ```
//!
//! Seeded ids (see [`seed`]): Zammad user 1 is the admin the token belongs to and agents
//! are users 2..; Kimai user 1 is the API user (Europe/Berlin) and the agents that have a
//! Kimai user follow with the same e-mails; Kimai customer and project ids equal the Zammad
//! organization ids (same names); Kimai global activities are named like the Zammad types.

#![warn(missing_docs)]

pub mod clock;
pub mod clockify;
pub mod email;
pub mod faults;
pub mod google_calendar;
pub mod jibble;
pub mod kimai;
pub mod odoo;
pub mod outgoing_webhook;
pub mod seed;
mod server;
pub mod slack;
pub mod timetracker;
pub mod webhook;
pub mod zammad;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

pub use clock::Clock;
pub use clockify::{ClockifyControl, ClockifySim};
pub use email::{SmtpControl, SmtpSink};
pub use faults::{Fault, Faults, LoggedRequest, RequestLog};
pub use google_calendar::{GoogleCalendarControl, GoogleCalendarSim};
pub use jibble::{JibbleControl, JibbleSim};
pub use kimai::{KimaiControl, KimaiSim};
pub use odoo::{OdooControl, OdooSim};
pub use outgoing_webhook::{Delivery, WebhookReceiver};
pub use seed::{History, Seed};
pub use slack::{SlackControl, SlackSim};
pub use timetracker::{TimetrackerControl, TimetrackerSim};
pub use zammad::{ZammadControl, ZammadSim};

/// Options shared by both simulators.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The API token the simulator accepts for its main API user.
    pub token: String,
    /// Latency added to every request before it is handled.
    pub latency: Duration,
    /// Which data set to load at start.
    pub seed: Seed,
    /// Seed of the data generator and of rate-based faults.
    pub rng_seed: u64,
    /// Port to bind on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The simulator's "now"; `None` is [`default_now`]. Generated data lies in the
    /// calendar month before this instant.
    pub now: Option<DateTime<Utc>>,
    /// When true the clock runs forward with real time from `now`; else it stands still
    /// until a test moves it.
    pub running_clock: bool,
    /// Earlier months of bookings the Zammad simulator holds before the seed's month
    /// (the benchmark's years of history); `None`: only the seed's month.
    pub zammad_history: Option<seed::History>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            token: "timebridge-sim-token".to_owned(),
            latency: Duration::ZERO,
            seed: Seed::Tiny,
            rng_seed: 42,
            port: 0,
            now: None,
            running_clock: false,
            zammad_history: None,
        }
    }
}

impl SimOptions {
    /// Options with the given seed and everything else default.
    pub fn with_seed(seed: Seed) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }
}

/// The fixed instant the simulators' clocks start at by default: 2026-04-01 06:00:00 UTC,
/// so the generated month is March 2026, which holds both the US (8 March) and the
/// European (29 March) DST changes.
pub fn default_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 1, 6, 0, 0).unwrap()
}

/// Which simulator [`run_standalone`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimKind {
    /// The Zammad 6.x simulator.
    Zammad,
    /// The Kimai 2.66 simulator.
    Kimai,
    /// The Odoo 18 simulator (JSON-RPC).
    Odoo,
    /// The DRYTRIX TimeTracker 5.10 simulator.
    Timetracker,
    /// The Clockify (API v1) simulator, with an agency and a contractor workspace.
    Clockify,
    /// The Slack simulator (incoming webhook, Web API, a page of received messages).
    Slack,
    /// The Jibble (API v1, OData) simulator: identity, workspace and time tracking.
    Jibble,
    /// The Google Calendar (API v3) simulator with Google's OAuth endpoints.
    GoogleCalendar,
}

impl std::str::FromStr for SimKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "zammad" => Ok(SimKind::Zammad),
            "kimai" => Ok(SimKind::Kimai),
            "odoo" => Ok(SimKind::Odoo),
            "timetracker" => Ok(SimKind::Timetracker),
            "clockify" => Ok(SimKind::Clockify),
            "slack" => Ok(SimKind::Slack),
            "jibble" => Ok(SimKind::Jibble),
            "google_calendar" | "google-calendar" => Ok(SimKind::GoogleCalendar),
            other => Err(format!(
                "unknown simulator {other:?} (expected zammad, kimai, odoo, timetracker, \
                 clockify, slack, jibble or google_calendar)"
            )),
        }
    }
}

/// Errors of the simulators' Rust API (HTTP errors are answered as the real servers do).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding or serving the listener failed.
    #[error("simulator I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Sending a webhook failed before any status was received.
    #[error("webhook delivery failed: {0}")]
    Webhook(#[from] reqwest::Error),
    /// A referenced record does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A value given to a control method is invalid.
    #[error("invalid: {0}")]
    Invalid(String),
}

/// Starts both simulators from the same options (so their data correspond). With a
/// non-zero `opts.port`, Zammad binds it and Kimai binds the next port.
pub async fn start_both(opts: SimOptions) -> Result<(ZammadSim, KimaiSim), SimError> {
    let zammad = ZammadSim::start(opts.clone()).await?;
    let kimai = KimaiSim::start(SimOptions {
        port: if opts.port == 0 {
            0
        } else {
            opts.port.saturating_add(1)
        },
        ..opts
    })
    .await?;
    Ok((zammad, kimai))
}

/// Starts one simulator on `127.0.0.1:port`, prints its URL and token, and serves until
/// Ctrl-C. Used by `timebridge sim zammad|kimai|odoo|timetracker|clockify|jibble`.
pub async fn run_standalone(
    kind: SimKind,
    port: u16,
    token: String,
    seed: Seed,
    latency_ms: u64,
) -> Result<(), SimError> {
    let opts = SimOptions {
        token: token.clone(),
        latency: Duration::from_millis(latency_ms),
        seed,
        port,
        running_clock: true,
        now: Some(Utc::now()),
        ..SimOptions::default()
    };
    match kind {
        SimKind::Zammad => {
            let sim = ZammadSim::start(opts).await?;
            println!(
                "Zammad simulator listening on {} (token: {token}, seed: {seed:?})",
                sim.url
            );
            let _ = tokio::signal::ctrl_c().await;
            sim.shutdown().await;
        }
        SimKind::Odoo => {
            let sim = OdooSim::start(opts).await?;
            println!(
                "Odoo simulator listening on {} (database: {}, login: {}, API key: {token}, seed: {seed:?})",
                sim.url, sim.database, sim.login
            );
            let _ = tokio::signal::ctrl_c().await;
            sim.shutdown().await;
        }
        SimKind::Kimai => {
            let sim = KimaiSim::start(opts).await?;
            println!(
                "Kimai simulator listening on {} (token: {token}, seed: {seed:?})",
                sim.url
            );
            let _ = tokio::signal::ctrl_c().await;
            sim.shutdown().await;
        }
        SimKind::Timetracker => {
            let sim = TimetrackerSim::start(opts).await?;
            println!(
                "TimeTracker simulator listening on {} (token: {token}, seed: {seed:?})",
                sim.url
            );
            let _ = tokio::signal::ctrl_c().await;
            sim.shutdown().await;
        }
        SimKind::Clockify => {
            let sim = ClockifySim::start(opts).await?;
            println!(
                "Clockify simulator listening on {} (X-Api-Key: {token} for the agency \
                 workspace {}, {} for the contractor workspace {}; seed: {seed:?})",
                sim.api_url(),
                sim.agency_workspace,
                sim.contractor_token,
                sim.contractor_workspace
            );
            let _ = tokio::signal::ctrl_c().await;
            sim.shutdown().await;
        }
        SimKind::Slack => {
            let sim = SlackSim::start(opts).await?;
            println!(
                "Slack simulator listening on {} (received messages at /; incoming webhook {}; \
                 Web API {} with bot token {token})",
                sim.url,
                sim.webhook_url(),
                sim.api_url()
            );
            let _ = tokio::signal::ctrl_c().await;
            sim.shutdown().await;
        }
        SimKind::Jibble => {
            let sim = JibbleSim::start(opts).await?;
            println!(
                "Jibble simulator listening on {} (token endpoint {}/connect/token, APIs under \
                 {}; client id: {}, client secret: {token}; seed: {seed:?})",
                sim.url,
                sim.url,
                sim.api_url(),
                sim.client_id
            );
            let _ = tokio::signal::ctrl_c().await;
            sim.shutdown().await;
        }
        SimKind::GoogleCalendar => {
            let sim = GoogleCalendarSim::start(opts).await?;
            println!(
                "Google Calendar simulator listening on {} (base_url {}, auth_url {}, \
                 token_url {}; client_id {}, client_secret {token}; calendar owner {}; \
                 seed: {seed:?})",
                sim.url,
                sim.api_url(),
                sim.auth_url(),
                sim.token_url(),
                sim.client_id,
                sim.owner_email()
            );
            let _ = tokio::signal::ctrl_c().await;
            sim.shutdown().await;
        }
    }
    Ok(())
}
