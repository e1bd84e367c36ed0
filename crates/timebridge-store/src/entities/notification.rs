//! `notifications`: the outbox of notifier deliveries (one row per event and notifier).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub connector_id: i64,
    pub pipeline_id: Option<i64>,
    pub run_id: Option<i64>,
    /// `core::notify::NotificationEvent`, stored as its name.
    pub event: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub delivery_id: String,
    pub status: crate::states::NotificationStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub claim_owner: Option<String>,
    pub claim_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
