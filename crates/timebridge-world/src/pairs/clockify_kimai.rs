//! Clockify → Kimai: the agency workspace's entries into Kimai. Projects match by name
//! (the seed names both after the organizations); each Clockify task name maps to the Kimai
//! global activity of that name (a project that forbids global activities refuses those
//! entries, as Kimai would); entries without a task get the global "Remote support";
//! members match Kimai users by e-mail.

use serde_json::json;
use timebridge_sim::{ClockifySim, KimaiSim, SimError, SimOptions};
use timebridge_store::MappingKind;

use crate::drivers::ClockifyWorkspace;
use crate::{ConnectorDef, MappingDef, PipelineDef, Plan, Sims, WEBHOOK_SECRET};

pub(crate) async fn start(opts: SimOptions) -> Result<(Sims, Plan), SimError> {
    let clockify = ClockifySim::start(opts.clone()).await?;
    let kimai = KimaiSim::start(SimOptions {
        port: if opts.port == 0 {
            0
        } else {
            opts.port.saturating_add(1)
        },
        ..opts
    })
    .await?;
    let agency = ClockifyWorkspace::new(clockify.control(), &clockify.agency_workspace);
    let ws = &clockify.agency_workspace;
    let activities = kimai.activities();
    let global = |name: &str| {
        activities
            .iter()
            .find(|a| a.project.is_none() && a.name == name)
            .map(|a| a.id)
    };
    // Clockify's activity key is the task's name (one mapping for every project's task).
    let mut names: Vec<String> = clockify.tasks(ws).into_iter().map(|t| t.name).collect();
    names.sort();
    names.dedup();
    let mappings: Vec<MappingDef> = names
        .into_iter()
        .filter_map(|name| {
            Some(MappingDef {
                kind: MappingKind::Activity,
                target_key: global(&name)?.to_string(),
                source_key: name.clone(),
                source_label: Some(name),
            })
        })
        .collect();
    let mut options = json!({"match_by_name": true});
    if let Some(a) = global("Remote support") {
        options["default_activity"] = json!(a.to_string());
    }
    let plan = Plan {
        source: ConnectorDef {
            kind: "clockify".into(),
            name: "Clockify".into(),
            base_url: clockify.api_url(),
            api_token: clockify.token.clone(),
            settings: json!({"workspace_id": ws, "webhook_secret": WEBHOOK_SECRET}),
        },
        target: ConnectorDef {
            kind: "kimai".into(),
            name: "Kimai".into(),
            base_url: kimai.url.clone(),
            api_token: kimai.token.clone(),
            settings: json!({}),
        },
        pipeline: PipelineDef {
            name: "Clockify → Kimai".into(),
            enabled: true,
            schedule_enabled: false,
            interval_minutes: 360,
            window_days: 31,
            options,
        },
        mappings,
    };
    Ok((
        Sims::ClockifyKimai {
            clockify,
            kimai,
            agency,
        },
        plan,
    ))
}
