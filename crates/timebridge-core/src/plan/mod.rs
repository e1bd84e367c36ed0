//! The reconciliation planner: a pure function from source entries, target entries and
//! the link state to one decision per source entry (and per orphaned link).
//!
//! Rules, checked in this order for a source entry with key `k`:
//! 0. The entry's person is excluded (a `user` mapping with `sync: false`) →
//!    `Ignored(user excluded)`: outcome `skip`, never a conflict, never written.
//! 1. A remembered `skip` whose raw source fingerprint still matches → `Skip`.
//!    A remembered undo of the run that wrote it ([`Memory::Undone`]) whose raw source
//!    fingerprint still matches → `Ignored(undone)`: nothing is written again until the
//!    source entry changes.
//!    Then: a running entry while the pipeline does not carry running entries
//!    (`include_running` off) → `Ignored(still running)`; it is planned normally once it
//!    ends. With `include_running`, a running entry is planned like any other (created
//!    as running; when it ends, the desired entry changes and the linked target entry is
//!    updated by rule 5, as long as nobody edited it).
//! 2. Zero or negative duration (or a finished entry without a duration) →
//!    `negative_duration` (never written). A running entry has no duration yet.
//! 3. The target entries *claiming* `k` are those carrying its link marker plus the one the
//!    link names. More than one, or a linked entry whose marker names another source key
//!    → `duplicate_in_target` (its actions never overwrite an entry another key claims;
//!    the conflict shows the extra copy, not the linked entry).
//! 4. Unmapped → `unmapped_activity|project|user` (the first; the message names all).
//! 5. Linked and the linked target entry is present — three-way against the link state:
//!    target equals desired → `InSync` (re-baselining the link if its fingerprints are
//!    stale); neither side changed since our write → `InSync` (the target normalised what we
//!    wrote, e.g. rounding; never rewrite in a loop); a write is needed but the entry is
//!    locked → `locked`; the target changed → `target_modified`; only the source changed
//!    → `Update`.
//! 6. Linked but the linked entry is gone and nothing else claims `k` → `target_deleted`.
//! 7. Not linked, but exactly one target entry carries `k`'s marker (a crash between write
//!    and link store): equal → `InSync` with a link to store; else `locked` /
//!    `target_modified`. Never updated: it has no link.
//! 8. Nothing claims `k`: an unclaimed, unmarked target entry with the same user, UTC day
//!    of begin, duration and `#<ticket number>` in its description → `duplicate_in_target`;
//!    otherwise `Create`.
//!
//! A mapped entry with a predicted refusal (the target's master data says it will refuse
//! it, see [`crate::mapping::TargetRules`]) becomes `target_rejected` wherever it would be
//! written (`Create`, `Update`); what needs no write (in sync, adoption) is unaffected.
//!
//! Orphans: a link whose source key is neither in the window nor known to the source, whose
//! target entry is present, begins inside the window and does not carry another key's
//! marker → `source_deleted` (or `Skip` under a matching `keep_target` memory). A target
//! entry inside the window carrying the marker of such a deleted key and not handled by
//! its link → `source_deleted` as well.
//!
//! What the executor stores (so that a second plan is quiet):
//! - after `Create` / `Update`: [`link_after_write`] with the desired entry and the entry
//!   the target returned (its rounding and normalisation become the baseline);
//! - after `InSync { refresh: Some(r) }`: the link to the decision's target with `r`;
//! - resolution `skip`: the record's memory := [`skip_memory`] of the raw source entry;
//! - `keep_target` on `target_modified` / `locked`: [`link_after_write`] with the current
//!   desired and target entries (re-baseline: quiet until either side changes again);
//! - `keep_target` on `source_deleted`: memory := [`kept_target_memory`] of the target;
//! - an undo of a run ([`crate::undo`]): memory := `Undone` with the raw source
//!   fingerprint at the time of the undo, and the link points at the entry as the undo left it
//!   (none after a delete; the written-back entry after a restore);
//! - `link` (with `target_id`): [`link_after_write`] with that target entry, adopting it as
//!   it is; `create` / `update` / `delete_target`: do it, then store as above (or drop
//!   the record after a delete).
//!
//! Comparison: exact to the second and the byte; tags as a sorted set; a desired
//! `billable` of `None` accepts any target value (details in the `compare` module).
//!
//! Performance: hash joins only. Every key is hashed once (stable Fx-style hash, no random
//! seed); the maps are split into two shards by a hash bit and built on two threads; the
//! sources are then decided in two halves on two threads and concatenated in input order,
//! orphans sorted by row, so the plan is deterministic. Decisions hold row indices, not
//! copies of entries.

