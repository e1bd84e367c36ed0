//! Conflicts say who raised them: `origin` is `planner` (the default) or `target` (the
//! target refused a write). Before, a refusal by the target was told apart by the wording
//! of its message; existing rows are classified once, here, by that wording.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Conflicts {
    Table,
    Origin,
    Message,
    Reason,
}

/// The message prefix v0.1 wrote for writes the target refused.
const V1_REFUSED_PREFIX: &str = "The target refused the %";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Conflicts::Table)
                .add_column(string(Conflicts::Origin).default("planner"))
                .to_owned(),
        )
        .await?;
        let backfill = Query::update()
            .table(Conflicts::Table)
            .value(Conflicts::Origin, "target")
            .and_where(Expr::col(Conflicts::Message).like(V1_REFUSED_PREFIX))
            .and_where(Expr::col(Conflicts::Reason).is_in([
                "target_rejected",
                "locked",
                "target_deleted",
            ]))
            .to_owned();
        m.exec_stmt(backfill).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Conflicts::Table)
                .drop_column(Conflicts::Origin)
                .to_owned(),
        )
        .await
    }
}
