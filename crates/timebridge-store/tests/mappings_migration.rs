//! The hub's mappings migration on both backends: existing mappings survive it and sync,
//! an excluded person's mapping needs no target key, and the table keeps its unique index
//! and its cascade from pipelines.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;
use timebridge_store::testing::{TestDb, seed_pipeline, test_cipher};
use timebridge_store::{
    Backend, MappingFilter, MappingInput, MappingKind, Migrator, Store, StoreError,
};

fn t0() -> DateTime<Utc> {
    "2026-04-01T06:00:00Z".parse().unwrap()
}

async fn existing_mappings_survive_the_migration_and_sync(backend: Backend) {
    let db = TestDb::new(backend).await;
    // Connecting the store creates the SQLite file; nothing is migrated yet.
    let store = Store::connect(db.url(), test_cipher()).await.unwrap();
    let raw = sea_orm::Database::connect(db.url()).await.unwrap();
    // The schema as it was before the hub.
    Migrator::up(&raw, Some(2)).await.unwrap();
    let p = seed_pipeline(&store, "p", t0()).await;
    raw.execute_unprepared(&format!(
        "INSERT INTO mappings (pipeline_id, kind, source_key, source_label, target_key, \
         target_label, billable, created_at, updated_at) \
         SELECT id, 'user', 'ag1', 'Ann', 'u1', NULL, true, created_at, updated_at \
         FROM pipelines WHERE id = {p}"
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();

    let filter = MappingFilter {
        pipeline_id: Some(p),
        kind: None,
    };
    let (items, total) = store.list_mappings(&filter, 50, 0).await.unwrap();
    assert_eq!(total, 1);
    let m = &items[0];
    assert_eq!(m.target_key.as_deref(), Some("u1"));
    assert_eq!(m.source_label.as_deref(), Some("Ann"));
    assert_eq!(m.billable, Some(true));
    assert!(m.sync, "existing mappings sync");

    // An excluded person: no target key.
    let excluded = MappingInput {
        pipeline_id: p,
        kind: MappingKind::User,
        source_key: "ag2".into(),
        source_label: None,
        target_key: None,
        target_label: None,
        billable: None,
        sync: false,
    };
    let created = store.create_mapping(excluded.clone()).await.unwrap();
    assert_eq!((created.target_key.clone(), created.sync), (None, false));
    // The unique index is still there.
    assert!(matches!(
        store.create_mapping(excluded).await,
        Err(StoreError::Conflict(_))
    ));
    // The cascade from pipelines too.
    store.delete_pipeline(p).await.unwrap();
    let (_, total) = store.list_mappings(&filter, 50, 0).await.unwrap();
    assert_eq!(total, 0);
    db.cleanup().await;
}

#[tokio::test]
async fn existing_mappings_survive_the_hub_migration_on_sqlite() {
    existing_mappings_survive_the_migration_and_sync(Backend::Sqlite).await;
}

#[tokio::test]
async fn existing_mappings_survive_the_hub_migration_on_postgres() {
    existing_mappings_survive_the_migration_and_sync(Backend::Postgres).await;
}
