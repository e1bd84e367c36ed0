//! Sync schema: runs (which double as the durable job queue, with leases), run items,
//! per-pipeline leases, entry links, write intents (crash safety), conflicts and webhook
//! deliveries.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Pipelines {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
    PipelineId,
    Trigger,
    DryRun,
    Status,
    WindowFrom,
    WindowTo,
    TicketIds,
    Stats,
    Error,
    CreatedAt,
    RunAfter,
    StartedAt,
    FinishedAt,
    LeaseOwner,
    LeaseUntil,
    Attempts,
}

#[derive(DeriveIden)]
enum RunItems {
    Table,
    Id,
    RunId,
    SourceKey,
    Outcome,
    Reason,
    TargetId,
    ConflictId,
    Message,
}

#[derive(DeriveIden)]
enum PipelineLeases {
    Table,
    PipelineId,
    Owner,
    Until,
}

#[derive(DeriveIden)]
enum Links {
    Table,
    Id,
    PipelineId,
    SourceKey,
    TargetId,
    DesiredFingerprint,
    TargetFingerprint,
    Memory,
    TicketId,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WriteIntents {
    Table,
    Id,
    PipelineId,
    RunId,
    SourceKey,
    Action,
    TargetId,
    Desired,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Conflicts {
    Table,
    Id,
    PipelineId,
    SourceKey,
    Reason,
    Status,
    Source,
    RawSource,
    Target,
    TargetId,
    Diff,
    AllowedActions,
    Message,
    Explanation,
    RunId,
    CreatedAt,
    UpdatedAt,
    ResolvedAt,
    Resolution,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    DeliveryId,
    ConnectorId,
    ReceivedAt,
}

fn ts<T: IntoIden>(col: T) -> ColumnDef {
    timestamp_with_time_zone(col)
}

fn ts_null<T: IntoIden>(col: T) -> ColumnDef {
    timestamp_with_time_zone_null(col)
}

fn pipeline_fk(table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Pipelines::Table, Pipelines::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Runs::Table)
                .col(big_pk_auto(Runs::Id))
                .col(big_integer(Runs::PipelineId))
                .col(string(Runs::Trigger))
                .col(boolean(Runs::DryRun))
                .col(string(Runs::Status))
                .col(string(Runs::WindowFrom))
                .col(string(Runs::WindowTo))
                .col(json_binary_null(Runs::TicketIds))
                .col(json_binary(Runs::Stats))
                .col(text_null(Runs::Error))
                .col(ts(Runs::CreatedAt))
                .col(ts(Runs::RunAfter))
                .col(ts_null(Runs::StartedAt))
                .col(ts_null(Runs::FinishedAt))
                .col(string_null(Runs::LeaseOwner))
                .col(ts_null(Runs::LeaseUntil))
                .col(integer(Runs::Attempts))
                .foreign_key(&mut pipeline_fk(Runs::Table, Runs::PipelineId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_runs_pipeline_created")
                .table(Runs::Table)
                .col(Runs::PipelineId)
                .col(Runs::Id)
                .to_owned(),
        )
        .await?;
        // At most one manual run per pipeline waits or runs: two simultaneous requests
        // cannot both queue one (the second gets the contract's 409). Same SQL on both.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_runs_one_active_manual ON runs (pipeline_id) \
                 WHERE trigger = 'manual' AND status IN ('queued', 'running')",
            )
            .await?;
        m.create_index(
            Index::create()
                .name("idx_runs_status_run_after")
                .table(Runs::Table)
                .col(Runs::Status)
                .col(Runs::RunAfter)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RunItems::Table)
                .col(big_pk_auto(RunItems::Id))
                .col(big_integer(RunItems::RunId))
                .col(string(RunItems::SourceKey))
                .col(string(RunItems::Outcome))
                .col(string_null(RunItems::Reason))
                .col(string_null(RunItems::TargetId))
                .col(big_integer_null(RunItems::ConflictId))
                .col(text_null(RunItems::Message))
                .foreign_key(
                    ForeignKey::create()
                        .from(RunItems::Table, RunItems::RunId)
                        .to(Runs::Table, Runs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_run_items_run")
                .table(RunItems::Table)
                .col(RunItems::RunId)
                .col(RunItems::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PipelineLeases::Table)
                .col(big_integer(PipelineLeases::PipelineId).primary_key())
                .col(string_null(PipelineLeases::Owner))
                .col(ts_null(PipelineLeases::Until))
                .foreign_key(&mut pipeline_fk(
                    PipelineLeases::Table,
                    PipelineLeases::PipelineId,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Links::Table)
                .col(big_pk_auto(Links::Id))
                .col(big_integer(Links::PipelineId))
                .col(string(Links::SourceKey))
                .col(string_null(Links::TargetId))
                .col(big_integer_null(Links::DesiredFingerprint))
                .col(big_integer_null(Links::TargetFingerprint))
                .col(json_binary_null(Links::Memory))
                .col(big_integer_null(Links::TicketId))
                .col(ts(Links::UpdatedAt))
                .foreign_key(&mut pipeline_fk(Links::Table, Links::PipelineId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_links_pipeline_source_key")
                .table(Links::Table)
                .col(Links::PipelineId)
                .col(Links::SourceKey)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WriteIntents::Table)
                .col(big_pk_auto(WriteIntents::Id))
                .col(big_integer(WriteIntents::PipelineId))
                .col(big_integer_null(WriteIntents::RunId))
                .col(string(WriteIntents::SourceKey))
                .col(string(WriteIntents::Action))
                .col(string_null(WriteIntents::TargetId))
                .col(json_binary(WriteIntents::Desired))
                .col(ts(WriteIntents::CreatedAt))
                .foreign_key(&mut pipeline_fk(
                    WriteIntents::Table,
                    WriteIntents::PipelineId,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Conflicts::Table)
                .col(big_pk_auto(Conflicts::Id))
                .col(big_integer(Conflicts::PipelineId))
                .col(string(Conflicts::SourceKey))
                .col(string(Conflicts::Reason))
                .col(string(Conflicts::Status))
                .col(json_binary_null(Conflicts::Source))
                .col(json_binary_null(Conflicts::RawSource))
                .col(json_binary_null(Conflicts::Target))
                .col(string_null(Conflicts::TargetId))
                .col(json_binary(Conflicts::Diff))
                .col(json_binary(Conflicts::AllowedActions))
                .col(text(Conflicts::Message))
                .col(json_binary_null(Conflicts::Explanation))
                .col(big_integer_null(Conflicts::RunId))
                .col(ts(Conflicts::CreatedAt))
                .col(ts(Conflicts::UpdatedAt))
                .col(ts_null(Conflicts::ResolvedAt))
                .col(json_binary_null(Conflicts::Resolution))
                .foreign_key(&mut pipeline_fk(Conflicts::Table, Conflicts::PipelineId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_conflicts_pipeline_status_key")
                .table(Conflicts::Table)
                .col(Conflicts::PipelineId)
                .col(Conflicts::Status)
                .col(Conflicts::SourceKey)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(string(WebhookDeliveries::DeliveryId).primary_key())
                .col(big_integer(WebhookDeliveries::ConnectorId))
                .col(ts(WebhookDeliveries::ReceivedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_received_at")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::ReceivedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            WebhookDeliveries::Table.into_iden(),
            Conflicts::Table.into_iden(),
            WriteIntents::Table.into_iden(),
            Links::Table.into_iden(),
            PipelineLeases::Table.into_iden(),
            RunItems::Table.into_iden(),
            Runs::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