mod cause;
mod compare;
mod types;

pub use cause::{Cause, CauseKind};
pub use types::*;

use crate::entry::Entry;
use crate::fasthash::{FastMap, HKey, HMap, hash_str, hmap_with_capacity, map_with_capacity};
use crate::fingerprint::fingerprint;
use crate::mapping::MappingResult;

const NONE: u32 = u32::MAX;
/// Two hash shards: one per core of the target machine.
const SHARDS: usize = 2;

/// Everything known about one source key: its source row, link row and the target rows
/// carrying its marker (the first here, all of them in `Shard::markers` when several).
#[derive(Debug, Clone, Copy)]
struct Join {
    source: u32,
    link: u32,
    marker: u32,
    markers: u32,
}

impl Join {
    const EMPTY: Join = Join {
        source: NONE,
        link: NONE,
        marker: NONE,
        markers: 0,
    };
}

/// One hash shard of the join (keys whose hash has bit 32 equal to the shard number), so
/// two threads build the maps without locks.
#[derive(Debug, Default)]
struct Shard<'a> {
    /// Target id → target row (last row wins: the target may list an entry twice).
    targets: HMap<'a, u32>,
    /// Target rows shadowed by a later row with the same id.
    shadowed: Vec<u32>,
    /// Source key → what is known about it.
    join: HMap<'a, Join>,
    /// Source key → every target row carrying its marker, for keys with several.
    markers: HMap<'a, Vec<u32>>,
}

#[inline]
fn shard_of(hash: u64) -> usize {
    ((hash >> 32) as usize) & (SHARDS - 1)
}

/// Precomputed key hashes, so strings are read once and shards only touch hashes.
#[derive(Debug, Default)]
struct Hashes {
    sources: Vec<u64>,
    links: Vec<u64>,
    link_targets: Vec<u64>,
    target_ids: Vec<u64>,
    target_markers: Vec<u64>,
}

fn hash_all<T>(rows: &[T], f: impl Fn(&T) -> Option<&str>) -> Vec<u64> {
    rows.iter().map(|r| f(r).map_or(0, hash_str)).collect()
}

/// Below this many rows in total the planner stays on the calling thread.
const PARALLEL_FROM: usize = 16_384;

/// Runs `a` here and `b` on a second thread when `parallel`, else both here.
fn both<A: Send, B: Send>(
    parallel: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if !parallel {
        return (a(), b());
    }
    std::thread::scope(|s| {
        let second = s.spawn(b);
        let first = a();
        (first, second.join().expect("planner thread panicked"))
    })
}

/// `(target user key, UTC day of begin, duration, ticket number)`; running entries (no
/// duration yet) are never probable duplicates.
type DupKey<'a> = (&'a str, i32, i64, &'a str);

struct Index<'a> {
    input: &'a PlanInput,
    h: Hashes,
    shards: Vec<Shard<'a>>,
    shadowed: Vec<bool>,
    duplicates: FastMap<DupKey<'a>, u32>,
}

fn day_of(e: &Entry) -> i32 {
    use chrono::Datelike;
    e.begin.date_naive().num_days_from_ce()
}

fn build_targets<'a>(input: &'a PlanInput, h: &Hashes, shard: usize) -> Shard<'a> {
    let mut me = Shard {
        targets: hmap_with_capacity(input.targets.len() / SHARDS + 16),
        ..Default::default()
    };
    for (i, t) in input.targets.iter().enumerate() {
        let hash = h.target_ids[i];
        if shard_of(hash) != shard {
            continue;
        }
        if let Some(old) = me.targets.insert(HKey::new(hash, &t.target_id), i as u32) {
            me.shadowed.push(old);
        }
    }
    me
}

