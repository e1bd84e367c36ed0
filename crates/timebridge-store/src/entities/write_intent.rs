//! `write_intents`: a remote write about to happen, recorded first so that a crash between
//! the write and its link is reconciled on the next run.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "write_intents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pipeline_id: i64,
    pub run_id: Option<i64>,
    pub source_key: String,
    pub action: String,
    pub target_id: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub desired: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
