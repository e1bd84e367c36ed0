//! `mappings`: source key → target key per pipeline and kind.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "mappings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pipeline_id: i64,
    pub kind: String,
    pub source_key: String,
    pub source_label: Option<String>,
    pub target_key: Option<String>,
    pub target_label: Option<String>,
    pub billable: Option<bool>,
    pub sync: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
