//! Schema migrations. Each issue that adds tables adds a new dated migration module
//! (`mYYYYMMDD_NNNNNN_topic`) to the list below; applied migrations are never edited.

use sea_orm_migration::prelude::*;

mod m20261123_000001_foundation;
mod m20261123_000002_sync;
mod m20261201_000003_hub_mappings;
mod m20261202_000004_conflict_origin;
mod m20261202_000005_mirror_intents;
mod m20261203_000006_notifications;
mod m20261203_000007_oauth;
mod m20261204_000008_conflict_causes;
mod m20261204_000009_link_rounding;
mod m20261205_000010_undo;
mod m20261206_000011_connector_memory;

/// All migrations of timebridge, in order. Exposed so the binary can report status;
/// normally use [`crate::Store::migrate`].
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_foundation::Migration),
            Box::new(m20261123_000002_sync::Migration),
            Box::new(m20261201_000003_hub_mappings::Migration),
            Box::new(m20261202_000004_conflict_origin::Migration),
            Box::new(m20261202_000005_mirror_intents::Migration),
            Box::new(m20261203_000006_notifications::Migration),
            Box::new(m20261203_000007_oauth::Migration),
            Box::new(m20261204_000008_conflict_causes::Migration),
            Box::new(m20261204_000009_link_rounding::Migration),
            Box::new(m20261205_000010_undo::Migration),
            Box::new(m20261206_000011_connector_memory::Migration),
        ]
    }
}
