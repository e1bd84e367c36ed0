//! Shared helpers of the planner tests: a tiny in-memory "apply" that performs a plan the
//! way the executor will, and a seeded random world generator.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};

use chrono::Duration;
use timebridge_core::testing::{
    Rng, desired_of, mapped, march_2026, source_entry, still_running, unmapped, written,
};
use timebridge_core::{
    Entry, LinkRecord, Outcome, Plan, PlanInput, SourceItem, TargetItem, UnmappedReason,
    kept_target_memory, link_after_write, skip_memory,
};

/// What the target does to an entry it stores: it keeps tags sorted.
fn stored(mut e: Entry, id: &str) -> Entry {
    e.key = id.to_owned();
    e.tags.sort();
    e
}

/// Performs creates, updates and link refreshes like the executor: writes to the target,
/// then stores the link with the fingerprints of what it wrote and read back.
pub fn apply(input: &PlanInput, plan: &Plan) -> PlanInput {
    let mut targets = input.targets.clone();
    let mut links: BTreeMap<String, LinkRecord> = BTreeMap::new();
    for l in &input.links {
        links.insert(l.source_key.clone(), l.clone());
    }
    let mut next = 0usize;
    for d in &plan.decisions {
        let key = d.source_key(input).to_owned();
        match &d.outcome {
            Outcome::Create => {
                let desired = d.desired(input).expect("create has a desired entry");
                next += 1;
                let id = format!("new{next}");
                let entry = stored(desired.clone(), &id);
                links.insert(key.clone(), link_after_write(&key, &id, desired, &entry));
                targets.push(TargetItem {
                    target_id: id,
                    link_key: Some(key),
                    locked: false,
                    entry,
                });
            }
            Outcome::Update => {
                let desired = d.desired(input).expect("update has a desired entry");
                let t = d.target.expect("update names its target");
                let id = targets[t].target_id.clone();
                targets[t].entry = stored(desired.clone(), &id);
                targets[t].link_key = Some(key.clone());
                links.insert(
                    key.clone(),
                    link_after_write(&key, &id, desired, &targets[t].entry),
                );
            }
            Outcome::InSync { refresh: Some(r) } => {
                let t = d.target.expect("a refresh names its target");
                links.insert(
                    key.clone(),
                    LinkRecord {
                        source_key: key,
                        target_id: Some(targets[t].target_id.clone()),
                        desired_fingerprint: Some(r.desired_fingerprint),
                        target_fingerprint: Some(r.target_fingerprint),
                        memory: None,
                    },
                );
            }
            _ => {}
        }
    }
    PlanInput {
        window: input.window,
        sources: input.sources.clone(),
        targets,
        links: links.into_values().collect(),
        known_source_keys: input.known_source_keys.clone(),
        include_running: input.include_running,
        retry_refused: input.retry_refused.clone(),
    }
}

/// Resolves every conflict the way a person might: `keep_target` where allowed, else
/// `skip`, storing the link state as the executor will (see the planner's module docs).
pub fn resolve_all(input: &PlanInput, plan: &Plan) -> PlanInput {
    use timebridge_core::Action;
    let mut links: BTreeMap<String, LinkRecord> = BTreeMap::new();
    for l in &input.links {
        links.insert(l.source_key.clone(), l.clone());
    }
    for d in &plan.decisions {
        let Outcome::Conflict(c) = &d.outcome else {
            continue;
        };
        let key = d.source_key(input).to_owned();
        let blank = || LinkRecord {
            source_key: key.clone(),
            target_id: None,
            desired_fingerprint: None,
            target_fingerprint: None,
            memory: None,
        };
        if c.allowed_actions.contains(&Action::KeepTarget) {
            let t = &input.targets[d.target.expect("keep_target needs a target")];
            if c.reason == timebridge_core::ConflictReason::SourceDeleted {
                let mut rec = links.remove(&key).unwrap_or_else(blank);
                rec.target_id = Some(t.target_id.clone());
                rec.memory = Some(kept_target_memory(&t.entry));
                links.insert(key, rec);
            } else {
                let desired = d.desired(input).expect("a mapped source");
                links.insert(
                    key.clone(),
                    link_after_write(&key, &t.target_id, desired, &t.entry),
                );
            }
        } else {
            let source = &input.sources[d.source.expect("skip needs a source")].entry;
            let mut rec = links.remove(&key).unwrap_or_else(blank);
            rec.memory = Some(skip_memory(source));
            links.insert(key, rec);
        }
    }
    PlanInput {
        links: links.into_values().collect(),
        ..input.clone()
    }
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len() as u64) as usize]
}

fn edit(rng: &mut Rng, e: &mut Entry) {
    match rng.below(5) {
        0 => e.description.push_str(" (edited)"),
        1 => {
            e.duration_seconds = e.duration_seconds.map(|d| d + 900);
            e.end = e.end.map(|t| t + Duration::minutes(15));
        }
        2 => e.project.as_mut().unwrap().key.push('x'),
        3 => e.billable = Some(false),
        _ => e.tags.push("extra".into()),
    }
}

