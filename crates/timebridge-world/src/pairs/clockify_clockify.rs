//! Clockify → Clockify, the job people script today: a contractor books in their own
//! workspace (one client, "Agency"); the agency bills from its workspace (many clients).
//! One simulator serves both. The pipeline mirrors the agency's projects into the
//! contractor's workspace under the "Agency" client, matches projects (and "(no task)")
//! by name, and maps the contractor to their own account in the agency workspace (another
//! e-mail, so only the mapping can say it). It runs daily.

use serde_json::json;
use timebridge_sim::clockify::AGENCY_CLIENT;
use timebridge_sim::{ClockifySim, SimError, SimOptions};
use timebridge_store::MappingKind;

use crate::drivers::ClockifyWorkspace;
use crate::{ConnectorDef, MappingDef, PipelineDef, Plan, Sims, WEBHOOK_SECRET};

pub(crate) async fn start(opts: SimOptions) -> Result<(Sims, Plan), SimError> {
    let clockify = ClockifySim::start(opts).await?;
    let contractor = ClockifyWorkspace::new(clockify.control(), &clockify.contractor_workspace);
    let agency = ClockifyWorkspace::new(clockify.control(), &clockify.agency_workspace);
    let client = clockify
        .clients(&clockify.contractor_workspace)
        .into_iter()
        .find(|c| c.name == AGENCY_CLIENT)
        .map(|c| c.id);
    let plan = Plan {
        source: ConnectorDef {
            kind: "clockify".into(),
            name: "Clockify (contractor)".into(),
            base_url: clockify.api_url(),
            api_token: clockify.contractor_token.clone(),
            settings: json!({"workspace_id": clockify.contractor_workspace,
                             "webhook_secret": WEBHOOK_SECRET}),
        },
        target: ConnectorDef {
            kind: "clockify".into(),
            name: "Clockify (agency)".into(),
            base_url: clockify.api_url(),
            api_token: clockify.token.clone(),
            settings: json!({"workspace_id": clockify.agency_workspace}),
        },
        pipeline: PipelineDef {
            name: "Clockify → Clockify".into(),
            enabled: true,
            schedule_enabled: true,
            interval_minutes: 24 * 60,
            window_days: 31,
            options: json!({"match_by_name": true,
                            "mirror_projects": {"enabled": true, "client_key": client}}),
        },
        mappings: vec![MappingDef {
            kind: MappingKind::User,
            source_key: clockify.contractor.clone(),
            source_label: Some("Chris Contractor".into()),
            target_key: clockify.contractor_at_agency.clone(),
        }],
    };
    Ok((
        Sims::ClockifyClockify {
            clockify,
            contractor,
            agency,
        },
        plan,
    ))
}
