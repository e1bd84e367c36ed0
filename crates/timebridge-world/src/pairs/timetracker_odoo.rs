//! TimeTracker → Odoo attendance: a TimeTracker source (with a webhook secret) and an Odoo
//! target writing `hr.attendance`, started with the same seed. Attendances have neither
//! project nor task, so the plan maps nothing: TimeTracker users match Odoo employees by
//! (work) e-mail, the seed gives every person who books in TimeTracker an employee, and
//! running timers are carried (`include_running`) as open attendances, closed when they
//! stop. The seed's TimeTracker entries do not overlap per person, as Odoo requires.

use serde_json::json;
use timebridge_sim::{OdooSim, SimError, SimOptions, TimetrackerSim};

use crate::{ConnectorDef, PipelineDef, Plan, Sims, WEBHOOK_SECRET};

pub(crate) async fn start(opts: SimOptions) -> Result<(Sims, Plan), SimError> {
    let timetracker = TimetrackerSim::start(opts.clone()).await?;
    let odoo = OdooSim::start(SimOptions {
        port: if opts.port == 0 {
            0
        } else {
            opts.port.saturating_add(1)
        },
        ..opts
    })
    .await?;
    let plan = Plan {
        source: ConnectorDef {
            kind: "timetracker".into(),
            name: "TimeTracker".into(),
            base_url: timetracker.url.clone(),
            api_token: timetracker.token.clone(),
            settings: json!({"webhook_secret": WEBHOOK_SECRET}),
        },
        target: ConnectorDef {
            kind: "odoo".into(),
            name: "Odoo".into(),
            base_url: odoo.url.clone(),
            api_token: odoo.token.clone(),
            settings: json!({"database": odoo.database, "login": odoo.login,
                             "model": "attendance"}),
        },
        pipeline: PipelineDef {
            name: "TimeTracker → Odoo attendance".into(),
            enabled: true,
            schedule_enabled: false,
            interval_minutes: 360,
            window_days: 31,
            options: json!({"include_running": true}),
        },
        mappings: Vec::new(),
    };
    Ok((Sims::TimetrackerOdoo { timetracker, odoo }, plan))
}
