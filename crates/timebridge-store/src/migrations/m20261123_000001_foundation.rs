//! Foundation schema: admin users, sessions, connectors, pipelines, mappings, audit
//! events, settings and meta. Timestamps are `timestamp with time zone` (text on SQLite),
//! JSON is `jsonb` on PostgreSQL (text on SQLite).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AdminUsers {
    Table,
    Id,
    Username,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    Username,
    CreatedAt,
    ExpiresAt,
    Ip,
    UserAgent,
}

#[derive(DeriveIden)]
enum Connectors {
    Table,
    Id,
    Kind,
    Name,
    BaseUrl,
    ApiToken,
    Settings,
    SecretSettings,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Pipelines {
    Table,
    Id,
    Name,
    SourceConnectorId,
    TargetConnectorId,
    Enabled,
    ScheduleEnabled,
    IntervalMinutes,
    WindowDays,
    Options,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Mappings {
    Table,
    Id,
    PipelineId,
    Kind,
    SourceKey,
    SourceLabel,
    TargetKey,
    TargetLabel,
    Billable,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    Actor,
    Action,
    EntityType,
    EntityId,
    Details,
    Ip,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Meta {
    Table,
    Key,
    Value,
}

fn ts<T: IntoIden>(col: T) -> ColumnDef {
    timestamp_with_time_zone(col)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AdminUsers::Table)
                .col(big_pk_auto(AdminUsers::Id))
                .col(string_uniq(AdminUsers::Username))
                .col(text(AdminUsers::PasswordHash))
                .col(ts(AdminUsers::CreatedAt))
                .col(ts(AdminUsers::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(big_pk_auto(Sessions::Id))
                .col(string_uniq(Sessions::TokenHash))
                .col(string(Sessions::Username))
                .col(ts(Sessions::CreatedAt))
                .col(ts(Sessions::ExpiresAt))
                .col(string_null(Sessions::Ip))
                .col(text_null(Sessions::UserAgent))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sessions_expires_at")
                .table(Sessions::Table)
                .col(Sessions::ExpiresAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Connectors::Table)
                .col(big_pk_auto(Connectors::Id))
                .col(string(Connectors::Kind))
                .col(string_uniq(Connectors::Name))
                .col(text(Connectors::BaseUrl))
                .col(text_null(Connectors::ApiToken))
                .col(json_binary(Connectors::Settings))
                .col(json_binary(Connectors::SecretSettings))
                .col(ts(Connectors::CreatedAt))
                .col(ts(Connectors::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Pipelines::Table)
                .col(big_pk_auto(Pipelines::Id))
                .col(string(Pipelines::Name))
                .col(big_integer(Pipelines::SourceConnectorId))
                .col(big_integer(Pipelines::TargetConnectorId))
                .col(boolean(Pipelines::Enabled))
                .col(boolean(Pipelines::ScheduleEnabled))
                .col(integer(Pipelines::IntervalMinutes))
                .col(integer(Pipelines::WindowDays))
                .col(json_binary(Pipelines::Options))
                .col(ts(Pipelines::CreatedAt))
                .col(ts(Pipelines::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_pipelines_source_connector")
                        .from(Pipelines::Table, Pipelines::SourceConnectorId)
                        .to(Connectors::Table, Connectors::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_pipelines_target_connector")
                        .from(Pipelines::Table, Pipelines::TargetConnectorId)
                        .to(Connectors::Table, Connectors::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            (
                "idx_pipelines_source_connector_id",
                Pipelines::SourceConnectorId,
            ),
            (
                "idx_pipelines_target_connector_id",
                Pipelines::TargetConnectorId,
            ),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(Pipelines::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(Mappings::Table)
                .col(big_pk_auto(Mappings::Id))
                .col(big_integer(Mappings::PipelineId))
                .col(string(Mappings::Kind))
                .col(string(Mappings::SourceKey))
                .col(text_null(Mappings::SourceLabel))
                .col(string(Mappings::TargetKey))
                .col(text_null(Mappings::TargetLabel))
                .col(boolean_null(Mappings::Billable))
                .col(ts(Mappings::CreatedAt))
                .col(ts(Mappings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_mappings_pipeline")
                        .from(Mappings::Table, Mappings::PipelineId)
                        .to(Pipelines::Table, Pipelines::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_mappings_pipeline_kind_source_key")
                .table(Mappings::Table)
                .col(Mappings::PipelineId)
                .col(Mappings::Kind)
                .col(Mappings::SourceKey)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(big_pk_auto(AuditEvents::Id))
                .col(ts(AuditEvents::At))
                .col(string(AuditEvents::Actor))
                .col(string(AuditEvents::Action))
                .col(string(AuditEvents::EntityType))
                .col(string_null(AuditEvents::EntityId))
                .col(json_binary(AuditEvents::Details))
                .col(string_null(AuditEvents::Ip))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_audit_events_at", AuditEvents::At),
            ("idx_audit_events_action", AuditEvents::Action),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(AuditEvents::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(Settings::Table)
                .col(string(Settings::Key).primary_key())
                .col(json_binary(Settings::Value))
                .col(ts(Settings::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Meta::Table)
                .col(string(Meta::Key).primary_key())
                .col(text(Meta::Value))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Meta::Table.into_iden(),
            Settings::Table.into_iden(),
            AuditEvents::Table.into_iden(),
            Mappings::Table.into_iden(),
            Pipelines::Table.into_iden(),
            Connectors::Table.into_iden(),
            Sessions::Table.into_iden(),
            AdminUsers::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
