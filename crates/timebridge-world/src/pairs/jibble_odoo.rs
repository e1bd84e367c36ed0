//! Jibble → Odoo attendance: a Jibble source (client credentials, a relay webhook secret)
//! and an Odoo target writing `hr.attendance`, started with the same seed. People match
//! employees by e-mail; the one person whose Jibble address is private
//! (`timebridge_sim::jibble::PRIVATE_DOMAIN`) is connected to their employee (same name)
//! by a user mapping. Clock-ins still going are carried (`include_running`) as open
//! attendances and closed by the clock-out. Polling is the trigger (every 5 minutes); the
//! relay webhook is the fast path. The seed's intervals do not overlap per person, as
//! Odoo requires.

use serde_json::json;
use timebridge_sim::jibble::PRIVATE_DOMAIN;
use timebridge_sim::{JibbleSim, OdooSim, SimError, SimOptions};
use timebridge_store::MappingKind;

use crate::{ConnectorDef, MappingDef, PipelineDef, Plan, Sims, WEBHOOK_SECRET};

pub(crate) async fn start(opts: SimOptions) -> Result<(Sims, Plan), SimError> {
    let jibble = JibbleSim::start(opts.clone()).await?;
    let odoo = OdooSim::start(SimOptions {
        port: if opts.port == 0 {
            0
        } else {
            opts.port.saturating_add(1)
        },
        ..opts
    })
    .await?;
    let employees = odoo.employees();
    let mappings = jibble
        .people()
        .into_iter()
        .filter(|p| {
            p.email
                .as_deref()
                .is_some_and(|e| e.ends_with(&format!("@{PRIVATE_DOMAIN}")))
        })
        .filter_map(|p| {
            let employee = employees.iter().find(|e| e.name == p.full_name)?;
            Some(MappingDef {
                kind: MappingKind::User,
                source_key: p.id.clone(),
                source_label: Some(p.full_name.clone()),
                target_key: employee.id.to_string(),
            })
        })
        .collect();
    let plan = Plan {
        source: ConnectorDef {
            kind: "jibble".into(),
            name: "Jibble".into(),
            base_url: jibble.url.clone(),
            api_token: jibble.token.clone(),
            settings: json!({"client_id": jibble.client_id, "identity_url": jibble.url,
                             "workspace_url": jibble.api_url(),
                             "time_tracking_url": jibble.api_url(),
                             "max_requests_per_second": null,
                             "webhook_secret": WEBHOOK_SECRET}),
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
            name: "Jibble → Odoo attendance".into(),
            enabled: true,
            schedule_enabled: true,
            interval_minutes: 5,
            window_days: 31,
            options: json!({"include_running": true}),
        },
        mappings,
    };
    Ok((Sims::JibbleOdoo { jibble, odoo }, plan))
}
