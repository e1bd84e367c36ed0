//! `conflicts`: doubtful cases waiting for (or resolved by) a person.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "conflicts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pipeline_id: i64,
    pub source_key: String,
    pub reason: String,
    /// `planner` or `target` (`core::ConflictOrigin`).
    pub origin: String,
    pub status: crate::states::ConflictStatus,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub source: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub raw_source: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub target: Option<Json>,
    pub target_id: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub diff: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub allowed_actions: Json,
    pub message: String,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub explanation: Option<Json>,
    pub run_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub resolution: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
