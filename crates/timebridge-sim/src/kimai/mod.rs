//! The Kimai 2.66 simulator: users, customers, projects, activities, tags and timesheets,
//! served like the real JSON API under `/api`.
//!
//! Documented choices where external-apis.md leaves room:
//! - The main token's user (id 1, "timebridge", Europe/Berlin) may read and write other
//!   users' timesheets and set `exported`, but may NOT edit exported entries
//!   ([`Permissions::api`]); change it with [`KimaiControl::set_permissions`].
//! - Body begin/end carrying an offset are accepted and the offset is ignored (the wall
//!   time is read in the zone the call uses), as Kimai's form does. DST gaps and folds are
//!   resolved like PHP (see [`time`]).
//! - Project start/end are dates compared with the entry's local begin date; violations are
//!   reported on `begin` ("The project has not started at that time." / "The project is
//!   finished at that time.").
//! - Tags in a write body that do not exist are dropped silently (no auto-creation).
//! - Locked (exported without `edit_exported`, or inside the lockdown) → 403 on PATCH and
//!   DELETE.

mod routes;
pub(crate) mod state;
pub mod time;

pub use state::{
    API_USER_ID, Activity, Customer, KimaiControl, NewProject, NewTimesheet, NewUser, Permissions,
    Project, RateDef, RateOwner, Tag, Timesheet, User,
};

use crate::server::Running;
use crate::{SimError, SimOptions};

/// A running Kimai simulator. Dereferences to its [`KimaiControl`]; stops on drop.
#[derive(Debug)]
pub struct KimaiSim {
    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash; the API is under `/api`).
    pub url: String,
    /// The main API token (`Authorization: Bearer <token>`).
    pub token: String,
    control: KimaiControl,
    running: Running,
}

impl KimaiSim {
    /// Seeds the state from `opts` and starts serving on 127.0.0.1.
    pub async fn start(opts: SimOptions) -> Result<Self, SimError> {
        let control = KimaiControl::new(&opts);
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
    pub fn control(&self) -> KimaiControl {
        self.control.clone()
    }

    /// Stops the server (waits up to a second for open requests).
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

impl std::ops::Deref for KimaiSim {
    type Target = KimaiControl;
    fn deref(&self) -> &KimaiControl {
        &self.control
    }
}
