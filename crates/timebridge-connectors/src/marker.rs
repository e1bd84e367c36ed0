//! The link marker a target entry carries for the source entry it records:
//! `[tb-<system>-<key>]` at the end of the description.
//!
//! It survives any target that keeps the description, lets a crashed run find what it
//! already wrote, and is one word for searches that split on whitespace. It contains no
//! `:` (Kimai's `term` search would read `name:value` as a meta-field query) and no `%`,
//! `_` or quote, so a `LIKE` search matches it literally. A kind whose name has `_`
//! (`google_calendar`) is written with `.` there (`[tb-google.calendar-…]`; kind names
//! never hold a `.`) and read back as its kind.

use std::fmt;

/// A source entry's identity as written into a target description.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Marker {
    /// Source connector kind, e.g. `zammad`.
    pub system: String,
    /// The source entry's key, e.g. the Zammad time accounting id.
    pub key: String,
}

const OPEN: &str = "[tb-";

fn valid_part(s: &str, allow_dash: bool) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || (allow_dash && b == b'-'))
}

impl Marker {
    /// A marker for `key` of `system`, if both are made of characters a marker may hold
    /// (ASCII letters and digits, `.`, and `-` inside the key).
    pub fn new(system: &str, key: &str) -> Option<Marker> {
        let written = system.replace('_', ".");
        (valid_part(&written, false) && valid_part(key, true)).then(|| Marker {
            system: system.to_owned(),
            key: key.to_owned(),
        })
    }

    /// Appends the marker to a description (separated by a space).
    pub fn append_to(&self, description: &str) -> String {
        let description = description.trim_end();
        if description.is_empty() {
            self.to_string()
        } else {
            format!("{description} {self}")
        }
    }

    /// Every marker in `text`, in order.
    pub fn find_all(text: &str) -> Vec<Marker> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find(OPEN) {
            let after = &rest[start + OPEN.len()..];
            let Some(end) = after.find(']') else { break };
            let inner = &after[..end];
            if let Some((system, key)) = inner.split_once('-')
                && let Some(m) = Marker::new(&system.replace('.', "_"), key)
            {
                out.push(m);
            }
            rest = &after[end..];
        }
        out
    }

    /// Splits a target description into the text without its markers and the markers it
    /// carries: each marker goes with the one space [`Marker::append_to`] put before it,
    /// and trailing whitespace is dropped, so `strip(append_to(d))` gives back `d` with
    /// its end trimmed, and nothing else changed.
    pub fn strip(text: &str) -> (String, Vec<Marker>) {
        let markers = Marker::find_all(text);
        let mut clean = text.to_owned();
        for m in &markers {
            let rendered = m.to_string();
            let spaced = format!(" {rendered}");
            if clean.contains(&spaced) {
                clean = clean.replacen(&spaced, "", 1);
            } else {
                clean = clean.replacen(&rendered, "", 1);
            }
        }
        (clean.trim_end().to_owned(), markers)
    }
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{OPEN}{}-{}]", self.system.replace('_', "."), self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_marker_round_trips_through_a_description() {
        let m = Marker::new("zammad", "4711").unwrap();
        let d = m.append_to("#31001 Printer on fire");
        assert_eq!(d, "#31001 Printer on fire [tb-zammad-4711]");
        let (clean, found) = Marker::strip(&d);
        assert_eq!(clean, "#31001 Printer on fire");
        assert_eq!(found, vec![m]);
    }

    #[test]
    fn a_marker_is_one_search_word_without_a_colon() {
        let m = Marker::new("zammad", "12").unwrap().to_string();
        assert!(!m.contains(':'));
        assert_eq!(m.split_whitespace().count(), 1);
        assert!(!"[tb-zammad-123]".contains(&m));
    }

    #[test]
    fn text_that_only_looks_like_a_marker_is_ignored() {
        assert!(Marker::find_all("see [tb-] and [tb-zammad-] and [tb-x-a b]").is_empty());
        assert!(Marker::new("zam mad", "1").is_none());
        assert!(Marker::new("zammad", "1:2").is_none());
    }

    #[test]
    fn a_kind_with_an_underscore_is_written_with_a_dot_and_read_back() {
        let m = Marker::new("google_calendar", "abc.20260302T073000Z").unwrap();
        let d = m.append_to("Standup");
        assert_eq!(d, "Standup [tb-google.calendar-abc.20260302T073000Z]");
        assert!(!d.contains('_'));
        assert_eq!(Marker::find_all(&d), vec![m]);
    }

    proptest! {
        #[test]
        fn any_description_keeps_its_text_and_gives_back_its_marker(
            text in "[^\\[\\]]{0,80}",
            key in "[0-9]{1,12}",
        ) {
            let m = Marker::new("zammad", &key).unwrap();
            let (clean, found) = Marker::strip(&m.append_to(&text));
            prop_assert_eq!(found, vec![m]);
            prop_assert_eq!(clean, text.trim_end());
        }
    }
}
