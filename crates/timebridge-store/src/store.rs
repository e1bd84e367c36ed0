//! The [`Store`] handle: connecting to SQLite or PostgreSQL, migrations, health check and
//! the encryption key check.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::DatabaseConnection;

use crate::crypto::Cipher;
use crate::error::StoreResult;

/// Which database engine a [`Store`] talks to; backend-specific SQL (later: job queue
/// locking) switches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// An embedded SQLite file (the default, `sqlite://./data/timebridge.db`).
    Sqlite,
    /// A PostgreSQL server, possibly shared by several `serve` processes.
    Postgres,
}

/// Handle to the database and the secret cipher. Cloning is cheap (shared pool), so the
/// server keeps one in its state and clones it into handlers and jobs.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    pub(crate) cipher: Arc<Cipher>,
    pub(crate) backend: Backend,
    /// Statements executed through this pool since it opened (`/metrics`, and tests that
    /// bound what an idle process asks of the database).
    pub(crate) statements: Arc<std::sync::atomic::AtomicU64>,
}

impl Store {
    /// Connects to `sqlite://…` (file and parent directories created on first start, WAL
    /// journal, foreign keys enforced on every pooled connection) or `postgres://…`.
    /// Does not migrate: callers run [`Store::migrate`] at start.
    pub async fn connect(database_url: &str, cipher: Cipher) -> StoreResult<Store> {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        use std::time::Duration;
        let backend = if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            Backend::Postgres
        } else if database_url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(crate::StoreError::Config(
                "DATABASE_URL: expected a sqlite://… or postgres://… URL".into(),
            ));
        };
        let mut opts = sea_orm::ConnectOptions::new(database_url.to_string());
        opts.sqlx_logging(false);
        if std::env::var_os("TB_NO_TEST").is_some() {
            opts.test_before_acquire(false);
        }
        if backend == Backend::Sqlite {
            // The pool's ping before each statement would be one more round trip to the
            // connection's thread for nothing: an embedded file does not go away.
            opts.test_before_acquire(false);
            let rest = database_url
                .trim_start_matches("sqlite:")
                .trim_start_matches("//");
            let path = rest.split('?').next().unwrap_or("");
            if let Some(dir) = std::path::Path::new(path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    crate::StoreError::Config(format!(
                        "DATABASE_URL: cannot create directory {}: {e}",
                        dir.display()
                    ))
                })?;
            }
            opts.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .foreign_keys(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // NORMAL is durable against a crash of the process (WAL); a power loss
                    // may lose the last commits, which the link markers in the target
                    // recover (an entry written without its link is adopted by marker).
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
            });
        }
        let mut db = sea_orm::Database::connect(opts)
            .await
            .map_err(crate::StoreError::Database)?;
        let statements = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = statements.clone();
        let trace = std::env::var_os("TB_TRACE_SQL").is_some();
        db.set_metric_callback(move |i| {
            if trace {
                eprintln!(
                    "SQL {}",
                    i.statement
                        .to_string()
                        .chars()
                        .take(70)
                        .collect::<String>()
                        .replace('\n', " ")
                );
            }
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        Ok(Store {
            db,
            cipher: Arc::new(cipher),
            backend,
            statements,
        })
    }

    /// Applies all pending migrations (idempotent).
    pub async fn migrate(&self) -> StoreResult<()> {
        use sea_orm_migration::MigratorTrait;
        crate::Migrator::up(&self.db, None)
            .await
            .map_err(crate::StoreError::Database)
    }
    /// How many migrations this version knows that the database has not applied (the
    /// readiness check: a process must not serve a schema it does not expect).
    pub async fn pending_migrations(&self) -> StoreResult<usize> {
        use sea_orm_migration::MigratorTrait;
        crate::Migrator::get_pending_migrations(&self.db)
            .await
            .map(|m| m.len())
            .map_err(crate::StoreError::Database)
    }

    /// Rolls back the newest `steps` migrations (tests of the readiness check only).
    #[doc(hidden)]
    pub async fn roll_back_migrations(&self, steps: u32) -> StoreResult<()> {
        use sea_orm_migration::MigratorTrait;
        crate::Migrator::down(&self.db, Some(steps))
            .await
            .map_err(crate::StoreError::Database)
    }

    /// Checks that the database answers (health endpoint).
    pub async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await.map_err(crate::StoreError::Database)
    }
    /// Statements executed through this pool since it opened.
    pub fn statements_executed(&self) -> u64 {
        self.statements.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Which engine this store uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The same database under another key (after [`Store::rotate_encryption_key`]).
    pub fn with_cipher(&self, cipher: Cipher) -> Store {
        Store {
            db: self.db.clone(),
            cipher: Arc::new(cipher),
            backend: self.backend,
            statements: self.statements.clone(),
        }
    }
    /// Proves `ENCRYPTION_KEY` is the key the data was encrypted with: decrypts a stored
    /// check value (writing one on first start). A wrong key is an error, never garbage.
    pub async fn verify_encryption_key(&self) -> StoreResult<()> {
        use crate::entities::meta;
        use sea_orm::{ActiveModelTrait, EntityTrait, Set};
        match meta::Entity::find_by_id("key_check".to_string())
            .one(&self.db)
            .await?
        {
            Some(m) => self
                .cipher
                .decrypt(&m.value, "meta:key_check")
                .map(|_| ())
                .map_err(|_| crate::StoreError::WrongEncryptionKey),
            None => {
                meta::ActiveModel {
                    key: Set("key_check".into()),
                    value: Set(self.cipher.encrypt(b"ok", "meta:key_check")),
                }
                .insert(&self.db)
                .await?;
                Ok(())
            }
        }
    }
}

/// Truncates to whole microseconds, the precision of PostgreSQL, so values round-trip
/// identically on both backends.
pub(crate) fn db_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The current time at database precision.
pub(crate) fn now() -> DateTime<Utc> {
    db_time(Utc::now())
}