fn build_join<'a>(
    input: &'a PlanInput,
    h: &Hashes,
    shadowed: &[bool],
    me: &mut Shard<'a>,
    shard: usize,
) {
    let cap = input.sources.len().max(input.links.len()) / SHARDS + 16;
    me.join = hmap_with_capacity(cap);
    for (i, s) in input.sources.iter().enumerate() {
        let hash = h.sources[i];
        if shard_of(hash) == shard {
            me.join
                .entry(HKey::new(hash, &s.entry.key))
                .or_insert(Join::EMPTY)
                .source = i as u32;
        }
    }
    for (l, link) in input.links.iter().enumerate() {
        let hash = h.links[l];
        if shard_of(hash) == shard {
            me.join
                .entry(HKey::new(hash, &link.source_key))
                .or_insert(Join::EMPTY)
                .link = l as u32;
        }
    }
    for (t, target) in input.targets.iter().enumerate() {
        let Some(key) = target.link_key.as_deref() else {
            continue;
        };
        let hash = h.target_markers[t];
        if shard_of(hash) != shard || shadowed[t] {
            continue;
        }
        let hk = HKey::new(hash, key);
        let j = me.join.entry(hk).or_insert(Join::EMPTY);
        j.markers += 1;
        match j.markers {
            1 => j.marker = t as u32,
            2 => {
                me.markers.insert(hk, vec![j.marker, t as u32]);
            }
            _ => me
                .markers
                .get_mut(&hk)
                .expect("inserted at the second marker")
                .push(t as u32),
        }
    }
}

impl<'a> Index<'a> {
    fn build(input: &'a PlanInput, par: bool) -> Self {
        let ((sources, links), (link_targets, (target_ids, target_markers))) = both(
            par,
            || {
                (
                    hash_all(&input.sources, |r| Some(r.entry.key.as_str())),
                    hash_all(&input.links, |r| Some(r.source_key.as_str())),
                )
            },
            || {
                (
                    hash_all(&input.links, |r| r.target_id.as_deref()),
                    (
                        hash_all(&input.targets, |r| Some(r.target_id.as_str())),
                        hash_all(&input.targets, |r| r.link_key.as_deref()),
                    ),
                )
            },
        );
        let h = Hashes {
            sources,
            links,
            link_targets,
            target_ids,
            target_markers,
        };
        let (s0, s1) = both(
            par,
            || build_targets(input, &h, 0),
            || build_targets(input, &h, 1),
        );
        let mut shards = vec![s0, s1];
        let mut shadowed = vec![false; input.targets.len()];
        for sh in &shards {
            for &t in &sh.shadowed {
                shadowed[t as usize] = true;
            }
        }
        {
            let (first, rest) = shards.split_at_mut(1);
            let (h, shadowed) = (&h, &shadowed);
            both(
                par,
                || build_join(input, h, shadowed, &mut first[0], 0),
                || build_join(input, h, shadowed, &mut rest[0], 1),
            );
        }
        let mut ix = Index {
            input,
            h,
            shards,
            shadowed,
            duplicates: map_with_capacity(0),
        };
        ix.build_duplicates();
        ix
    }

    /// Probable-duplicate index over unmarked target entries that name a ticket and that
    /// no link claims (typically a handful of manual entries).
    fn build_duplicates(&mut self) {
        let input = self.input;
        let candidates: Vec<usize> = (0..input.targets.len())
            .filter(|&t| {
                let tg = &input.targets[t];
                tg.link_key.is_none()
                    && !self.shadowed[t]
                    && tg.entry.duration_seconds.is_some()
                    && tg.entry.user.is_some()
                    && compare::ticket_refs(&tg.entry.description).next().is_some()
            })
            .collect();
        if candidates.is_empty() {
            return;
        }
        let mut claimed: HMap<'a, bool> = hmap_with_capacity(candidates.len());
        for &t in &candidates {
            claimed.insert(
                HKey::new(self.h.target_ids[t], &input.targets[t].target_id),
                false,
            );
        }
        for (l, link) in input.links.iter().enumerate() {
            if let Some(id) = link.target_id.as_deref()
                && let Some(c) = claimed.get_mut(&HKey::new(self.h.link_targets[l], id))
            {
                *c = true;
            }
        }
        for t in candidates {
            let tg = &input.targets[t];
            if claimed[&HKey::new(self.h.target_ids[t], &tg.target_id)] {
                continue;
            }
            let (Some(user), Some(duration)) = (tg.entry.user.as_ref(), tg.entry.duration_seconds)
            else {
                continue;
            };
            let day = day_of(&tg.entry);
            for number in compare::ticket_refs(&tg.entry.description) {
                self.duplicates
                    .entry((user.key.as_str(), day, duration, number))
                    .or_insert(t as u32);
            }
        }
    }

