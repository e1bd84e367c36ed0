//! Clock events into worked intervals, per person (pure).
//!
//! A person's active punches (archived ones are removals and are left out) in time order
//! (ties by id):
//! - an `In` without `breakId` starts work; the work ends at the person's next punch,
//!   whatever it is: an `Out`, a break's `In`, or another work `In` (Jibble's switch of
//!   activity or project while clocked in). Where the `In` names its successor
//!   (`nextTimeEntryId`) and that punch was read, the successor is that punch;
//! - a break's `In` (`breakId`) starts a break: not worked time; the break ends at the
//!   next punch (a work `In` resumes work, an `Out` ends the day);
//! - an `Out` with no work or break open before it (its `In` lies before the read, or was
//!   removed) ends nothing and is counted as an orphan;
//! - a work `In` with no later punch is running (clocked in now).
//!
//! The interval's key is its `In`'s id; an `Out` with `clientType: AutoOut` marks an
//! interval Jibble closed itself.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::api::ApiPunch;

/// A punch with its instant read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timed<'a> {
    pub punch: &'a ApiPunch,
    pub at: DateTime<Utc>,
}

/// What a punch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Work,
    Break,
    Out,
}

fn role(p: &ApiPunch) -> Option<Role> {
    match p.kind.to_ascii_lowercase().as_str() {
        "in" if p.break_id.as_deref().is_some_and(|b| !b.is_empty()) => Some(Role::Break),
        "in" => Some(Role::Work),
        "out" => Some(Role::Out),
        _ => None,
    }
}

/// One worked interval.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interval<'a> {
    /// The work `In` (its id is the interval's key).
    pub start: Timed<'a>,
    /// The punch that ended it; `None` while the person is still clocked in.
    pub end: Option<Timed<'a>>,
}

/// The result of pairing.
#[derive(Debug, Default)]
pub(crate) struct Paired<'a> {
    pub intervals: Vec<Interval<'a>>,
    /// `Out`s that ended nothing.
    pub orphan_outs: usize,
    /// Archived punches left out.
    pub archived: usize,
    /// Punches of a type other than In/Out, left out.
    pub unknown_types: usize,
    /// Work `In`s without a later punch in the read whose `nextTimeEntryId` names one
    /// that was not read (a session ending beyond the read): the `In`'s instant and the
    /// named id, to look up.
    pub dangling: Vec<(DateTime<Utc>, String)>,
}