/// A small random world with many collisions: few keys, users, tickets and days, and every
/// link-state situation (linked, edited on either side, deleted on either side, duplicates,
/// crash leftovers, locked entries, remembered skips and kept targets).
pub fn world(seed: u64) -> PlanInput {
    let mut rng = Rng::new(seed);
    let start = march_2026().start();
    let n_keys = 1 + rng.below(8) as usize;
    let mut sources: Vec<SourceItem> = Vec::new();
    let mut targets: Vec<TargetItem> = Vec::new();
    let mut links: Vec<LinkRecord> = Vec::new();
    let mut known = HashSet::new();
    let mut next_t = 0u32;
    let mut new_id = |rng: &mut Rng| {
        next_t += 1 + rng.below(2) as u32;
        format!("t{next_t}")
    };
    for i in 0..n_keys {
        let key = format!("s{i}");
        let agent = pick(&mut rng, &["ag1", "ag2"]);
        let ticket = pick(&mut rng, &[1u32, 2, 3]);
        let end = start + Duration::days(pick(&mut rng, &[0i64, 1])) + Duration::hours(10);
        let minutes = pick(&mut rng, &[-30i64, 0, 15, 30, 30, 45, 60]);
        let mut src = source_entry(&key, agent, ticket, end, minutes);
        // Some entries are timers still going; some of those ended since we wrote them
        // (the target holds the running version, the source the finished one).
        let running = rng.below(100) < 15;
        let ended_since = !running && rng.below(100) < 8;
        if running {
            src = still_running(src);
        }
        let desired = desired_of(&src);
        let desired_then = if ended_since {
            desired_of(&still_running(src.clone()))
        } else {
            desired.clone()
        };
        let item = if rng.below(100) < 12 {
            unmapped(
                src.clone(),
                pick(
                    &mut rng,
                    &[
                        UnmappedReason::UnmappedActivity,
                        UnmappedReason::UnmappedProject,
                        UnmappedReason::UnmappedUser,
                    ],
                ),
            )
        } else {
            mapped(src.clone())
        };
        let in_window = rng.below(100) < 85;
        if in_window {
            sources.push(item.clone());
            if rng.below(100) < 5 {
                let mut again = src.clone();
                again.duration_seconds = again.duration_seconds.map(|d| d + 60);
                sources.push(mapped(again));
            }
        } else if rng.below(2) == 0 {
            known.insert(key.clone());
        }
        let locked = rng.below(100) < 15;
        match rng.below(11) {
            0 => {}
            1 => {
                let id = new_id(&mut rng);
                let mut t = written(&id, &desired_then);
                t.locked = locked;
                links.push(link_after_write(&key, &id, &desired_then, &t.entry));
                targets.push(t);
            }
            2 => {
                let id = new_id(&mut rng);
                let mut t = written(&id, &desired);
                let link = link_after_write(&key, &id, &desired, &t.entry);
                edit(&mut rng, &mut t.entry);
                t.locked = locked;
                links.push(link);
                targets.push(t);
            }
            3 => {
                let id = new_id(&mut rng);
                let mut old = desired.clone();
                edit(&mut rng, &mut old);
                let mut t = written(&id, &old);
                t.locked = locked;
                links.push(link_after_write(&key, &id, &old, &t.entry));
                if rng.below(3) == 0 {
                    edit(&mut rng, &mut t.entry);
                }
                targets.push(t);
            }
            4 => {
                let id = new_id(&mut rng);
                links.push(link_after_write(&key, &id, &desired, &desired));
            }
            5 => {
                let id = new_id(&mut rng);
                let mut t = written(&id, &desired);
                if rng.below(2) == 0 {
                    edit(&mut rng, &mut t.entry);
                }
                t.locked = locked;
                targets.push(t);
            }
            6 => {
                for _ in 0..2 {
                    let id = new_id(&mut rng);
                    targets.push(written(&id, &desired));
                }
                if rng.below(2) == 0 {
                    let id = targets.last().unwrap().target_id.clone();
                    links.push(link_after_write(&key, &id, &desired, &desired));
                }
            }
            7 => {
                let mut remembered = src.clone();
                if rng.below(2) == 0 {
                    remembered.duration_seconds = remembered.duration_seconds.map(|d| d + 60);
                }
                links.push(LinkRecord {
                    source_key: key.clone(),
                    target_id: None,
                    desired_fingerprint: None,
                    target_fingerprint: None,
                    memory: Some(skip_memory(&remembered)),
                });
            }
            8 => {
                let id = new_id(&mut rng);
                let t = written(&id, &desired);
                let mut link = link_after_write(&key, &id, &desired, &t.entry);
                link.memory = Some(kept_target_memory(&t.entry));
                links.push(link);
                targets.push(t);
            }
            9 => {
                let id = new_id(&mut rng);
                let mut t = written(&id, &desired);
                t.link_key = Some(format!("s{}", rng.below(9)));
                links.push(link_after_write(&key, &id, &desired, &t.entry));
                targets.push(t);
            }
            _ => {
                // A manual entry for the same work, no marker: a probable duplicate.
                let id = new_id(&mut rng);
                let mut t = written(&id, &desired);
                t.link_key = None;
                t.entry.begin += Duration::minutes(5);
                t.entry.end = t.entry.end.map(|t| t + Duration::minutes(5));
                t.locked = locked;
                targets.push(t);
            }
        }
    }
    // The target lists an entry twice sometimes (pagination defect).
    if !targets.is_empty() && rng.below(10) == 0 {
        let t = targets[rng.below(targets.len() as u64) as usize].clone();
        targets.push(t);
    }
    PlanInput {
        window: march_2026(),
        sources,
        targets,
        links,
        known_source_keys: known,
        include_running: rng.below(2) == 0,
        retry_refused: Default::default(),
    }
}
