//! The cause of a conflict: what one decision would settle for every entry it concerns.
//! Conflicts of one pipeline with the same reason and cause form a group that a person
//! fixes once (a mapping for an unmapped agent, type or organization; a change in the
//! target for a rule that refuses; a decision per entry for one-off causes).

use serde::{Deserialize, Serialize};

use super::{ConflictOrigin, ConflictReason};
use crate::entry::Entry;
use crate::mapping::{MappingKind, RefusalRule};

/// What kind of thing causes a conflict.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    /// A source person without a target user (key: the source user key).
    User,
    /// A source activity (type, task) without a target activity (key: the source key,
    /// empty when the entry names none).
    Activity,
    /// A source project (organization) without a target project (key: the source key,
    /// empty when the entry names none).
    Project,
    /// A rule of the target that refuses the entries ([`RefusalRule::key`]).
    TargetRule,
    /// Something about this one entry (key: the source key).
    Entry,
}

impl CauseKind {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::User => "user",
            CauseKind::Activity => "activity",
            CauseKind::Project => "project",
            CauseKind::TargetRule => "target_rule",
            CauseKind::Entry => "entry",
        }
    }

    /// The kind named `name`, if there is one.
    pub fn parse(name: &str) -> Option<CauseKind> {
        [
            CauseKind::User,
            CauseKind::Activity,
            CauseKind::Project,
            CauseKind::TargetRule,
            CauseKind::Entry,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }

    /// The mapping kind that settles this cause, if a mapping does.
    pub fn mapping_kind(self) -> Option<MappingKind> {
        match self {
            CauseKind::User => Some(MappingKind::User),
            CauseKind::Activity => Some(MappingKind::Activity),
            CauseKind::Project => Some(MappingKind::Project),
            CauseKind::TargetRule | CauseKind::Entry => None,
        }
    }
}

/// The cause of one conflict.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cause {
    pub kind: CauseKind,
    pub key: String,
    /// For people: the name of the agent, type, organization, or the rule in words.
    pub label: String,
}

impl Cause {
    /// The cause of a conflict with `reason` raised by `origin` about `source_key`.
    /// `source` is the conflict's source side (the desired entry when it maps, else the
    /// source entry as read); `refusal` the target rule the planner predicted, if any.
    pub fn of(
        reason: ConflictReason,
        origin: ConflictOrigin,
        source_key: &str,
        source: Option<&Entry>,
        refusal: Option<&RefusalRule>,
    ) -> Cause {
        match (reason, origin, source, refusal) {
            (ConflictReason::UnmappedUser, _, Some(e), _) => {
                let user = e.user.as_ref();
                let key = user.map(|u| u.key.clone()).unwrap_or_default();
                let label = match user {
                    Some(u) => match (u.name.as_deref(), u.email.as_deref()) {
                        (Some(n), Some(m)) => format!("{n} <{m}>"),
                        (Some(n), None) => n.to_owned(),
                        (None, Some(m)) => m.to_owned(),
                        (None, None) => u.key.clone(),
                    },
                    None => "(no person)".to_owned(),
                };
                Cause {
                    kind: CauseKind::User,
                    key,
                    label,
                }
            }
            (ConflictReason::UnmappedActivity, _, Some(e), _) => {
                named(CauseKind::Activity, e.activity.as_ref(), "(no type)")
            }
            (ConflictReason::UnmappedProject, _, Some(e), _) => named(
                CauseKind::Project,
                e.project.as_ref().or(e.customer.as_ref()),
                "(no project)",
            ),
            (ConflictReason::TargetRejected, ConflictOrigin::Planner, _, Some(rule)) => Cause {
                kind: CauseKind::TargetRule,
                key: rule.key(),
                label: rule.label(source),
            },
            _ => Cause::one_off(source_key),
        }
    }

    /// A cause that concerns one entry only.
    pub fn one_off(source_key: &str) -> Cause {
        Cause {
            kind: CauseKind::Entry,
            key: source_key.to_owned(),
            label: format!("entry {source_key}"),
        }
    }
}

