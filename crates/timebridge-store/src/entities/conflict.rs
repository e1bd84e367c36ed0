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
    /// `core::CauseKind`'s name.
    pub cause_kind: String,
    pub cause_key: String,
    pub cause_label: String,
    /// The entry's duration, when it has one.
    pub seconds: Option<i64>,
    pub customer_key: Option<String>,
    pub customer_name: Option<String>,
    pub entry_begin: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
