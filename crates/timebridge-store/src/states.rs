//! The states that cross layers — a run's status and trigger, a run item's outcome, a
//! conflict's status, an audit event's action, a notification's delivery status — as enums from the database column
//! (SeaORM active enums stored as their snake_case names, the same text v0.1 stored)
//! through the repositories and the HTTP API (serde, OpenAPI) to the UI's generated
//! types. A typo is a compile error and a new state is a change in one place: each
//! name is written once, in `states!`, which gives the column, `as_str` and `FromStr`
//! (the JSON name is its snake_case, checked against it by a test).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Defines state enums whose stored, serialised and displayed names are the one literal
/// given per variant.
macro_rules! states {
    ($(
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    )*) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize,
            Deserialize, utoipa::ToSchema,
        )]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        // The OpenAPI derive does not see a per-variant `rename` written by a macro; the
        // names are snake_case, which a unit test holds to the literals.
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[sea_orm(string_value = $text)]
                $variant,
            )*
        }

        impl $name {
            /// The stored and serialised name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownState;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )*
                    _ => Err(UnknownState {
                        what: stringify!($name),
                        value: s.to_owned(),
                        known: &[$($text),*],
                    }),
                }
            }
        }
    )*};
}

/// A name that is none of a state enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known value (one of {})", known.join(", "))]
pub struct UnknownState {
    /// Which enum.
    pub what: &'static str,
    /// The name given.
    pub value: String,
    /// The names it knows.
    pub known: &'static [&'static str],
}

states! {
    /// Where a run is in its life.
    pub enum RunStatus {
        /// Waiting in the queue (the job queue is the runs table).
        Queued = "queued",
        /// Claimed by a worker under the pipeline's lease.
        Running = "running",
        /// Finished; every entry got its outcome.
        Succeeded = "succeeded",
        /// Finished, but some entries could not be written (errors) and wait for the next
        /// run.
        Partial = "partial",
        /// Stopped as a whole (a source or target that could not be read, a configuration
        /// error, too many attempts).
        Failed = "failed",
    }

    /// What started a run.
    pub enum RunTrigger {
        /// A person (`POST /api/sync/manual`, `timebridge sync`).
        Manual = "manual",
        /// The pipeline's schedule.
        Schedule = "schedule",
        /// A signed webhook call from the source.
        Webhook = "webhook",
        /// A person fixed the cause of a group of conflicts: the run writes that group's
        /// entries (its `scope`).
        Resolution = "resolution",
        /// A person took back what an earlier run wrote (`runs.undo_of`).
        Undo = "undo",
    }

    /// What a run decided (or, in a dry run, would decide) for one source entry.
    pub enum ItemOutcome {
        InSync = "in_sync",
        Create = "create",
        Update = "update",
        Skip = "skip",
        Conflict = "conflict",
        /// The write failed in a way that may be retried; the next run tries again.
        Error = "error",
        /// A resolution deleted the target entry, or an undo deleted what its run created.
        Delete = "delete",
        /// An undo wrote back the target entry its run had updated.
        Restore = "restore",
    }

    /// Whether a conflict waits for a person.
    pub enum ConflictStatus {
        Open = "open",
        Resolved = "resolved",
    }

    /// What an audit event records (`action` of `GET /api/audit`).
    pub enum AuditAction {
        LoginSucceeded = "login_succeeded",
        LoginFailed = "login_failed",
        ConnectorCreated = "connector_created",
        ConnectorUpdated = "connector_updated",
        ConnectorDeleted = "connector_deleted",
        /// The OAuth connect flow stored a new refresh token for a connector.
        ConnectorAuthorized = "connector_authorized",
        PipelineCreated = "pipeline_created",
        PipelineUpdated = "pipeline_updated",
        PipelineDeleted = "pipeline_deleted",
        MappingCreated = "mapping_created",
        MappingUpdated = "mapping_updated",
        MappingDeleted = "mapping_deleted",
        SettingsUpdated = "settings_updated",
        /// A person or the schedule queued a run.
        SyncRequested = "sync_requested",
        SyncStarted = "sync_started",
        SyncFinished = "sync_finished",
        /// A target entry written by a run or a resolution.
        EntryCreated = "entry_created",
        EntryUpdated = "entry_updated",
        EntryDeleted = "entry_deleted",
        ConflictRaised = "conflict_raised",
        ConflictResolved = "conflict_resolved",
        WebhookReceived = "webhook_received",
        WebhookRejected = "webhook_rejected",
        /// A source project created by project mirroring.
        ProjectMirrored = "project_mirrored",
        RetentionPurged = "retention_purged",
        GdprExported = "gdpr_exported",
        GdprPurged = "gdpr_purged",
        /// A notifier delivered a notification (or a test message).
        NotificationSent = "notification_sent",
        /// A notification was given up: refused for good, too many attempts, or its
        /// outcome unknown after a crash (never sent twice).
        NotificationFailed = "notification_failed",
    }

    /// Where a notification in the outbox is.
    pub enum NotificationStatus {
        /// Waiting for its (next) attempt at `next_attempt_at`.
        Pending = "pending",
        /// Claimed and being sent; the claim expires at `claim_until`.
        Sending = "sending",
        /// Delivered.
        Sent = "sent",
        /// Given up (see `last_error`).
        Failed = "failed",
    }
}

impl RunStatus {
    /// Statuses of a run that is not finished.
    pub const ACTIVE: [RunStatus; 2] = [RunStatus::Queued, RunStatus::Running];

    /// Whether the run is finished.
    pub fn is_finished(self) -> bool {
        !Self::ACTIVE.contains(&self)
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

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    fn same_names<T>()
    where
        T: Iterable + ActiveEnum<Value = String> + Serialize + std::fmt::Display + Copy,
        T: std::str::FromStr<Err = UnknownState> + PartialEq + std::fmt::Debug,
    {
        for s in T::iter() {
            let name = s.to_string();
            assert_eq!(serde_json::to_value(s).unwrap(), name.as_str());
            assert_eq!(s.to_value(), name);
            assert_eq!(name.parse::<T>().unwrap(), s);
        }
        assert!("no such state".parse::<T>().is_err());
    }

    #[test]
    fn stored_names_are_the_serialised_names() {
        same_names::<RunStatus>();
        same_names::<RunTrigger>();
        same_names::<ItemOutcome>();
        same_names::<ConflictStatus>();
        same_names::<AuditAction>();
        same_names::<NotificationStatus>();
    }
}
