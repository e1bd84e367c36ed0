//! Zammad → Clockify: Zammad time accountings into the agency's Clockify workspace. Every
//! organization maps to the Clockify project of the same name; a Zammad type matches the
//! Clockify task of its name (by name, within the entry's project), other entries are
//! written without a task (Clockify's task is optional); agents match workspace members
//! by e-mail.

use serde_json::json;
use timebridge_sim::{ClockifySim, SimError, SimOptions, ZammadSim};
use timebridge_store::MappingKind;

use crate::drivers::ClockifyWorkspace;
use crate::{ConnectorDef, MappingDef, PipelineDef, Plan, Sims, WEBHOOK_SECRET};

pub(crate) async fn start(opts: SimOptions) -> Result<(Sims, Plan), SimError> {
    let zammad = ZammadSim::start(opts.clone()).await?;
    let clockify = ClockifySim::start(SimOptions {
        port: if opts.port == 0 {
            0
        } else {
            opts.port.saturating_add(1)
        },
        ..opts
    })
    .await?;
    let agency = ClockifyWorkspace::new(clockify.control(), &clockify.agency_workspace);
    let projects = clockify.projects(&clockify.agency_workspace);
    let mappings = zammad
        .organizations()
        .into_iter()
        .filter_map(|o| {
            let p = projects.iter().find(|p| p.name == o.name)?;
            Some(MappingDef {
                kind: MappingKind::Project,
                source_key: o.id.to_string(),
                source_label: Some(o.name.clone()),
                target_key: p.id.clone(),
            })
        })
        .collect();
    let plan = Plan {
        source: ConnectorDef {
            kind: "zammad".into(),
            name: "Zammad".into(),
            base_url: zammad.url.clone(),
            api_token: zammad.token.clone(),
            settings: json!({"webhook_secret": WEBHOOK_SECRET, "time_unit_minutes": 1.0}),
        },
        target: ConnectorDef {
            kind: "clockify".into(),
            name: "Clockify".into(),
            base_url: clockify.api_url(),
            api_token: clockify.token.clone(),
            settings: json!({"workspace_id": clockify.agency_workspace}),
        },
        pipeline: PipelineDef {
            name: "Zammad → Clockify".into(),
            enabled: true,
            schedule_enabled: false,
            interval_minutes: 360,
            window_days: 31,
            options: json!({"match_by_name": true}),
        },
        mappings,
    };
    Ok((
        Sims::ZammadClockify {
            zammad,
            clockify,
            agency,
        },
        plan,
    ))
}
