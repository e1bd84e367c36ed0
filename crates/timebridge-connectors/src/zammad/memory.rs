//! What the Zammad connector remembers between runs: the names it looked up (tickets,
//! agents, organizations) and the moment, on Zammad's own clock, at which all of them were
//! current. The next read asks Zammad only for the records changed since that moment
//! (searches by `updated_at`) and looks up by id only what it has never seen, instead of
//! looking every ticket, agent and organization of the window up again.
//!
//! Why it is safe: a ticket's number, title or organization, an agent's name or address,
//! an organization's name cannot change without moving the record's `updated_at`, and
//! every record a run reads was current at a moment no earlier than the newest
//! `updated_at` that run saw. The searches start a few minutes before that moment, for
//! changes committed while the run read. Where a search is refused (a Zammad without
//! search), that kind is looked up again by id. Whatever the searches may miss, the
//! memory is dropped for a full lookup every [`FULL_REFRESH_READS`] reads or when it is
//! older than [`FULL_REFRESH_AGE`] on Zammad's clock, and whenever the connector is edited
//! (the store forgets it) or points at another Zammad.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::source::{ApiOrganization, ApiTicket, ApiUser};

/// The layout below; a memory of another version is ignored.
const VERSION: u32 = 1;
/// How far before the remembered moment the searches for changes begin.
const SLACK: Duration = Duration::minutes(5);
/// Reads after which everything is looked up again.
pub(super) const FULL_REFRESH_READS: u32 = 96;
/// Age (on Zammad's clock) after which everything is looked up again.
pub(super) const FULL_REFRESH_AGE: Duration = Duration::hours(24);

/// Names remembered from earlier reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Memory {
    version: u32,
    /// The Zammad these names come from.
    base_url: String,
    /// Zammad's time at which every record below was current.
    pub current_at: Option<DateTime<Utc>>,
    /// Reads since everything was last looked up.
    pub reads: u32,
    pub tickets: BTreeMap<i64, ApiTicket>,
    pub users: BTreeMap<i64, ApiUser>,
    pub organizations: BTreeMap<i64, ApiOrganization>,
}

impl Memory {
    /// The memory of `value` if it can be used for a read of `base_url` whose newest
    /// accounting moved at `newest` (Zammad's clock); `None` means a full lookup.
    pub fn recall(
        value: Option<&Value>,
        base_url: &str,
        newest: Option<DateTime<Utc>>,
    ) -> Option<Memory> {
        let memory = Memory::deserialize(value?).ok()?;
        let current_at = memory.current_at?;
        let fresh = memory.version == VERSION
            && memory.base_url == base_url
            && memory.reads < FULL_REFRESH_READS
            && newest.is_none_or(|n| n - current_at <= FULL_REFRESH_AGE);
        fresh.then_some(memory)
    }

    /// An empty memory of `base_url`, to be filled by this read.
    pub fn new(base_url: &str) -> Memory {
        Memory {
            version: VERSION,
            base_url: base_url.to_owned(),
            ..Memory::default()
        }
    }

    /// Where the searches for changed records begin.
    pub fn changed_since(&self) -> Option<DateTime<Utc>> {
        self.current_at.map(|t| t - SLACK)
    }

    /// Moves the moment everything is current at to `t` if that is later.
    pub fn saw(&mut self, t: Option<DateTime<Utc>>) {
        if let Some(t) = t {
            self.current_at = Some(self.current_at.map_or(t, |c| c.max(t)));
        }
    }

    /// The JSON the store keeps; `None` when no moment is known (nothing to rely on).
    pub fn into_value(self) -> Option<Value> {
        self.current_at?;
        serde_json::to_value(self).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 31, h, 0, 0).unwrap()
    }

    fn stored(reads: u32) -> Value {
        let mut m = Memory::new("https://zammad.example");
        m.saw(Some(at(10)));
        m.reads = reads;
        m.into_value().unwrap()
    }

    #[test]
    fn a_memory_of_the_same_zammad_is_recalled_with_its_moment() {
        let m = Memory::recall(Some(&stored(0)), "https://zammad.example", Some(at(12))).unwrap();
        assert_eq!(m.current_at, Some(at(10)));
        assert_eq!(m.changed_since(), Some(at(10) - SLACK));
    }

    #[test]
    fn a_memory_of_another_zammad_or_too_many_reads_or_too_old_is_not_recalled() {
        assert!(Memory::recall(Some(&stored(0)), "https://other.example", Some(at(12))).is_none());
        assert!(
            Memory::recall(
                Some(&stored(FULL_REFRESH_READS)),
                "https://zammad.example",
                None
            )
            .is_none()
        );
        let next_day = at(10) + FULL_REFRESH_AGE + Duration::seconds(1);
        assert!(
            Memory::recall(Some(&stored(0)), "https://zammad.example", Some(next_day)).is_none()
        );
        assert!(
            Memory::recall(Some(&Value::from("junk")), "https://zammad.example", None).is_none()
        );
    }

    #[test]
    fn a_memory_without_a_moment_is_not_kept() {
        assert!(Memory::new("https://zammad.example").into_value().is_none());
    }

    #[test]
    fn the_moment_only_moves_forward() {
        let mut m = Memory::new("x");
        m.saw(Some(at(10)));
        m.saw(Some(at(9)));
        m.saw(None);
        assert_eq!(m.current_at, Some(at(10)));
    }
}
