//! Test helpers shared with other crates (feature `testing`): a fresh database per test
//! on SQLite or PostgreSQL, and the [`crate::db_test!`] macro that runs a test on both.
//!
//! PostgreSQL tests use the server in `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), create `tb_test_<random>` and drop it
//! afterwards. An unreachable server fails the test with a clear message; it never skips.

use std::fmt;

use rand::Rng as _;
use sea_orm::{ConnectionTrait, Database};

use crate::crypto::{Cipher, KEY_LEN};
use crate::store::{Backend, Store};

/// Default admin URL of the PostgreSQL server used by tests.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The fixed key of [`test_cipher`], so tests can build a second cipher deliberately.
pub const TEST_KEY: [u8; KEY_LEN] = [42u8; KEY_LEN];

/// A cipher with a fixed, well-known key, for tests only.
pub fn test_cipher() -> Cipher {
    Cipher::new(&TEST_KEY)
}

/// A fresh, empty database that is removed again when dropped (or by [`TestDb::cleanup`]).
pub struct TestDb {
    backend: Backend,
    url: String,
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL only: (admin URL, database name) for the drop.
    pg: Option<(String, String)>,
}

impl fmt::Debug for TestDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDb")
            .field("backend", &self.backend)
            .field("url", &self.url)
            .finish()
    }
}

impl TestDb {
    /// A fresh database on `backend`; panics with an explanation if it cannot be created.
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A new SQLite file in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("create temporary directory for the test database");
        let url = format!("sqlite://{}", dir.path().join("timebridge.db").display());
        TestDb {
            backend: Backend::Sqlite,
            url,
            _dir: Some(dir),
            pg: None,
        }
    }

    /// A new database `tb_test_<random>` on the server in `TEST_DATABASE_URL`.
    pub async fn postgres() -> TestDb {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let name = format!("tb_test_{:016x}", rand::thread_rng().r#gen::<u64>());
        let admin = Database::connect(admin_url.as_str())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL tests need a server: cannot connect to TEST_DATABASE_URL \
                 ({}): {e}. Start PostgreSQL or set TEST_DATABASE_URL.",
                    redact_url(&admin_url)
                )
            });
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = admin.close().await;
        let url = replace_db_name(&admin_url, &name);
        TestDb {
            backend: Backend::Postgres,
            url,
            _dir: None,
            pg: Some((admin_url, name)),
        }
    }

    /// The database URL, e.g. to start the real server on this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The engine of this database.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A migrated store using [`test_cipher`].
    pub async fn store(&self) -> Store {
        self.store_with(test_cipher()).await
    }

    /// A migrated store using `cipher`.
    pub async fn store_with(&self, cipher: Cipher) -> Store {
        let store = Store::connect(&self.url, cipher)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to test database: {e}"));
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("cannot migrate test database: {e}"));
        store
    }

    /// Drops the database now (PostgreSQL) and removes the files (SQLite).
    pub async fn cleanup(mut self) {
        if let Some((admin_url, name)) = self.pg.take() {
            drop_pg_database(&admin_url, &name).await;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg.take() {
            // Best effort from synchronous code, possibly inside a runtime: use a thread
            // with its own runtime.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_pg_database(&admin_url, &name));
                }
            })
            .join();
        }
    }
}

async fn drop_pg_database(admin_url: &str, name: &str) {
    if let Ok(admin) = Database::connect(admin_url).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
        let _ = admin.close().await;
    }
}

/// `postgres://u@h:p/db?x` → `postgres://u@h:p/<name>?x`.
fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Hides a password in a URL for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:[redacted]{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// What a [`crate::db_test!`] body may return: `()` or a `Result` whose error fails the
/// test.
pub trait TestOutcome {
    /// Panics on failure.
    fn check(self);
}

impl TestOutcome for () {
    fn check(self) {}
}

impl<E: fmt::Debug> TestOutcome for Result<(), E> {
    fn check(self) {
        if let Err(e) = self {
            panic!("test returned an error: {e:?}");
        }
    }
}

/// Runs one storage test on SQLite and on PostgreSQL, each with a fresh migrated store:
///
/// ```ignore
/// db_test!(async fn creates_and_lists_connectors(store: Store) {
///     let (items, total) = store.list_connectors(50, 0).await.unwrap();
///     assert_eq!(total, 0);
/// });
/// ```
///
/// expands to `mod creates_and_lists_connectors { #[tokio::test] async fn sqlite() …
/// #[tokio::test] async fn postgres() … }`. The body may return `()` or a `Result`.
/// The calling crate needs `tokio` (with `macros` and `rt`) as a dev-dependency.
/// A run of `pipeline_id` over March 2026, by `trigger`, due at `at`: the queued run the
/// storage tests of runs, mirrors, notifications and the group commit start from.
pub fn march_run(
    pipeline_id: i64,
    trigger: crate::RunTrigger,
    at: chrono::DateTime<chrono::Utc>,
) -> crate::NewRun {
    crate::NewRun {
        pipeline_id,
        trigger,
        dry_run: false,
        window_from: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("a date"),
        window_to: chrono::NaiveDate::from_ymd_opt(2026, 3, 31).expect("a date"),
        ticket_ids: None,
        run_after: at,
        scope: None,
        undo_of: None,
    }
}

/// A pipeline named `name` between two fresh connectors of its own (a `zammad` source and
/// a `kimai` target at an unreachable address), created at `now`; returns its id. The
/// fixture every storage test of the sync state starts from.
pub async fn seed_pipeline(store: &Store, name: &str, now: chrono::DateTime<chrono::Utc>) -> i64 {
    let connector = |kind: &str| crate::NewConnector {
        kind: kind.into(),
        name: format!("{name}-{kind}"),
        base_url: "http://127.0.0.1:9".into(),
        api_token: None,
        settings: serde_json::json!({}),
        secret_settings: Default::default(),
    };
    let source = store.create_connector(connector("zammad")).await.unwrap();
    let target = store.create_connector(connector("kimai")).await.unwrap();
    store
        .create_pipeline(
            crate::PipelineInput {
                name: name.into(),
                source_connector_id: source.id,
                target_connector_id: target.id,
                enabled: true,
                schedule_enabled: true,
                interval_minutes: 60,
                window_days: 31,
                options: serde_json::json!({}),
            },
            now,
        )
        .await
        .unwrap()
        .id
}

impl Store {
    /// The raw connection, for tests of migrations.
    pub fn raw_connection(&self) -> &sea_orm::DatabaseConnection {
        &self.db
    }
}

#[macro_export]
macro_rules! db_test {
    (async fn $name:ident($store:ident : $ty:ty) $(-> $ret:ty)? $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($store: $ty) $(-> $ret)? $body

            async fn run(backend: $crate::Backend) {
                let db = $crate::testing::TestDb::new(backend).await;
                let store = db.store().await;
                $crate::testing::TestOutcome::check(body(store).await);
                db.cleanup().await;
            }

            #[tokio::test]
            async fn sqlite() {
                run($crate::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                run($crate::Backend::Postgres).await;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_query_kept() {
        assert_eq!(
            replace_db_name("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_db_name("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(replace_db_name("postgres://h:1", "x"), "postgres://h:1/x");
        assert_eq!(
            redact_url("postgres://u:pw@h/db"),
            "postgres://u:[redacted]@h/db"
        );
    }
}
