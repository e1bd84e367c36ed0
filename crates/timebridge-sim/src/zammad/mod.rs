//! The Zammad 6.x simulator: users, organizations, tickets, time accounting types and time
//! accountings, served like the real REST API (`/api/v1/...`), with webhooks sent on demand.
//!
//! Documented choices where Zammad's behaviour is not pinned down by external-apis.md:
//! - `per_page` of the time accounting endpoints is capped at 500 (larger values are
//!   clamped), `page`/`per_page` that do not parse fall back to their defaults.
//! - `sort_by` accepts `id`, `ticket_id`, `created_at`, `updated_at`, `time_unit`,
//!   `type_id`, `created_by_id` (else 422); `order_by` defaults to ASC; ties break by id.
//! - `tickets/search` sorts by `updated_at` DESC (then id) unless `sort_by`/`order_by` say
//!   otherwise; `tickets_count` is the number of matches over all pages.
//! - `expand=true` on accountings adds `ticket` (number), `type` (name), `created_by`
//!   (login) next to the ids.
//! - `users/search` and `organizations/search` take the ticket search's `id:`,
//!   `updated_at:`/`created_at:` conditions (ranges, `>=`/`>`/`<=`/`<`, `now-1h`, ` AND `;
//!   a bad date → 422) next to text, sort by id ascending unless `sort_by`
//!   (`id`/`created_at`/`updated_at`) or `order_by=desc` say otherwise, and page like
//!   `users` (100, at most 500). Zammad answers these conditions through Elasticsearch;
//!   without it, real Zammad's SQL fallback matches text only (UNCONFIRMED for a given
//!   installation). A users query without such a condition matches as before: the whole
//!   query (`email:`/`login:` prefix dropped) as a substring of e-mail, login or names.

mod routes;
pub(crate) mod state;

pub use state::{
    Accounting, AccountingType, NewAccounting, NewTicket, NewUser, Organization, Role, Ticket,
    User, ZammadControl,
};

use crate::server::Running;
use crate::{SimError, SimOptions};

/// A running Zammad simulator. Dereferences to its [`ZammadControl`]; stops on drop.
#[derive(Debug)]
pub struct ZammadSim {
    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub url: String,
    /// The admin API token (`Authorization: Token token=<token>`).
    pub token: String,
    control: ZammadControl,
    running: Running,
}

impl ZammadSim {
    /// Seeds the state from `opts` and starts serving on 127.0.0.1.
    pub async fn start(opts: SimOptions) -> Result<Self, SimError> {
        let control = ZammadControl::new(&opts);
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
    pub fn control(&self) -> ZammadControl {
        self.control.clone()
    }

    /// Stops the server (waits up to a second for open requests).
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

impl std::ops::Deref for ZammadSim {
    type Target = ZammadControl;
    fn deref(&self) -> &ZammadControl {
        &self.control
    }
}
