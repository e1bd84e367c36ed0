//! Notifications: `notifications`, the outbox every notifier delivers from. One row per
//! event and notifier (`dedupe_key` is unique: `run_failed:<run>:<connector>`,
//! `daily_summary:<pipeline>:<local date>:<connector>`), enqueued in the transaction that
//! records what it is about, claimed with a conditional update (`claim_owner`,
//! `claim_until`) and marked `sending` before the remote call, so that it is delivered at
//! most once across crashes and processes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    DedupeKey,
    ConnectorId,
    PipelineId,
    RunId,
    Event,
    Payload,
    DeliveryId,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimOwner,
    ClaimUntil,
    LastError,
    CreatedAt,
    UpdatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum Connectors {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Notifications::Table)
                .col(big_pk_auto(Notifications::Id))
                .col(string_uniq(Notifications::DedupeKey))
                .col(big_integer(Notifications::ConnectorId))
                .col(big_integer_null(Notifications::PipelineId))
                .col(big_integer_null(Notifications::RunId))
                .col(string(Notifications::Event))
                .col(json_binary(Notifications::Payload))
                .col(string(Notifications::DeliveryId))
                .col(string(Notifications::Status))
                .col(integer(Notifications::Attempts))
                .col(timestamp_with_time_zone(Notifications::NextAttemptAt))
                .col(string_null(Notifications::ClaimOwner))
                .col(timestamp_with_time_zone_null(Notifications::ClaimUntil))
                .col(text_null(Notifications::LastError))
                .col(timestamp_with_time_zone(Notifications::CreatedAt))
                .col(timestamp_with_time_zone(Notifications::UpdatedAt))
                .col(timestamp_with_time_zone_null(Notifications::SentAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Notifications::Table, Notifications::ConnectorId)
                        .to(Connectors::Table, Connectors::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The delivery worker looks for due rows by status and time.
        m.create_index(
            Index::create()
                .name("ix_notifications_status_next")
                .table(Notifications::Table)
                .col(Notifications::Status)
                .col(Notifications::NextAttemptAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await
    }
}
