//! A row of the outbox as the message to deliver, from what the store holds now: the
//! run's status, counts and error; the conflicts it raised by reason; for the daily
//! summary the entries written that day, hours by project and the open conflicts.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use timebridge_core::notify::{
    DriftItem, Notification, NotificationEvent, NotificationSummary, NotifiedPipeline, NotifiedRun,
    ProjectHours, RunCounts,
};
use timebridge_store::{AuditAction, AuditFilter, OutboxRow, Store, StoreError, StoreResult};

use super::links;

fn counts(stats: &serde_json::Value) -> RunCounts {
    let n = |k: &str| stats[k].as_u64().unwrap_or(0);
    RunCounts {
        fetched: n("fetched"),
        created: n("created"),
        updated: n("updated"),
        in_sync: n("in_sync"),
        skipped: n("skipped"),
        conflicts: n("conflicts"),
        errors: n("errors"),
    }
}

/// The message for `row`; `None` when what it is about no longer exists (the pipeline or
/// run was deleted).
pub async fn render(
    store: &Store,
    row: &OutboxRow,
    public_url: &str,
) -> StoreResult<Option<Notification>> {
    let Some(pipeline_id) = row.pipeline_id else {
        return Ok(None);
    };
    let pipeline = match store.get_pipeline(pipeline_id).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let notified = NotifiedPipeline {
        id: pipeline.id,
        name: pipeline.name.clone(),
    };
    let mut summary = NotificationSummary::default();
    let mut run_view = None;
    let url;
    match row.event {
        NotificationEvent::RunFailed
        | NotificationEvent::RunPartial
        | NotificationEvent::ConflictsRaised
        | NotificationEvent::DriftDetected => {
            let Some(run_id) = row.run_id else {
                return Ok(None);
            };
            let run = match store.get_run(run_id).await {
                Ok(r) => r,
                Err(StoreError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            };
            let c = counts(&run.stats);
            run_view = Some(NotifiedRun {
                id: run.id,
                status: run.status.to_string(),
                trigger: run.trigger.to_string(),
                window_from: run.window_from,
                window_to: run.window_to,
            });
            summary.counts = Some(c);
            if row.event == NotificationEvent::DriftDetected {
                let raised = store.drift_raised_by(&run).await?;
                let mut by_reason = BTreeMap::new();
                for (_, reason) in &raised {
                    *by_reason.entry(reason.clone()).or_insert(0u64) += 1;
                }
                for (id, reason) in raised.iter().take(20) {
                    let c = match store.get_conflict(*id).await {
                        Ok(c) => c,
                        Err(StoreError::NotFound) => continue,
                        Err(e) => return Err(e),
                    };
                    let target: Option<timebridge_core::Entry> = c
                        .target
                        .clone()
                        .and_then(|v| serde_json::from_value(v).ok());
                    let source: Option<timebridge_core::Entry> = c
                        .source
                        .clone()
                        .and_then(|v| serde_json::from_value(v).ok());
                    let shown = target.as_ref().or(source.as_ref());
                    // A deleted entry is no longer in the target: its id is the link's.
                    let target_id = match &c.target_id {
                        Some(id) => Some(id.clone()),
                        None => store
                            .get_link(pipeline.id, &c.source_key)
                            .await?
                            .and_then(|l| l.target_id),
                    };
                    summary.drift.push(DriftItem {
                        conflict_id: c.id,
                        reason: reason.clone(),
                        source_key: c.source_key.clone(),
                        target_id,
                        user: shown.and_then(|e| e.user.as_ref()).map(|u| {
                            u.name
                                .clone()
                                .or_else(|| u.email.clone())
                                .unwrap_or_else(|| u.key.clone())
                        }),
                        begin: shown.map(|e| e.begin),
                        fields: c.diff.as_array().map_or_else(Vec::new, |d| {
                            d.iter()
                                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                                .collect()
                        }),
                    });
                }
                let total = raised.len();
                summary.headline = format!(
                    "Run #{} of “{}” found {total} synced entr{} changed in the target since \
                     it wrote {}.",
                    run.id,
                    pipeline.name,
                    if total == 1 { "y" } else { "ies" },
                    if total == 1 { "it" } else { "them" }
                );
                summary.conflicts_by_reason = by_reason;
                url = links::drift(public_url, Some(pipeline.id));
            } else if row.event == NotificationEvent::ConflictsRaised {
                let mut by_reason = BTreeMap::new();
                for reason in store.conflicts_raised_by(&run).await? {
                    *by_reason.entry(reason).or_insert(0u64) += 1;
                }
                let total: u64 = by_reason.values().sum();
                summary.headline = format!(
                    "Run #{} of “{}” raised {total} new conflict{}.",
                    run.id,
                    pipeline.name,
                    if total == 1 { "" } else { "s" }
                );
                summary.conflicts_by_reason = by_reason;
                url = links::conflicts(public_url, Some(pipeline.id));
            } else {
                summary.headline = if row.event == NotificationEvent::RunFailed {
                    format!("Run #{} of “{}” failed.", run.id, pipeline.name)
                } else {
                    format!(
                        "Run #{} of “{}” ended partly: {} entries could not be written and wait \
                         for the next run.",
                        run.id, pipeline.name, c.errors
                    )
                };
                summary.error = run.error.clone();
                url = links::run(public_url, run.id);
            }
        }
        NotificationEvent::DailySummary => {
            let date = row.payload["date"].as_str().and_then(|d| d.parse().ok());
            let from: Option<DateTime<Utc>> =
                row.payload["from"].as_str().and_then(|t| t.parse().ok());
            let to: Option<DateTime<Utc>> = row.payload["to"].as_str().and_then(|t| t.parse().ok());
            let (Some(from), Some(to)) = (from, to) else {
                return Ok(None);
            };
            let (written, hours) = written_between(store, pipeline.id, from, to).await?;
            let open = store.open_conflicts(pipeline.id).await?.len() as u64;
            summary.date = date;
            summary.entries_written = Some(written);
            summary.open_conflicts = Some(open);
            summary.hours_by_project = hours;
            summary.headline = format!(
                "“{}” in the last 24 hours: {written} entries written; {open} conflicts open.",
                pipeline.name
            );
            url = if open > 0 {
                links::conflicts(public_url, Some(pipeline.id))
            } else {
                links::pipeline(public_url, pipeline.id)
            };
        }
        NotificationEvent::Test => return Ok(None),
    }
    Ok(Some(Notification {
        event: row.event,
        delivery_id: row.delivery_id.clone(),
        pipeline: Some(notified),
        run: run_view,
        summary,
        url,
    }))
}

/// Entries written into the target for `pipeline_id` in `[from, to)` (audited
/// `entry_created` / `entry_updated`), and hours by project, most first.
async fn written_between(
    store: &Store,
    pipeline_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<(u64, Vec<ProjectHours>)> {
    let mut written = 0;
    let mut seconds: HashMap<String, i64> = HashMap::new();
    for action in [AuditAction::EntryCreated, AuditAction::EntryUpdated] {
        let filter = AuditFilter {
            action: Some(action),
            since: Some(from),
            until: Some(to),
            ..Default::default()
        };
        let mut offset = 0;
        loop {
            let (events, total) = store.list_audit(&filter, 500, offset).await?;
            for e in &events {
                if e.details["pipeline_id"].as_i64() != Some(pipeline_id) || e.at >= to {
                    continue;
                }
                written += 1;
                let project = e.details["project"]
                    .as_str()
                    .unwrap_or("(no project)")
                    .to_owned();
                *seconds.entry(project).or_default() +=
                    e.details["duration_seconds"].as_i64().unwrap_or(0);
            }
            offset += events.len() as u64;
            if events.is_empty() || offset >= total {
                break;
            }
        }
    }
    let mut hours: Vec<ProjectHours> = seconds
        .into_iter()
        .map(|(project, s)| ProjectHours {
            project,
            hours: (s as f64 / 36.0).round() / 100.0,
        })
        .collect();
    hours.sort_by(|a, b| b.hours.total_cmp(&a.hours).then(a.project.cmp(&b.project)));
    Ok((written, hours))
}
