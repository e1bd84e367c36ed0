//! Conflicts carry their cause (`cause_kind`, `cause_key`, `cause_label`: what one decision
//! settles for every conflict of the same cause) and the few facts of their entry that a
//! group of them sums up (`seconds`, `customer_key`, `customer_name`, `entry_begin`), so
//! that `GET /api/conflicts/groups` groups in the database instead of reading every
//! conflict's entries. Existing rows get the one-off cause `entry`; the next run refreshes
//! every conflict the planner still raises.
//!
//! Runs carry an optional `scope` (`{"source_keys":[…],"retry_refused":bool,"group":…}`):
//! a run with trigger `resolution` writes only the entries of the group a person fixed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Conflicts {
    Table,
    CauseKind,
    CauseKey,
    CauseLabel,
    Seconds,
    CustomerKey,
    CustomerName,
    EntryBegin,
    SourceKey,
    PipelineId,
    Status,
    Reason,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Scope,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        let columns = [
            string(Conflicts::CauseKind).default("entry").to_owned(),
            string(Conflicts::CauseKey).default("").to_owned(),
            string(Conflicts::CauseLabel).default("").to_owned(),
            big_integer_null(Conflicts::Seconds),
            string_null(Conflicts::CustomerKey),
            string_null(Conflicts::CustomerName),
            timestamp_with_time_zone_null(Conflicts::EntryBegin),
        ];
        for mut c in columns {
            m.alter_table(
                Table::alter()
                    .table(Conflicts::Table)
                    .add_column(&mut c)
                    .to_owned(),
            )
            .await?;
        }
        let backfill = Query::update()
            .table(Conflicts::Table)
            .value(Conflicts::CauseKey, Expr::col(Conflicts::SourceKey))
            .value(Conflicts::CauseLabel, Expr::col(Conflicts::SourceKey))
            .to_owned();
        m.exec_stmt(backfill).await?;
        m.create_index(
            Index::create()
                .name("idx_conflicts_group")
                .table(Conflicts::Table)
                .col(Conflicts::PipelineId)
                .col(Conflicts::Status)
                .col(Conflicts::Reason)
                .col(Conflicts::CauseKind)
                .col(Conflicts::CauseKey)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Runs::Table)
                .add_column(json_binary_null(Runs::Scope))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_conflicts_group")
                .table(Conflicts::Table)
                .to_owned(),
        )
        .await?;
        for c in [
            Conflicts::CauseKind,
            Conflicts::CauseKey,
            Conflicts::CauseLabel,
            Conflicts::Seconds,
            Conflicts::CustomerKey,
            Conflicts::CustomerName,
            Conflicts::EntryBegin,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Conflicts::Table)
                    .drop_column(c)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Runs::Table)
                .drop_column(Runs::Scope)
                .to_owned(),
        )
        .await
    }
}
