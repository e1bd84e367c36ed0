//! Repository methods on [`crate::Store`], one module per table, each with the plain
//! records it reads and writes.

pub mod admin;
pub mod audit;
pub mod conflicts;
pub mod connector_memory;
pub mod connectors;
pub mod links;
pub mod mappings;
pub mod mirror;
pub mod notifications;
pub mod oauth;
pub mod pipelines;
pub mod privacy;
pub mod runs;
pub mod sessions;
pub mod settings;

/// Largest page any list method returns, matching the API's `limit` maximum.
pub const MAX_LIMIT: u64 = 500;

/// Clamps a requested page size to `1..=MAX_LIMIT`.
pub(crate) fn clamp_limit(limit: u64) -> u64 {
    limit.clamp(1, MAX_LIMIT)
}