    #[inline]
    fn join(&self, hash: u64, key: &'a str) -> Option<&Join> {
        self.shards[shard_of(hash)].join.get(&HKey::new(hash, key))
    }

    #[inline]
    fn target_row(&self, hash: u64, id: &'a str) -> Option<u32> {
        self.shards[shard_of(hash)]
            .targets
            .get(&HKey::new(hash, id))
            .copied()
    }

    fn markers<'s>(&'s self, hash: u64, key: &'a str, j: &'s Join) -> &'s [u32] {
        match j.markers {
            0 => &[],
            1 => std::slice::from_ref(&j.marker),
            _ => self.shards[shard_of(hash)]
                .markers
                .get(&HKey::new(hash, key))
                .map_or(&[], Vec::as_slice),
        }
    }

    fn target(&self, t: u32) -> &'a TargetItem {
        &self.input.targets[t as usize]
    }

    /// The linked target row of link `l`, if present.
    fn linked_target(&self, l: u32) -> Option<u32> {
        let link = &self.input.links[l as usize];
        link.target_id
            .as_deref()
            .and_then(|id| self.target_row(self.h.link_targets[l as usize], id))
    }
}

fn conflict(reason: ConflictReason, message: String, diff: Vec<FieldDiff>) -> Outcome {
    Outcome::Conflict(Box::new(PlannedConflict {
        reason,
        message,
        diff,
        allowed_actions: reason.allowed_actions(),
    }))
}

