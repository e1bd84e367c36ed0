//! Undoing a run, decided per entry: pure, like the planner.
//!
//! A run's create or update may be taken back only where the target entry is still
//! exactly what the run wrote (its fingerprint as the target returned it after the write)
//! and the link still names it. Then a create is deleted and an update is written back to
//! the entry as it was before. Anything else — edited or deleted in the target since, or
//! written again by a later run or resolution — is left alone and becomes a conflict.
//!
//! The decision also recognises what an interrupted undo already did, so that an undo run
//! that is executed again after a crash deletes nothing twice and restores nothing
//! wrongly: a link that already remembers the undo ([`Memory::Undone`] of this run) is
//! done; a created entry that is gone, or an updated entry that already equals the entry
//! before, only needs its link stored ([`UndoStep::Settle`]).
//!
//! After the undo the link remembers it ([`link_after_undo`]), so the next sync does not
//! simply write the same entries again: the planner leaves an undone entry alone
//! (`Ignored(undone)`) until its raw source fingerprint differs from the one it had when
//! it was undone.

use crate::entry::Entry;
use crate::fingerprint::{Fingerprint, fingerprint};
use crate::plan::{LinkRecord, Memory};

/// What the run did to the target entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The run created it.
    Created,
    /// The run updated it; `before` is the target entry as the run read it before.
    Updated { before: Box<Entry> },
}

/// One write of the run being undone, as its run item recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenEntry {
    pub source_key: String,
    pub target_id: String,
    /// The target entry as the target returned it after the write.
    pub written: Fingerprint,
    /// The raw source entry as it is when undone (as the run wrote it, when the source no
    /// longer shows it).
    pub source: Fingerprint,
    pub kind: Written,
}

/// Why an entry is not undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Blocked {
    /// Someone edited the target entry since the run wrote it.
    ChangedInTarget,
    /// The entry the run updated is gone from the target.
    DeletedInTarget,
    /// A later run or a resolution wrote the entry (or another one) for this source entry.
    RewrittenSince,
}

impl Blocked {
    /// The conflict's message, for people.
    pub fn message(self, run_id: i64, target_id: &str) -> String {
        match self {
            Blocked::ChangedInTarget => format!(
                "Not undone: target entry {target_id} was changed in the target after run \
                 #{run_id} wrote it; it was left as it is."
            ),
            Blocked::DeletedInTarget => format!(
                "Not undone: target entry {target_id}, which run #{run_id} updated, no longer \
                 exists in the target; nothing was restored."
            ),
            Blocked::RewrittenSince => format!(
                "Not undone: the entry was written again after run #{run_id} (by a later run \
                 or a resolution); target entry {target_id} was left as it is."
            ),
        }
    }
}

/// What to do for one written entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndoStep {
    /// Still what the run created: delete it, then store the link.
    Delete,
    /// Still what the run wrote: write this entry (as it was before) back, then store the
    /// link.
    Restore(Box<Entry>),
    /// Already as the undo leaves it (an interrupted undo got this far, or a person did
    /// it): store the link only.
    Settle,
    /// The link already remembers this undo: nothing to do.
    AlreadyUndone,
    /// Left alone; a conflict says why.
    Blocked(Blocked),
}

/// Decides the undo of `item`, written by run `run_id`, given the link stored now and
/// the target entry as read now (`None`: not in the target).
pub fn decide(
    run_id: i64,
    item: &WrittenEntry,
    link: Option<&LinkRecord>,
    current: Option<&Entry>,
) -> UndoStep {
    if let Some(Memory::Undone { run_id: undone, .. }) = link.and_then(|l| l.memory)
        && undone == run_id
    {
        return UndoStep::AlreadyUndone;
    }
    let names_it = link.is_none_or(|l| l.target_id.as_deref() == Some(item.target_id.as_str()));
    let rewritten = !names_it || link.is_some_and(|l| l.target_fingerprint != Some(item.written));
    let unchanged = current.is_some_and(|e| fingerprint(e) == item.written);
    let blocked = |otherwise: Blocked| {
        UndoStep::Blocked(if rewritten {
            Blocked::RewrittenSince
        } else {
            otherwise
        })
    };
    match (&item.kind, current) {
        (Written::Created, None) if names_it => UndoStep::Settle,
        (Written::Created, None) => UndoStep::Blocked(Blocked::RewrittenSince),
        (Written::Created, Some(_)) if unchanged && names_it => UndoStep::Delete,
        (Written::Created, Some(_)) => blocked(Blocked::ChangedInTarget),
        (Written::Updated { .. }, None) => UndoStep::Blocked(Blocked::DeletedInTarget),
        (Written::Updated { before }, Some(_)) if unchanged && names_it => {
            UndoStep::Restore(before.clone())
        }
        (Written::Updated { before }, Some(e))
            if fingerprint(e) == fingerprint(before.as_ref()) =>
        {
            UndoStep::Settle
        }
        (Written::Updated { .. }, Some(_)) => blocked(Blocked::ChangedInTarget),
    }
}

