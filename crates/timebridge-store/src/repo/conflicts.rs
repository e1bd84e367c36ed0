//! Conflicts: one open conflict per pipeline and source key at most; a later run updates
//! it instead of raising it again.

use chrono::{DateTime, Utc};
use sea_orm::*;
use serde_json::Value;
use timebridge_core::ConflictOrigin;

use crate::states::ConflictStatus;

use crate::Store;
use crate::entities::conflict;
use crate::error::StoreResult;

/// A conflict as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Conflict {
    pub id: i64,
    pub pipeline_id: i64,
    pub source_key: String,
    pub reason: String,
    /// Raised by the planner or refused by the target.
    pub origin: ConflictOrigin,
    pub status: ConflictStatus,
    pub source: Option<Value>,
    /// The source entry as the source connector read it (for `skip` memories).
    pub raw_source: Option<Value>,
    pub target: Option<Value>,
    pub target_id: Option<String>,
    pub diff: Value,
    pub allowed_actions: Value,
    pub message: String,
    pub explanation: Option<Value>,
    pub run_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// `{"action","note","at"}`.
    pub resolution: Option<Value>,
}

/// What a run raises.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConflict {
    pub pipeline_id: i64,
    pub source_key: String,
    pub reason: String,
    pub origin: ConflictOrigin,
    pub source: Option<Value>,
    pub raw_source: Option<Value>,
    pub target: Option<Value>,
    pub target_id: Option<String>,
    pub diff: Value,
    pub allowed_actions: Value,
    pub message: String,
    pub explanation: Option<Value>,
    pub run_id: Option<i64>,
}

/// Filter of [`Store::list_conflicts`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConflictFilter {
    pub pipeline_id: Option<i64>,
    /// `open`, `resolved`, or `None` for all.
    pub status: Option<String>,
    pub reason: Option<String>,
}

fn conv(m: conflict::Model) -> Conflict {
    Conflict {
        id: m.id,
        pipeline_id: m.pipeline_id,
        source_key: m.source_key,
        reason: m.reason,
        origin: ConflictOrigin::from_stored(&m.origin),
        status: m.status,
        source: m.source,
        raw_source: m.raw_source,
        target: m.target,
        target_id: m.target_id,
        diff: m.diff,
        allowed_actions: m.allowed_actions,
        message: m.message,
        explanation: m.explanation,
        run_id: m.run_id,
        created_at: m.created_at,
        updated_at: m.updated_at,
        resolved_at: m.resolved_at,
        resolution: m.resolution,
    }
}

impl Store {
    /// Raises a conflict, or refreshes the open one of the same source key (keeping its
    /// id); returns it and whether it is new (raised now, not before).
    pub async fn raise_conflict(
        &self,
        new: NewConflict,
        now: DateTime<Utc>,
    ) -> StoreResult<(Conflict, bool)> {
        let existing = conflict::Entity::find()
            .filter(conflict::Column::PipelineId.eq(new.pipeline_id))
            .filter(conflict::Column::SourceKey.eq(new.source_key.clone()))
            .filter(conflict::Column::Status.eq(ConflictStatus::Open))
            .one(&self.db)
            .await?;
        if let Some(m) = existing {
            let same_reason = m.reason == new.reason;
            let mut am: conflict::ActiveModel = m.into();
            am.reason = Set(new.reason);
            am.origin = Set(new.origin.as_str().to_owned());
            am.source = Set(new.source);
            am.raw_source = Set(new.raw_source);
            am.target = Set(new.target);
            am.target_id = Set(new.target_id);
            am.diff = Set(new.diff);
            am.allowed_actions = Set(new.allowed_actions);
            am.message = Set(new.message);
            am.explanation = Set(new.explanation);
            am.run_id = Set(new.run_id);
            am.updated_at = Set(now);
            let m = am.update(&self.db).await?;
            return Ok((conv(m), !same_reason));
        }
        let m = conflict::ActiveModel {
            id: NotSet,
            pipeline_id: Set(new.pipeline_id),
            source_key: Set(new.source_key),
            reason: Set(new.reason),
            origin: Set(new.origin.as_str().to_owned()),
            status: Set(ConflictStatus::Open),
            source: Set(new.source),
            raw_source: Set(new.raw_source),
            target: Set(new.target),
            target_id: Set(new.target_id),
            diff: Set(new.diff),
            allowed_actions: Set(new.allowed_actions),
            message: Set(new.message),
            explanation: Set(new.explanation),
            run_id: Set(new.run_id),
            created_at: Set(now),
            updated_at: Set(now),
            resolved_at: Set(None),
            resolution: Set(None),
        }
        .insert(&self.db)
        .await?;
        Ok((conv(m), true))
    }

