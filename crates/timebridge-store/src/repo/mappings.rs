//! Mappings from source keys to target keys (activity, project, user) per pipeline.

use chrono::{DateTime, Utc};

use crate::Store;
use crate::error::{StoreError, StoreResult};

/// What a mapping maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MappingKind {
    Activity,
    Project,
    User,
}

impl From<timebridge_core::MappingKind> for MappingKind {
    fn from(k: timebridge_core::MappingKind) -> Self {
        match k {
            timebridge_core::MappingKind::Activity => MappingKind::Activity,
            timebridge_core::MappingKind::Project => MappingKind::Project,
            timebridge_core::MappingKind::User => MappingKind::User,
        }
    }
}

impl From<MappingKind> for timebridge_core::MappingKind {
    fn from(k: MappingKind) -> Self {
        match k {
            MappingKind::Activity => timebridge_core::MappingKind::Activity,
            MappingKind::Project => timebridge_core::MappingKind::Project,
            MappingKind::User => timebridge_core::MappingKind::User,
        }
    }
}

impl MappingKind {
    /// The API and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MappingKind::Activity => "activity",
            MappingKind::Project => "project",
            MappingKind::User => "user",
        }
    }
}

impl std::fmt::Display for MappingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MappingKind {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "activity" => Ok(MappingKind::Activity),
            "project" => Ok(MappingKind::Project),
            "user" => Ok(MappingKind::User),
            other => Err(StoreError::Invalid(format!(
                "unknown mapping kind `{other}` (expected activity, project or user)"
            ))),
        }
    }
}

/// A mapping.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mapping {
    pub id: i64,
    pub pipeline_id: i64,
    pub kind: MappingKind,
    pub source_key: String,
    pub source_label: Option<String>,
    /// `None` only when `sync` is false (an excluded person).
    pub target_key: Option<String>,
    pub target_label: Option<String>,
    /// Overrides Kimai's billable default when set.
    pub billable: Option<bool>,
    /// `false` on a `user` mapping excludes that person from sync.
    pub sync: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Full input for creating or replacing a mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingInput {
    pub pipeline_id: i64,
    pub kind: MappingKind,
    pub source_key: String,
    pub source_label: Option<String>,
    pub target_key: Option<String>,
    pub target_label: Option<String>,
    pub billable: Option<bool>,
    pub sync: bool,
}

/// Filter for [`Store::list_mappings`]; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingFilter {
    pub pipeline_id: Option<i64>,
    pub kind: Option<MappingKind>,
}

impl Store {
    pub async fn create_mapping(&self, input: MappingInput) -> StoreResult<Mapping> {
        use crate::entities::mapping as e;
        use sea_orm::*;
        let now = crate::store::now();
        let m = e::ActiveModel {
            id: NotSet,
            pipeline_id: Set(input.pipeline_id),
            kind: Set(input.kind.as_str().into()),
            source_key: Set(input.source_key),
            source_label: Set(input.source_label),
            target_key: Set(input.target_key),
            target_label: Set(input.target_label),
            billable: Set(input.billable),
            sync: Set(input.sync),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.db)
        .await
        .map_err(|e| {
            crate::error::classify(
                e,
                || StoreError::Conflict("dup".into()),
                || StoreError::Invalid("unknown pipeline".into()),
            )
        })?;
        Ok(conv(m))
    }
    pub async fn get_mapping(&self, id: i64) -> StoreResult<Mapping> {
        use crate::entities::mapping as e;
        use sea_orm::*;
        e::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(conv)
            .ok_or(StoreError::NotFound)
    }
    pub async fn list_mappings(
        &self,
        filter: &MappingFilter,
        limit: u64,
        offset: u64,
    ) -> StoreResult<(Vec<Mapping>, u64)> {
        use crate::entities::mapping as e;
        use sea_orm::*;
        let mut q = e::Entity::find();
        if let Some(p) = filter.pipeline_id {
            q = q.filter(e::Column::PipelineId.eq(p));
        }
        if let Some(k) = filter.kind {
            q = q.filter(e::Column::Kind.eq(k.as_str()));
        }
        let total = q.clone().count(&self.db).await?;
        let items = q
            .order_by_asc(e::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        Ok((items.into_iter().map(conv).collect(), total))
    }
    pub async fn update_mapping(&self, id: i64, input: MappingInput) -> StoreResult<Mapping> {
        use crate::entities::mapping as e;
        use sea_orm::*;
        let m = e::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut a: e::ActiveModel = m.into();
        a.pipeline_id = Set(input.pipeline_id);
        a.kind = Set(input.kind.as_str().into());
        a.source_key = Set(input.source_key);
        a.source_label = Set(input.source_label);
        a.target_key = Set(input.target_key);
        a.target_label = Set(input.target_label);
        a.billable = Set(input.billable);
        a.sync = Set(input.sync);
        a.updated_at = Set(crate::store::now());
        Ok(conv(a.update(&self.db).await.map_err(|e| {
            crate::error::classify(
                e,
                || StoreError::Conflict("dup".into()),
                || StoreError::Invalid("unknown pipeline".into()),
            )
        })?))
    }
    pub async fn delete_mapping(&self, id: i64) -> StoreResult<()> {
        use crate::entities::mapping as e;
        use sea_orm::*;
        let r = e::Entity::delete_by_id(id).exec(&self.db).await?;
        if r.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
fn conv(m: crate::entities::mapping::Model) -> Mapping {
    Mapping {
        id: m.id,
        pipeline_id: m.pipeline_id,
        kind: m.kind.parse().unwrap(),
        source_key: m.source_key,
        source_label: m.source_label,
        target_key: m.target_key,
        target_label: m.target_label,
        billable: m.billable,
        sync: m.sync,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}