fn decide_source<'a>(ix: &Index<'a>, i: usize) -> Option<Decision> {
    let input = ix.input;
    let item = &input.sources[i];
    let key = item.entry.key.as_str();
    let hash = ix.h.sources[i];
    let j = ix.join(hash, key).expect("every source key is in the join");
    if j.source != i as u32 {
        return None; // an earlier row of a key listed twice
    }
    let link_row = (j.link != NONE).then_some(j.link);
    let link = link_row.map(|l| &input.links[l as usize]);
    let linked_t = link_row.and_then(|l| ix.linked_target(l));
    let marked: &[u32] = ix.markers(hash, key, j);
    let shown = linked_t.or_else(|| marked.first().copied());
    let decision = |target: Option<u32>, outcome: Outcome| {
        Some(Decision {
            source: Some(i),
            target: target.map(|t| t as usize),
            link: link_row.map(|l| l as usize),
            outcome,
        })
    };

    // 0. An excluded person's entries are left alone, whatever else holds.
    if let MappingResult::Excluded { .. } = item.mapping {
        return decision(shown, Outcome::Ignored(SkipReason::UserExcluded));
    }

    // 1. Remembered skip.
    if let Some(Memory::Skipped { source_fingerprint }) = link.and_then(|l| l.memory)
        && fingerprint(&item.entry) == source_fingerprint
    {
        return decision(shown, Outcome::Skip);
    }

    // 1a. Its run was undone: left as the undo left it until the source changes.
    if let Some(Memory::Undone {
        source_fingerprint, ..
    }) = link.and_then(|l| l.memory)
        && fingerprint(&item.entry) == source_fingerprint
    {
        return decision(shown, Outcome::Ignored(SkipReason::Undone));
    }

    // 1b. A running entry waits until it ends, unless the pipeline carries running entries.
    if item.entry.running && !input.include_running {
        return decision(shown, Outcome::Ignored(SkipReason::StillRunning));
    }

    // 2. Never write a zero or negative duration.
    let bad_duration = match item.entry.duration_seconds {
        Some(d) if d <= 0 => Some(format!(
            "Source entry {key} has a duration of {d} s; zero and negative entries are not written."
        )),
        None if !item.entry.running => Some(format!(
            "Source entry {key} has ended but has no duration; it is not written."
        )),
        _ => None,
    };
    if let Some(msg) = bad_duration {
        return decision(
            shown,
            conflict(ConflictReason::NegativeDuration, msg, Vec::new()),
        );
    }

    // 3. More than one claimant, or the linked entry is claimed by another key.
    let desired = item.mapping.entry();
    let diff_with = |t: Option<u32>| match (desired, t) {
        (Some(d), Some(t)) => compare::diff(d, &ix.target(t).entry),
        _ => Vec::new(),
    };
    if let Some(t) = linked_t
        && let Some(other) = ix.target(t).link_key.as_deref()
        && other != key
    {
        let msg = format!(
            "The linked target entry {} carries the marker of source entry {other}, not {key}.",
            ix.target(t).target_id
        );
        return decision(
            Some(t),
            conflict(ConflictReason::DuplicateInTarget, msg, diff_with(Some(t))),
        );
    }
    let extra = usize::from(linked_t.is_some_and(|t| !marked.contains(&t)));
    if marked.len() + extra > 1 {
        let mut ids: Vec<&str> = marked
            .iter()
            .map(|&t| ix.target(t).target_id.as_str())
            .collect();
        if let Some(t) = linked_t.filter(|t| !marked.contains(t)) {
            ids.insert(0, ix.target(t).target_id.as_str());
        }
        let msg = format!(
            "Several target entries claim source entry {key}: {}.",
            ids.join(", ")
        );
        // Show the extra copy, not the entry the link already names.
        let extra_copy = marked
            .iter()
            .copied()
            .find(|&t| Some(t) != linked_t)
            .or(shown);
        return decision(
            extra_copy,
            conflict(
                ConflictReason::DuplicateInTarget,
                msg,
                diff_with(extra_copy),
            ),
        );
    }

    // 4. Unmapped.
    let (desired, refusal) = match &item.mapping {
        MappingResult::Mapped { entry, refusal, .. } => {
            // A predicted refusal is sent anyway when a person asked to retry (the target
            // has the last word).
            let refusal = refusal
                .as_ref()
                .filter(|_| !input.retry_refused.contains(key))
                .map(|r| r.message.as_str());
            (entry, refusal)
        }
        MappingResult::Excluded { .. } => {
            return decision(shown, Outcome::Ignored(SkipReason::UserExcluded));
        }
        MappingResult::Unmapped {
            reasons,
            explanation,
        } => {
            let reason = reasons
                .first()
                .copied()
                .map_or(ConflictReason::UnmappedActivity, Into::into);
            let names: Vec<&str> = reasons
                .iter()
                .map(|r| ConflictReason::from(*r).as_str())
                .collect();
            let why: Vec<String> = explanation
                .steps
                .iter()
                .filter(|s| s.rule == crate::mapping::RuleSource::Unmapped)
                .map(|s| format!("{}: {}", s.field, s.text))
                .collect();
            let mut msg = format!("Source entry {key} cannot be mapped ({})", names.join(", "));
            if !why.is_empty() {
                msg.push_str(": ");
                msg.push_str(&why.join("; "));
            }
            msg.push('.');
            return decision(shown, conflict(reason, msg, Vec::new()));
        }
    };

    // 5. Linked, three-way.
    if let (Some(t), Some(link)) = (linked_t, link) {
        let target = ix.target(t);
        let fp_d = fingerprint(desired);
        let fp_t = fingerprint(&target.entry);
        let refresh = LinkRefresh {
            desired_fingerprint: fp_d,
            target_fingerprint: fp_t,
        };
        let source_changed = link.desired_fingerprint != Some(fp_d);
        let target_changed = link.target_fingerprint != Some(fp_t);
        if compare::equivalent(desired, &target.entry) {
            let stale = source_changed || target_changed;
            return decision(
                Some(t),
                Outcome::InSync {
                    refresh: stale.then_some(refresh),
                },
            );
        }
        if !source_changed && !target_changed {
            return decision(Some(t), Outcome::InSync { refresh: None });
        }
        if target.locked {
            let msg = format!(
                "Target entry {} needs a change but is locked (exported or in a locked period).",
                target.target_id
            );
            return decision(
                Some(t),
                conflict(ConflictReason::Locked, msg, diff_with(Some(t))),
            );
        }
        if target_changed {
            let msg = if source_changed {
                format!(
                    "Both the source entry {key} and its target entry {} changed since the last sync.",
                    target.target_id
                )
            } else {
                format!(
                    "Target entry {} was edited in the target since we wrote it.",
                    target.target_id
                )
            };
            return decision(
                Some(t),
                conflict(ConflictReason::TargetModified, msg, diff_with(Some(t))),
            );
        }
        if let Some(why) = refusal {
            return decision(
                Some(t),
                conflict(
                    ConflictReason::TargetRejected,
                    refused_message(key, why),
                    diff_with(Some(t)),
                ),
            );
        }
        return decision(Some(t), Outcome::Update);
    }

    // 6. Linked entry gone, nothing else claims the key.
    if let Some(id) = link.and_then(|l| l.target_id.as_deref())
        && marked.is_empty()
    {
        let msg =
            format!("Target entry {id} written for source entry {key} was deleted in the target.");
        return decision(
            None,
            conflict(ConflictReason::TargetDeleted, msg, Vec::new()),
        );
    }

    // 7. Exactly one unlinked entry carries our marker.
    if let Some(&t) = marked.first() {
        let target = ix.target(t);
        if compare::equivalent(desired, &target.entry) {
            let refresh = LinkRefresh {
                desired_fingerprint: fingerprint(desired),
                target_fingerprint: fingerprint(&target.entry),
            };
            return decision(
                Some(t),
                Outcome::InSync {
                    refresh: Some(refresh),
                },
            );
        }
        let (reason, msg) = if target.locked {
            (
                ConflictReason::Locked,
                format!(
                    "Target entry {} carries the marker of {key}, differs and is locked.",
                    target.target_id
                ),
            )
        } else {
            (
                ConflictReason::TargetModified,
                format!(
                    "Target entry {} carries the marker of {key} but differs from it and is not linked.",
                    target.target_id
                ),
            )
        };
        return decision(Some(t), conflict(reason, msg, diff_with(Some(t))));
    }

    // 8. Probable duplicate of an unlinked entry, else create.
    if let (Some(ticket), Some(user), Some(duration)) = (
        desired.ticket.as_ref(),
        desired.user.as_ref(),
        desired.duration_seconds,
    ) && let Some(&t) = ix.duplicates.get(&(
        user.key.as_str(),
        day_of(desired),
        duration,
        ticket.number.trim_start_matches('#'),
    )) {
        let msg = format!(
            "Unlinked target entry {} very probably records the same work (same user, day, duration and ticket #{}).",
            ix.target(t).target_id,
            ticket.number
        );
        return decision(
            Some(t),
            conflict(ConflictReason::DuplicateInTarget, msg, diff_with(Some(t))),
        );
    }
    if let Some(why) = refusal {
        return decision(
            None,
            conflict(
                ConflictReason::TargetRejected,
                refused_message(key, why),
                Vec::new(),
            ),
        );
    }
    decision(None, Outcome::Create)
}

