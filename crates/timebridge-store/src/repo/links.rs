//! Links (what we wrote for each source entry of a pipeline) and write intents (a remote
//! write recorded before it is made, deleted once its link is stored).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::*;
use serde_json::Value;

use crate::Store;
use crate::entities::{link, write_intent};
use crate::error::StoreResult;

/// A stored link (the planner's `LinkRecord` plus the ticket, for ticket-scoped runs).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRow {
    pub source_key: String,
    pub target_id: Option<String>,
    pub desired_fingerprint: Option<i64>,
    pub target_fingerprint: Option<i64>,
    /// The planner's memory (`{"kind":"skipped",…}`), as JSON.
    pub memory: Option<Value>,
    pub ticket_id: Option<i64>,
    /// Signed seconds the pipeline's rounding added to the duration we last wrote (null:
    /// not rounded).
    pub rounded_seconds: Option<i64>,
    /// The rounding rule (#1, #2, …) that applied; null: the pipeline's default.
    pub rounding_rule: Option<i32>,
}

/// A write that was about to be made.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteIntent {
    pub id: i64,
    pub pipeline_id: i64,
    pub run_id: Option<i64>,
    pub source_key: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    pub target_id: Option<String>,
    /// The desired entry (normalised JSON) the write carried.
    pub desired: Value,
    pub created_at: DateTime<Utc>,
}

/// A remote write that succeeded, as [`Store::complete_writes`] records it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedWrite {
    pub pipeline_id: i64,
    /// The link the write leaves.
    pub link: LinkRow,
    /// The intent recorded before the write, deleted with it.
    pub intent_id: Option<i64>,
    pub event: crate::NewAuditEvent,
    /// When the write completed (the link's `updated_at`).
    pub at: DateTime<Utc>,
}

/// Input of [`Store::add_write_intent`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewWriteIntent {
    pub pipeline_id: i64,
    pub run_id: Option<i64>,
    pub source_key: String,
    pub action: String,
    pub target_id: Option<String>,
    pub desired: Value,
}

