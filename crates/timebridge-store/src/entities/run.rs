//! `runs`: sync runs, which are also the durable job queue (`queued` rows with a lease).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pipeline_id: i64,
    pub trigger: crate::states::RunTrigger,
    pub dry_run: bool,
    pub status: crate::states::RunStatus,
    pub window_from: String,
    pub window_to: String,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub ticket_ids: Option<Json>,
    /// `RunScope` of a resolution run.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub scope: Option<Json>,
    #[sea_orm(column_type = "JsonBinary")]
    pub stats: Json,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub run_after: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub attempts: i32,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub mirrored_projects: Option<Json>,
    /// The run an undo run takes back.
    pub undo_of: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
