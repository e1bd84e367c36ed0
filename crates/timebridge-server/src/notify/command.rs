//! Answers to chat commands (`/timebridge status|conflicts|sync <pipeline>|help`) from the
//! server's own data. The chat system's wire format stays in its connector folder: this
//! module takes a typed [`ChatCommand`] and returns a typed [`CommandReply`].

use serde_json::json;
use timebridge_connectors::command::{ChatCommand, CommandReply, PipelineLine};
use timebridge_store::{AuditAction, NewRun, RunStatus, RunTrigger, StoreResult};

use super::links;
use crate::audit::{Actor, record};
use crate::state::AppState;

async fn lines(state: &AppState) -> StoreResult<Vec<PipelineLine>> {
    let public = &state.config.public_url;
    let pipelines = state.store.all_pipelines().await?;
    let mut out = Vec::new();
    for p in pipelines {
        let last = state.store.last_finished_run(p.id).await?;
        let active = state.store.active_run(p.id).await?.is_some();
        let open = state.store.open_conflicts(p.id).await?.len() as u64;
        out.push(PipelineLine {
            id: p.id,
            url: links::pipeline(public, p.id),
            name: p.name,
            enabled: p.enabled,
            last_status: last.as_ref().map(|r| r.status.to_string()),
            last_finished_at: last.and_then(|r| r.finished_at),
            active,
            open_conflicts: open,
        });
    }
    Ok(out)
}

/// Answers `command`, typed by `user` through notifier connector `connector_id`.
pub async fn answer(
    state: &AppState,
    connector_id: i64,
    command: ChatCommand,
    user: Option<String>,
) -> StoreResult<CommandReply> {
    let public = &state.config.public_url;
    Ok(match command {
        ChatCommand::Help => CommandReply::Help,
        ChatCommand::Unknown { text } => CommandReply::Unknown { text },
        ChatCommand::Status => CommandReply::Status {
            pipelines: lines(state).await?,
        },
        ChatCommand::Conflicts => CommandReply::Conflicts {
            pipelines: lines(state).await?,
            url: links::conflicts(public, None),
        },
        ChatCommand::Sync { pipeline } => {
            let all = state.store.all_pipelines().await?;
            let wanted = pipeline.trim().trim_start_matches('#');
            let found = all
                .iter()
                .find(|p| p.id.to_string() == wanted)
                .or_else(|| all.iter().find(|p| p.name.eq_ignore_ascii_case(wanted)));
            let Some(p) = found else {
                return Ok(CommandReply::NoSuchPipeline {
                    asked: pipeline,
                    known: all.into_iter().map(|p| p.name).collect(),
                });
            };
            if let Some(active) = state.store.active_run(p.id).await? {
                return Ok(CommandReply::SyncQueued {
                    pipeline: p.name.clone(),
                    run_id: active.id,
                    already: true,
                    url: links::run(public, active.id),
                });
            }
            let now = state.clock.now();
            let (from, to) = crate::sync::worker::default_window(now.date_naive(), p.window_days);
            let run = state
                .store
                .enqueue_run(
                    NewRun {
                        pipeline_id: p.id,
                        trigger: RunTrigger::Manual,
                        dry_run: false,
                        window_from: from,
                        window_to: to,
                        ticket_ids: None,
                        run_after: now,
                        scope: None,
                        undo_of: None,
                    },
                    now,
                )
                .await?;
            state.wake.notify_one();
            record(
                state,
                Actor::Webhook,
                AuditAction::SyncRequested,
                "run",
                Some(run.id.to_string()),
                json!({"pipeline_id": p.id, "via": "chat_command", "connector_id": connector_id,
                       "user": user, "status": RunStatus::Queued}),
                None,
            )
            .await;
            CommandReply::SyncQueued {
                pipeline: p.name.clone(),
                run_id: run.id,
                already: false,
                url: links::run(public, run.id),
            }
        }
    })
}
