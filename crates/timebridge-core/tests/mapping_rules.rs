//! Example-based tests of mapping resolution and its explanations.

use chrono::Duration;
use timebridge_core::testing::{march_2026, source_entry};
use timebridge_core::{
    BillableDefaults, Entry, MappingError, MappingKind, MappingResult, MappingRule, MappingRules,
    NamedRef, PipelineOptions, ProjectBillable, ProjectRule, ProjectRules, Resolver, RuleSource,
    TargetDirectory, TargetProject, TargetRules, TargetSettings, TargetUser, UnmappedReason,
    UnmappedUserPolicy,
};

fn rule(
    id: i64,
    kind: MappingKind,
    source: &str,
    target: &str,
    billable: Option<bool>,
) -> MappingRule {
    MappingRule {
        id,
        kind,
        source_key: source.into(),
        source_label: (kind == MappingKind::Activity).then(|| "Remote".into()),
        target_key: Some(target.into()),
        target_label: None,
        billable,
        sync: true,
    }
}

fn directory() -> TargetDirectory {
    directory_of([
        NamedRef {
            key: "7".into(),
            name: Some("Support".into()),
        },
        NamedRef {
            key: "8".into(),
            name: None,
        },
    ])
}

/// The standard users and projects with these activities.
fn directory_of(activities: impl IntoIterator<Item = NamedRef>) -> TargetDirectory {
    TargetDirectory::new(
        [
            TargetUser {
                key: "u1".into(),
                email: Some("A@Example.com".into()),
                name: Some("Ann".into()),
            },
            TargetUser {
                key: "u2".into(),
                email: Some("bob@example.com".into()),
                name: None,
            },
            TargetUser {
                key: "u9".into(),
                email: Some("api@example.com".into()),
                name: None,
            },
        ],
        [
            TargetProject {
                key: "p1".into(),
                name: Some("Support".into()),
                customer: Some(NamedRef {
                    key: "c1".into(),
                    name: Some("ACME".into()),
                }),
            },
            TargetProject {
                key: "p0".into(),
                name: Some("Default".into()),
                customer: None,
            },
        ],
        activities,
        Some("u9".into()),
    )
}

/// A Zammad entry: type 3, organization 5, agent ag1 with e-mail `a@example.com`.
fn zammad() -> Entry {
    let mut e = source_entry(
        "za1",
        "ag1",
        1,
        march_2026().start() + Duration::hours(9),
        30,
    );
    e.activity = Some(NamedRef {
        key: "3".into(),
        name: None,
    });
    e.customer = Some(NamedRef {
        key: "5".into(),
        name: None,
    });
    e.user.as_mut().unwrap().email = Some("a@example.COM ".into());
    e
}

fn resolve(rules: &MappingRules, settings: &TargetSettings, e: &Entry) -> MappingResult {
    Resolver {
        rules,
        directory: &directory(),
        settings,
    }
    .resolve(e)
}

fn mapped(r: &MappingResult) -> (&Entry, Vec<String>) {
    match r {
        MappingResult::Mapped {
            entry, explanation, ..
        } => (entry, explanation.lines()),
        other => panic!("expected mapped, got {other:?}"),
    }
}

fn standard_rules(activity_billable: Option<bool>, project_billable: Option<bool>) -> MappingRules {
    MappingRules::new(
        PipelineOptions::default(),
        [
            rule(12, MappingKind::Activity, "3", "7", activity_billable),
            rule(13, MappingKind::Project, "5", "p1", project_billable),
        ],
    )
    .unwrap()
}

#[test]
fn a_mapped_entry_carries_target_keys_names_and_explains_every_field() {
    let r = resolve(
        &standard_rules(None, None),
        &TargetSettings::default(),
        &zammad(),
    );
    let (e, lines) = mapped(&r);
    assert_eq!(e.system, "kimai");
    assert_eq!(
        e.key, "za1",
        "the desired entry keeps the source key it links to"
    );
    assert_eq!(e.activity.as_ref().unwrap().key, "7");
    assert_eq!(e.project.as_ref().unwrap().name.as_deref(), Some("Support"));
    assert_eq!(e.customer.as_ref().unwrap().key, "c1");
    assert_eq!(e.user.as_ref().unwrap().key, "u1");
    assert_eq!(e.description, "#31001 Ticket 1");
    assert_eq!(e.duration_seconds, Some(1800));
    assert_eq!(
        lines[0],
        "activity: mapping #12 (type 3 \"Remote\" → activity 7 \"Support\")"
    );
    assert_eq!(
        lines[1],
        "project: mapping #13 (organization 5 → project p1 \"Support\")"
    );
    assert_eq!(lines[2], "user: matched by e-mail a@example.com");
    assert_eq!(
        lines[3],
        "billable: computed by the target (its master data does not say)"
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["status"], "mapped");
    assert_eq!(json["explanation"]["steps"][2]["rule"], "email_match");
}