/// The link to store once the undo of `item` took effect: none of the target after a
/// create was taken back; the entry as written back (`left`, as the target returned it)
/// after an update was. Either way it remembers the undo until the source changes.
pub fn link_after_undo(
    run_id: i64,
    item: &WrittenEntry,
    link: Option<&LinkRecord>,
    left: Option<&Entry>,
) -> LinkRecord {
    let memory = Some(Memory::Undone {
        source_fingerprint: item.source,
        run_id,
    });
    match &item.kind {
        Written::Created => LinkRecord {
            source_key: item.source_key.clone(),
            target_id: None,
            desired_fingerprint: None,
            target_fingerprint: None,
            memory,
        },
        Written::Updated { before } => LinkRecord {
            source_key: item.source_key.clone(),
            target_id: Some(item.target_id.clone()),
            desired_fingerprint: link.and_then(|l| l.desired_fingerprint),
            target_fingerprint: Some(fingerprint(left.unwrap_or(before.as_ref()))),
            memory,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::link_after_write;
    use crate::testing::{desired_of, source_entry};
    use chrono::{TimeZone, Utc};

    const RUN: i64 = 7;

    fn entries() -> (Entry, Entry, Entry) {
        let end = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        let before = desired_of(&source_entry("1", "alice", 1, end, 60));
        let mut written = before.clone();
        written.description = "written by the run".into();
        let mut edited = written.clone();
        edited.description = "edited by a person".into();
        (before, written, edited)
    }

    fn created(written: &Entry) -> (WrittenEntry, LinkRecord) {
        let item = WrittenEntry {
            source_key: "1".into(),
            target_id: "10".into(),
            written: fingerprint(written),
            source: Fingerprint(42),
            kind: Written::Created,
        };
        (item, link_after_write("1", "10", written, written))
    }

    fn updated(before: &Entry, written: &Entry) -> (WrittenEntry, LinkRecord) {
        let (mut item, link) = created(written);
        item.kind = Written::Updated {
            before: Box::new(before.clone()),
        };
        (item, link)
    }

    #[test]
    fn a_created_entry_still_as_written_is_deleted_and_one_edited_since_is_not() {
        let (_, written, edited) = entries();
        let (item, link) = created(&written);
        assert_eq!(
            decide(RUN, &item, Some(&link), Some(&written)),
            UndoStep::Delete
        );
        assert_eq!(
            decide(RUN, &item, Some(&link), Some(&edited)),
            UndoStep::Blocked(Blocked::ChangedInTarget)
        );
    }

    #[test]
    fn an_updated_entry_still_as_written_is_restored_to_the_entry_before() {
        let (before, written, edited) = entries();
        let (item, link) = updated(&before, &written);
        assert_eq!(
            decide(RUN, &item, Some(&link), Some(&written)),
            UndoStep::Restore(Box::new(before.clone()))
        );
        assert_eq!(
            decide(RUN, &item, Some(&link), Some(&edited)),
            UndoStep::Blocked(Blocked::ChangedInTarget)
        );
        assert_eq!(
            decide(RUN, &item, Some(&link), None),
            UndoStep::Blocked(Blocked::DeletedInTarget)
        );
    }

    #[test]
    fn what_an_interrupted_undo_already_did_is_only_settled_never_done_twice() {
        let (before, written, _) = entries();
        // The delete happened, the link was not stored yet.
        let (item, link) = created(&written);
        assert_eq!(decide(RUN, &item, Some(&link), None), UndoStep::Settle);
        // The restore happened, the link was not stored yet.
        let (item, link) = updated(&before, &written);
        assert_eq!(
            decide(RUN, &item, Some(&link), Some(&before)),
            UndoStep::Settle
        );
        // Both were stored: done, whatever the target shows.
        let stored = link_after_undo(RUN, &item, Some(&link), Some(&before));
        assert_eq!(
            decide(RUN, &item, Some(&stored), Some(&before)),
            UndoStep::AlreadyUndone
        );
        let (item, link) = created(&written);
        let stored = link_after_undo(RUN, &item, Some(&link), None);
        assert_eq!(
            decide(RUN, &item, Some(&stored), None),
            UndoStep::AlreadyUndone
        );
    }

    #[test]
    fn an_entry_written_again_by_a_later_run_is_not_taken_back() {
        let (before, written, edited) = entries();
        let (item, _) = created(&written);
        let later = link_after_write("1", "10", &edited, &edited);
        assert_eq!(
            decide(RUN, &item, Some(&later), Some(&edited)),
            UndoStep::Blocked(Blocked::RewrittenSince)
        );
        // A later run created another entry for the same source entry.
        let elsewhere = link_after_write("1", "11", &written, &written);
        assert_eq!(
            decide(RUN, &item, Some(&elsewhere), Some(&written)),
            UndoStep::Blocked(Blocked::RewrittenSince)
        );
        assert_eq!(
            decide(RUN, &item, Some(&elsewhere), None),
            UndoStep::Blocked(Blocked::RewrittenSince)
        );
        let (item, _) = updated(&before, &written);
        assert_eq!(
            decide(RUN, &item, Some(&later), Some(&edited)),
            UndoStep::Blocked(Blocked::RewrittenSince)
        );
    }

    #[test]
    fn the_undo_of_another_run_does_not_count_as_this_one() {
        let (_, written, _) = entries();
        let (item, link) = created(&written);
        let mut other = link.clone();
        other.memory = Some(Memory::Undone {
            source_fingerprint: Fingerprint(1),
            run_id: RUN + 1,
        });
        assert_eq!(
            decide(RUN, &item, Some(&other), Some(&written)),
            UndoStep::Delete
        );
    }

    #[test]
    fn the_link_after_an_undo_remembers_it_with_the_source_the_run_wrote() {
        let (before, written, _) = entries();
        let (item, link) = created(&written);
        let after = link_after_undo(RUN, &item, Some(&link), None);
        assert_eq!(after.target_id, None);
        assert_eq!(
            after.memory,
            Some(Memory::Undone {
                source_fingerprint: Fingerprint(42),
                run_id: RUN
            })
        );
        let (item, link) = updated(&before, &written);
        let after = link_after_undo(RUN, &item, Some(&link), Some(&before));
        assert_eq!(after.target_id.as_deref(), Some("10"));
        assert_eq!(after.target_fingerprint, Some(fingerprint(&before)));
        assert_eq!(after.desired_fingerprint, link.desired_fingerprint);
    }
}
