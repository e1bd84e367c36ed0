//! Google Calendar → Kimai: the calendar owner's timed events become Kimai timesheets of
//! the user with the owner's e-mail. Projects come from keyword rules (each organization
//! the summaries name, by its first word, maps to the Kimai project of its name; other
//! events go to the first one's project, the pipeline default); the activity is Kimai's
//! global "Remote support" (the pipeline default: a calendar has no activities). The
//! connector is connected through a refresh token the simulator issued (see
//! `google_calendar_timetracker`).

use serde_json::json;
use timebridge_sim::google_calendar::{KEYWORD_ORGS, keyword};
use timebridge_sim::{GoogleCalendarSim, KimaiSim, SimError, SimOptions};
use timebridge_store::MappingKind;

use super::google_calendar_source;
use crate::{ConnectorDef, MappingDef, PipelineDef, Plan, Sims};

pub(crate) async fn start(opts: SimOptions) -> Result<(Sims, Plan), SimError> {
    let google = GoogleCalendarSim::start(opts.clone()).await?;
    let kimai = KimaiSim::start(SimOptions {
        port: if opts.port == 0 {
            0
        } else {
            opts.port.saturating_add(1)
        },
        ..opts.clone()
    })
    .await?;
    let orgs = timebridge_sim::seed::generate(
        opts.seed,
        opts.rng_seed,
        opts.now.unwrap_or_else(timebridge_sim::default_now),
    )
    .organizations;
    let projects = kimai.projects();
    let mut mappings = Vec::new();
    let mut default_project = None;
    for i in KEYWORD_ORGS {
        let Some(org) = orgs.get(i) else { continue };
        let Some(p) = projects.iter().find(|p| p.name == org.name) else {
            continue;
        };
        default_project.get_or_insert(p.id);
        mappings.push(MappingDef {
            kind: MappingKind::Project,
            source_key: keyword(&org.name),
            source_label: None,
            target_key: p.id.to_string(),
        });
    }
    let mut options = json!({});
    if let Some(p) = default_project {
        options["default_project"] = json!(p.to_string());
    }
    if let Some(a) = kimai
        .activities()
        .iter()
        .find(|a| a.project.is_none() && a.name == "Remote support")
    {
        options["default_activity"] = json!(a.id.to_string());
    }
    let plan = Plan {
        source: google_calendar_source(&google),
        target: ConnectorDef {
            kind: "kimai".into(),
            name: "Kimai".into(),
            base_url: kimai.url.clone(),
            api_token: kimai.token.clone(),
            settings: json!({}),
        },
        pipeline: PipelineDef {
            name: "Google Calendar → Kimai".into(),
            enabled: true,
            schedule_enabled: false,
            interval_minutes: 360,
            window_days: 31,
            options,
        },
        mappings,
    };
    Ok((Sims::GoogleCalendarKimai { google, kimai }, plan))
}
