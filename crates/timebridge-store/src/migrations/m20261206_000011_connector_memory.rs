//! What a source connector remembers between runs (`connector_memory`): one JSON document
//! per connector, written by the connector's kind and read back by the next run (the
//! Zammad connector keeps the names it looked up — tickets, agents, organizations — with
//! the moment they were current, and asks Zammad only for what changed since). A cache:
//! losing a row costs requests, never correctness. Removed with its connector, and
//! forgotten whenever the connector is edited.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Connectors {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ConnectorMemory {
    Table,
    ConnectorId,
    Memory,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ConnectorMemory::Table)
                .col(big_integer(ConnectorMemory::ConnectorId).primary_key())
                .col(json_binary(ConnectorMemory::Memory))
                .col(timestamp_with_time_zone(ConnectorMemory::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ConnectorMemory::Table, ConnectorMemory::ConnectorId)
                        .to(Connectors::Table, Connectors::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ConnectorMemory::Table).to_owned())
            .await
    }
}
