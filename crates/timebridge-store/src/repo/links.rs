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
        let txn = self.db.begin().await?;
        upsert_link(&txn, pipeline_id, row, now).await?;
        if let Some(id) = intent_id {
            write_intent::Entity::delete_by_id(id).exec(&txn).await?;
        }
        crate::repo::audit::insert_audit(&txn, event).await?;
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
        let m = write_intent::ActiveModel {
            id: NotSet,
            pipeline_id: Set(new.pipeline_id),
            run_id: Set(new.run_id),
            source_key: Set(new.source_key),
            action: Set(new.action),
            target_id: Set(new.target_id),
            desired: Set(new.desired),
            created_at: Set(now),
        }
        .insert(&self.db)
        .await?;
        Ok(m.id)
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
    link::Entity::insert(link::ActiveModel {
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
    })
    .on_conflict(
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
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}
