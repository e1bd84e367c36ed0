//! Suggestions for a missing mapping: the target items whose e-mail equals the source's,
//! or whose name is equal or close to it (word overlap, then letter bigrams), best first.

use serde::{Deserialize, Serialize};

/// Why an item is suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionWhy {
    SameEmail,
    SameName,
    SimilarName,
}

/// One candidate target item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub key: &'a str,
    pub label: &'a str,
    pub email: Option<&'a str>,
}

/// A suggested target item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub target_key: String,
    pub target_label: String,
    pub why: SuggestionWhy,
    /// 0..=1, higher is closer.
    pub score: f64,
}

/// Names closer than this are not suggested.
const MIN_SIMILARITY: f64 = 0.5;

/// The best `limit` suggestions for a source item named `name` with e-mail `email`.
pub fn suggest(
    name: &str,
    email: Option<&str>,
    candidates: &[Candidate<'_>],
    limit: usize,
) -> Vec<Suggestion> {
    let email = email
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    let name = normalise(name);
    let mut out: Vec<Suggestion> = candidates
        .iter()
        .filter_map(|c| {
            let same_email = email.as_deref().is_some_and(|e| {
                c.email.is_some_and(|ce| ce.trim().to_lowercase() == e)
                    || c.label.to_lowercase().contains(e)
            });
            let label = normalise(c.label);
            let (why, score) = if same_email {
                (SuggestionWhy::SameEmail, 1.0)
            } else if !name.is_empty() && label == name {
                (SuggestionWhy::SameName, 0.95)
            } else {
                let s = similarity(&name, &label);
                if s < MIN_SIMILARITY {
                    return None;
                }
                (SuggestionWhy::SimilarName, s * 0.9)
            };
            Some(Suggestion {
                target_key: c.key.to_owned(),
                target_label: c.label.to_owned(),
                why,
                score,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.target_label.cmp(&b.target_label))
    });
    out.truncate(limit);
    out
}

/// Lower-cased words of letters and digits, joined by one space.
fn normalise(s: &str) -> String {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Similarity of two normalised names: the larger of the share of words they have in
/// common and the Dice coefficient of their letter bigrams.
fn similarity(a: &str, b: &str) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let wa: Vec<&str> = a.split(' ').collect();
    let wb: Vec<&str> = b.split(' ').collect();
    let common = wa.iter().filter(|w| wb.contains(w)).count();
    let words = common as f64 / wa.len().max(wb.len()) as f64;
    let bigrams = |s: &str| -> Vec<(char, char)> {
        let c: Vec<char> = s.chars().filter(|c| *c != ' ').collect();
        c.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (ba, mut bb) = (bigrams(a), bigrams(b));
    let total = ba.len() + bb.len();
    let mut shared = 0;
    for g in &ba {
        if let Some(i) = bb.iter().position(|x| x == g) {
            bb.swap_remove(i);
            shared += 1;
        }
    }
    let dice = if total == 0 {
        0.0
    } else {
        2.0 * shared as f64 / total as f64
    };
    words.max(dice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c<'a>(key: &'a str, label: &'a str, email: Option<&'a str>) -> Candidate<'a> {
        Candidate { key, label, email }
    }

    #[test]
    fn the_same_email_comes_first_then_the_same_name_then_a_close_one() {
        let list = [
            c("1", "Anna Berg", Some("anna@example.com")),
            c("2", "Elif Fisher", None),
            c("3", "elif fischer", None),
            c("4", "Someone Else", Some("elif@example.com")),
        ];
        let s = suggest("Elif Fischer", Some("Elif@Example.com "), &list, 5);
        let keys: Vec<(&str, SuggestionWhy)> =
            s.iter().map(|s| (s.target_key.as_str(), s.why)).collect();
        assert_eq!(
            keys,
            [
                ("4", SuggestionWhy::SameEmail),
                ("3", SuggestionWhy::SameName),
                ("2", SuggestionWhy::SimilarName)
            ]
        );
    }

    #[test]
    fn unrelated_names_are_not_suggested() {
        let list = [c("1", "Support", None), c("2", "Development", None)];
        assert!(suggest("Travel", None, &list, 5).is_empty());
        assert_eq!(suggest("support ", None, &list, 5)[0].target_key, "1");
    }
}
