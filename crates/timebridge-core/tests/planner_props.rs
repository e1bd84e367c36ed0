//! Property tests of the planner over random worlds (see `common::world`).

mod common;

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use timebridge_core::{ConflictReason, Outcome, OutcomeKind, SkipReason, plan};

use common::{apply, resolve_all, world};

/// The contract's table of allowed actions, written out independently of the crate.
fn contract_actions(reason: &str) -> &'static [&'static str] {
    match reason {
        "target_modified" => &["update", "keep_target", "skip"],
        "duplicate_in_target" => &["link", "create", "skip"],
        "unmapped_activity" | "unmapped_project" | "unmapped_user" => &["create", "skip"],
        "locked" => &["keep_target", "skip"],
        "source_deleted" => &["delete_target", "keep_target"],
        "target_deleted" => &["create", "skip"],
        "negative_duration" => &["skip"],
        "target_rejected" => &["create", "skip"],
        other => panic!("unknown reason {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn applying_a_plan_then_planning_again_writes_nothing_new(seed in any::<u64>()) {
        let input = world(seed);
        let first = plan(&input);
        let after = apply(&input, &first);
        let second = plan(&after);
        let raised: HashSet<(String, ConflictReason)> = first
            .decisions
            .iter()
            .filter_map(|d| match &d.outcome {
                Outcome::Conflict(c) => Some((d.source_key(&input).to_owned(), c.reason)),
                _ => None,
            })
            .collect();
        for d in &second.decisions {
            let key = d.source_key(&after).to_owned();
            match &d.outcome {
                Outcome::Create | Outcome::Update => prop_assert!(false, "second plan writes {key}: {d:?}"),
                Outcome::InSync { refresh } => prop_assert!(refresh.is_none(), "second plan re-links {key}"),
                Outcome::Skip | Outcome::Ignored(_) => {}
                Outcome::Conflict(c) => prop_assert!(
                    raised.contains(&(key.clone(), c.reason)),
                    "new conflict {:?} for {key} in the second plan", c.reason
                ),
            }
        }
        // And a third plan equals the second: the state is a fixed point.
        let third = plan(&apply(&after, &second));
        prop_assert_eq!(third.stats(), second.stats());
    }

    #[test]
    fn a_resolved_conflict_is_not_raised_again_while_nothing_changes(seed in any::<u64>()) {
        let input = world(seed);
        let first = plan(&input);
        let resolved = resolve_all(&input, &first);
        let second = plan(&resolved);
        let mut per_key: HashMap<String, usize> = HashMap::new();
        let mut conflicted = HashSet::new();
        for d in &first.decisions {
            *per_key.entry(d.source_key(&input).to_owned()).or_default() += 1;
            if d.outcome.kind() == OutcomeKind::Conflict {
                conflicted.insert(d.source_key(&input).to_owned());
            }
        }
        for d in &second.decisions {
            let key = d.source_key(&resolved).to_owned();
            if !conflicted.contains(&key) || per_key.get(&key).copied().unwrap_or(0) > 1 {
                continue; // several target entries of one deleted key share one link record
            }
            match &d.outcome {
                Outcome::Conflict(c) => prop_assert!(false, "{key} raised again: {:?} {}", c.reason, c.message),
                Outcome::Create | Outcome::Update => prop_assert!(false, "{key} written after a resolution"),
                _ => {}
            }
        }
    }

    #[test]
    fn no_plan_creates_twice_for_a_key_or_creates_what_the_target_already_holds(seed in any::<u64>()) {
        let input = world(seed);
        let p = plan(&input);
        let mut created = HashSet::new();
        let present: HashSet<&str> = input.targets.iter().map(|t| t.target_id.as_str()).collect();
        for d in p.decisions.iter().filter(|d| d.outcome == Outcome::Create) {
            let key = d.source_key(&input);
            prop_assert!(created.insert(key.to_owned()), "two creates for {key}");
            prop_assert!(
                !input.targets.iter().any(|t| t.link_key.as_deref() == Some(key)),
                "create for {key} although a target entry carries its marker"
            );
            prop_assert!(
                !input.links.iter().any(|l| l.source_key == key
                    && l.target_id.as_deref().is_some_and(|id| present.contains(id))),
                "create for {key} although its linked target entry exists"
            );
        }
        // After applying, no key is carried by more target entries than before (or 1).
        let after = apply(&input, &p);
        let count = |ts: &[timebridge_core::TargetItem]| {
            let mut m: HashMap<String, usize> = HashMap::new();
            for t in ts {
                if let Some(k) = &t.link_key {
                    *m.entry(k.clone()).or_default() += 1;
                }
            }
            m
        };
        let (before, later) = (count(&input.targets), count(&after.targets));
        for (k, n) in later {
            prop_assert!(n <= before.get(&k).copied().unwrap_or(0).max(1), "{k} now carried {n} times");
        }
    }

    #[test]
    fn a_plan_only_updates_linked_unlocked_entries_nobody_edited_since_our_write(seed in any::<u64>()) {
        let input = world(seed);
        let p = plan(&input);
        for d in p.decisions.iter().filter(|d| d.outcome == Outcome::Update) {
            let key = d.source_key(&input);
            let t = &input.targets[d.target.expect("update names a target")];
            prop_assert!(
                input.links.iter().any(|l| l.source_key == key && l.target_id.as_deref() == Some(t.target_id.as_str())),
                "update of {} for {key} without a link", t.target_id
            );
            prop_assert!(!t.locked, "update of a locked entry");
            let link = input.links.iter().rfind(|l| l.source_key == key).unwrap();
            prop_assert_eq!(
                link.target_fingerprint,
                Some(timebridge_core::fingerprint(&t.entry)),
                "update of {} although it changed since we wrote it", &t.target_id
            );
            prop_assert!(t.link_key.as_deref().is_none_or(|k| k == key), "update of an entry another key claims");
        }
    }

    #[test]
    fn a_running_entry_is_written_only_when_the_pipeline_includes_running_entries(seed in any::<u64>()) {
        let input = world(seed);
        let p = plan(&input);
        for d in &p.decisions {
            let Some(s) = d.source else { continue };
            let source = &input.sources[s];
            if !source.entry.running {
                continue;
            }
            let key = &source.entry.key;
            if input.include_running {
                if let Outcome::Create | Outcome::Update = d.outcome {
                    let desired = d.desired(&input).unwrap();
                    prop_assert!(desired.running && desired.end.is_none(), "{key} written as finished");
                }
                prop_assert_ne!(&d.outcome, &Outcome::Ignored(SkipReason::StillRunning));
            } else {
                match &d.outcome {
                    Outcome::Ignored(SkipReason::StillRunning) => {}
                    Outcome::Ignored(SkipReason::UserExcluded) | Outcome::Skip => {}
                    other => prop_assert!(false, "running {key} without include_running: {other:?}"),
                }
            }
            if let Outcome::Conflict(c) = &d.outcome {
                prop_assert_ne!(c.reason, ConflictReason::NegativeDuration, "a running entry has no duration yet");
            }
        }
        // And nothing of a running entry is ever written by the plan after applying it.
        let after = apply(&input, &p);
        if !input.include_running {
            for t in after.targets.iter().skip(input.targets.len()) {
                prop_assert!(!t.entry.running, "{} created as running", t.target_id);
            }
        }
    }

    #[test]
    fn an_ended_entry_updates_its_running_target_entry_unless_someone_edited_it(seed in any::<u64>()) {
        let input = world(seed);
        let p = plan(&input);
        for d in &p.decisions {
            let (Some(s), Some(t), Some(l)) = (d.source, d.target, d.link) else { continue };
            let (source, target, link) = (&input.sources[s], &input.targets[t], &input.links[l]);
            let Some(desired) = source.desired() else { continue };
            let untouched = link.target_fingerprint == Some(timebridge_core::fingerprint(&target.entry));
            if target.entry.running && !desired.running && untouched && !target.locked
                && target.link_key.as_deref() == Some(source.entry.key.as_str())
                && input.targets.iter().filter(|x| x.link_key.as_deref() == Some(source.entry.key.as_str()))
                    .map(|x| x.target_id.as_str()).collect::<HashSet<_>>().len() == 1
                && desired.duration_seconds.is_some_and(|d| d > 0)
                && link.memory.is_none()
            {
                prop_assert!(
                    matches!(d.outcome, Outcome::Update | Outcome::InSync { .. }),
                    "{} ended but: {:?}", source.entry.key, d.outcome
                );
            }
        }
    }

    #[test]
    fn every_conflict_offers_exactly_the_contract_actions(seed in any::<u64>()) {
        let input = world(seed);
        for c in plan(&input).conflicts(&input) {
            let got: Vec<&str> = c.allowed_actions.iter().map(|a| a.as_str()).collect();
            prop_assert_eq!(got, contract_actions(c.reason.as_str()).to_vec());
            let json = serde_json::to_value(&c).unwrap();
            prop_assert_eq!(json["reason"].as_str(), Some(c.reason.as_str()));
        }
    }

    #[test]
    fn planning_is_deterministic_and_ordered(seed in any::<u64>()) {
        let input = world(seed);
        let a = plan(&input);
        let b = plan(&input.clone());
        prop_assert_eq!(&a, &b);
        let rows: Vec<usize> = a.decisions.iter().filter_map(|d| d.source).collect();
        prop_assert!(rows.windows(2).all(|w| w[0] < w[1]), "sources out of order");
        let first_orphan = a.decisions.iter().position(|d| d.source.is_none()).unwrap_or(a.decisions.len());
        prop_assert!(a.decisions[first_orphan..].iter().all(|d| d.source.is_none()));
        let s = a.stats();
        prop_assert_eq!(s.in_sync + s.create + s.update + s.skip + s.conflicts, a.decisions.len());
        prop_assert!(a.decisions.iter().all(|d| d.outcome.kind() != OutcomeKind::Conflict
            || matches!(&d.outcome, Outcome::Conflict(c) if c.reason != ConflictReason::TargetRejected)));
    }
}

#[test]
fn the_random_worlds_reach_every_outcome_and_every_planner_reason() {
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for seed in 0..3000u64 {
        let input = world(seed);
        for d in plan(&input).decisions {
            let name = match &d.outcome {
                Outcome::Conflict(c) => c.reason.as_str().to_owned(),
                Outcome::InSync { refresh: Some(_) } => "in_sync_relink".to_owned(),
                Outcome::Ignored(r) => r.message().to_owned(),
                Outcome::Update if input.targets[d.target.unwrap()].entry.running => {
                    "ended_running_update".to_owned()
                }
                Outcome::Create if d.desired(&input).unwrap().running => {
                    "running_create".to_owned()
                }
                other => format!("{:?}", other.kind()),
            };
            *kinds.entry(name).or_default() += 1;
        }
    }
    let mut expected: Vec<String> = ConflictReason::ALL
        .iter()
        .filter(|r| **r != ConflictReason::TargetRejected)
        .map(|r| r.as_str().to_owned())
        .collect();
    expected.extend(
        [
            "Create",
            "Update",
            "Skip",
            "InSync",
            "in_sync_relink",
            "still running",
            "ended_running_update",
            "running_create",
        ]
        .map(String::from),
    );
    for e in expected {
        assert!(
            kinds.get(&e).copied().unwrap_or(0) > 0,
            "no {e} in {kinds:?}"
        );
    }
    println!("{kinds:?}");
}
