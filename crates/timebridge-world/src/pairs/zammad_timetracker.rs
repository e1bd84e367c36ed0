//! Zammad → TimeTracker: a Zammad source (with a webhook secret) and a TimeTracker target
//! started with the same seed; every organization maps to the TimeTracker project of the
//! same id (the seed gives each organization one, same name), every Zammad type to the
//! task of its name in the entry's project (`name:<type>`; TimeTracker's tasks belong to
//! one project each), or to "no task" where no project has one; agents match TimeTracker
//! users by e-mail. An entry with a task costs two requests (TimeTracker refuses a task on
//! create); map types to [`NO_TASK`] for one request per entry.
//! The TimeTracker seed's own entries mirror the Zammad accountings (they feed the
//! TimeTracker → Kimai pair); here the target starts without entries, as an instance
//! that Zammad alone feeds would.

use serde_json::json;
use timebridge_connectors::timetracker::{NO_TASK, TASK_NAME_PREFIX};
use timebridge_sim::{SimError, SimOptions, TimetrackerSim, ZammadSim};
use timebridge_store::MappingKind;

use crate::{ConnectorDef, MappingDef, PipelineDef, Plan, Sims, WEBHOOK_SECRET};

pub(crate) async fn start(opts: SimOptions) -> Result<(Sims, Plan), SimError> {
    let zammad = ZammadSim::start(opts.clone()).await?;
    let timetracker = TimetrackerSim::start(SimOptions {
        port: if opts.port == 0 {
            0
        } else {
            opts.port.saturating_add(1)
        },
        ..opts
    })
    .await?;
    for e in timetracker.entries() {
        timetracker.delete_entry(e.id)?;
    }
    let tasks = timetracker.tasks();
    let mut mappings: Vec<MappingDef> = zammad
        .types()
        .into_iter()
        .map(|t| MappingDef {
            kind: MappingKind::Activity,
            source_key: t.id.to_string(),
            source_label: Some(t.name.clone()),
            target_key: if tasks.iter().any(|x| x.name == t.name) {
                format!("{TASK_NAME_PREFIX}{}", t.name)
            } else {
                NO_TASK.into()
            },
        })
        .collect();
    let projects = timetracker.projects();
    for o in zammad.organizations() {
        if projects.iter().any(|p| p.id == o.id && p.name == o.name) {
            mappings.push(MappingDef {
                kind: MappingKind::Project,
                source_key: o.id.to_string(),
                source_label: Some(o.name.clone()),
                target_key: o.id.to_string(),
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
            kind: "timetracker".into(),
            name: "TimeTracker".into(),
            base_url: timetracker.url.clone(),
            api_token: timetracker.token.clone(),
            settings: json!({}),
        },
        pipeline: PipelineDef {
            name: "Zammad → TimeTracker".into(),
            enabled: true,
            schedule_enabled: false,
            interval_minutes: 360,
            window_days: 31,
            options: json!({}),
        },
        mappings,
    };
    Ok((
        Sims::ZammadTimetracker {
            zammad,
            timetracker,
        },
        plan,
    ))
}
