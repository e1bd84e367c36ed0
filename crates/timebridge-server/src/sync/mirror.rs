//! Project mirroring (pipeline option `mirror_projects`): before a run reads entries,
//! every active target project whose name no source project has is created in the source
//! (under the option's `client_key` where the source has clients), through the source's
//! [`ProjectCreator`] capability. Which projects is decided by the pure
//! [`projects_to_mirror`] (names compared trimmed and case-insensitive).
//!
//! A dry run only lists what it would create. A real run creates each project once, even
//! across crashes: before each create a mirror intent is stored; after it the project is
//! audited (`project_mirrored`) and the intent deleted. A run first settles the intents an
//! interrupted run left: a project of that name in the source is adopted (audited once,
//! marked `recovered`), otherwise the intent is dropped and the decision is made afresh —
//! from the source's list as it is now, so a name the source has is never created again.
//!
//! Nothing here fails the run: a failure (listing, creating) is returned to the engine,
//! which reports it on the run (`partial`), and the next run tries again.

use serde_json::json;
use timebridge_connectors::ProjectCreator;
use timebridge_core::mapping::normalise_name;
use timebridge_core::mirror::{CatalogProject, projects_to_mirror};

use timebridge_store::{AuditAction, MirroredProject, NewAuditEvent, NewMirrorIntent, Run};

use super::context::PipelineContext;
use super::engine::actor_of;
use super::env::SyncEnv;
use crate::audit::Actor;

/// What mirroring did before a run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MirrorOutcome {
    /// Created (in a dry run: would be created), including projects adopted from an
    /// interrupted run.
    pub projects: Vec<MirroredProject>,
    /// What went wrong, for the run's error; each is retried by the next run.
    pub failures: Vec<String>,
}

/// Mirrors the target's active projects into the source when the pipeline asks for it;
/// stores the result on the run (`runs.mirrored_projects`). Does nothing (and stores
/// nothing) when the option is off.
pub async fn mirror_projects(state: &SyncEnv, ctx: &PipelineContext, run: &Run) -> MirrorOutcome {
    let option = &ctx.rules.options.mirror_projects;
    if !option.enabled {
        return MirrorOutcome::default();
    }
    let mut out = MirrorOutcome::default();
    match ctx.source().as_project_creator() {
        None => out.failures.push(format!(
            "projects are not mirrored: the {} connector cannot create projects",
            ctx.source_system
        )),
        Some(creator) => {
            state.progress.phase(run.id, "mirroring_projects", 0);
            mirror(
                state,
                ctx,
                run,
                creator,
                option.client_key.as_deref(),
                &mut out,
            )
            .await;
        }
    }
    if let Err(e) = state
        .store
        .set_run_mirrored_projects(run.id, &out.projects)
        .await
    {
        out.failures
            .push(format!("could not store the mirrored projects: {e}"));
    }
    for f in &out.failures {
        tracing::warn!(run = run.id, pipeline = run.pipeline_id, failure = %f,
            "Project mirroring incomplete.");
    }
    out
}

