//! Exact comparison of a desired entry with a target entry, and the field diff the UI shows.
//!
//! Compared fields: project, activity and user keys; begin and end to the second (a
//! running entry has no end); duration in seconds; whether the entry is running; description byte for byte; billable; tags as a sorted,
//! de-duplicated set (the target does not keep tag order). Names, e-mails and the
//! customer (derived from the project) are display data and not compared.
//!
//! A desired `billable` of `None` means "let the target compute it", so any target value
//! matches it. Rounding by the target (Kimai rounds begin down and end up to the minute)
//! is not special-cased here: we write whole minutes, so exact comparison holds; when the
//! target still changes what we wrote, the planner's three-way rule (target unchanged
//! since our write) keeps it in sync instead of updating forever.

use serde_json::Value;

use crate::entry::{Entry, NamedRef, UserRef};

use super::types::FieldDiff;

fn named_key(r: &Option<NamedRef>) -> Option<&str> {
    r.as_ref().map(|r| r.key.as_str())
}

fn user_key(r: &Option<UserRef>) -> Option<&str> {
    r.as_ref().map(|r| r.key.as_str())
}

/// Tags as a sorted, de-duplicated list, borrowing when already canonical.
fn canonical_tags(tags: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = tags.iter().map(String::as_str).collect();
    if !v.is_sorted() {
        v.sort_unstable();
    }
    v.dedup();
    v
}

fn tags_equal(a: &[String], b: &[String]) -> bool {
    let canonical = |t: &[String]| t.is_sorted() && t.windows(2).all(|w| w[0] != w[1]);
    if canonical(a) && canonical(b) {
        return a == b;
    }
    canonical_tags(a) == canonical_tags(b)
}

/// Whether the target entry already records exactly what `desired` says.
pub(crate) fn equivalent(desired: &Entry, target: &Entry) -> bool {
    desired.duration_seconds == target.duration_seconds
        && desired.running == target.running
        && desired.begin.timestamp() == target.begin.timestamp()
        && desired.end.map(|t| t.timestamp()) == target.end.map(|t| t.timestamp())
        && named_key(&desired.project) == named_key(&target.project)
        && named_key(&desired.activity) == named_key(&target.activity)
        && user_key(&desired.user) == user_key(&target.user)
        && desired.description == target.description
        && (desired.billable.is_none() || desired.billable == target.billable)
        && tags_equal(&desired.tags, &target.tags)
}

fn opt_str(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

/// The comparable fields in which `target` differs from `desired`, in a fixed order.
pub(crate) fn diff(desired: &Entry, target: &Entry) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let mut push = |field: &str, source: Value, target: Value| {
        out.push(FieldDiff {
            field: field.to_owned(),
            source,
            target,
        });
    };
    if named_key(&desired.project) != named_key(&target.project) {
        push(
            "project",
            opt_str(named_key(&desired.project)),
            opt_str(named_key(&target.project)),
        );
    }
    if named_key(&desired.activity) != named_key(&target.activity) {
        push(
            "activity",
            opt_str(named_key(&desired.activity)),
            opt_str(named_key(&target.activity)),
        );
    }
    if user_key(&desired.user) != user_key(&target.user) {
        push(
            "user",
            opt_str(user_key(&desired.user)),
            opt_str(user_key(&target.user)),
        );
    }
    if desired.begin.timestamp() != target.begin.timestamp() {
        push(
            "begin",
            Value::String(desired.begin.to_rfc3339()),
            Value::String(target.begin.to_rfc3339()),
        );
    }
    if desired.end.map(|t| t.timestamp()) != target.end.map(|t| t.timestamp()) {
        let end = |e: &Entry| e.end.map_or(Value::Null, |t| Value::String(t.to_rfc3339()));
        push("end", end(desired), end(target));
    }
    if desired.duration_seconds != target.duration_seconds {
        push(
            "duration_seconds",
            desired.duration_seconds.into(),
            target.duration_seconds.into(),
        );
    }
    if desired.running != target.running {
        push("running", desired.running.into(), target.running.into());
    }
    if desired.description != target.description {
        push(
            "description",
            desired.description.clone().into(),
            target.description.clone().into(),
        );
    }
    if desired.billable.is_some() && desired.billable != target.billable {
        let b = |v: Option<bool>| v.map_or(Value::Null, Value::Bool);
        push("billable", b(desired.billable), b(target.billable));
    }
    if !tags_equal(&desired.tags, &target.tags) {
        let t = |v: &[String]| {
            Value::from(
                canonical_tags(v)
                    .into_iter()
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            )
        };
        push("tags", t(&desired.tags), t(&target.tags));
    }
    out
}

/// Ticket numbers referenced as `#<digits>` in a description (a `#` not preceded by a word
/// character, digits not followed by one), in order of appearance.
pub(crate) fn ticket_refs(description: &str) -> impl Iterator<Item = &str> {
    let bytes = description.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if bytes[i] == b'#' && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && bytes[end].is_ascii_digit() {
                    end += 1;
                }
                i = end.max(i + 1);
                let bounded = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
                if end > start && bounded {
                    return Some(&description[start..end]);
                }
            } else {
                i += 1;
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_references_are_found_only_as_whole_hash_numbers() {
        let refs: Vec<_> = ticket_refs("#31001 Printer, see #42; not a#7 nor #12b or #").collect();
        assert_eq!(refs, vec!["31001", "42"]);
    }
}
