//! `run_items`: one outcome per source entry (or orphaned link) of a run.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "run_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: i64,
    pub source_key: String,
    pub outcome: crate::states::ItemOutcome,
    pub reason: Option<String>,
    pub target_id: Option<String>,
    pub conflict_id: Option<i64>,
    pub message: Option<String>,
    pub rounded_seconds: Option<i64>,
    pub rounding_rule: Option<i32>,
    pub written_fingerprint: Option<i64>,
    pub source_fingerprint: Option<i64>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub before: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