impl Store {
    /// Every link of a pipeline.
    pub async fn load_links(&self, pipeline_id: i64) -> StoreResult<Vec<LinkRow>> {
        Ok(link::Entity::find()
            .filter(link::Column::PipelineId.eq(pipeline_id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| LinkRow {
                source_key: m.source_key,
                target_id: m.target_id,
                desired_fingerprint: m.desired_fingerprint,
                target_fingerprint: m.target_fingerprint,
                memory: m.memory,
                ticket_id: m.ticket_id,
                rounded_seconds: m.rounded_seconds,
                rounding_rule: m.rounding_rule,
            })
            .collect())
    }

    /// The link of one source key.
    pub async fn get_link(
        &self,
        pipeline_id: i64,
        source_key: &str,
    ) -> StoreResult<Option<LinkRow>> {
        Ok(link::Entity::find()
            .filter(link::Column::PipelineId.eq(pipeline_id))
            .filter(link::Column::SourceKey.eq(source_key))
            .one(&self.db)
            .await?
            .map(|m| LinkRow {
                source_key: m.source_key,
                target_id: m.target_id,
                desired_fingerprint: m.desired_fingerprint,
                target_fingerprint: m.target_fingerprint,
                memory: m.memory,
                ticket_id: m.ticket_id,
                rounded_seconds: m.rounded_seconds,
                rounding_rule: m.rounding_rule,
            }))
    }

    /// Inserts or replaces the link of `row.source_key`.
    pub async fn upsert_link(
        &self,
        pipeline_id: i64,
        row: &LinkRow,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        upsert_link(&self.db, pipeline_id, row, now).await
    }

    /// What follows a remote write that succeeded, in one transaction: its link stored,
    /// its intent (if it had one) deleted, its audit event appended. A crash leaves all or
    /// none (then the intent makes the next run adopt the entry by its marker).
    pub async fn complete_write(
        &self,
        pipeline_id: i64,
        row: &LinkRow,
        intent_id: Option<i64>,
        event: crate::NewAuditEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.complete_writes(vec![CompletedWrite {
            pipeline_id,
            link: row.clone(),
            intent_id,
            event,
            at: now,
        }])
        .await
    }

    /// [`Store::complete_write`] for several writes in one transaction (the executor's
    /// group commit): three statements whatever their number — the links upserted, the
    /// intents deleted, the audit events appended. All or none: a crash keeps every intent
    /// of the group, and the next run adopts their entries by marker.
    pub async fn complete_writes(&self, done: Vec<CompletedWrite>) -> StoreResult<()> {
        if done.is_empty() {
            return Ok(());
        }
        // One upsert may not touch a row twice (PostgreSQL refuses): of two completions of
        // one source key, the later wins, as it would written one after the other.
        let mut seen = std::collections::HashSet::new();
        let mut links = Vec::with_capacity(done.len());
        for d in done.iter().rev() {
            if seen.insert((d.pipeline_id, d.link.source_key.as_str())) {
                links.push(link_model(d.pipeline_id, &d.link, d.at));
            }
        }
        links.reverse();
        let intents: Vec<i64> = done.iter().filter_map(|d| d.intent_id).collect();
        let events: Vec<_> = done
            .into_iter()
            .map(|d| crate::repo::audit::audit_model(d.event))
            .collect();
        let txn = self.db.begin().await?;
        link::Entity::insert_many(links)
            .on_conflict(link_upsert())
            .exec_without_returning(&txn)
            .await?;
        if !intents.is_empty() {
            write_intent::Entity::delete_many()
                .filter(write_intent::Column::Id.is_in(intents))
                .exec(&txn)
                .await?;
        }
        crate::entities::audit_event::Entity::insert_many(events)
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Removes the link of a source key (after its target entry was deleted).
    pub async fn delete_link(&self, pipeline_id: i64, source_key: &str) -> StoreResult<()> {
        link::Entity::delete_many()
            .filter(link::Column::PipelineId.eq(pipeline_id))
            .filter(link::Column::SourceKey.eq(source_key))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Records a write about to be made; returns the intent's id.
    pub async fn add_write_intent(
        &self,
        new: NewWriteIntent,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let ids = self.add_write_intents(vec![(new, now)]).await?;
        ids.into_iter()
            .next()
            .ok_or_else(|| DbErr::RecordNotInserted.into())
    }

    /// Records several writes about to be made, in one statement (the executor's group
    /// commit); returns their intents' ids in the order given. Committed before it
    /// returns: none of these writes may be sent earlier.
    pub async fn add_write_intents(
        &self,
        new: Vec<(NewWriteIntent, DateTime<Utc>)>,
    ) -> StoreResult<Vec<i64>> {
        if new.is_empty() {
            return Ok(Vec::new());
        }
        // RETURNING gives the rows in no promised order: each id is matched to its intent
        // by (pipeline, run, source key); a group that repeats one is stored row by row.
        let keys: Vec<(i64, Option<i64>, String)> = new
            .iter()
            .map(|(n, _)| (n.pipeline_id, n.run_id, n.source_key.clone()))
            .collect();
        let place: std::collections::HashMap<&(i64, Option<i64>, String), usize> =
            keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
        let models: Vec<write_intent::ActiveModel> = new
            .into_iter()
            .map(|(n, now)| write_intent::ActiveModel {
                id: NotSet,
                pipeline_id: Set(n.pipeline_id),
                run_id: Set(n.run_id),
                source_key: Set(n.source_key),
                action: Set(n.action),
                target_id: Set(n.target_id),
                desired: Set(n.desired),
                created_at: Set(now),
            })
            .collect();
        if place.len() != keys.len() {
            let txn = self.db.begin().await?;
            let mut ids = Vec::with_capacity(models.len());
            for m in models {
                ids.push(m.insert(&txn).await?.id);
            }
            txn.commit().await?;
            return Ok(ids);
        }
        let rows = write_intent::Entity::insert_many(models)
            .exec_with_returning(&self.db)
            .await?;
        let mut ids = vec![None; keys.len()];
        for r in rows {
            if let Some(&i) = place.get(&(r.pipeline_id, r.run_id, r.source_key)) {
                ids[i] = Some(r.id);
            }
        }
        ids.into_iter()
            .map(|id| id.ok_or_else(|| DbErr::RecordNotInserted.into()))
            .collect()
    }

    /// Forgets an intent whose outcome is recorded.
    pub async fn delete_write_intent(&self, id: i64) -> StoreResult<()> {
        write_intent::Entity::delete_by_id(id)
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Intents of a pipeline left by a run that did not finish its write.
    pub async fn pending_write_intents(&self, pipeline_id: i64) -> StoreResult<Vec<WriteIntent>> {
        Ok(write_intent::Entity::find()
            .filter(write_intent::Column::PipelineId.eq(pipeline_id))
            .order_by_asc(write_intent::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| WriteIntent {
                id: m.id,
                pipeline_id: m.pipeline_id,
                run_id: m.run_id,
                source_key: m.source_key,
                action: m.action,
                target_id: m.target_id,
                desired: m.desired,
                created_at: m.created_at,
            })
            .collect())
    }
}

/// Inserts or replaces a link (on a connection or in a transaction).
async fn upsert_link(
    db: &impl ConnectionTrait,
    pipeline_id: i64,
    row: &LinkRow,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    link::Entity::insert(link_model(pipeline_id, row, now))
        .on_conflict(link_upsert())
        .exec(db)
        .await?;
    Ok(())
}

fn link_model(pipeline_id: i64, row: &LinkRow, now: DateTime<Utc>) -> link::ActiveModel {
    link::ActiveModel {
        id: NotSet,
        pipeline_id: Set(pipeline_id),
        source_key: Set(row.source_key.clone()),
        target_id: Set(row.target_id.clone()),
        desired_fingerprint: Set(row.desired_fingerprint),
        target_fingerprint: Set(row.target_fingerprint),
        memory: Set(row.memory.clone()),
        ticket_id: Set(row.ticket_id),
        rounded_seconds: Set(row.rounded_seconds),
        rounding_rule: Set(row.rounding_rule),
        updated_at: Set(now),
    }
}

/// A link replaces the one of its (pipeline, source key).
fn link_upsert() -> OnConflict {
    OnConflict::columns([link::Column::PipelineId, link::Column::SourceKey])
        .update_columns([
            link::Column::TargetId,
            link::Column::DesiredFingerprint,
            link::Column::TargetFingerprint,
            link::Column::Memory,
            link::Column::TicketId,
            link::Column::RoundedSeconds,
            link::Column::RoundingRule,
            link::Column::UpdatedAt,
        ])
        .to_owned()
}
