//! Example-based tests of the planner, one behaviour each.

use std::collections::HashSet;

use chrono::Duration;
use timebridge_core::testing::{
    desired_of, mapped, march_2026, source_entry, still_running, unmapped, written,
};
use timebridge_core::{
    Action, ConflictReason, Entry, Explanation, LinkRecord, MappingResult, Memory, Outcome, Plan,
    PlanInput, SkipReason, SourceItem, TargetItem, UnmappedReason, fingerprint, kept_target_memory,
    link_after_write, plan, skip_memory,
};

fn src(key: &str) -> Entry {
    source_entry(
        key,
        "ag1",
        7,
        march_2026().start() + Duration::hours(10),
        30,
    )
}

fn input(sources: Vec<SourceItem>, targets: Vec<TargetItem>, links: Vec<LinkRecord>) -> PlanInput {
    PlanInput {
        window: march_2026(),
        sources,
        targets,
        links,
        known_source_keys: HashSet::new(),
        include_running: false,
        retry_refused: HashSet::new(),
    }
}

/// A source entry we wrote as target `t1`, with the link the executor stored.
fn synced(key: &str) -> (SourceItem, TargetItem, LinkRecord) {
    let s = mapped(src(key));
    let t = written("t1", s.desired().unwrap());
    let l = link_after_write(key, "t1", s.desired().unwrap(), &t.entry);
    (s, t, l)
}

fn only(p: &Plan) -> &Outcome {
    assert_eq!(p.decisions.len(), 1, "{p:?}");
    &p.decisions[0].outcome
}

