//! `pipelines`: one source connector synced into one target connector.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pipelines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub source_connector_id: i64,
    pub target_connector_id: i64,
    pub enabled: bool,
    pub schedule_enabled: bool,
    pub interval_minutes: i32,
    pub window_days: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub options: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
