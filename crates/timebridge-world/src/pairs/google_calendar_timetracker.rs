//! Google Calendar → TimeTracker: the calendar owner's timed events become TimeTracker
//! entries of the user with the owner's e-mail. Projects come from keyword rules: each
//! organization the calendar's summaries name (by its first word, see
//! [`timebridge_sim::google_calendar::KEYWORD_ORGS`]) maps to the TimeTracker project of
//! that organization's name; other events go to the first organization's project (the
//! pipeline default); no task. The connector is connected: the plan carries a refresh
//! token the simulator issued, as the connect flow would have stored it (the store path
//! sets it; the API refuses it and needs the connect flow). TimeTracker starts without
//! entries (it refuses overlaps, and the seed's own entries overlap the owner's events).

use serde_json::json;
use timebridge_sim::google_calendar::{KEYWORD_ORGS, keyword};
use timebridge_sim::{GoogleCalendarSim, SimError, SimOptions, TimetrackerSim};
use timebridge_store::MappingKind;

use super::google_calendar_source;
use crate::{ConnectorDef, MappingDef, PipelineDef, Plan, Sims};

pub(crate) async fn start(opts: SimOptions) -> Result<(Sims, Plan), SimError> {
    let google = GoogleCalendarSim::start(opts.clone()).await?;
    let timetracker = TimetrackerSim::start(SimOptions {
        port: if opts.port == 0 {
            0
        } else {
            opts.port.saturating_add(1)
        },
        ..opts.clone()
    })
    .await?;
    for e in timetracker.entries() {
        timetracker.delete_entry(e.id)?;
    }
    let orgs = timebridge_sim::seed::generate(
        opts.seed,
        opts.rng_seed,
        opts.now.unwrap_or_else(timebridge_sim::default_now),
    )
    .organizations;
    let projects = timetracker.projects();
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
    let plan = Plan {
        source: google_calendar_source(&google),
        target: ConnectorDef {
            kind: "timetracker".into(),
            name: "TimeTracker".into(),
            base_url: timetracker.url.clone(),
            api_token: timetracker.token.clone(),
            settings: json!({}),
        },
        pipeline: PipelineDef {
            name: "Google Calendar → TimeTracker".into(),
            enabled: true,
            schedule_enabled: false,
            interval_minutes: 360,
            window_days: 31,
            options,
        },
        mappings,
    };
    Ok((
        Sims::GoogleCalendarTimetracker {
            google,
            timetracker,
        },
        plan,
    ))
}