/// Pairs `punches` (each once; unreadable times were refused before) into intervals.
pub(crate) fn pair<'a>(punches: &[Timed<'a>]) -> Paired<'a> {
    let mut out = Paired::default();
    let mut by_person: BTreeMap<&str, Vec<Timed<'a>>> = BTreeMap::new();
    for t in punches {
        if t.punch.archived() {
            out.archived += 1;
        } else if role(t.punch).is_none() {
            out.unknown_types += 1;
        } else {
            by_person.entry(&t.punch.person_id).or_default().push(*t);
        }
    }
    for list in by_person.values_mut() {
        list.sort_by(|a, b| a.at.cmp(&b.at).then(a.punch.id.cmp(&b.punch.id)));
        let index: HashMap<&str, usize> = list
            .iter()
            .enumerate()
            .map(|(i, t)| (t.punch.id.as_str(), i))
            .collect();
        let mut open = false;
        for (i, t) in list.iter().enumerate() {
            match role(t.punch) {
                Some(Role::Work) => {
                    let named = t
                        .punch
                        .next_time_entry_id
                        .as_deref()
                        .filter(|n| !n.is_empty());
                    let chained = named
                        .and_then(|n| index.get(n))
                        .map(|j| list[*j])
                        .filter(|n| n.at >= t.at);
                    let end = chained.or_else(|| list.get(i + 1).copied());
                    if end.is_none()
                        && let Some(n) = named
                    {
                        out.dangling.push((t.at, n.to_owned()));
                    }
                    out.intervals.push(Interval { start: *t, end });
                    open = true;
                }
                Some(Role::Break) => open = true,
                Some(Role::Out) => {
                    if !open {
                        out.orphan_outs += 1;
                    }
                    open = false;
                }
                None => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn punch(id: &str, kind: &str, time: &str) -> ApiPunch {
        ApiPunch {
            id: id.into(),
            person_id: "p1".into(),
            kind: kind.into(),
            time: time.into(),
            project_id: None,
            activity_id: None,
            break_id: None,
            client_type: None,
            status: Some("Active".into()),
            note: None,
            next_time_entry_id: None,
        }
    }

    fn timed(list: &[ApiPunch]) -> Vec<Timed<'_>> {
        list.iter()
            .map(|p| Timed {
                punch: p,
                at: p.time.parse().unwrap(),
            })
            .collect()
    }

    fn spans(p: &Paired<'_>) -> Vec<(String, Option<String>)> {
        p.intervals
            .iter()
            .map(|i| (i.start.punch.id.clone(), i.end.map(|e| e.punch.id.clone())))
            .collect()
    }

    #[test]
    fn a_break_splits_the_day_and_is_not_worked_time() {
        let mut b = punch("b", "In", "2026-03-02T12:00:00Z");
        b.break_id = Some("lunch".into());
        let list = vec![
            punch("out", "Out", "2026-03-02T17:00:00Z"),
            punch("in", "In", "2026-03-02T08:00:00Z"),
            b,
            punch("back", "In", "2026-03-02T12:30:00Z"),
        ];
        let p = pair(&timed(&list));
        assert_eq!(
            spans(&p),
            vec![
                ("in".into(), Some("b".into())),
                ("back".into(), Some("out".into()))
            ]
        );
        assert_eq!(p.orphan_outs, 0);
    }

    #[test]
    fn two_ins_in_a_row_are_a_switch_and_a_trailing_in_is_running() {
        let list = vec![
            punch("a", "In", "2026-03-02T08:00:00Z"),
            punch("b", "In", "2026-03-02T10:00:00Z"),
        ];
        let p = pair(&timed(&list));
        assert_eq!(
            spans(&p),
            vec![("a".into(), Some("b".into())), ("b".into(), None)]
        );
    }

    #[test]
    fn an_out_without_an_in_ends_nothing_and_archived_punches_are_left_out() {
        let mut gone = punch("gone", "In", "2026-03-02T08:00:00Z");
        gone.status = Some("Archived".into());
        let list = vec![
            gone,
            punch("out", "Out", "2026-03-02T17:00:00Z"),
            punch("x", "Break", "2026-03-02T17:30:00Z"),
        ];
        let p = pair(&timed(&list));
        assert!(p.intervals.is_empty());
        assert_eq!((p.orphan_outs, p.archived, p.unknown_types), (1, 1, 1));
    }

    #[test]
    fn the_named_successor_wins_over_the_order_and_a_missing_one_is_looked_up() {
        let mut a = punch("a", "In", "2026-03-02T08:00:00Z");
        a.next_time_entry_id = Some("c".into());
        let mut d = punch("d", "In", "2026-03-03T08:00:00Z");
        d.next_time_entry_id = Some("not-read".into());
        let list = vec![
            a,
            punch("b", "Out", "2026-03-02T08:00:00Z"),
            punch("c", "Out", "2026-03-02T16:00:00Z"),
            d,
        ];
        let p = pair(&timed(&list));
        assert_eq!(
            spans(&p),
            vec![("a".into(), Some("c".into())), ("d".into(), None)]
        );
        assert_eq!(
            p.dangling,
            vec![(
                "2026-03-03T08:00:00Z".parse().unwrap(),
                "not-read".to_owned()
            )]
        );
    }

    #[test]
    fn people_are_paired_separately() {
        let mut other = punch("o", "Out", "2026-03-02T09:00:00Z");
        other.person_id = "p2".into();
        let list = vec![
            punch("a", "In", "2026-03-02T08:00:00Z"),
            other,
            punch("z", "Out", "2026-03-02T10:00:00Z"),
        ];
        let p = pair(&timed(&list));
        assert_eq!(spans(&p), vec![("a".into(), Some("z".into()))]);
        assert_eq!(p.orphan_outs, 1);
    }
}
