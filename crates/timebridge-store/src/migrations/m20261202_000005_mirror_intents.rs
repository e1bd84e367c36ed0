//! Project mirroring: `mirror_intents` (a project about to be created in a pipeline's
//! source, recorded first so that a crash between the create and its bookkeeping never
//! leads to a second project of that name) and `runs.mirrored_projects` (what a run
//! created, or in a dry run would create: `[{"name","source_key"}]`, null before).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MirrorIntents {
    Table,
    Id,
    PipelineId,
    RunId,
    Name,
    NormalisedName,
    ClientKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    MirroredProjects,
}

#[derive(DeriveIden)]
enum Pipelines {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(MirrorIntents::Table)
                .col(big_pk_auto(MirrorIntents::Id))
                .col(big_integer(MirrorIntents::PipelineId))
                .col(big_integer_null(MirrorIntents::RunId))
                .col(string(MirrorIntents::Name))
                .col(string(MirrorIntents::NormalisedName))
                .col(string_null(MirrorIntents::ClientKey))
                .col(timestamp_with_time_zone(MirrorIntents::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(MirrorIntents::Table, MirrorIntents::PipelineId)
                        .to(Pipelines::Table, Pipelines::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One pending create per name and pipeline.
        m.create_index(
            Index::create()
                .name("uq_mirror_intents_pipeline_name")
                .table(MirrorIntents::Table)
                .col(MirrorIntents::PipelineId)
                .col(MirrorIntents::NormalisedName)
                .unique()
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Runs::Table)
                .add_column(json_binary_null(Runs::MirroredProjects))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Runs::Table)
                .drop_column(Runs::MirroredProjects)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(MirrorIntents::Table).to_owned())
            .await
    }
}
