use std::collections::HashMap;
use std::sync::Arc;

use timebridge_server::{Config, ManualClock, SharedClock};
use timebridge_store::testing::TestDb;

use crate::common::{Backend, key, start_time, test_vars};

macro_rules! startup_test {
    (async fn $name:ident($db:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($db: &TestDb) $body

            #[tokio::test]
            async fn sqlite() {
                let db = TestDb::new(Backend::Sqlite).await;
                body(&db).await;
                db.cleanup().await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = TestDb::new(Backend::Postgres).await;
                body(&db).await;
                db.cleanup().await;
            }
        }
    };
}

fn clock() -> SharedClock {
    Arc::new(ManualClock::new(start_time()))
}

async fn prepare(vars: &HashMap<String, String>) -> anyhow::Result<timebridge_server::AppState> {
    timebridge_server::prepare(Config::from_map(vars)?, clock()).await
}

startup_test!(async fn a_wrong_encryption_key_stops_the_start_with_a_clear_error(db) {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = test_vars(db.url(), dir.path());
    let state = prepare(&vars).await.expect("first start");
    drop(state);
    vars.insert("ENCRYPTION_KEY".into(), key(9));
    let err = prepare(&vars).await.expect_err("a different key must not start");
    let text = format!("{err:#}");
    assert!(text.contains("ENCRYPTION_KEY"), "{text}");
    assert!(text.contains("does not match"), "{text}");
});

startup_test!(async fn serve_needs_admin_password_until_an_admin_exists(db) {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = test_vars(db.url(), dir.path());
    vars.remove("ADMIN_PASSWORD");
    let err = prepare(&vars).await.expect_err("no admin, no password");
    assert!(format!("{err:#}").starts_with("ADMIN_PASSWORD: expected"), "{err:#}");

    vars.insert("ADMIN_PASSWORD".into(), "first-password".into());
    drop(prepare(&vars).await.expect("creates the admin"));
    vars.remove("ADMIN_PASSWORD");
    let state = prepare(&vars).await.expect("the admin exists now");
    let admin = state.store.get_admin("admin").await.unwrap().unwrap();
    assert!(admin.password_hash.starts_with("$argon2id$"));
    assert!(timebridge_server::auth::password::verify_password("first-password", &admin.password_hash));

    vars.insert("ADMIN_PASSWORD".into(), "second-password".into());
    let state = prepare(&vars).await.expect("replaces the password");
    let admin = state.store.get_admin("admin").await.unwrap().unwrap();
    assert!(timebridge_server::auth::password::verify_password("second-password", &admin.password_hash));
    assert!(!timebridge_server::auth::password::verify_password("first-password", &admin.password_hash));
});

#[tokio::test]
async fn generated_key_files_have_mode_0600_and_are_reused_on_the_next_start() {
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested/data");
    let mut vars = test_vars(db.url(), &data_dir);
    vars.remove("ENCRYPTION_KEY");
    vars.remove("SECRET_KEY");
    drop(prepare(&vars).await.expect("starts with generated keys"));
    let mut contents = Vec::new();
    for file in ["encryption.key", "secret.key"] {
        let path = data_dir.join(file);
        let meta = std::fs::metadata(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file}");
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(timebridge_server::config::Key32::from_base64(&text).is_ok());
        contents.push(text);
    }
    assert_ne!(contents[0], contents[1]);
    drop(prepare(&vars).await.expect("restarts with the same keys"));
    assert_eq!(
        std::fs::read_to_string(data_dir.join("encryption.key")).unwrap(),
        contents[0]
    );
    db.cleanup().await;
}

#[test]
fn configuration_errors_name_the_variable_and_what_is_expected() {
    let mut vars = HashMap::new();
    vars.insert("SYNC_SCHEDULE_HOURS".to_string(), "often".to_string());
    let err = Config::from_map(&vars).unwrap_err();
    assert_eq!(
        err.to_string(),
        "SYNC_SCHEDULE_HOURS: expected a whole number of hours between 1 and 8784"
    );
    let mut vars = HashMap::new();
    vars.insert("ENCRYPTION_KEY".to_string(), "dG9vIHNob3J0".to_string());
    let err = Config::from_map(&vars).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("ENCRYPTION_KEY: expected exactly 32 bytes"),
        "{err}"
    );
}
