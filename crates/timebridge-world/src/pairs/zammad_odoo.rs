//! Zammad → Odoo timesheets: a Zammad source (with a webhook secret) and an Odoo target
//! writing `account.analytic.line`, a pipeline reading 31 days without a schedule, every
//! organization mapped to the Odoo project of the same name (the seed gives each one), the
//! Zammad type matched by name to the project's own task (`match_by_name`; the seed gives
//! each project a task per active type, an entry of another type is written without a
//! task); agents match Odoo employees by work e-mail.

use serde_json::json;
use timebridge_sim::{OdooSim, SimError, SimOptions, ZammadSim};
use timebridge_store::MappingKind;

use crate::{ConnectorDef, MappingDef, PipelineDef, Plan, Sims, WEBHOOK_SECRET};

pub(crate) async fn start(opts: SimOptions) -> Result<(Sims, Plan), SimError> {
    let zammad = ZammadSim::start(opts.clone()).await?;
    let odoo = OdooSim::start(SimOptions {
        port: if opts.port == 0 {
            0
        } else {
            opts.port.saturating_add(1)
        },
        ..opts
    })
    .await?;
    let projects = odoo.projects();
    let mut mappings = Vec::new();
    for o in zammad.organizations() {
        if let Some(p) = projects.iter().find(|p| p.name == o.name) {
            mappings.push(MappingDef {
                kind: MappingKind::Project,
                source_key: o.id.to_string(),
                source_label: Some(o.name.clone()),
                target_key: p.id.to_string(),
            });
        }
    }
    let plan = Plan {
        source: ConnectorDef {
            kind: "zammad".into(),
            name: "Zammad".into(),
            base_url: zammad.url.clone(),
            api_token: zammad.token.clone(),
            settings: json!({"webhook_secret": WEBHOOK_SECRET, "time_unit_minutes": 1.0}),
        },
        target: ConnectorDef {
            kind: "odoo".into(),
            name: "Odoo".into(),
            base_url: odoo.url.clone(),
            api_token: odoo.token.clone(),
            settings: json!({"database": odoo.database, "login": odoo.login,
                             "model": "timesheet"}),
        },
        pipeline: PipelineDef {
            name: "Zammad → Odoo timesheets".into(),
            enabled: true,
            schedule_enabled: false,
            interval_minutes: 360,
            window_days: 31,
            options: json!({"match_by_name": true}),
        },
        mappings,
    };
    Ok((Sims::ZammadOdoo { zammad, odoo }, plan))
}
