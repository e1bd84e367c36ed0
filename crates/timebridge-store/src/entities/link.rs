//! `links`: per pipeline and source key, the target entry we wrote and what we wrote.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pipeline_id: i64,
    pub source_key: String,
    pub target_id: Option<String>,
    pub desired_fingerprint: Option<i64>,
    pub target_fingerprint: Option<i64>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub memory: Option<Json>,
    pub ticket_id: Option<i64>,
    pub rounded_seconds: Option<i64>,
    pub rounding_rule: Option<i32>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
