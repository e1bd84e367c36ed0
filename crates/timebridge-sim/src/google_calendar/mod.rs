//! The Google Calendar (API v3) simulator with Google's OAuth endpoints
//! (external-apis-v2.md §5): one account whose primary calendar holds the seeded events.
//!
//! What it reproduces: the consent page at `/o/oauth2/auth` ("Allow" redirects to
//! `redirect_uri?code=…&state=…`; [`GoogleCalendarControl::set_auto_approve`] skips the
//! page), `POST /token` with single-use authorization codes and refresh tokens
//! (`invalid_grant` once revoked, [`GoogleCalendarControl::revoke_grants`]), access tokens
//! with a configurable lifetime (401 `authError` after it), `calendarList`,
//! `calendars.get`, `events.list` with `singleEvents=true` (daily and weekly series
//! expanded into instances `<id>_<start>`), `timeMin`/`timeMax` overlap, `showDeleted`,
//! `maxResults` capped (2500, or smaller: [`GoogleCalendarControl::set_page_cap`]),
//! `pageToken`, `nextSyncToken` on the last page, incremental `syncToken` reads (changes
//! only, deletions included; other filters refused) and 410 `fullSyncRequired` once
//! expired ([`GoogleCalendarControl::expire_sync_tokens`]), `events.get`,
//! `events/watch` (https addresses only, by default) and `channels/stop`, push
//! notifications ([`GoogleCalendarControl::push`]), Google's error body, and the shared
//! faults (403 `usageLimits` is [`crate::Fault::QuotaExceeded`]).
//!
//! Documented choices: only `singleEvents=true` lists are served; a deleted single event
//! is listed as `{id, status: "cancelled"}` only; the API lives under `/calendar/v3`.

mod routes;
mod seed;
pub(crate) mod state;

pub use seed::{KEYWORD_ORGS, keyword};
pub use state::{Channel, Event, Freq, GoogleCalendarControl, NewEvent, When, instance_id};

use crate::server::Running;
use crate::{SimError, SimOptions};

/// A random token for codes, refresh and access tokens and resource ids.
pub(crate) fn state_token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A running Google Calendar simulator. Dereferences to its [`GoogleCalendarControl`];
/// stops on drop.
#[derive(Debug)]
pub struct GoogleCalendarSim {
    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub url: String,
    control: GoogleCalendarControl,
    running: Running,
}

impl GoogleCalendarSim {
    /// Seeds the state from `opts` (the OAuth client secret is `opts.token`) and starts
    /// serving on 127.0.0.1.
    pub async fn start(opts: SimOptions) -> Result<Self, SimError> {
        let control = GoogleCalendarControl::new(&opts);
        let router = routes::router(control.clone());
        let running = Running::bind(opts.port, router).await?;
        Ok(Self {
            url: running.url(),
            control,
            running,
        })
    }

    /// The Calendar API base a connector is configured with (`<url>/calendar/v3`).
    pub fn api_url(&self) -> String {
        format!("{}/calendar/v3", self.url)
    }

    /// The authorization endpoint (`auth_url`).
    pub fn auth_url(&self) -> String {
        format!("{}/o/oauth2/auth", self.url)
    }

    /// The token endpoint (`token_url`).
    pub fn token_url(&self) -> String {
        format!("{}/token", self.url)
    }

    /// A cloneable handle on the state, faults, log and clock.
    pub fn control(&self) -> GoogleCalendarControl {
        self.control.clone()
    }

    /// Stops the server (waits up to a second for open requests).
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

impl std::ops::Deref for GoogleCalendarSim {
    type Target = GoogleCalendarControl;
    fn deref(&self) -> &GoogleCalendarControl {
        &self.control
    }
}
