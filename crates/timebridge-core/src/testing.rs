//! Deterministic builders of entries and whole planner inputs for tests and benchmarks.
//!
//! Pure and seedable (SplitMix64), so the benchmark crate and property tests can build a
//! realistic million-entry input without I/O: `synthetic_input(1_000_000, 7)`.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::entry::{Entry, NamedRef, TicketRef, UserRef, Window};
use crate::mapping::{Explanation, MappingResult, UnmappedReason};
use crate::plan::{LinkRecord, PlanInput, SourceItem, TargetItem, link_after_write};

/// SplitMix64: tiny, fast and stable across versions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The window used by synthetic inputs: March 2026.
pub fn march_2026() -> Window {
    Window {
        from: NaiveDate::from_ymd_opt(2026, 3, 1).expect("valid"),
        to: NaiveDate::from_ymd_opt(2026, 3, 31).expect("valid"),
    }
}

fn named(key: String) -> Option<NamedRef> {
    Some(NamedRef { key, name: None })
}

/// A raw source (Zammad-side) entry: `minutes` of work ending at `end`.
pub fn source_entry(
    key: &str,
    agent: &str,
    ticket: u32,
    end: DateTime<Utc>,
    minutes: i64,
) -> Entry {
    Entry {
        system: "zammad".into(),
        key: key.to_owned(),
        ticket: Some(TicketRef {
            id: i64::from(ticket),
            number: format!("{}", 31_000 + ticket),
            title: format!("Ticket {ticket}"),
            url: None,
        }),
        customer: named(format!("o{}", ticket % 7)),
        project: None,
        activity: named(format!("t{}", ticket % 3)),
        user: Some(UserRef {
            key: agent.to_owned(),
            email: Some(format!("{agent}@example.com")),
            name: None,
        }),
        begin: end - Duration::minutes(minutes),
        end: Some(end),
        duration_seconds: Some(minutes * 60),
        description: String::new(),
        billable: None,
        tags: Vec::new(),
        running: false,
    }
}

/// `entry` with its timer still going: no end and no duration yet.
pub fn still_running(mut entry: Entry) -> Entry {
    entry.end = None;
    entry.duration_seconds = None;
    entry.running = true;
    entry
}

/// The desired (Kimai-side) entry a simple identity-like mapping makes of `source`.
pub fn desired_of(source: &Entry) -> Entry {
    let ticket = source.ticket.clone();
    let description = ticket
        .as_ref()
        .map_or_else(String::new, |t| format!("#{} {}", t.number, t.title));
    Entry {
        system: "kimai".into(),
        key: source.key.clone(),
        ticket,
        customer: None,
        project: source
            .customer
            .as_ref()
            .and_then(|c| named(format!("p-{}", c.key))),
        activity: source
            .activity
            .as_ref()
            .and_then(|a| named(format!("a-{}", a.key))),
        user: source.user.as_ref().map(|u| UserRef {
            key: format!("k-{}", u.key),
            email: None,
            name: None,
        }),
        begin: source.begin,
        end: source.end,
        duration_seconds: source.duration_seconds,
        description,
        billable: Some(true),
        tags: vec!["billable".into()],
        running: source.running,
    }
}

/// A mapped source item using [`desired_of`].
pub fn mapped(source: Entry) -> SourceItem {
    let entry = desired_of(&source);
    SourceItem {
        entry: source,
        mapping: MappingResult::Mapped {
            entry,
            explanation: Explanation::default(),
            refusal: None,
            rounding: None,
        },
    }
}

/// An unmapped source item.
pub fn unmapped(source: Entry, reason: UnmappedReason) -> SourceItem {
    SourceItem {
        entry: source,
        mapping: MappingResult::Unmapped {
            reasons: vec![reason],
            explanation: Explanation::default(),
        },
    }
}

/// The target entry as we wrote it for `desired`, with our link marker.
pub fn written(target_id: &str, desired: &Entry) -> TargetItem {
    let mut entry = desired.clone();
    entry.key = target_id.to_owned();
    TargetItem {
        target_id: target_id.to_owned(),
        link_key: Some(desired.key.clone()),
        locked: false,
        entry,
    }
}

