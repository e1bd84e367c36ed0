//! Secrets at rest: never stored in plaintext, bound to their row, and a wrong key is
//! detected instead of yielding garbage. Every test runs on SQLite and PostgreSQL.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, Statement};
use timebridge_store::testing::{TestDb, test_cipher};
use timebridge_store::{Backend, Cipher, NewConnector, Secret, Store, StoreError, db_test};

const TOKEN: &str = "tok-PLAINTEXT-3f9a71c2e8";
const WEBHOOK_SECRET: &str = "whs-PLAINTEXT-b71d04aa";

fn zammad(name: &str) -> NewConnector {
    let mut secrets = BTreeMap::new();
    secrets.insert("webhook_secret".to_string(), Secret::new(WEBHOOK_SECRET));
    NewConnector {
        kind: "zammad".into(),
        name: name.into(),
        base_url: "http://127.0.0.1:9".into(),
        api_token: Some(Secret::new(TOKEN)),
        settings: serde_json::json!({"time_unit_minutes": 1.0}),
        secret_settings: secrets,
    }
}

async fn all_connector_rows_as_text(db: &TestDb) -> String {
    let conn = sea_orm::Database::connect(db.url()).await.unwrap();
    let sql = match db.backend() {
        Backend::Postgres => "SELECT row_to_json(c)::text AS t FROM connectors c",
        Backend::Sqlite => {
            "SELECT kind || name || base_url || COALESCE(api_token, '') || settings || secret_settings AS t FROM connectors"
        }
    };
    let rows = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get::<String>("", "t").unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn database_never_holds_a_plaintext_secret(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let created = store.create_connector(zammad("helpdesk")).await.unwrap();
    let secrets = store.get_connector_secrets(created.id).await.unwrap();
    assert_eq!(secrets.api_token.as_ref().unwrap().expose(), TOKEN);
    assert_eq!(
        secrets.secret("webhook_secret").unwrap().expose(),
        WEBHOOK_SECRET
    );
    assert!(!format!("{created:?}{secrets:?}").contains("PLAINTEXT"));

    let rows = all_connector_rows_as_text(&db).await;
    assert!(
        rows.contains("helpdesk"),
        "the query must see the row: {rows}"
    );
    assert!(!rows.contains(TOKEN) && !rows.contains(WEBHOOK_SECRET));

    if backend == Backend::Sqlite {
        drop(store);
        let path = db.url().trim_start_matches("sqlite://").to_string();
        for file in [path.clone(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                let text = String::from_utf8_lossy(&bytes);
                assert!(
                    !text.contains("PLAINTEXT"),
                    "{file} holds a plaintext secret"
                );
            }
        }
    }
    db.cleanup().await;
}

#[tokio::test]
async fn the_database_never_holds_a_plaintext_secret_sqlite() {
    database_never_holds_a_plaintext_secret(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_database_never_holds_a_plaintext_secret_postgres() {
    database_never_holds_a_plaintext_secret(Backend::Postgres).await;
}

async fn wrong_key_is_detected(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    store.verify_encryption_key().await.unwrap();
    let id = store.create_connector(zammad("helpdesk")).await.unwrap().id;
    let other: Store = db.store_with(Cipher::new(&[7u8; 32])).await;
    assert!(matches!(
        other.verify_encryption_key().await,
        Err(StoreError::WrongEncryptionKey)
    ));
    assert!(matches!(
        other.get_connector_secrets(id).await,
        Err(StoreError::WrongEncryptionKey)
    ));
    let again = db.store_with(test_cipher()).await;
    again.verify_encryption_key().await.unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn a_wrong_encryption_key_is_detected_not_decrypted_to_garbage_sqlite() {
    wrong_key_is_detected(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_wrong_encryption_key_is_detected_not_decrypted_to_garbage_postgres() {
    wrong_key_is_detected(Backend::Postgres).await;
}

#[test]
fn a_ciphertext_moved_to_another_row_or_field_does_not_decrypt() {
    let cipher = test_cipher();
    let sealed = cipher.encrypt(TOKEN.as_bytes(), "connector:1:api_token");
    assert_eq!(
        cipher.decrypt(&sealed, "connector:1:api_token").unwrap(),
        TOKEN.as_bytes()
    );
    assert!(cipher.decrypt(&sealed, "connector:2:api_token").is_err());
    assert!(
        cipher
            .decrypt(&sealed, "connector:1:secret:webhook_secret")
            .is_err()
    );
    assert!(!sealed.contains(TOKEN));
}

db_test!(
    async fn rotating_the_key_re_encrypts_every_secret(store: Store) {
        let created = store.create_connector(zammad("rotate")).await.unwrap();
        let new = Cipher::new(&[9u8; 32]);
        assert_eq!(store.rotate_encryption_key(&new).await.unwrap(), 2);
        // The old key no longer opens the data; the new one opens all of it.
        assert!(matches!(
            store.verify_encryption_key().await,
            Err(StoreError::WrongEncryptionKey)
        ));
        let reopened = store.with_cipher(new);
        reopened.verify_encryption_key().await.unwrap();
        let secrets = reopened.get_connector_secrets(created.id).await.unwrap();
        assert_eq!(secrets.api_token.as_ref().unwrap().expose(), TOKEN);
        assert_eq!(
            secrets.secret("webhook_secret").unwrap().expose(),
            WEBHOOK_SECRET
        );
    }
);