fn named(kind: CauseKind, r: Option<&crate::entry::NamedRef>, none: &str) -> Cause {
    match r {
        Some(r) => Cause {
            kind,
            key: r.key.clone(),
            label: r.name.clone().unwrap_or_else(|| r.key.clone()),
        },
        None => Cause {
            kind,
            key: String::new(),
            label: none.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{NamedRef, UserRef};
    use chrono::{NaiveDate, TimeZone, Utc};

    fn entry(key: &str) -> Entry {
        Entry {
            system: "zammad".into(),
            key: key.into(),
            ticket: None,
            customer: Some(NamedRef {
                key: "7".into(),
                name: Some("Acme".into()),
            }),
            project: None,
            activity: None,
            user: Some(UserRef {
                key: "3".into(),
                email: Some("elif@example.com".into()),
                name: Some("Elif Fischer".into()),
            }),
            begin: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
            end: None,
            duration_seconds: Some(600),
            description: String::new(),
            billable: None,
            tags: Vec::new(),
            running: false,
        }
    }

    #[test]
    fn entries_of_one_unmapped_agent_share_one_cause_named_after_the_agent() {
        let a = Cause::of(
            ConflictReason::UnmappedUser,
            ConflictOrigin::Planner,
            "a",
            Some(&entry("a")),
            None,
        );
        let b = Cause::of(
            ConflictReason::UnmappedUser,
            ConflictOrigin::Planner,
            "b",
            Some(&entry("b")),
            None,
        );
        assert_eq!(a, b);
        assert_eq!(a.kind, CauseKind::User);
        assert_eq!(a.key, "3");
        assert_eq!(a.label, "Elif Fischer <elif@example.com>");
    }

    #[test]
    fn entries_without_a_type_share_one_cause_with_an_empty_key() {
        let c = Cause::of(
            ConflictReason::UnmappedActivity,
            ConflictOrigin::Planner,
            "a",
            Some(&entry("a")),
            None,
        );
        assert_eq!((c.kind, c.key.as_str()), (CauseKind::Activity, ""));
        let p = Cause::of(
            ConflictReason::UnmappedProject,
            ConflictOrigin::Planner,
            "a",
            Some(&entry("a")),
            None,
        );
        assert_eq!(
            (p.kind, p.key.as_str(), p.label.as_str()),
            (CauseKind::Project, "7", "Acme")
        );
    }

    #[test]
    fn a_predicted_refusal_is_caused_by_the_target_rule_and_a_target_refusal_by_the_entry() {
        let rule = RefusalRule::ProjectEnded {
            project: "4".into(),
            end: NaiveDate::from_ymd_opt(2026, 2, 27).unwrap(),
        };
        let predicted = Cause::of(
            ConflictReason::TargetRejected,
            ConflictOrigin::Planner,
            "a",
            Some(&entry("a")),
            Some(&rule),
        );
        assert_eq!(predicted.kind, CauseKind::TargetRule);
        assert_eq!(predicted.key, "project_ended:4");
        assert!(
            predicted.label.contains("2026-02-27"),
            "{}",
            predicted.label
        );
        let refused = Cause::of(
            ConflictReason::TargetRejected,
            ConflictOrigin::Target,
            "a",
            Some(&entry("a")),
            Some(&rule),
        );
        assert_eq!(refused, Cause::one_off("a"));
        let edited = Cause::of(
            ConflictReason::TargetModified,
            ConflictOrigin::Planner,
            "b",
            Some(&entry("b")),
            None,
        );
        assert_eq!(edited, Cause::one_off("b"));
    }

    #[test]
    fn cause_kinds_read_back_from_their_names() {
        for k in [
            CauseKind::User,
            CauseKind::Activity,
            CauseKind::Project,
            CauseKind::TargetRule,
            CauseKind::Entry,
        ] {
            assert_eq!(CauseKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(CauseKind::parse("ticket"), None);
    }
}