fn refused_message(key: &str, why: &str) -> String {
    format!(
        "The target would refuse source entry {key}, so nothing was sent: {why}. Fix it in the \
         target, then choose create."
    )
}

fn source_deleted_message(key: &str, target_id: &str) -> String {
    format!("Source entry {key} no longer exists; its target entry {target_id} remains.")
}

/// Decisions for keys without a source row in one shard, each with a sort key that puts
/// link decisions first in link order, then marker decisions in target order.
fn decide_orphans_in<'a>(ix: &Index<'a>, shard: usize) -> Vec<((u8, u32), Decision)> {
    let input = ix.input;
    let mut out = Vec::new();
    for (hk, j) in &ix.shards[shard].join {
        if j.source != NONE || input.known_source_keys.contains(hk.key) {
            continue;
        }
        let key = hk.key;
        let mut handled = NONE;
        if j.link != NONE
            && let Some(t) = ix.linked_target(j.link)
        {
            let link = &input.links[j.link as usize];
            let target = ix.target(t);
            let foreign = target.link_key.as_deref().is_some_and(|k| k != key);
            if !foreign && input.window.contains(target.entry.begin) {
                handled = t;
                let outcome = match link.memory {
                    Some(Memory::KeptTarget { target_fingerprint })
                        if fingerprint(&target.entry) == target_fingerprint =>
                    {
                        Outcome::Skip
                    }
                    _ => conflict(
                        ConflictReason::SourceDeleted,
                        source_deleted_message(key, &target.target_id),
                        Vec::new(),
                    ),
                };
                let d = Decision {
                    source: None,
                    target: Some(t as usize),
                    link: Some(j.link as usize),
                    outcome,
                };
                out.push(((0, j.link), d));
            }
        }
        for &t in ix.markers(hk.hash, key, j) {
            let target = ix.target(t);
            if t == handled || !input.window.contains(target.entry.begin) {
                continue;
            }
            let d = Decision {
                source: None,
                target: Some(t as usize),
                link: (j.link != NONE).then_some(j.link as usize),
                outcome: conflict(
                    ConflictReason::SourceDeleted,
                    source_deleted_message(key, &target.target_id),
                    Vec::new(),
                ),
            };
            out.push(((1, t), d));
        }
    }
    out
}