#[test]
fn resolving_without_explanations_drops_only_a_mapped_entrys_explanation() {
    let dir = directory();
    let settings = TargetSettings::default();
    let mapped_rules = standard_rules(None, None);
    let none = MappingRules::new(PipelineOptions::default(), []).unwrap();
    for rules in [&mapped_rules, &none] {
        let resolver = Resolver {
            rules,
            directory: &dir,
            settings: &settings,
        };
        let full = resolver.resolve(&zammad());
        let lean = resolver.resolve_unexplained(&zammad());
        match (&full, &lean) {
            (
                MappingResult::Mapped {
                    entry,
                    explanation,
                    refusal,
                    rounding,
                },
                MappingResult::Mapped {
                    entry: lean_entry,
                    explanation: lean_explanation,
                    refusal: lean_refusal,
                    rounding: lean_rounding,
                },
            ) => {
                assert!(!explanation.steps.is_empty());
                assert!(lean_explanation.steps.is_empty());
                assert_eq!(
                    (entry, refusal, rounding),
                    (lean_entry, lean_refusal, lean_rounding)
                );
            }
            _ => assert_eq!(full, lean, "an unmapped entry keeps its explanation"),
        }
    }
}

#[test]
fn the_project_falls_back_to_the_pipeline_default() {
    let rules = MappingRules::new(
        PipelineOptions {
            default_project: Some("p0".into()),
            ..Default::default()
        },
        [rule(12, MappingKind::Activity, "3", "7", None)],
    )
    .unwrap();
    let r = resolve(&rules, &TargetSettings::default(), &zammad());
    let (e, lines) = mapped(&r);
    assert_eq!(e.project.as_ref().unwrap().key, "p0");
    assert_eq!(
        lines[1],
        "project: pipeline default (project p0 \"Default\")"
    );
}

#[test]
fn the_activity_falls_back_to_the_pipeline_default() {
    let rules = MappingRules::new(
        PipelineOptions {
            default_activity: Some("8".into()),
            ..Default::default()
        },
        [rule(13, MappingKind::Project, "5", "p1", None)],
    )
    .unwrap();
    let r = resolve(&rules, &TargetSettings::default(), &zammad());
    let (e, _) = mapped(&r);
    assert_eq!(e.activity.as_ref().unwrap().key, "8");
}

#[test]
fn an_explicit_user_mapping_overrides_the_e_mail_match() {
    let rules = MappingRules::new(
        PipelineOptions::default(),
        [
            rule(12, MappingKind::Activity, "3", "7", None),
            rule(13, MappingKind::Project, "5", "p1", None),
            rule(14, MappingKind::User, "ag1", "u2", None),
        ],
    )
    .unwrap();
    let r = resolve(&rules, &TargetSettings::default(), &zammad());
    let (e, lines) = mapped(&r);
    assert_eq!(e.user.as_ref().unwrap().key, "u2");
    assert!(
        lines[2].starts_with("user: mapping #14 (agent ag1 → user u2"),
        "{}",
        lines[2]
    );
}

#[test]
fn an_agent_without_a_target_user_is_unmapped_or_booked_on_the_token_user_by_option() {
    let mut e = zammad();
    e.user.as_mut().unwrap().email = Some("nobody@example.com".into());
    let r = resolve(&standard_rules(None, None), &TargetSettings::default(), &e);
    assert!(
        matches!(&r, MappingResult::Unmapped { reasons, .. } if reasons == &[UnmappedReason::UnmappedUser])
    );

    let rules = MappingRules::new(
        PipelineOptions {
            unmapped_user: UnmappedUserPolicy::TokenUser,
            ..Default::default()
        },
        [
            rule(12, MappingKind::Activity, "3", "7", None),
            rule(13, MappingKind::Project, "5", "p1", None),
        ],
    )
    .unwrap();
    let r = resolve(&rules, &TargetSettings::default(), &e);
    assert_eq!(mapped(&r).0.user.as_ref().unwrap().key, "u9");
    assert_eq!(r.explanation().steps[2].rule, RuleSource::TokenUser);
}