async fn mirror(
    state: &SyncEnv,
    ctx: &PipelineContext,
    run: &Run,
    creator: &dyn ProjectCreator,
    client_key: Option<&str>,
    out: &mut MirrorOutcome,
) {
    let source = match creator.projects().await {
        Ok(list) => list,
        Err(e) => {
            out.failures
                .push(format!("could not list the source's projects: {e}"));
            return;
        }
    };
    if !run.dry_run
        && let Err(e) = settle_intents(state, run, &source, out).await
    {
        out.failures
            .push(format!("could not settle the mirror intents: {e}"));
        return;
    }
    let target = ctx.directory.active_projects();
    let wanted: Vec<CatalogProject> = projects_to_mirror(&target, &source)
        .into_iter()
        .cloned()
        .collect();
    if run.dry_run {
        out.projects
            .extend(wanted.into_iter().map(|p| MirroredProject {
                name: p.name.trim().to_owned(),
                source_key: None,
            }));
        return;
    }
    let lease = super::worker::lease().to_std().unwrap_or_default();
    for project in wanted {
        let name = project.name.trim().to_owned();
        if !state.fences.may_write(run.id, lease) {
            out.failures.push(format!(
                "project {name:?} not created: this worker's lease on the pipeline is not \
                 confirmed; the next run creates it"
            ));
            continue;
        }
        let intent = match state
            .store
            .add_mirror_intent(
                NewMirrorIntent {
                    pipeline_id: run.pipeline_id,
                    run_id: Some(run.id),
                    name: name.clone(),
                    client_key: client_key.map(str::to_owned),
                },
                state.clock.now(),
            )
            .await
        {
            Ok(id) => id,
            Err(e) => {
                out.failures.push(format!(
                    "project {name:?} not created: could not record the intent: {e}"
                ));
                continue;
            }
        };
        crate::faults::before_mirror_create();
        match creator.create_project(&name, client_key).await {
            Ok(created) => {
                crate::faults::after_mirror_create();
                let audit = NewAuditEvent {
                    at: state.clock.now(),
                    actor: actor_of(run.trigger).as_str().to_owned(),
                    action: AuditAction::ProjectMirrored,
                    entity_type: "project".to_owned(),
                    entity_id: Some(created.key.clone()),
                    details: json!({"pipeline_id": run.pipeline_id, "run_id": run.id,
                           "name": name, "source_key": created.key,
                           "target_key": project.key, "client_key": client_key,
                           "recovered": false}),
                    ip: None,
                };
                if let Err(e) = state.store.settle_mirror_intent(intent, audit).await {
                    // The next run finds the project by name, adopts it and audits it.
                    tracing::warn!(run = run.id, error = %e, "Could not settle a mirror intent.");
                }
                tracing::info!(run = run.id, pipeline = run.pipeline_id, name = %name,
                    source_key = %created.key, "Mirrored a target project into the source.");
                out.projects.push(MirroredProject {
                    name,
                    source_key: Some(created.key),
                });
            }
            Err(e) => {
                // Keep the intent only when the create may have happened: the next run
                // then looks the name up before anything else.
                if !e.outcome_unknown() {
                    let _ = state.store.delete_mirror_intent(intent).await;
                }
                out.failures.push(format!(
                    "could not create project {name:?} in the source: {e}"
                ));
            }
        }
    }
}

/// Settles the intents an interrupted run left: adopts what was created, drops the rest
/// (the decision is then made afresh from the source as it is).
async fn settle_intents(
    state: &SyncEnv,
    run: &Run,
    source: &[CatalogProject],
    out: &mut MirrorOutcome,
) -> Result<(), timebridge_store::StoreError> {
    for intent in state.store.pending_mirror_intents(run.pipeline_id).await? {
        let wanted = normalise_name(&intent.name);
        if let Some(found) = source.iter().find(|p| normalise_name(&p.name) == wanted) {
            let audit = NewAuditEvent {
                at: state.clock.now(),
                actor: Actor::System.as_str().to_owned(),
                action: AuditAction::ProjectMirrored,
                entity_type: "project".to_owned(),
                entity_id: Some(found.key.clone()),
                details: json!({"pipeline_id": run.pipeline_id, "run_id": run.id,
                       "name": intent.name, "source_key": found.key,
                       "client_key": intent.client_key, "recovered": true,
                       "note": "created by an interrupted run; found by its name and adopted"}),
                ip: None,
            };
            state.store.settle_mirror_intent(intent.id, audit).await?;
            tracing::info!(run = run.id, pipeline = run.pipeline_id, name = %intent.name,
                source_key = %found.key, "Adopted a project an interrupted run created.");
            out.projects.push(MirroredProject {
                name: intent.name.clone(),
                source_key: Some(found.key.clone()),
            });
        } else {
            state.store.delete_mirror_intent(intent.id).await?;
        }
    }
    Ok(())
}