/// A synthetic input of `n` source entries against about `n` target entries, mostly in
/// sync, with every kind of outcome mixed in (per mille): 20 source edits (update),
/// 5 target edits (target_modified), 3 locked updates, 20 new (create), 5 negative,
/// 5 unmapped, 3 target deleted, 3 remembered skips, 5 source deleted, 5 probable
/// duplicates, 10 unlinked manual target entries.
pub fn synthetic_input(n: usize, seed: u64) -> PlanInput {
    let mut rng = Rng::new(seed);
    let window = march_2026();
    let start = window.start();
    let mut sources = Vec::with_capacity(n);
    let mut targets = Vec::with_capacity(n + n / 50);
    let mut links = Vec::with_capacity(n);
    let mut next_target = 0u64;
    for i in 0..n {
        let key = format!("s{i}");
        let agent = format!("ag{}", rng.below(50));
        let ticket = rng.below(20_000) as u32;
        let end = start + Duration::minutes(60 + rng.below(30 * 24 * 60 - 120) as i64);
        let minutes = 5 + rng.below(120) as i64;
        let kind = rng.below(1000);
        let mut source = source_entry(&key, &agent, ticket, end, minutes);
        if (180..185).contains(&kind) {
            source.duration_seconds = source.duration_seconds.map(|d| -d);
        }
        let item = if (185..190).contains(&kind) {
            unmapped(source, UnmappedReason::UnmappedProject)
        } else {
            mapped(source)
        };
        let desired = item
            .desired()
            .cloned()
            .unwrap_or_else(|| desired_of(&item.entry));
        match kind {
            // New in the source: not written yet.
            150..170 => {}
            // Probable duplicate: a manual target entry for the same work, no marker.
            170..175 => {
                next_target += 1;
                let mut t = written(&format!("{next_target}"), &desired);
                t.link_key = None;
                t.entry.begin += Duration::minutes(3);
                t.entry.end = t.entry.end.map(|e| e + Duration::minutes(3));
                targets.push(t);
            }
            // Target deleted after we wrote it.
            175..178 => {
                next_target += 1;
                let id = format!("{next_target}");
                links.push(link_after_write(&key, &id, &desired, &desired));
            }
            // Remembered skip.
            178..180 => links.push(LinkRecord {
                source_key: key.clone(),
                target_id: None,
                desired_fingerprint: None,
                target_fingerprint: None,
                memory: Some(crate::plan::skip_memory(&item.entry)),
            }),
            _ => {
                next_target += 1;
                let id = format!("{next_target}");
                let mut t = written(&id, &desired);
                let mut link = link_after_write(&key, &id, &desired, &t.entry);
                if kind < 20 {
                    // Source edited since: the link remembers an older desired entry.
                    let mut old = desired.clone();
                    old.duration_seconds = old.duration_seconds.map(|d| d - 60);
                    old.begin += Duration::minutes(1);
                    link = link_after_write(&key, &id, &old, &old);
                    t.entry = old;
                } else if kind < 25 {
                    t.entry.description.push_str(" (edited)");
                } else if kind < 28 {
                    let mut old = desired.clone();
                    old.duration_seconds = old.duration_seconds.map(|d| d - 60);
                    old.begin += Duration::minutes(1);
                    link = link_after_write(&key, &id, &old, &old);
                    t.entry = old;
                    t.locked = true;
                }
                targets.push(t);
                links.push(link);
            }
        }
        sources.push(item);
    }
    // Deleted in the source: links and written entries whose source is gone.
    for i in 0..n / 200 {
        let src = source_entry(
            &format!("gone{i}"),
            "ag1",
            1,
            start + Duration::hours(5),
            30,
        );
        let desired = desired_of(&src);
        next_target += 1;
        let id = format!("{next_target}");
        let t = written(&id, &desired);
        links.push(link_after_write(&desired.key, &id, &desired, &t.entry));
        targets.push(t);
    }
    // Unlinked manual entries without a ticket reference.
    for i in 0..n / 100 {
        let src = source_entry(
            &format!("manual{i}"),
            "ag2",
            2,
            start + Duration::hours(30),
            15,
        );
        let mut d = desired_of(&src);
        d.description = "internal meeting".into();
        next_target += 1;
        let mut t = written(&format!("{next_target}"), &d);
        t.link_key = None;
        targets.push(t);
    }
    PlanInput {
        window,
        sources,
        targets,
        links,
        known_source_keys: HashSet::new(),
        include_running: false,
        retry_refused: HashSet::new(),
    }
}
