//! What the pair scenarios do to a world's systems, whatever they are: each simulator
//! gets a driver (one file here per system), and [`crate::World::source`] /
//! [`crate::World::target`] hand them out, so one scenario runs on every [`crate::Pair`].

mod clockify;
mod google_calendar;
mod jibble;
mod kimai;
mod odoo;
mod timetracker;
mod zammad;

pub use clockify::ClockifyWorkspace;

/// A source system as the pair scenarios use it.
pub trait SourceDriver: Send + Sync {
    /// The keys (as the source connector reports them) of the source's entries.
    fn keys(&self) -> Vec<String>;

    /// Changes entry `key` the way a person would, so that the next sync must update what
    /// it wrote (a new activity, a new duration, …).
    fn edit(&self, key: &str) -> anyhow::Result<()>;

    /// Deletes entry `key`.
    fn delete(&self, key: &str) -> anyhow::Result<()>;

    /// Requests the source has served so far (its request log).
    fn requests(&self) -> usize;
}

/// One record of a target system, as the pair scenarios see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRecord {
    /// The target's id of the record.
    pub id: String,
    /// What makes two records one source entry written twice: the source key of the link
    /// marker where the target keeps one, else the record's identity in the target (e.g.
    /// an attendance's employee and check-in). `None`: a record nobody synced.
    pub identity: Option<String>,
}

/// A target system as the pair scenarios use it.
pub trait TargetDriver: Send + Sync {
    /// Every record of the target.
    fn records(&self) -> Vec<TargetRecord>;

    /// Changes record `id` the way a person would in the target's own UI (a longer
    /// duration), so that the next sync finds it edited.
    fn edit(&self, id: &str) -> anyhow::Result<()>;

    /// Requests the target has served that write (create, update, delete) so far.
    fn write_requests(&self) -> usize;

    /// Requests the target has served so far, reads and writes (its request log).
    fn requests(&self) -> usize;
}

/// The marker's source key in `text`, if it carries one.
pub(crate) fn marked_key(text: &str) -> Option<String> {
    timebridge_connectors::Marker::find_all(text)
        .into_iter()
        .next()
        .map(|m| m.key)
}
