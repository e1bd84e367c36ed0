//! Zammad → Kimai: a Zammad source (with a webhook secret) and a Kimai target, a pipeline
//! reading 31 days without a schedule, every Zammad type mapped to the Kimai global
//! activity of the same name and every organization to the Kimai project of the same id
//! (the seed gives each organization one); agents match Kimai users by e-mail.

use std::collections::HashMap;

use serde_json::json;
use timebridge_sim::{SimError, SimOptions, start_both};
use timebridge_store::MappingKind;

use crate::{ConnectorDef, MappingDef, PipelineDef, Plan, Sims, WEBHOOK_SECRET};

pub(crate) async fn start(opts: SimOptions) -> Result<(Sims, Plan), SimError> {
    let (zammad, kimai) = start_both(opts).await?;
    let activities: HashMap<String, u64> = kimai
        .activities()
        .into_iter()
        .filter(|a| a.project.is_none())
        .map(|a| (a.name, a.id))
        .collect();
    let mut mappings = Vec::new();
    for t in zammad.types() {
        if let Some(a) = activities.get(&t.name) {
            mappings.push(MappingDef {
                kind: MappingKind::Activity,
                source_key: t.id.to_string(),
                source_label: Some(t.name.clone()),
                target_key: a.to_string(),
            });
        }
    }
    let projects = kimai.projects();
    for o in zammad.organizations() {
        if projects.iter().any(|p| p.id == o.id) {
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
            kind: "kimai".into(),
            name: "Kimai".into(),
            base_url: kimai.url.clone(),
            api_token: kimai.token.clone(),
            settings: json!({}),
        },
        pipeline: PipelineDef {
            name: "Zammad → Kimai".into(),
            enabled: true,
            schedule_enabled: false,
            interval_minutes: 360,
            window_days: 31,
            options: json!({}),
        },
        mappings,
    };
    Ok((Sims::ZammadKimai { zammad, kimai }, plan))
}
