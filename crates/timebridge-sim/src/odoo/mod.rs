//! The Odoo 18 simulator: JSON-RPC at `/jsonrpc` (`common.version/login/authenticate`,
//! `object.execute_kw`), `/web/session/authenticate` with its login cooldown, and the models
//! `res.users`, `hr.employee`, `project.project`, `project.task`, `hr.attendance` and
//! `account.analytic.line`, calibrated on the recordings of a real 18.0 server
//! (`tests/fixtures/real/odoo-18.0/`, replayed by `tests/replay_odoo.rs`).
//!
//! Documented choices where the recordings leave room:
//! - `worked_hours` deducts the lunch of the standard 40-hour calendar (12:00–13:00 in the
//!   employee's zone, Monday to Friday); `expected_hours` is 8 on weekdays and 0 on
//!   weekends, and `overtime_hours` is `worked_hours - expected_hours` per attendance (Odoo
//!   aggregates per day; one attendance a day reads the same).
//! - The login cooldown counts failed `/web/session/authenticate` calls per database (all
//!   clients of a simulator share one address). Whether failed `/jsonrpc` logins count is
//!   UNCONFIRMED ([`OdooConfig::jsonrpc_cooldown`], off by default as the code says).
//! - A user has the administrator's rights or none beyond an internal user's
//!   ([`Rights`]); users created over RPC have none.
//! - Ids come from per-model sequences that a failed insert still advances, as
//!   PostgreSQL's do (attendance failures and the timesheet failures found after the
//!   insert take an id; the active-employee check runs before it).
//! - Errors carry a two-line `debug` traceback ending in the line Odoo's ends in.

mod models;
mod orm;
mod rpc;
mod state;

pub use models::Rights;
pub use state::{
    ADMIN_EMPLOYEE, ADMIN_UID, Attendance, Employee, OdooConfig, OdooControl, Project, Task,
    Timesheet,
};

use crate::server::Running;
use crate::{SimError, SimOptions};

/// A running Odoo simulator. Dereferences to its [`OdooControl`]; stops on drop.
#[derive(Debug)]
pub struct OdooSim {
    /// Base URL, e.g. `http://127.0.0.1:41234` (JSON-RPC at `/jsonrpc`).
    pub url: String,
    /// The administrator's API key (accepted wherever a password is).
    pub token: String,
    /// The database name.
    pub database: String,
    /// The administrator's login.
    pub login: String,
    control: OdooControl,
    running: Running,
}

impl OdooSim {
    /// Seeds the state from `opts` with the default [`OdooConfig`] and starts serving.
    pub async fn start(opts: SimOptions) -> Result<Self, SimError> {
        Self::start_with(opts, OdooConfig::default()).await
    }

    /// Starts with an explicit configuration.
    pub async fn start_with(opts: SimOptions, config: OdooConfig) -> Result<Self, SimError> {
        let database = config.database.clone();
        let login = config.login.clone();
        let control = OdooControl::new(&opts, config);
        let router = rpc::router(control.clone());
        let running = Running::bind(opts.port, router).await?;
        Ok(Self {
            url: running.url(),
            token: opts.token,
            database,
            login,
            control,
            running,
        })
    }

    /// A cloneable handle on the state, faults, log and clock.
    pub fn control(&self) -> OdooControl {
        self.control.clone()
    }

    /// Stops the server (waits up to a second for open requests).
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

impl std::ops::Deref for OdooSim {
    type Target = OdooControl;
    fn deref(&self) -> &OdooControl {
        &self.control
    }
}
