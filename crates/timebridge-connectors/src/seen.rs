//! What a target's latest read saw of each of its entries, kept for the writes of the same
//! run: an update of an entry the run has just read needs no second read before it.
//!
//! A target connector fills it in `fetch` (which first forgets everything: a new read of
//! the window starts) and in `fetch_by_ids`, with only the few facts its `update` needs
//! (never the whole record), and `update` takes an entry's facts out: each is used once,
//! so a second update of the same entry reads it again. Facts older than the memo's age
//! limit are never handed out, so an instance kept longer than a run cannot write with
//! what an old read saw. The clock is injected so tests need no waiting.
//!
//! The facts are what the target said at the read, not at the write: a change made in
//! between (an entry exported or locked, moved to another user) is only seen by the
//! target's own refusal of the write. Each connector says in its `update` what that leaves.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Where the memo reads the time (tests pass a clock they move by hand).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// How long facts stay usable after their read: longer than the writes of one run take
/// at the connectors' rate limits, short enough that an instance kept around (or a
/// resolution much later) reads again.
pub const MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// Facts of type `F` by target entry id, each with the instant it was read.
pub struct Seen<F> {
    entries: Mutex<HashMap<String, (Instant, F)>>,
    max_age: Duration,
    clock: Clock,
}

impl<F> fmt::Debug for Seen<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seen")
            .field("entries", &self.lock().len())
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl<F> Default for Seen<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F> Seen<F> {
    /// An empty memo on the process clock with [`MAX_AGE`].
    pub fn new() -> Self {
        Self::with_clock(MAX_AGE, Arc::new(Instant::now))
    }

    /// An empty memo whose facts expire `max_age` after their read by `clock`.
    pub fn with_clock(max_age: Duration, clock: Clock) -> Self {
        Seen {
            entries: Mutex::new(HashMap::new()),
            max_age,
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, F)>> {
        // The map holds no invariant a panicking holder could break.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets everything: a new read of the window starts (the start of `fetch`).
    pub fn restart(&self) {
        let mut entries = self.lock();
        entries.clear();
        entries.shrink_to_fit();
    }

    /// Remembers what one read saw of these entries (replacing older facts), and drops
    /// facts that have expired meanwhile.
    pub fn note_all(&self, facts: impl IntoIterator<Item = (String, F)>) {
        let now = (self.clock)();
        let max_age = self.max_age;
        let mut entries = self.lock();
        entries.retain(|_, (at, _)| now.saturating_duration_since(*at) <= max_age);
        entries.extend(facts.into_iter().map(|(id, f)| (id, (now, f))));
    }

    /// Takes out what the latest read saw of entry `id`: `None` when no read since the
    /// last [`restart`](Self::restart) saw it, it was taken already, or it has expired.
    pub fn take(&self, id: &str) -> Option<F> {
        let (at, facts) = self.lock().remove(id)?;
        ((self.clock)().saturating_duration_since(at) <= self.max_age).then_some(facts)
    }

    /// Forgets entry `id` (it was deleted).
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock that moves only when the test moves it.
    fn manual() -> (Clock, Arc<Mutex<Instant>>) {
        let now = Arc::new(Mutex::new(Instant::now()));
        let read = now.clone();
        (Arc::new(move || *read.lock().unwrap()), now)
    }

    fn advance(now: &Mutex<Instant>, by: Duration) {
        let mut t = now.lock().unwrap();
        *t += by;
    }

    #[test]
    fn facts_are_handed_out_once() {
        let seen = Seen::new();
        seen.note_all([("1".to_owned(), 'a'), ("2".to_owned(), 'b')]);
        assert_eq!(seen.take("1"), Some('a'));
        assert_eq!(seen.take("1"), None);
        assert_eq!(seen.take("2"), Some('b'));
    }

    #[test]
    fn a_restart_forgets_what_the_earlier_read_saw() {
        let seen = Seen::new();
        seen.note_all([("1".to_owned(), 'a')]);
        seen.restart();
        assert_eq!(seen.take("1"), None);
        seen.note_all([("1".to_owned(), 'b')]);
        assert_eq!(seen.take("1"), Some('b'));
    }

    #[test]
    fn a_later_read_replaces_the_facts_of_an_earlier_one() {
        let seen = Seen::new();
        seen.note_all([("1".to_owned(), 'a')]);
        seen.note_all([("1".to_owned(), 'b')]);
        assert_eq!(seen.take("1"), Some('b'));
    }

    #[test]
    fn facts_older_than_the_age_limit_are_not_handed_out() {
        let (clock, now) = manual();
        let seen = Seen::with_clock(Duration::from_secs(60), clock);
        seen.note_all([("old".to_owned(), 'a'), ("kept".to_owned(), 'b')]);
        advance(&now, Duration::from_secs(60));
        assert_eq!(seen.take("kept"), Some('b'), "at the limit still usable");
        advance(&now, Duration::from_secs(1));
        assert_eq!(seen.take("old"), None);
    }

    #[test]
    fn a_new_read_drops_expired_facts_of_entries_it_did_not_see() {
        let (clock, now) = manual();
        let seen = Seen::with_clock(Duration::from_secs(60), clock);
        seen.note_all([("old".to_owned(), 'a')]);
        advance(&now, Duration::from_secs(61));
        seen.note_all([("new".to_owned(), 'b')]);
        assert_eq!(seen.lock().len(), 1);
        assert_eq!(seen.take("new"), Some('b'));
    }

    #[test]
    fn a_deleted_entry_is_forgotten() {
        let seen = Seen::new();
        seen.note_all([("1".to_owned(), 'a')]);
        seen.forget("1");
        assert_eq!(seen.take("1"), None);
    }
}