    /// Open conflicts of a pipeline.
    pub async fn open_conflicts(&self, pipeline_id: i64) -> StoreResult<Vec<Conflict>> {
        Ok(conflict::Entity::find()
            .filter(conflict::Column::PipelineId.eq(pipeline_id))
            .filter(conflict::Column::Status.eq(ConflictStatus::Open))
            .order_by_asc(conflict::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(conv)
            .collect())
    }

    /// The open conflicts of a pipeline as `(id, source_key, reason)`: what a run needs to
    /// close settled ones, without loading every conflict's entries.
    pub async fn open_conflict_keys(
        &self,
        pipeline_id: i64,
    ) -> StoreResult<Vec<(i64, String, String)>> {
        Ok(conflict::Entity::find()
            .select_only()
            .column(conflict::Column::Id)
            .column(conflict::Column::SourceKey)
            .column(conflict::Column::Reason)
            .filter(conflict::Column::PipelineId.eq(pipeline_id))
            .filter(conflict::Column::Status.eq(ConflictStatus::Open))
            .order_by_asc(conflict::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// The open conflicts of a pipeline with `reason` that the target itself raised (it
    /// refused a write), as `(id, source_key, message, source)`.
    pub async fn open_target_refusals(
        &self,
        pipeline_id: i64,
        reason: &str,
    ) -> StoreResult<Vec<(i64, String, String, Option<Value>)>> {
        Ok(conflict::Entity::find()
            .select_only()
            .column(conflict::Column::Id)
            .column(conflict::Column::SourceKey)
            .column(conflict::Column::Message)
            .column(conflict::Column::Source)
            .filter(conflict::Column::PipelineId.eq(pipeline_id))
            .filter(conflict::Column::Status.eq(ConflictStatus::Open))
            .filter(conflict::Column::Reason.eq(reason))
            .filter(conflict::Column::Origin.eq(ConflictOrigin::Target.as_str()))
            .order_by_asc(conflict::Column::Id)
            .into_tuple::<(i64, String, String, Option<Value>)>()
            .all(&self.db)
            .await?)
    }

    /// One conflict.
    pub async fn get_conflict(&self, id: i64) -> StoreResult<Conflict> {
        conflict::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(conv)
            .ok_or(crate::StoreError::NotFound)
    }

    /// Conflicts matching `filter`, newest first.
    pub async fn list_conflicts(
        &self,
        filter: &ConflictFilter,
        limit: u64,
        offset: u64,
    ) -> StoreResult<(Vec<Conflict>, u64)> {
        let mut q = conflict::Entity::find();
        if let Some(p) = filter.pipeline_id {
            q = q.filter(conflict::Column::PipelineId.eq(p));
        }
        if let Some(s) = &filter.status {
            q = q.filter(conflict::Column::Status.eq(s.clone()));
        }
        if let Some(r) = &filter.reason {
            q = q.filter(conflict::Column::Reason.eq(r.clone()));
        }
        let total = q.clone().count(&self.db).await?;
        let items = q
            .order_by_desc(conflict::Column::Id)
            .limit(super::clamp_limit(limit))
            .offset(offset)
            .all(&self.db)
            .await?;
        Ok((items.into_iter().map(conv).collect(), total))
    }

    /// Marks an open conflict resolved with `resolution`; `false` when it was not open
    /// (resolved meanwhile by someone else).
    pub async fn resolve_conflict(
        &self,
        id: i64,
        resolution: Value,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        use sea_orm::sea_query::Expr;
        let res = conflict::Entity::update_many()
            .col_expr(
                conflict::Column::Status,
                Expr::value(ConflictStatus::Resolved),
            )
            .col_expr(conflict::Column::Resolution, Expr::value(resolution))
            .col_expr(conflict::Column::ResolvedAt, Expr::value(now))
            .col_expr(conflict::Column::UpdatedAt, Expr::value(now))
            .filter(conflict::Column::Id.eq(id))
            .filter(conflict::Column::Status.eq(ConflictStatus::Open))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }
}
