//! TimeTracker → Kimai: a TimeTracker source (with a webhook secret) and a Kimai target
//! started with the same seed. Every TimeTracker project maps to the Kimai project of the
//! same id (same name), every task to the Kimai activity of its name (the project's own
//! activity where the Kimai project has one of that name, else the global one); users
//! match by e-mail. The seed books TimeTracker entries only for people who have a Kimai
//! user, on whole minutes, so that the first sync can write every one of them.

use serde_json::json;
use timebridge_sim::{KimaiSim, SimError, SimOptions, TimetrackerSim};
use timebridge_store::MappingKind;

use crate::{ConnectorDef, MappingDef, PipelineDef, Plan, Sims, WEBHOOK_SECRET};

pub(crate) async fn start(opts: SimOptions) -> Result<(Sims, Plan), SimError> {
    let timetracker = TimetrackerSim::start(opts.clone()).await?;
    let kimai = KimaiSim::start(SimOptions {
        port: if opts.port == 0 {
            0
        } else {
            opts.port.saturating_add(1)
        },
        ..opts
    })
    .await?;
    let activities = kimai.activities();
    let kimai_projects = kimai.projects();
    let mut mappings = Vec::new();
    for p in timetracker.projects() {
        if kimai_projects
            .iter()
            .any(|k| k.id == p.id && k.name == p.name)
        {
            mappings.push(MappingDef {
                kind: MappingKind::Project,
                source_key: p.id.to_string(),
                source_label: Some(p.name.clone()),
                target_key: p.id.to_string(),
            });
        }
    }
    for t in timetracker.tasks() {
        let own = activities
            .iter()
            .find(|a| a.name == t.name && a.project == Some(t.project_id));
        let global = activities
            .iter()
            .find(|a| a.name == t.name && a.project.is_none());
        if let Some(a) = own.or(global) {
            mappings.push(MappingDef {
                kind: MappingKind::Activity,
                source_key: t.id.to_string(),
                source_label: Some(t.name.clone()),
                target_key: a.id.to_string(),
            });
        }
    }
    let plan = Plan {
        source: ConnectorDef {
            kind: "timetracker".into(),
            name: "TimeTracker".into(),
            base_url: timetracker.url.clone(),
            api_token: timetracker.token.clone(),
            settings: json!({"webhook_secret": WEBHOOK_SECRET}),
        },
        target: ConnectorDef {
            kind: "kimai".into(),
            name: "Kimai".into(),
            base_url: kimai.url.clone(),
            api_token: kimai.token.clone(),
            settings: json!({}),
        },
        pipeline: PipelineDef {
            name: "TimeTracker → Kimai".into(),
            enabled: true,
            schedule_enabled: false,
            interval_minutes: 360,
            window_days: 31,
            options: json!({}),
        },
        mappings,
    };
    Ok((Sims::TimetrackerKimai { timetracker, kimai }, plan))
}