/// Plans one pipeline run. Pure and deterministic: the same input gives the same plan in
/// the same order. See the module docs for the rules.
pub fn plan(input: &PlanInput) -> Plan {
    let rows = input.sources.len() + input.targets.len() + input.links.len();
    plan_with(input, rows >= PARALLEL_FROM)
}

fn plan_with(input: &PlanInput, par: bool) -> Plan {
    assert!(
        input.sources.len() < NONE as usize
            && input.targets.len() < NONE as usize
            && input.links.len() < NONE as usize,
        "the planner indexes rows with 32 bits"
    );
    let ix = Index::build(input, par);
    let n = input.sources.len();
    let mid = n / 2;
    let decide_range = |range: std::ops::Range<usize>| -> Vec<Decision> {
        let mut out = Vec::with_capacity(range.len());
        out.extend(range.filter_map(|i| decide_source(&ix, i)));
        out
    };
    let ((mut decisions, mut orphans), (second, more)) = both(
        par,
        || (decide_range(0..mid), decide_orphans_in(&ix, 0)),
        || (decide_range(mid..n), decide_orphans_in(&ix, 1)),
    );
    orphans.extend(more);
    decisions.extend(second);
    orphans.sort_unstable_by_key(|(k, _)| *k);
    decisions.extend(orphans.into_iter().map(|(_, d)| d));
    Plan { decisions }
}

/// Fingerprints the executor stores after writing `desired` and reading back `written`.
pub fn link_after_write(
    source_key: &str,
    target_id: &str,
    desired: &Entry,
    written: &Entry,
) -> LinkRecord {
    LinkRecord {
        source_key: source_key.to_owned(),
        target_id: Some(target_id.to_owned()),
        desired_fingerprint: Some(fingerprint(desired)),
        target_fingerprint: Some(fingerprint(written)),
        memory: None,
    }
}

/// The fingerprint a `skip` resolution stores for a source entry (its raw source fields).
pub fn skip_memory(source: &Entry) -> Memory {
    Memory::Skipped {
        source_fingerprint: fingerprint(source),
    }
}

/// The fingerprint a `keep_target` resolution of `source_deleted` stores.
pub fn kept_target_memory(target: &Entry) -> Memory {
    Memory::KeptTarget {
        target_fingerprint: fingerprint(target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::synthetic_input;

    #[test]
    fn the_two_threaded_plan_equals_the_one_threaded_plan() {
        for seed in 0..3 {
            let input = synthetic_input(20_000, seed);
            let one = plan_with(&input, false);
            let two = plan_with(&input, true);
            assert_eq!(one, two);
            assert_eq!(plan(&input), two);
        }
    }

    #[test]
    fn the_synthetic_input_yields_every_outcome_in_its_planned_proportions() {
        let s = plan(&synthetic_input(100_000, 1)).stats();
        // Per mille by construction (see `synthetic_input`), with sampling noise.
        let near =
            |got: usize, per_mille: usize| got.abs_diff(per_mille * 100) < per_mille * 100 / 5 + 60;
        assert!(near(s.create, 20), "{s:?}");
        assert!(near(s.update, 20), "{s:?}");
        assert!(near(s.skip, 2), "{s:?}");
        // conflicts: 5 edits + 3 locked + 5 negative + 5 unmapped + 3 deleted + 5 dup + 5 source deleted
        assert!(near(s.conflicts, 31), "{s:?}");
    }
}
