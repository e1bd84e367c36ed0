//! The hub's mappings: `sync` (default true; `false` on a `user` mapping excludes that
//! person) and a nullable `target_key` (an excluded person needs no target user).
//!
//! PostgreSQL alters the table in place. SQLite cannot drop a NOT NULL constraint, so the
//! table is rebuilt with the same columns, index and foreign key, and its rows copied
//! (nothing references `mappings`, so the rebuild needs no foreign-key juggling).

use sea_orm::{ConnectionTrait, DbBackend};
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
    Sync,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MappingsRebuilt {
    Table,
}

const COPIED: &str = "id, pipeline_id, kind, source_key, source_label, target_key, target_label, billable, \
     created_at, updated_at";

/// The mappings table as of this migration, under `name`.
fn mappings_table(name: impl IntoIden) -> TableCreateStatement {
    Table::create()
        .table(name)
        .col(big_pk_auto(Mappings::Id))
        .col(big_integer(Mappings::PipelineId))
        .col(string(Mappings::Kind))
        .col(string(Mappings::SourceKey))
        .col(text_null(Mappings::SourceLabel))
        .col(string_null(Mappings::TargetKey))
        .col(text_null(Mappings::TargetLabel))
        .col(boolean_null(Mappings::Billable))
        .col(boolean(Mappings::Sync).default(true))
        .col(timestamp_with_time_zone(Mappings::CreatedAt))
        .col(timestamp_with_time_zone(Mappings::UpdatedAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_mappings_pipeline")
                .from(Mappings::Table, Mappings::PipelineId)
                .to(Pipelines::Table, Pipelines::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn unique_index() -> IndexCreateStatement {
    Index::create()
        .name("uq_mappings_pipeline_kind_source_key")
        .table(Mappings::Table)
        .col(Mappings::PipelineId)
        .col(Mappings::Kind)
        .col(Mappings::SourceKey)
        .unique()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        match m.get_database_backend() {
            DbBackend::Sqlite => {
                let db = m.get_connection();
                m.create_table(mappings_table(MappingsRebuilt::Table))
                    .await?;
                db.execute_unprepared(&format!(
                    "INSERT INTO mappings_rebuilt ({COPIED}, sync) SELECT {COPIED}, 1 FROM mappings"
                ))
                .await?;
                m.drop_table(Table::drop().table(Mappings::Table).to_owned())
                    .await?;
                m.rename_table(
                    Table::rename()
                        .table(MappingsRebuilt::Table, Mappings::Table)
                        .to_owned(),
                )
                .await?;
                m.create_index(unique_index()).await?;
            }
            _ => {
                m.alter_table(
                    Table::alter()
                        .table(Mappings::Table)
                        .add_column(boolean(Mappings::Sync).default(true))
                        .modify_column(string_null(Mappings::TargetKey))
                        .to_owned(),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // Excluded people have no target key: there is no faithful way back.
        Err(DbErr::Migration(
            "m20261201_000003_hub_mappings cannot be reverted".into(),
        ))
    }
}
