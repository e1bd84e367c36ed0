//! `mirror_intents`: a project about to be created in a pipeline's source (project
//! mirroring), recorded first so that a crash between the create and its bookkeeping is
//! settled by the next run (adopt the project by name, never create it twice).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "mirror_intents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pipeline_id: i64,
    pub run_id: Option<i64>,
    pub name: String,
    pub normalised_name: String,
    pub client_key: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
