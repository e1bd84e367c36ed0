//! The Jibble (API v1, OData) simulator: one address serving the identity server
//! (`POST /connect/token`, client credentials), the workspace API (`/v1/People`,
//! `/v1/Activities`, `/v1/Projects`) and the time-tracking API (`/v1/TimeEntries`: clock
//! events, not intervals), after external-apis-v2.md §2.
//!
//! What it reproduces: access tokens with a lifetime (`expires_in`, no refresh token)
//! and 401 with `WWW-Authenticate` once one has expired (on the simulator's clock); the
//! OData envelope (`@odata.context`, `value`, `@odata.count` with `$count=true`); the
//! `$filter` subset clients use (unquoted dates and GUIDs, quoted strings), `$orderby`,
//! `$top`, `$skip`; punches with `type` In/Out, UTC `time`, `localTime` in the person's
//! zone, `belongsToDate` (a punch during an open session counts toward the session's
//! day), `breakId` on a break's In, `clientType: AutoOut`, the
//! `previousTimeEntryId`/`nextTimeEntryId` chain over a person's active punches, and
//! removals as `status: Archived`.
//!
//! Switches where the facts are UNCONFIRMED ([`JibbleConfig`], [`JibbleControl::configure`]):
//! whether answers carry `@odata.nextLink` (off by default: the Supabase client saw
//! none), whether archived punches are listed when the filter does not name `status` (on
//! by default), the largest page (1000), where the token endpoint takes the client's
//! credentials (body, Basic, either), and the token lifetime (3600 s).
//!
//! Documented choices: error bodies are ASP.NET OData's `{"error":{"code","message"}}`
//! (UNCONFIRMED), a 401 has an empty body, an unknown property in `$filter` or
//! `$orderby` is a 400, `$select`/`$expand` are ignored (every field is sent), ties in
//! `$orderby` are broken by id, and without `$top` an answer holds the largest page.
//! Writes of time entries are not served (the connector is a source).
//! [`JibbleControl::relay_webhook`] plays the relay (n8n, Make) that tells timebridge.

mod odata;
mod relay;
mod routes;
mod seed;
pub(crate) mod state;

pub use relay::relay_signature;
pub use seed::PRIVATE_DOMAIN;
pub use state::{
    ClockIn, JibbleConfig, JibbleControl, LUNCH_BREAK_ID, Named, NewPerson, NewPunch,
    ORGANIZATION_ID, Person, Punch, PunchType, TokenAuth,
};

use crate::server::Running;
use crate::{SimError, SimOptions};

/// A running Jibble simulator. Dereferences to its [`JibbleControl`]; stops on drop.
#[derive(Debug)]
pub struct JibbleSim {
    /// Base URL, e.g. `http://127.0.0.1:41234` (the identity server's; the APIs are
    /// under `/v1`, see [`JibbleSim::api_url`]).
    pub url: String,
    /// The API client's secret (the main token); its id is [`JibbleSim::client_id`].
    pub token: String,
    /// The API client's id.
    pub client_id: String,
    control: JibbleControl,
    running: Running,
}

impl JibbleSim {
    /// Seeds the state from `opts` and starts serving on 127.0.0.1.
    pub async fn start(opts: SimOptions) -> Result<Self, SimError> {
        let control = JibbleControl::new(&opts);
        let router = routes::router(control.clone());
        let running = Running::bind(opts.port, router).await?;
        Ok(Self {
            url: running.url(),
            token: control.client_secret(),
            client_id: control.client_id(),
            control,
            running,
        })
    }

    /// The workspace and time-tracking base URL (`<url>/v1`).
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.url)
    }

    /// A cloneable handle on the state, faults, log and clock.
    pub fn control(&self) -> JibbleControl {
        self.control.clone()
    }

    /// Stops the server (waits up to a second for open requests).
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

impl std::ops::Deref for JibbleSim {
    type Target = JibbleControl;
    fn deref(&self) -> &JibbleControl {
        &self.control
    }
}
