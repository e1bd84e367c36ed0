//! `connector_memory`: what a source connector remembers between runs (one JSON document).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "connector_memory")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub connector_id: i64,
    #[sea_orm(column_type = "JsonBinary")]
    pub memory: Json,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