fn reason(p: &Plan) -> ConflictReason {
    match only(p) {
        Outcome::Conflict(c) => c.reason,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn a_new_source_entry_is_created() {
    let p = plan(&input(vec![mapped(src("s1"))], vec![], vec![]));
    assert_eq!(only(&p), &Outcome::Create);
}

#[test]
fn an_entry_equal_to_what_we_wrote_is_in_sync() {
    let (s, t, l) = synced("s1");
    let p = plan(&input(vec![s], vec![t], vec![l]));
    assert_eq!(only(&p), &Outcome::InSync { refresh: None });
}

#[test]
fn an_entry_changed_only_in_the_source_is_updated() {
    let (_, t, l) = synced("s1");
    let mut changed = src("s1");
    changed.duration_seconds = changed.duration_seconds.map(|d| d + 900);
    changed.end = changed.end.map(|t| t + Duration::minutes(15));
    let p = plan(&input(vec![mapped(changed)], vec![t], vec![l]));
    assert_eq!(only(&p), &Outcome::Update);
    assert_eq!(p.decisions[0].target, Some(0));
}

#[test]
fn a_target_edited_since_we_wrote_it_is_a_conflict_not_an_update() {
    let (s, mut t, l) = synced("s1");
    t.entry.description = "someone wrote this".into();
    let i = input(vec![s], vec![t], vec![l]);
    let p = plan(&i);
    assert_eq!(reason(&p), ConflictReason::TargetModified);
    let view = p.conflict_view(&i, 0).unwrap();
    assert_eq!(
        view.allowed_actions,
        vec![Action::Update, Action::KeepTarget, Action::Skip]
    );
    assert_eq!(view.diff.len(), 1);
    assert_eq!(view.diff[0].field, "description");
    assert_eq!(view.diff[0].target, serde_json::json!("someone wrote this"));
    assert_eq!(view.target_id.as_deref(), Some("t1"));
}

#[test]
fn an_entry_edited_on_both_sides_is_a_conflict_not_an_update() {
    let (_, mut t, l) = synced("s1");
    t.entry.tags.push("reviewed".into());
    let mut changed = src("s1");
    changed.duration_seconds = changed.duration_seconds.map(|d| d + 60);
    let p = plan(&input(vec![mapped(changed)], vec![t], vec![l]));
    assert_eq!(reason(&p), ConflictReason::TargetModified);
}

#[test]
fn a_target_that_came_to_equal_the_source_is_in_sync_and_relinked() {
    let (_, t, l) = synced("s1");
    let mut changed = src("s1");
    changed.duration_seconds = changed.duration_seconds.map(|d| d + 60);
    changed.end = changed.end.map(|t| t + Duration::minutes(1));
    let mut t = t;
    t.entry = desired_of(&changed);
    let p = plan(&input(vec![mapped(changed)], vec![t], vec![l]));
    assert!(matches!(only(&p), Outcome::InSync { refresh: Some(_) }));
}

#[test]
fn a_target_that_rounded_what_we_wrote_stays_in_sync_instead_of_being_rewritten() {
    // We wrote 10:00:20-10:30:20; Kimai rounded it to 10:00-10:31 and we stored what it returned.
    let mut s = src("s1");
    s.begin += Duration::seconds(20);
    s.end = s.end.map(|t| t + Duration::seconds(20));
    let s = mapped(s);
    let mut t = written("t1", s.desired().unwrap());
    t.entry.begin -= Duration::seconds(20);
    t.entry.end = t.entry.end.map(|t| t + Duration::seconds(40));
    t.entry.duration_seconds = t.entry.duration_seconds.map(|d| d + 60);
    let l = link_after_write("s1", "t1", s.desired().unwrap(), &t.entry);
    let p = plan(&input(vec![s], vec![t], vec![l]));
    assert_eq!(only(&p), &Outcome::InSync { refresh: None });
}

#[test]
fn tag_order_and_a_target_computed_billable_do_not_count_as_differences() {
    let mut s = src("s1");
    s.tags = vec!["z".into(), "a".into()];
    let mut item = mapped(s);
    if let timebridge_core::MappingResult::Mapped { entry, .. } = &mut item.mapping {
        entry.tags = vec!["z".into(), "a".into()];
        entry.billable = None;
    }
    let mut t = written("t1", item.desired().unwrap());
    t.entry.tags = vec!["a".into(), "z".into()];
    t.entry.billable = Some(true);
    let p = plan(&input(vec![item], vec![t], vec![]));
    assert!(matches!(only(&p), Outcome::InSync { refresh: Some(_) }));
}

#[test]
fn two_target_entries_carrying_one_link_are_a_duplicate_conflict() {
    let s = mapped(src("s1"));
    let a = written("t1", s.desired().unwrap());
    let b = written("t2", s.desired().unwrap());
    let i = input(vec![s], vec![a, b], vec![]);
    let p = plan(&i);
    assert_eq!(reason(&p), ConflictReason::DuplicateInTarget);
    assert_eq!(
        p.conflict_view(&i, 0).unwrap().allowed_actions,
        vec![Action::Link, Action::Create, Action::Skip]
    );
}

#[test]
fn an_extra_copy_carrying_our_marker_next_to_the_linked_entry_is_shown_as_the_duplicate() {
    let (s, t, l) = synced("s1");
    let copy = written("t2", s.desired().unwrap());
    let i = input(vec![s], vec![t, copy], vec![l]);
    let p = plan(&i);
    assert_eq!(reason(&p), ConflictReason::DuplicateInTarget);
    assert_eq!(p.decisions[0].target_id(&i), Some("t2"));
}

#[test]
fn an_unlinked_target_entry_for_the_same_work_is_a_duplicate_not_a_second_entry() {
    let s = mapped(src("s1"));
    let mut manual = written("t9", s.desired().unwrap());
    manual.link_key = None;
    manual.entry.begin += Duration::hours(2);
    manual.entry.end = manual.entry.end.map(|t| t + Duration::hours(2));
    manual.entry.description = "printer again, see #31007".into();
    let p = plan(&input(vec![s], vec![manual], vec![]));
    assert_eq!(reason(&p), ConflictReason::DuplicateInTarget);
    assert_eq!(p.decisions[0].target, Some(0));
}

#[test]
fn an_unlinked_entry_on_another_day_or_ticket_is_not_a_duplicate() {
    let s = mapped(src("s1"));
    let mut other_day = written("t8", s.desired().unwrap());
    other_day.link_key = None;
    other_day.entry.begin += Duration::days(1);
    let mut other_ticket = written("t9", s.desired().unwrap());
    other_ticket.link_key = None;
    other_ticket.entry.description = "#310070 something else".into();
    let p = plan(&input(vec![s], vec![other_day, other_ticket], vec![]));
    assert_eq!(only(&p), &Outcome::Create);
}

#[test]
fn an_entry_without_a_mapped_activity_project_or_user_is_an_unmapped_conflict() {
    for r in [
        UnmappedReason::UnmappedActivity,
        UnmappedReason::UnmappedProject,
        UnmappedReason::UnmappedUser,
    ] {
        let i = input(vec![unmapped(src("s1"), r)], vec![], vec![]);
        let p = plan(&i);
        assert_eq!(reason(&p), ConflictReason::from(r));
        let view = p.conflict_view(&i, 0).unwrap();
        assert_eq!(view.allowed_actions, vec![Action::Create, Action::Skip]);
        assert_eq!(
            view.source.unwrap().system,
            "zammad",
            "an unmapped conflict shows the raw source"
        );
    }
}

#[test]
fn a_locked_target_that_needs_an_update_is_a_locked_conflict() {
    let (_, mut t, l) = synced("s1");
    t.locked = true;
    let mut changed = src("s1");
    changed.duration_seconds = changed.duration_seconds.map(|d| d + 60);
    let p = plan(&input(vec![mapped(changed)], vec![t], vec![l]));
    assert_eq!(reason(&p), ConflictReason::Locked);
}

#[test]
fn a_locked_target_in_sync_is_just_in_sync() {
    let (s, mut t, l) = synced("s1");
    t.locked = true;
    let p = plan(&input(vec![s], vec![t], vec![l]));
    assert_eq!(only(&p), &Outcome::InSync { refresh: None });
}

#[test]
fn a_source_entry_deleted_in_the_source_raises_source_deleted() {
    let (_, t, l) = synced("s1");
    let i = input(vec![], vec![t], vec![l]);
    let p = plan(&i);
    assert_eq!(reason(&p), ConflictReason::SourceDeleted);
    assert_eq!(p.decisions[0].source_key(&i), "s1");
    assert_eq!(
        p.conflict_view(&i, 0).unwrap().allowed_actions,
        vec![Action::DeleteTarget, Action::KeepTarget]
    );
}

#[test]
fn a_marked_target_entry_of_a_deleted_source_without_a_link_raises_source_deleted() {
    let (_, t, _) = synced("s1");
    let p = plan(&input(vec![], vec![t], vec![]));
    assert_eq!(reason(&p), ConflictReason::SourceDeleted);
}

#[test]
fn a_source_entry_outside_the_window_is_not_taken_for_deleted() {
    let (_, t, l) = synced("s1");
    let mut i = input(vec![], vec![t], vec![l]);
    i.known_source_keys.insert("s1".into());
    assert!(plan(&i).decisions.is_empty());
}

#[test]
fn a_kept_target_of_a_deleted_source_stays_quiet_until_the_target_changes() {
    let (_, mut t, mut l) = synced("s1");
    l.memory = Some(kept_target_memory(&t.entry));
    let p = plan(&input(vec![], vec![t.clone()], vec![l.clone()]));
    assert_eq!(only(&p), &Outcome::Skip);
    t.entry.description.push('!');
    let p = plan(&input(vec![], vec![t], vec![l]));
    assert_eq!(reason(&p), ConflictReason::SourceDeleted);
}

#[test]
fn a_deleted_target_entry_we_wrote_raises_target_deleted() {
    let (s, _, l) = synced("s1");
    let i = input(vec![s], vec![], vec![l]);
    let p = plan(&i);
    assert_eq!(reason(&p), ConflictReason::TargetDeleted);
    assert_eq!(
        p.conflict_view(&i, 0).unwrap().allowed_actions,
        vec![Action::Create, Action::Skip]
    );
}

#[test]
fn zero_and_negative_durations_are_never_written() {
    for minutes in [0, -15] {
        let s = source_entry(
            "s1",
            "ag1",
            7,
            march_2026().start() + Duration::hours(10),
            minutes,
        );
        let i = input(vec![mapped(s)], vec![], vec![]);
        let p = plan(&i);
        assert_eq!(reason(&p), ConflictReason::NegativeDuration);
        assert_eq!(
            p.conflict_view(&i, 0).unwrap().allowed_actions,
            vec![Action::Skip]
        );
    }
}

#[test]
fn a_skipped_entry_stays_quiet_until_the_source_changes() {
    let s = source_entry(
        "s1",
        "ag1",
        7,
        march_2026().start() + Duration::hours(10),
        -15,
    );
    let memo = LinkRecord {
        source_key: "s1".into(),
        target_id: None,
        desired_fingerprint: None,
        target_fingerprint: None,
        memory: Some(skip_memory(&s)),
    };
    let p = plan(&input(vec![mapped(s.clone())], vec![], vec![memo.clone()]));
    assert_eq!(only(&p), &Outcome::Skip);
    let mut changed = s;
    changed.duration_seconds = Some(-1800);
    let p = plan(&input(vec![mapped(changed)], vec![], vec![memo]));
    assert_eq!(reason(&p), ConflictReason::NegativeDuration);
}

#[test]
fn an_undone_entry_is_not_written_again_until_its_source_changes() {
    let s = src("s1");
    let undone = LinkRecord {
        source_key: "s1".into(),
        target_id: None,
        desired_fingerprint: None,
        target_fingerprint: None,
        memory: Some(Memory::Undone {
            source_fingerprint: fingerprint(&s),
            run_id: 3,
        }),
    };
    let p = plan(&input(
        vec![mapped(s.clone())],
        vec![],
        vec![undone.clone()],
    ));
    assert_eq!(only(&p), &Outcome::Ignored(SkipReason::Undone));
    assert_eq!(
        SkipReason::Undone.message(),
        "undone: written again when it changes in the source"
    );
    for r in SkipReason::ALL {
        assert_eq!(SkipReason::from_message(r.message()), Some(r));
    }
    assert_eq!(SkipReason::from_message("undone"), None);
    let mut changed = s;
    changed.duration_seconds = Some(2400);
    changed.end = changed.end.map(|e| e + Duration::minutes(10));
    let p = plan(&input(vec![mapped(changed)], vec![], vec![undone]));
    assert_eq!(only(&p), &Outcome::Create);
}

#[test]
fn a_marked_target_left_by_a_crash_is_adopted_not_created_again() {
    let s = mapped(src("s1"));
    let t = written("t1", s.desired().unwrap());
    let p = plan(&input(vec![s], vec![t], vec![]));
    assert!(matches!(only(&p), Outcome::InSync { refresh: Some(_) }));
    assert_eq!(p.decisions[0].target, Some(0));
}

#[test]
fn a_link_to_an_entry_carrying_another_keys_marker_is_a_duplicate_conflict() {
    let (s, mut t, l) = synced("s1");
    t.link_key = Some("s2".into());
    let mut i = input(vec![s], vec![t], vec![l]);
    i.known_source_keys.insert("s2".into());
    let p = plan(&i);
    assert_eq!(reason(&p), ConflictReason::DuplicateInTarget);
}

#[test]
fn a_key_listed_twice_in_the_source_is_planned_once_from_its_last_row() {
    let mut later = src("s1");
    later.duration_seconds = Some(-60);
    let p = plan(&input(
        vec![mapped(src("s1")), mapped(later)],
        vec![],
        vec![],
    ));
    assert_eq!(reason(&p), ConflictReason::NegativeDuration);
    assert_eq!(p.decisions[0].source, Some(1));
}

#[test]
fn a_target_listed_twice_by_the_target_is_not_a_duplicate() {
    let (s, t, l) = synced("s1");
    let p = plan(&input(vec![s], vec![t.clone(), t], vec![l]));
    assert_eq!(only(&p), &Outcome::InSync { refresh: None });
}

/// `item` with a predicted refusal of the target, as the resolver attaches it.
fn refused(mut item: SourceItem) -> SourceItem {
    if let timebridge_core::MappingResult::Mapped { refusal, .. } = &mut item.mapping {
        *refusal = Some(timebridge_core::Refusal {
            rule: timebridge_core::RefusalRule::ProjectEnded {
                project: "4".into(),
                end: chrono::NaiveDate::from_ymd_opt(2026, 2, 27).expect("date"),
            },
            message: "project 4 ended on 2026-02-27".into(),
        });
    }
    item
}

#[test]
fn an_entry_the_target_would_refuse_is_target_rejected_instead_of_created() {
    let p = plan(&input(vec![refused(mapped(src("s1")))], vec![], vec![]));
    assert_eq!(reason(&p), ConflictReason::TargetRejected);
    let Outcome::Conflict(c) = only(&p) else {
        unreachable!()
    };
    assert!(c.message.contains("nothing was sent"), "{}", c.message);
    assert!(c.message.contains("ended on 2026-02-27"), "{}", c.message);
}

#[test]
fn an_update_the_target_would_refuse_is_target_rejected_instead_of_sent() {
    let (_, t, l) = synced("s1");
    let mut changed = src("s1");
    changed.duration_seconds = changed.duration_seconds.map(|d| d + 900);
    changed.end = changed.end.map(|t| t + Duration::minutes(15));
    let p = plan(&input(vec![refused(mapped(changed))], vec![t], vec![l]));
    assert_eq!(reason(&p), ConflictReason::TargetRejected);
    assert_eq!(
        p.decisions[0].target,
        Some(0),
        "the conflict shows the entry"
    );
}

#[test]
fn a_predicted_refusal_leaves_entries_that_need_no_write_alone() {
    let (s, t, l) = synced("s1");
    let p = plan(&input(vec![refused(s)], vec![t.clone()], vec![l]));
    assert_eq!(only(&p), &Outcome::InSync { refresh: None });
    // A marked entry left by a crash is adopted, not refused.
    let p = plan(&input(vec![refused(mapped(src("s1")))], vec![t], vec![]));
    assert!(matches!(only(&p), Outcome::InSync { refresh: Some(_) }));
}

#[test]
fn target_rejected_is_reserved_for_the_executor_with_the_contract_actions() {
    assert_eq!(
        ConflictReason::TargetRejected.allowed_actions(),
        &[Action::Create, Action::Skip]
    );
    assert_eq!(
        serde_json::to_value(ConflictReason::TargetRejected).unwrap(),
        "target_rejected"
    );
}

#[test]
fn plan_stats_count_each_outcome() {
    let (s, t, l) = synced("s1");
    let p = plan(&input(vec![s, mapped(src("s2"))], vec![t], vec![l]));
    let st = p.stats();
    assert_eq!(
        (st.in_sync, st.create, st.update, st.skip, st.conflicts),
        (1, 1, 0, 0, 0)
    );
}

/// An entry written before billable defaults were computed: no billable tag wanted and
/// none written, the target's own default (true) in its billable column.
fn synced_without_billable_tag(key: &str) -> (TargetItem, LinkRecord) {
    let mut old = desired_of(&src(key));
    old.billable = None;
    old.tags.clear();
    let mut t = written("t1", &old);
    t.entry.billable = Some(true);
    let l = link_after_write(key, "t1", &old, &t.entry);
    (t, l)
}

#[test]
fn an_entry_written_without_its_billable_tag_is_updated_by_the_next_run() {
    let (t, l) = synced_without_billable_tag("s1");
    let p = plan(&input(vec![mapped(src("s1"))], vec![t], vec![l]));
    assert_eq!(only(&p), &Outcome::Update);
}

#[test]
fn an_untagged_entry_edited_in_the_target_is_a_conflict_not_an_update() {
    let (mut t, l) = synced_without_billable_tag("s1");
    t.entry.description = "corrected by the bookkeeper".into();
    let p = plan(&input(vec![mapped(src("s1"))], vec![t], vec![l]));
    assert_eq!(reason(&p), ConflictReason::TargetModified);
}

#[test]
fn a_running_entry_is_left_alone_without_include_running() {
    let p = plan(&input(
        vec![mapped(still_running(src("s1")))],
        vec![],
        vec![],
    ));
    assert_eq!(only(&p), &Outcome::Ignored(SkipReason::StillRunning));
    assert_eq!(SkipReason::StillRunning.message(), "still running");
    assert_eq!(p.stats().skip, 1);
}

#[test]
fn with_include_running_a_running_entry_is_created_running_then_updated_when_it_ends() {
    let running = mapped(still_running(src("s1")));
    let mut i = input(vec![running.clone()], vec![], vec![]);
    i.include_running = true;
    let p = plan(&i);
    assert_eq!(only(&p), &Outcome::Create);
    let desired = p.decisions[0].desired(&i).unwrap().clone();
    assert!(desired.running && desired.end.is_none() && desired.duration_seconds.is_none());

    // Written as running; the next plan is quiet while it runs.
    let t = written("t1", &desired);
    let l = link_after_write("s1", "t1", &desired, &t.entry);
    let mut again = input(vec![running], vec![t.clone()], vec![l.clone()]);
    again.include_running = true;
    assert_eq!(only(&plan(&again)), &Outcome::InSync { refresh: None });

    // It ended in the source: a clear update, with or without include_running.
    for include in [true, false] {
        let mut ended = input(vec![mapped(src("s1"))], vec![t.clone()], vec![l.clone()]);
        ended.include_running = include;
        assert_eq!(only(&plan(&ended)), &Outcome::Update);
    }

    // But if someone stopped it in the target meanwhile, that is theirs: a conflict.
    let mut edited = t.clone();
    edited.entry.end = Some(edited.entry.begin + Duration::minutes(5));
    edited.entry.duration_seconds = Some(300);
    edited.entry.running = false;
    let p = plan(&input(vec![mapped(src("s1"))], vec![edited], vec![l]));
    assert_eq!(reason(&p), ConflictReason::TargetModified);
}

#[test]
fn an_excluded_persons_entry_is_skipped_never_a_conflict() {
    let mut negative = src("s1");
    negative.duration_seconds = Some(-60);
    for entry in [src("s1"), negative, still_running(src("s1"))] {
        let item = SourceItem {
            entry,
            mapping: MappingResult::Excluded {
                explanation: Explanation::default(),
            },
        };
        let p = plan(&input(vec![item], vec![], vec![]));
        assert_eq!(only(&p), &Outcome::Ignored(SkipReason::UserExcluded));
        assert_eq!(p.conflicts(&input(vec![], vec![], vec![])).count(), 0);
    }
    assert_eq!(SkipReason::UserExcluded.message(), "user excluded");
}
