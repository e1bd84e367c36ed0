//! Persistence for timebridge on SQLite and PostgreSQL with one code base (SeaORM 2).
//!
//! - [`Store`] is the entry point: [`Store::connect`] opens a pool for a `DATABASE_URL`,
//!   [`Store::migrate`] applies the schema, and the repository methods (grouped by table in
//!   [`repo`]) read and write plain records that the server maps to API JSON.
//! - Secrets (connector API tokens, webhook secrets) are encrypted at rest by [`Cipher`]
//!   and bound to their row and field; records returned for the API only say whether a
//!   secret is set. Plaintext is available only through
//!   [`Store::get_connector_secrets`], for the sync engine and webhook verification.
//! - Timestamps are UTC, truncated to whole microseconds on write so that they round-trip
//!   identically on both backends.
//! - With the `testing` feature, `testing::TestDb` and [`db_test!`] give every test a
//!   fresh, migrated database on SQLite and on PostgreSQL.

pub mod crypto;
mod entities;
pub mod error;
mod migrations;
pub mod repo;
pub mod states;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use crypto::{Cipher, DecryptError, KeyError, Secret, decode_key};
pub use error::{StoreError, StoreResult};
pub use migrations::Migrator;
pub use repo::admin::AdminUser;
pub use repo::audit::{AuditCursor, AuditEvent, AuditFilter, NewAuditEvent};
pub use repo::conflicts::{
    Conflict, ConflictFilter, ConflictGroupRow, DriftDay, GroupFacts, GroupKey, NewConflict,
};
pub use repo::connectors::{Connector, ConnectorSecrets, ConnectorUpdate, NewConnector};
pub use repo::links::{CompletedWrite, LinkRow, NewWriteIntent, WriteIntent};
pub use repo::mappings::{Mapping, MappingFilter, MappingInput, MappingKind};
pub use repo::mirror::{MirrorIntent, MirroredProject, NewMirrorIntent};
pub use repo::notifications::{NewNotification, OutboxRow};
pub use repo::oauth::OAuthState;
pub use repo::pipelines::{Pipeline, PipelineInput};
pub use repo::privacy::{PersonalData, PurgeCounts, RetentionCounts};
pub use repo::runs::{
    NewRun, Run, RunItem, RunOutcome, RunScope, SyncCounts, UndoRecord, WebhookCall, WebhookTarget,
};
pub use repo::sessions::Session;
pub use repo::settings::Settings;
pub use states::{
    AuditAction, ConflictStatus, ItemOutcome, NotificationStatus, RunStatus, RunTrigger,
    UnknownState,
};
pub use store::{Backend, Store};
