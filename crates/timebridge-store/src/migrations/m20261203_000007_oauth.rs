//! The OAuth connect flow: `oauth_states`, one row per flow started and not yet finished
//! (the `state` parameter, stored only as its digest, with the connector it is for and
//! when it was issued). The callback takes its row (once); rows older than the flow's
//! lifetime are refused and purged.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    Id,
    StateDigest,
    ConnectorId,
    CreatedAt,
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
                .table(OauthStates::Table)
                .col(big_pk_auto(OauthStates::Id))
                .col(string_uniq(OauthStates::StateDigest))
                .col(big_integer(OauthStates::ConnectorId))
                .col(timestamp_with_time_zone(OauthStates::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(OauthStates::Table, OauthStates::ConnectorId)
                        .to(Connectors::Table, Connectors::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(OauthStates::Table).to_owned())
            .await
    }
}