#[test]
fn every_unmapped_field_is_reported_with_its_reason() {
    let rules = MappingRules::new(PipelineOptions::default(), []).unwrap();
    let mut e = zammad();
    e.user = None;
    match resolve(&rules, &TargetSettings::default(), &e) {
        MappingResult::Unmapped {
            reasons,
            explanation,
        } => {
            assert_eq!(
                reasons,
                vec![
                    UnmappedReason::UnmappedActivity,
                    UnmappedReason::UnmappedProject,
                    UnmappedReason::UnmappedUser
                ]
            );
            assert_eq!(
                explanation.lines()[0],
                "activity: no mapping for type 3 and no pipeline default"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_mapping_to_a_record_the_target_no_longer_has_is_unmapped() {
    let rules = MappingRules::new(
        PipelineOptions::default(),
        [
            rule(12, MappingKind::Activity, "3", "404", None),
            rule(13, MappingKind::Project, "5", "p1", None),
        ],
    )
    .unwrap();
    let r = resolve(&rules, &TargetSettings::default(), &zammad());
    assert!(
        matches!(&r, MappingResult::Unmapped { reasons, .. } if reasons == &[UnmappedReason::UnmappedActivity])
    );
}

#[test]
fn billable_comes_from_the_activity_mapping_then_the_project_mapping_then_the_target() {
    let s = TargetSettings::default();
    let cases = [
        (Some(false), Some(true), Some(false), vec!["non-billable"]),
        (None, Some(true), Some(true), vec!["billable"]),
        (None, None, None, vec![]),
    ];
    for (a, p, expect, tags) in cases {
        let r = resolve(&standard_rules(a, p), &s, &zammad());
        let (e, _) = mapped(&r);
        assert_eq!(e.billable, expect);
        assert_eq!(e.tags, tags);
    }
}

/// The standard directory whose master data carries billable flags: customer c1 of
/// project p1, project p1 and activity 7.
fn directory_with_billable(customer: bool, project: bool, activity: bool) -> TargetDirectory {
    directory().with_rules(TargetRules {
        billable: BillableDefaults {
            label: "Kimai".into(),
            projects: [(
                "p1".to_owned(),
                ProjectBillable {
                    project,
                    customer: Some(customer),
                },
            )]
            .into(),
            activities: [("7".to_owned(), activity), ("8".to_owned(), true)].into(),
        },
        ..TargetRules::default()
    })
}

fn resolve_in(
    dir: &TargetDirectory,
    rules: &MappingRules,
    settings: &TargetSettings,
) -> MappingResult {
    Resolver {
        rules,
        directory: dir,
        settings,
    }
    .resolve(&zammad())
}

#[test]
fn billable_left_to_the_target_is_its_default_from_customer_project_and_activity() {
    let s = TargetSettings::default();
    for customer in [true, false] {
        for project in [true, false] {
            for activity in [true, false] {
                let dir = directory_with_billable(customer, project, activity);
                let r = resolve_in(&dir, &standard_rules(None, None), &s);
                let (e, lines) = mapped(&r);
                let expect = customer && project && activity;
                let case = format!("customer {customer}, project {project}, activity {activity}");
                assert_eq!(e.billable, Some(expect), "{case}");
                let tag = if expect { "billable" } else { "non-billable" };
                assert_eq!(e.tags, vec![tag], "{case}");
                let line = &lines[3];
                assert!(
                    line.starts_with("billable: Kimai default: "),
                    "{case}: {line}"
                );
                for (name, flag) in [
                    ("customer \"ACME\"", customer),
                    ("project \"Support\"", project),
                    ("activity \"Support\"", activity),
                ] {
                    assert_eq!(
                        line.contains(name),
                        flag == expect,
                        "{case}: the explanation names what decided it: {line}"
                    );
                }
                let verb = if expect { "billable" } else { "not billable" };
                assert!(line.ends_with(verb), "{case}: {line}");
            }
        }
    }
}

#[test]
fn the_target_default_explanation_names_the_one_non_billable_record() {
    let dir = directory_with_billable(true, false, true);
    let r = resolve_in(
        &dir,
        &standard_rules(None, None),
        &TargetSettings::default(),
    );
    let (_, lines) = mapped(&r);
    assert_eq!(
        lines[3],
        "billable: Kimai default: project \"Support\" is not billable"
    );
    let dir = directory_with_billable(true, true, true);
    let r = resolve_in(
        &dir,
        &standard_rules(None, None),
        &TargetSettings::default(),
    );
    let (_, lines) = mapped(&r);
    assert_eq!(
        lines[3],
        "billable: Kimai default: customer \"ACME\", project \"Support\" and activity \"Support\" are billable"
    );
}

#[test]
fn a_billable_mapping_wins_over_the_target_default() {
    let s = TargetSettings::default();
    for (a, p, expect) in [
        (Some(true), None, true),
        (None, Some(true), true),
        (Some(false), Some(true), false),
    ] {
        for customer in [true, false] {
            for project in [true, false] {
                for activity in [true, false] {
                    let dir = directory_with_billable(customer, project, activity);
                    let r = resolve_in(&dir, &standard_rules(a, p), &s);
                    let (e, lines) = mapped(&r);
                    assert_eq!(e.billable, Some(expect));
                    assert!(lines[3].contains("mapping #"), "{}", lines[3]);
                }
            }
        }
    }
}

#[test]
fn without_set_billable_field_the_target_default_is_still_a_tag() {
    let s = TargetSettings {
        set_billable_field: false,
        ..TargetSettings::default()
    };
    let dir = directory_with_billable(true, true, false);
    let r = resolve_in(&dir, &standard_rules(None, None), &s);
    let (e, _) = mapped(&r);
    assert_eq!(e.billable, None);
    assert_eq!(e.tags, vec!["non-billable"]);
}

#[test]
fn an_activity_the_master_data_does_not_flag_leaves_billable_to_the_target() {
    let mut dir = directory_with_billable(true, true, true);
    dir = dir.with_rules(TargetRules {
        billable: BillableDefaults {
            label: "Kimai".into(),
            projects: Default::default(),
            activities: [("7".to_owned(), true)].into(),
        },
        ..TargetRules::default()
    });
    let r = resolve_in(
        &dir,
        &standard_rules(None, None),
        &TargetSettings::default(),
    );
    let (e, _) = mapped(&r);
    assert_eq!(e.billable, None);
    assert!(e.tags.is_empty());
}

#[test]
fn without_set_billable_field_only_the_tag_says_billable() {
    let s = TargetSettings {
        set_billable_field: false,
        ..TargetSettings::default()
    };
    let r = resolve(&standard_rules(Some(true), None), &s, &zammad());
    let (e, _) = mapped(&r);
    assert_eq!(e.billable, None);
    assert_eq!(e.tags, vec!["billable"]);
}

#[test]
fn two_target_users_with_one_e_mail_never_match_automatically() {
    let dir = TargetDirectory::new(
        [
            TargetUser {
                key: "u1".into(),
                email: Some("a@example.com".into()),
                name: None,
            },
            TargetUser {
                key: "u3".into(),
                email: Some("A@example.com".into()),
                name: None,
            },
        ],
        [TargetProject {
            key: "p1".into(),
            name: None,
            customer: None,
        }],
        [NamedRef {
            key: "7".into(),
            name: None,
        }],
        None,
    );
    let rules = standard_rules(None, None);
    let r = Resolver {
        rules: &rules,
        directory: &dir,
        settings: &TargetSettings::default(),
    }
    .resolve(&zammad());
    assert!(
        matches!(&r, MappingResult::Unmapped { reasons, .. } if reasons == &[UnmappedReason::UnmappedUser])
    );
}

#[test]
fn two_mappings_for_one_source_key_are_refused() {
    let err = MappingRules::new(
        PipelineOptions::default(),
        [
            rule(1, MappingKind::Activity, "3", "7", None),
            rule(2, MappingKind::Activity, "3", "8", None),
        ],
    )
    .unwrap_err();
    assert!(matches!(
        err,
        MappingError::DuplicateSourceKey {
            first: 1,
            second: 2,
            ..
        }
    ));
}

/// The standard directory with Kimai's acceptance rules: project p1 with `rules`,
/// activity 8 belonging to project p0.
fn directory_with(rules: ProjectRules) -> TargetDirectory {
    directory().with_rules(TargetRules {
        projects: [("p1".to_owned(), rules)].into(),
        activity_projects: [("8".to_owned(), "p0".to_owned())].into(),
        ..TargetRules::default()
    })
}

fn open_project() -> ProjectRules {
    ProjectRules {
        start: None,
        end: None,
        global_activities: true,
    }
}

/// The refusal the resolver predicts for the standard entry (begins 2026-03-01 09:00 UTC).
fn refusal(rules: &MappingRules, dir: &TargetDirectory) -> Option<String> {
    match (Resolver {
        rules,
        directory: dir,
        settings: &TargetSettings::default(),
    })
    .resolve(&zammad())
    {
        MappingResult::Mapped { refusal, .. } => refusal.map(|r| r.message),
        other => panic!("expected mapped, got {other:?}"),
    }
}

fn day(s: &str) -> Option<chrono::NaiveDate> {
    Some(s.parse().unwrap())
}

#[test]
fn an_entry_the_target_accepts_carries_no_refusal() {
    let dir = directory_with(open_project());
    assert_eq!(refusal(&standard_rules(None, None), &dir), None);
    assert_eq!(refusal(&standard_rules(None, None), &directory()), None);
}

#[test]
fn an_activity_of_another_project_is_a_predicted_refusal() {
    let rules = MappingRules::new(
        PipelineOptions::default(),
        [
            rule(12, MappingKind::Activity, "3", "8", None),
            rule(13, MappingKind::Project, "5", "p1", None),
        ],
    )
    .unwrap();
    let why = refusal(&rules, &directory_with(open_project())).expect("refused");
    assert!(why.contains("belongs to project p0"), "{why}");
}

#[test]
fn a_global_activity_on_a_project_without_global_activities_is_a_predicted_refusal() {
    let dir = directory_with(ProjectRules {
        global_activities: false,
        ..open_project()
    });
    let why = refusal(&standard_rules(None, None), &dir).expect("refused");
    assert!(why.contains("Global activities are forbidden"), "{why}");
}

#[test]
fn a_begin_outside_the_project_period_in_every_time_zone_is_a_predicted_refusal() {
    let rules = standard_rules(None, None);
    let with = |start: &str, end: &str| {
        let d = directory_with(ProjectRules {
            start: (!start.is_empty()).then(|| day(start).unwrap()),
            end: (!end.is_empty()).then(|| day(end).unwrap()),
            global_activities: true,
        });
        refusal(&rules, &d)
    };
    // The entry begins 2026-03-01 09:00 UTC; 14 hours either side: 02-28 19:00 to 03-01 23:00.
    let ended = with("", "2026-02-27").expect("ended two days before");
    assert!(ended.contains("finished at that time"), "{ended}");
    assert_eq!(with("", "2026-02-28"), None, "still the 28th far west");
    assert_eq!(with("", "2026-03-01"), None);
    let early = with("2026-03-02", "").expect("starts the next day");
    assert!(early.contains("not started at that time"), "{early}");
    assert_eq!(with("2026-03-01", ""), None);
    assert_eq!(with("2026-01-01", "2026-12-31"), None);
}

fn by_name() -> MappingRules {
    MappingRules::new(
        PipelineOptions {
            match_by_name: true,
            ..Default::default()
        },
        [],
    )
    .unwrap()
}

/// The Zammad entry with a type and an organization named like target records.
fn named_zammad(activity: &str, organization: &str) -> Entry {
    let mut e = zammad();
    e.activity.as_mut().unwrap().name = Some(activity.into());
    e.customer.as_mut().unwrap().name = Some(organization.into());
    e
}

#[test]
fn with_match_by_name_equal_names_match_without_a_mapping() {
    let r = resolve(
        &by_name(),
        &TargetSettings::default(),
        &named_zammad(" support ", "SUPPORT"),
    );
    let (e, lines) = mapped(&r);
    assert_eq!(e.activity.as_ref().unwrap().key, "7");
    assert_eq!(e.project.as_ref().unwrap().key, "p1");
    assert_eq!(
        lines[0],
        "activity: matched by name (activity 7 \"Support\")"
    );
    assert_eq!(
        lines[1],
        "project: matched by name (project p1 \"Support\")"
    );
    assert_eq!(r.explanation().steps[0].rule, RuleSource::NameMatch);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["explanation"]["steps"][1]["rule"], "name_match");
}

#[test]
fn without_match_by_name_equal_names_do_not_match() {
    let rules = MappingRules::new(PipelineOptions::default(), []).unwrap();
    let r = resolve(
        &rules,
        &TargetSettings::default(),
        &named_zammad("Support", "Support"),
    );
    assert!(matches!(&r, MappingResult::Unmapped { reasons, .. }
        if reasons == &[UnmappedReason::UnmappedActivity, UnmappedReason::UnmappedProject]));
}

#[test]
fn an_explicit_mapping_wins_over_a_name_match_and_a_name_match_over_the_default() {
    let rules = MappingRules::new(
        PipelineOptions {
            match_by_name: true,
            default_activity: Some("8".into()),
            default_project: Some("p0".into()),
            ..Default::default()
        },
        [rule(13, MappingKind::Project, "5", "p0", None)],
    )
    .unwrap();
    let r = resolve(
        &rules,
        &TargetSettings::default(),
        &named_zammad("Support", "Support"),
    );
    let (e, lines) = mapped(&r);
    assert_eq!(e.project.as_ref().unwrap().key, "p0", "the mapping wins");
    assert!(lines[1].starts_with("project: mapping #13"), "{lines:?}");
    assert_eq!(
        e.activity.as_ref().unwrap().key,
        "7",
        "the name beats the default"
    );
}

#[test]
fn several_target_records_of_one_name_never_match_by_name_and_the_explanation_says_why() {
    let dir = TargetDirectory::new(
        [TargetUser {
            key: "u1".into(),
            email: Some("a@example.com".into()),
            name: None,
        }],
        [
            TargetProject {
                key: "p1".into(),
                name: Some("Support".into()),
                customer: None,
            },
            TargetProject {
                key: "p2".into(),
                name: Some("support ".into()),
                customer: None,
            },
        ],
        [NamedRef {
            key: "7".into(),
            name: Some("Support".into()),
        }],
        None,
    );
    let rules = by_name();
    let r = Resolver {
        rules: &rules,
        directory: &dir,
        settings: &TargetSettings::default(),
    }
    .resolve(&named_zammad("Support", "Support"));
    let MappingResult::Unmapped {
        reasons,
        explanation,
    } = &r
    else {
        panic!("expected unmapped, got {r:?}");
    };
    assert_eq!(reasons, &[UnmappedReason::UnmappedProject]);
    assert_eq!(
        explanation.lines()[1],
        "project: no mapping for organization 5 and no pipeline default; several target \
         projects are named \"Support\", so none matched by name"
    );
}

#[test]
fn the_source_project_is_the_project_dimension_when_the_source_has_one() {
    let rules = MappingRules::new(
        PipelineOptions::default(),
        [
            rule(12, MappingKind::Activity, "3", "7", None),
            rule(13, MappingKind::Project, "5", "p1", None),
            rule(14, MappingKind::Project, "proj-9", "p0", None),
        ],
    )
    .unwrap();
    let mut e = zammad();
    e.project = Some(NamedRef {
        key: "proj-9".into(),
        name: None,
    });
    let r = resolve(&rules, &TargetSettings::default(), &e);
    assert_eq!(mapped(&r).0.project.as_ref().unwrap().key, "p0");
    // Without a project, the customer (Zammad's organization) is the dimension.
    let r = resolve(&rules, &TargetSettings::default(), &zammad());
    assert_eq!(mapped(&r).0.project.as_ref().unwrap().key, "p1");
}

#[test]
fn a_user_mapping_with_sync_false_excludes_the_person_before_anything_else() {
    let mut excluded = rule(20, MappingKind::User, "ag1", "", None);
    excluded.target_key = None;
    excluded.sync = false;
    excluded.source_label = Some("Ann Agent".into());
    // No activity or project mapping: the entry would be unmapped, but it is excluded.
    let rules = MappingRules::new(PipelineOptions::default(), [excluded]).unwrap();
    let r = resolve(&rules, &TargetSettings::default(), &zammad());
    let MappingResult::Excluded { explanation } = &r else {
        panic!("expected excluded, got {r:?}");
    };
    assert_eq!(
        explanation.lines(),
        ["user: mapping #20 excludes agent ag1 \"Ann Agent\" from sync"]
    );
    assert_eq!(explanation.steps[0].rule, RuleSource::Excluded);
    assert_eq!(r.entry(), None);
    assert_eq!(serde_json::to_value(&r).unwrap()["status"], "excluded");
}

#[test]
fn a_mapping_rule_without_sync_in_json_syncs() {
    let rule: MappingRule = serde_json::from_value(serde_json::json!({
        "id": 1, "kind": "user", "source_key": "a", "source_label": null,
        "target_key": "u1", "target_label": null, "billable": null
    }))
    .unwrap();
    assert!(rule.sync);
}

#[test]
fn a_running_source_entry_maps_to_a_running_desired_entry() {
    let e = timebridge_core::testing::still_running(zammad());
    let r = resolve(&standard_rules(None, None), &TargetSettings::default(), &e);
    let (d, _) = mapped(&r);
    assert!(d.running);
    assert_eq!((d.end, d.duration_seconds), (None, None));
}

/// A target whose tasks belong to projects (TimeTracker, Clockify, Odoo): activity 7
/// "Support" is p1's own, activity 17 "Support" is p0's, activity 9 "Support" belongs to
/// no project.
fn task_directory() -> TargetDirectory {
    let named = |key: &str, name: &str| NamedRef {
        key: key.into(),
        name: Some(name.into()),
    };
    directory_of([
        named("17", "Support"),
        named("9", "Support"),
        named("7", "support"),
    ])
    .with_rules(TargetRules {
        activity_projects: [
            ("7".to_owned(), "p1".to_owned()),
            ("17".to_owned(), "p0".to_owned()),
        ]
        .into(),
        ..TargetRules::default()
    })
}

fn optional_task() -> TargetSettings {
    TargetSettings {
        activity: timebridge_core::Need::Optional,
        ..TargetSettings::default()
    }
}

#[test]
fn by_name_a_task_is_found_within_the_entrys_project_first() {
    let dir = task_directory();
    let rules = by_name();
    let entry = named_zammad("Support", "Support");
    let r = Resolver {
        rules: &rules,
        directory: &dir,
        settings: &optional_task(),
    }
    .resolve(&entry);
    let (e, _) = mapped(&r);
    assert_eq!(e.project.as_ref().unwrap().key, "p1");
    assert_eq!(
        e.activity.as_ref().unwrap().key,
        "7",
        "p1's own task, not p0's"
    );
    // In project p0 its own task of that name.
    let entry = named_zammad("Support", "Default");
    let r = Resolver {
        rules: &rules,
        directory: &dir,
        settings: &optional_task(),
    }
    .resolve(&entry);
    assert_eq!(mapped(&r).0.activity.as_ref().unwrap().key, "17");
}

#[test]
fn an_optional_activity_left_unmapped_is_written_without_one_and_explained() {
    let rules = MappingRules::new(
        PipelineOptions::default(),
        [rule(13, MappingKind::Project, "5", "p1", None)],
    )
    .unwrap();
    let r = resolve(&rules, &optional_task(), &zammad());
    let (e, lines) = mapped(&r);
    assert_eq!(e.activity, None);
    assert_eq!(e.project.as_ref().unwrap().key, "p1");
    assert!(
        lines
            .iter()
            .any(|l| l == "activity: written without activity: the target does not require one"),
        "{lines:?}"
    );
    // A required activity left unmapped is still a conflict.
    let r = resolve(&rules, &TargetSettings::default(), &zammad());
    assert!(matches!(&r, MappingResult::Unmapped { reasons, .. }
        if reasons == &[UnmappedReason::UnmappedActivity]));
    // So is an optional one whose mapping points to a task the target does not have:
    // someone meant a task, so it is never silently left out.
    let broken = MappingRules::new(
        PipelineOptions::default(),
        [
            rule(12, MappingKind::Activity, "3", "404", None),
            rule(13, MappingKind::Project, "5", "p1", None),
        ],
    )
    .unwrap();
    let r = resolve(&broken, &optional_task(), &zammad());
    assert!(
        matches!(&r, MappingResult::Unmapped { reasons, .. }
        if reasons == &[UnmappedReason::UnmappedActivity]),
        "{r:?}"
    );
}

#[test]
fn an_unused_dimension_is_neither_resolved_nor_written() {
    let rules = MappingRules::new(PipelineOptions::default(), []).unwrap();
    let attendance = TargetSettings {
        project: timebridge_core::Need::Unused,
        activity: timebridge_core::Need::Unused,
        ..TargetSettings::default()
    };
    let r = resolve(&rules, &attendance, &zammad());
    let (e, lines) = mapped(&r);
    assert_eq!((e.project.as_ref(), e.activity.as_ref()), (None, None));
    assert_eq!(e.user.as_ref().unwrap().key, "u1");
    assert!(
        lines
            .iter()
            .all(|l| !l.starts_with("project") && !l.starts_with("activity")),
        "{lines:?}"
    );
}

/// A calendar event: no project key, the project only in its description.
fn event(description: &str) -> Entry {
    let mut e = zammad();
    e.activity = None;
    e.project = None;
    e.customer = None;
    e.description = description.into();
    e
}

fn keyword_rules(default_project: Option<&str>) -> MappingRules {
    MappingRules::new(
        PipelineOptions {
            default_project: default_project.map(str::to_owned),
            default_activity: Some("7".into()),
            ..PipelineOptions::default()
        },
        [
            rule(21, MappingKind::Project, "Acme Corp", "p1", None),
            rule(20, MappingKind::Project, "support", "p0", None),
        ],
    )
    .unwrap()
    .with_project_rule(ProjectRule::KeywordInDescription)
}

#[test]
fn a_keyword_in_the_description_picks_the_project_and_the_lowest_mapping_id_wins() {
    let rules = keyword_rules(None);
    let r = resolve(
        &rules,
        &TargetSettings::default(),
        &event("ACME corp: Support call"),
    );
    let (entry, lines) = mapped(&r);
    assert_eq!(entry.project.as_ref().unwrap().key, "p0", "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("mapping #20") && l.contains("keyword")),
        "{lines:?}"
    );
    let r = resolve(
        &rules,
        &TargetSettings::default(),
        &event("Call with acme corp."),
    );
    assert_eq!(mapped(&r).0.project.as_ref().unwrap().key, "p1");
}

#[test]
fn a_keyword_matches_whole_words_only_and_otherwise_the_default_applies() {
    let rules = keyword_rules(Some("p1"));
    let r = resolve(
        &rules,
        &TargetSettings::default(),
        &event("Supporting the Acmecorp team"),
    );
    let (entry, lines) = mapped(&r);
    assert_eq!(entry.project.as_ref().unwrap().key, "p1");
    assert!(
        lines.iter().any(|l| l.contains("pipeline default")),
        "{lines:?}"
    );
    let none = keyword_rules(None);
    let r = resolve(&none, &TargetSettings::default(), &event("Lunch"));
    assert!(
        matches!(&r, MappingResult::Unmapped { reasons, .. } if reasons.contains(&UnmappedReason::UnmappedProject)),
        "{r:?}"
    );
}

#[test]
fn keywords_apply_only_to_sources_that_opt_into_them() {
    let rules = MappingRules::new(
        PipelineOptions {
            default_activity: Some("7".into()),
            ..PipelineOptions::default()
        },
        [rule(20, MappingKind::Project, "support", "p0", None)],
    )
    .unwrap();
    let r = resolve(&rules, &TargetSettings::default(), &event("Support call"));
    assert!(matches!(r, MappingResult::Unmapped { .. }), "{r:?}");
}

#[test]
fn rounding_rules_match_the_target_customer_after_mapping_and_are_explained_on_the_duration() {
    use timebridge_core::{Rounding, RoundingKeep, RoundingMode, RoundingRule};
    let options = PipelineOptions {
        rounding: Rounding {
            mode: RoundingMode::Exact,
            step_seconds: 60,
            keep: RoundingKeep::Begin,
            rules: vec![
                RoundingRule {
                    customer: None,
                    project: Some("p0".into()),
                    mode: RoundingMode::Down,
                    step_seconds: 60,
                    keep: RoundingKeep::Begin,
                },
                RoundingRule {
                    // The target customer of project p1, not the source's organization 5.
                    customer: Some("c1".into()),
                    project: None,
                    mode: RoundingMode::Up,
                    step_seconds: 900,
                    keep: RoundingKeep::End,
                },
            ],
        },
        ..PipelineOptions::default()
    };
    let rules = MappingRules::new(
        options,
        [
            rule(12, MappingKind::Activity, "3", "7", None),
            rule(13, MappingKind::Project, "5", "p1", None),
        ],
    )
    .unwrap();
    let mut source = zammad();
    source.begin += Duration::seconds(1800 - 450); // 7.5 minutes, ending where it did
    source.duration_seconds = Some(450);
    let r = resolve(&rules, &TargetSettings::default(), &source);
    let (e, lines) = mapped(&r);
    assert_eq!(e.duration_seconds, Some(900));
    assert_eq!(e.end, source.end, "keep: end");
    assert_eq!(e.begin, source.end.unwrap() - Duration::minutes(15));
    let step = lines.iter().find(|l| l.starts_with("duration: ")).unwrap();
    assert!(
        step.starts_with("duration: rounded up from 0:07:30 to 0:15 by rule #2"),
        "{step}"
    );
    let applied = r.rounding().unwrap();
    assert_eq!((applied.seconds, applied.rule), (450, Some(2)));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["rounding"]["seconds"], 450);
    let steps = json["explanation"]["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s["rule"] == "rounding" && s["field"] == "duration")
    );

    // The raw source entry stays the input: mapping it again rounds the same way.
    assert_eq!(resolve(&rules, &TargetSettings::default(), &source), r);
    // Without a policy (the default), nothing changes and nothing is explained.
    let plain = resolve(
        &standard_rules(None, None),
        &TargetSettings::default(),
        &source,
    );
    assert_eq!(mapped(&plain).0.duration_seconds, Some(450));
    assert_eq!(plain.rounding(), None);
}
