//! Undo a run: what each write of a run needs to be taken back later, and which run an
//! undo run takes back.
//!
//! - `run_items.written_fingerprint`: the fingerprint of the target entry as the target
//!   returned it after the run's create or update (the undo acts only where the entry is
//!   still exactly that);
//! - `run_items.source_fingerprint`: the raw source entry's fingerprint when it was
//!   written (an undone entry is skipped until its source differs from it);
//! - `run_items.before`: for an update, the target entry as it was before (what the undo
//!   restores), as the normalised entry JSON;
//! - `runs.undo_of`: the run an undo run takes back. At most one real undo of a run is
//!   queued, running or succeeded (a partial index, the same SQL on both databases): two
//!   requests at the same moment cannot both undo it, and a failed undo may be retried.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RunItems {
    Table,
    WrittenFingerprint,
    SourceFingerprint,
    Before,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    UndoOf,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for stmt in [
            Table::alter()
                .table(RunItems::Table)
                .add_column(big_integer_null(RunItems::WrittenFingerprint))
                .to_owned(),
            Table::alter()
                .table(RunItems::Table)
                .add_column(big_integer_null(RunItems::SourceFingerprint))
                .to_owned(),
            Table::alter()
                .table(RunItems::Table)
                .add_column(json_binary_null(RunItems::Before))
                .to_owned(),
            Table::alter()
                .table(Runs::Table)
                .add_column(big_integer_null(Runs::UndoOf))
                .to_owned(),
        ] {
            m.alter_table(stmt).await?;
        }
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_runs_one_undo ON runs (undo_of) \
                 WHERE undo_of IS NOT NULL AND NOT dry_run \
                 AND status IN ('queued', 'running', 'succeeded')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX uq_runs_one_undo")
            .await?;
        for stmt in [
            Table::alter()
                .table(Runs::Table)
                .drop_column(Runs::UndoOf)
                .to_owned(),
            Table::alter()
                .table(RunItems::Table)
                .drop_column(RunItems::Before)
                .to_owned(),
            Table::alter()
                .table(RunItems::Table)
                .drop_column(RunItems::SourceFingerprint)
                .to_owned(),
            Table::alter()
                .table(RunItems::Table)
                .drop_column(RunItems::WrittenFingerprint)
                .to_owned(),
        ] {
            m.alter_table(stmt).await?;
        }
        Ok(())
    }
}
