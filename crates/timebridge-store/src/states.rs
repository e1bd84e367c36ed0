//! The states that cross layers — a run's status and trigger, a run item's outcome, a
//! conflict's status — as enums from the database column (SeaORM active enums stored as
//! their snake_case names, the same text v0.1 stored) through the repositories and the
//! HTTP API (serde, OpenAPI) to the UI's generated types. A typo is a compile error and a
//! new state is a change in one place.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a run is in its life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting in the queue (the job queue is the runs table).
    #[sea_orm(string_value = "queued")]
    Queued,
    /// Claimed by a worker under the pipeline's lease.
    #[sea_orm(string_value = "running")]
    Running,
    /// Finished; every entry got its outcome.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Finished, but some entries could not be written (errors) and wait for the next run.
    #[sea_orm(string_value = "partial")]
    Partial,
    /// Stopped as a whole (a source or target that could not be read, a configuration
    /// error, too many attempts).
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl RunStatus {
    /// Statuses of a run that is not finished.
    pub const ACTIVE: [RunStatus; 2] = [RunStatus::Queued, RunStatus::Running];

    /// Whether the run is finished.
    pub fn is_finished(self) -> bool {
        !Self::ACTIVE.contains(&self)
    }

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }
}

/// What started a run.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// A person (`POST /api/sync/manual`, `timebridge sync`).
    #[sea_orm(string_value = "manual")]
    Manual,
    /// The pipeline's schedule.
    #[sea_orm(string_value = "schedule")]
    Schedule,
    /// A signed webhook call from the source.
    #[sea_orm(string_value = "webhook")]
    Webhook,
}

impl RunTrigger {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Manual => "manual",
            RunTrigger::Schedule => "schedule",
            RunTrigger::Webhook => "webhook",
        }
    }
}

/// What a run decided (or, in a dry run, would decide) for one source entry.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    #[sea_orm(string_value = "in_sync")]
    InSync,
    #[sea_orm(string_value = "create")]
    Create,
    #[sea_orm(string_value = "update")]
    Update,
    #[sea_orm(string_value = "skip")]
    Skip,
    #[sea_orm(string_value = "conflict")]
    Conflict,
    /// The write failed in a way that may be retried; the next run tries again.
    #[sea_orm(string_value = "error")]
    Error,
    /// A resolution deleted the target entry.
    #[sea_orm(string_value = "delete")]
    Delete,
}

impl ItemOutcome {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemOutcome::InSync => "in_sync",
            ItemOutcome::Create => "create",
            ItemOutcome::Update => "update",
            ItemOutcome::Skip => "skip",
            ItemOutcome::Conflict => "conflict",
            ItemOutcome::Error => "error",
            ItemOutcome::Delete => "delete",
        }
    }
}

impl From<timebridge_core::OutcomeKind> for ItemOutcome {
    fn from(k: timebridge_core::OutcomeKind) -> Self {
        use timebridge_core::OutcomeKind as K;
        match k {
            K::InSync => ItemOutcome::InSync,
            K::Create => ItemOutcome::Create,
            K::Update => ItemOutcome::Update,
            K::Skip => ItemOutcome::Skip,
            K::Conflict => ItemOutcome::Conflict,
        }
    }
}

/// Whether a conflict waits for a person.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum ConflictStatus {
    #[sea_orm(string_value = "open")]
    Open,
    #[sea_orm(string_value = "resolved")]
    Resolved,
}

impl ConflictStatus {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictStatus::Open => "open",
            ConflictStatus::Resolved => "resolved",
        }
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(RunStatus, RunTrigger, ItemOutcome, ConflictStatus);

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn stored_names_are_the_serialised_names() {
        for s in RunStatus::iter() {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.to_value(), s.as_str());
        }
        for t in RunTrigger::iter() {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
            assert_eq!(t.to_value(), t.as_str());
        }
        for o in ItemOutcome::iter() {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
            assert_eq!(o.to_value(), o.as_str());
        }
        for c in ConflictStatus::iter() {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert_eq!(c.to_value(), c.as_str());
            assert_eq!(c.to_string(), c.as_str());
        }
    }
}
