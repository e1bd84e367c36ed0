//! The one error type of the storage layer, shaped so the server can map each variant to
//! an HTTP status without looking at database internals.

use sea_orm::{DbErr, SqlErr};

/// Everything a store operation can fail with.
///
/// Messages never contain secret values; they may contain ids, names and keys that the
/// caller supplied.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist (HTTP 404).
    #[error("not found")]
    NotFound,
    /// The write collides with existing state, e.g. a duplicate unique key (HTTP 409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row is still referenced by another row and cannot be deleted (HTTP 409).
    #[error("in use: {0}")]
    InUse(String),
    /// The input is semantically invalid, e.g. it references a missing row (HTTP 422).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The configured `ENCRYPTION_KEY` is not the key the stored secrets were encrypted
    /// with; starting anyway would only produce garbage or errors later.
    #[error(
        "ENCRYPTION_KEY does not match the key this database was encrypted with \
         (restore the original key, or start with an empty database)"
    )]
    WrongEncryptionKey,
    /// The configuration (database URL, key format) is unusable.
    #[error("configuration error: {0}")]
    Config(String),
    /// Any other database failure (connection lost, SQL error); logged, answered with 5xx.
    #[error("database error: {0}")]
    Database(#[source] DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                StoreError::Conflict("a row with the same unique key already exists".into())
            }
            _ => StoreError::Database(err),
        }
    }
}

impl StoreError {
    /// A database failure described by the caller (e.g. a task that stood between the
    /// caller and the database stopped): answered like any other database error.
    pub fn other(message: impl Into<String>) -> StoreError {
        StoreError::Database(DbErr::Custom(message.into()))
    }
}

/// Classifies a failed write: unique and foreign-key violations become domain errors with
/// the caller's wording, everything else stays a database error.
pub(crate) fn classify(
    err: DbErr,
    on_unique: impl FnOnce() -> StoreError,
    on_fk: impl FnOnce() -> StoreError,
) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => on_unique(),
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => on_fk(),
        _ => StoreError::Database(err),
    }
}

/// Shorthand for results of store operations.
pub type StoreResult<T> = Result<T, StoreError>;
