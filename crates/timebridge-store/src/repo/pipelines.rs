//! Pipelines: one source connector synced into one target connector, with schedule and
//! options.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Store;
use crate::error::StoreResult;

/// A pipeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pipeline {
    pub id: i64,
    pub name: String,
    pub source_connector_id: i64,
    pub target_connector_id: i64,
    pub enabled: bool,
    pub schedule_enabled: bool,
    pub interval_minutes: i32,
    pub window_days: i32,
    /// `{"default_project", "default_activity", "unmapped_user", …}` as given by the API.
    pub options: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Full input for creating or replacing a pipeline (PUT semantics).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineInput {
    pub name: String,
    pub source_connector_id: i64,
    pub target_connector_id: i64,
    pub enabled: bool,
    pub schedule_enabled: bool,
    pub interval_minutes: i32,
    pub window_days: i32,
    pub options: Value,
}

impl Store {
    /// Creates a pipeline stamped `now` (the caller's clock: the scheduler measures from it).
    pub async fn create_pipeline(
        &self,
        input: PipelineInput,
        now: DateTime<Utc>,
    ) -> StoreResult<Pipeline> {
        use crate::entities::pipeline as e;
        use sea_orm::*;
        let now = crate::store::db_time(now);
        let m = e::ActiveModel {
            id: NotSet,
            name: Set(input.name),
            source_connector_id: Set(input.source_connector_id),
            target_connector_id: Set(input.target_connector_id),
            enabled: Set(input.enabled),
            schedule_enabled: Set(input.schedule_enabled),
            interval_minutes: Set(input.interval_minutes),
            window_days: Set(input.window_days),
            options: Set(input.options),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.db)
        .await
        .map_err(|e| {
            crate::error::classify(
                e,
                || crate::StoreError::Conflict("dup".into()),
                || crate::StoreError::Invalid("unknown connector".into()),
            )
        })?;
        Ok(conv(m))
    }
    pub async fn get_pipeline(&self, id: i64) -> StoreResult<Pipeline> {
        use crate::entities::pipeline as e;
        use sea_orm::*;
        e::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(conv)
            .ok_or(crate::StoreError::NotFound)
    }
    pub async fn list_pipelines(
        &self,
        limit: u64,
        offset: u64,
    ) -> StoreResult<(Vec<Pipeline>, u64)> {
        use crate::entities::pipeline as e;
        use sea_orm::*;
        let total = e::Entity::find().count(&self.db).await?;
        let items = e::Entity::find()
            .order_by_asc(e::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        Ok((items.into_iter().map(conv).collect(), total))
    }
    /// Every pipeline, by id, however many there are (the scheduler, the webhook path and
    /// `check` must see them all; the API pages with [`Store::list_pipelines`]).
    pub async fn all_pipelines(&self) -> StoreResult<Vec<Pipeline>> {
        use crate::entities::pipeline as e;
        use sea_orm::*;
        let items = e::Entity::find()
            .order_by_asc(e::Column::Id)
            .all(&self.db)
            .await?;
        Ok(items.into_iter().map(conv).collect())
    }
    /// Replaces a pipeline, stamped `now`.
    pub async fn update_pipeline(
        &self,
        id: i64,
        input: PipelineInput,
        now: DateTime<Utc>,
    ) -> StoreResult<Pipeline> {
        use crate::entities::pipeline as e;
        use sea_orm::*;
        let m = e::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(crate::StoreError::NotFound)?;
        let mut a: e::ActiveModel = m.into();
        a.name = Set(input.name);
        a.source_connector_id = Set(input.source_connector_id);
        a.target_connector_id = Set(input.target_connector_id);
        a.enabled = Set(input.enabled);
        a.schedule_enabled = Set(input.schedule_enabled);
        a.interval_minutes = Set(input.interval_minutes);
        a.window_days = Set(input.window_days);
        a.options = Set(input.options);
        a.updated_at = Set(crate::store::db_time(now));
        Ok(conv(a.update(&self.db).await?))
    }
    pub async fn delete_pipeline(&self, id: i64) -> StoreResult<()> {
        use crate::entities::pipeline as e;
        use sea_orm::*;
        let r = e::Entity::delete_by_id(id).exec(&self.db).await?;
        if r.rows_affected == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }
}
fn conv(m: crate::entities::pipeline::Model) -> Pipeline {
    Pipeline {
        id: m.id,
        name: m.name,
        source_connector_id: m.source_connector_id,
        target_connector_id: m.target_connector_id,
        enabled: m.enabled,
        schedule_enabled: m.schedule_enabled,
        interval_minutes: m.interval_minutes,
        window_days: m.window_days,
        options: m.options,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}
