//! Rounding per pipeline: what the pipeline's rounding policy added to an entry's
//! duration is kept with its link (after each write) and with the run item that wrote it,
//! so the difference between the source's time and the billed time stays visible.
//! `rounded_seconds` is signed (negative: shortened) and null when nothing was rounded;
//! `rounding_rule` is the rule's number (#1, #2, …), null for the pipeline's default.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Links {
    Table,
    RoundedSeconds,
    RoundingRule,
}

#[derive(DeriveIden)]
enum RunItems {
    Table,
    RoundedSeconds,
    RoundingRule,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for stmt in [
            Table::alter()
                .table(Links::Table)
                .add_column(big_integer_null(Links::RoundedSeconds))
                .to_owned(),
            Table::alter()
                .table(Links::Table)
                .add_column(integer_null(Links::RoundingRule))
                .to_owned(),
            Table::alter()
                .table(RunItems::Table)
                .add_column(big_integer_null(RunItems::RoundedSeconds))
                .to_owned(),
            Table::alter()
                .table(RunItems::Table)
                .add_column(integer_null(RunItems::RoundingRule))
                .to_owned(),
        ] {
            m.alter_table(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for stmt in [
            Table::alter()
                .table(RunItems::Table)
                .drop_column(RunItems::RoundingRule)
                .to_owned(),
            Table::alter()
                .table(RunItems::Table)
                .drop_column(RunItems::RoundedSeconds)
                .to_owned(),
            Table::alter()
                .table(Links::Table)
                .drop_column(Links::RoundingRule)
                .to_owned(),
            Table::alter()
                .table(Links::Table)
                .drop_column(Links::RoundedSeconds)
                .to_owned(),
        ] {
            m.alter_table(stmt).await?;
        }
        Ok(())
    }
}
