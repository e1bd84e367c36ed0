//! Rounding policy per pipeline (`options.rounding` in the API contract): bookkeeping
//! rules such as "round each entry of customer X up to 15 minutes", applied to the
//! desired entry after mapping, so the planner, dry runs, the rule simulator and every
//! target see the same rounded entry.
//!
//! - The input is always the source's raw duration: rounding never applies twice, and an
//!   unchanged source entry maps to the same rounded entry run after run.
//! - Rules are numbered #1, #2, … in order; the first whose `customer` and `project`
//!   (target keys of the desired entry; `None` matches anything) match wins, else the
//!   pipeline's default.
//! - `exact` (the default) changes nothing.
//! - Only finished entries with a positive duration are rounded: a running entry is
//!   rounded once it ends, zero and negative durations stay `negative_duration`.
//! - A positive duration is never rounded to zero: `down` or `nearest` below one step
//!   gives one step (an entry of zero length would not be written at all, and the work
//!   was done).
//! - `keep` says which edge stays: `begin` (the end moves) or `end` (the begin moves).

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::entry::Entry;

/// The smallest and largest step, in seconds (one second to one day).
pub const STEP_RANGE: std::ops::RangeInclusive<i64> = 1..=86_400;

/// How a duration is rounded to a multiple of the step.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// No rounding: the entry is written as the source has it.
    #[default]
    Exact,
    /// To the nearest multiple (a half step rounds up).
    Nearest,
    /// Up to the next multiple.
    Up,
    /// Down to the previous multiple.
    Down,
}

impl RoundingMode {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RoundingMode::Exact => "exact",
            RoundingMode::Nearest => "nearest",
            RoundingMode::Up => "up",
            RoundingMode::Down => "down",
        }
    }
}

/// Which edge of a rounded entry stays where the source has it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RoundingKeep {
    /// The begin stays; the end moves.
    #[default]
    Begin,
    /// The end stays; the begin moves.
    End,
}

fn default_step() -> i64 {
    60
}

/// One rounding rule: applies to the entries of a target customer and/or project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoundingRule {
    /// Target customer key the rule applies to; null: any customer.
    #[serde(default)]
    pub customer: Option<String>,
    /// Target project key the rule applies to; null: any project.
    #[serde(default)]
    pub project: Option<String>,
    pub mode: RoundingMode,
    /// The step in seconds, 1 to 86400 [60].
    #[serde(default = "default_step")]
    pub step_seconds: i64,
    /// Which edge stays [begin].
    #[serde(default)]
    pub keep: RoundingKeep,
}

/// The `rounding` pipeline option. Absent means `{"mode":"exact"}`: no rounding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rounding {
    /// The pipeline's default mode, used when no rule matches [exact].
    #[serde(default)]
    pub mode: RoundingMode,
    /// The default step in seconds, 1 to 86400 [60].
    #[serde(default = "default_step")]
    pub step_seconds: i64,
    /// Which edge stays [begin].
    #[serde(default)]
    pub keep: RoundingKeep,
    /// Rules by customer and/or project, numbered #1, #2, … in order; the first that
    /// matches wins.
    #[serde(default)]
    pub rules: Vec<RoundingRule>,
}

impl Default for Rounding {
    fn default() -> Self {
        Rounding {
            mode: RoundingMode::Exact,
            step_seconds: default_step(),
            keep: RoundingKeep::Begin,
            rules: Vec::new(),
        }
    }
}

/// What rounding did to one entry (kept on the link and shown with the entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppliedRounding {
    /// Signed seconds rounding added to the source's duration (negative: shortened).
    pub seconds: i64,
    /// The rule (#1, #2, …) that applied; null: the pipeline's default.
    pub rule: Option<u32>,
}

/// A step, the mode and the edge to keep: what one rule or the default says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub mode: RoundingMode,
    pub seconds: i64,
    pub keep: RoundingKeep,
}

/// `duration` rounded by `mode` to a multiple of `step` (clamped to [`STEP_RANGE`]).
/// Zero and negative durations are returned unchanged; a positive one never becomes zero.
pub fn round_seconds(duration: i64, mode: RoundingMode, step: i64) -> i64 {
    let step = step.clamp(*STEP_RANGE.start(), *STEP_RANGE.end());
    if duration <= 0 || mode == RoundingMode::Exact {
        return duration;
    }
    let down = duration - duration % step;
    let rounded = match mode {
        RoundingMode::Exact => duration,
        RoundingMode::Down => down,
        RoundingMode::Up if down == duration => duration,
        RoundingMode::Up => down.saturating_add(step),
        // A half step or more rounds up; `2 × rest ≥ step` keeps odd steps exact.
        RoundingMode::Nearest if 2 * (duration - down) >= step => down.saturating_add(step),
        RoundingMode::Nearest => down,
    };
    rounded.max(step)
}

/// `0:07:30` for seconds that are not whole minutes, else `0:15`; signs kept.
pub fn clock(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h}:{m:02}")
    } else {
        format!("{sign}{h}:{m:02}:{sec:02}")
    }
}

impl Rounding {
    /// Whether the policy can change any entry.
    pub fn is_exact(&self) -> bool {
        self.mode == RoundingMode::Exact && self.rules.iter().all(|r| r.mode == RoundingMode::Exact)
    }

    /// The rule (numbered from 1) that applies to `entry` (target references), else `None`
    /// with the pipeline's default.
    pub fn step_for(&self, entry: &Entry) -> (Option<u32>, Step) {
        let matches = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == have)
        };
        let customer = entry.customer.as_ref().map(|c| c.key.as_str());
        let project = entry.project.as_ref().map(|p| p.key.as_str());
        for (i, rule) in self.rules.iter().enumerate() {
            if matches(&rule.customer, customer) && matches(&rule.project, project) {
                let step = Step {
                    mode: rule.mode,
                    seconds: rule.step_seconds,
                    keep: rule.keep,
                };
                return (Some(i as u32 + 1), step);
            }
        }
        let step = Step {
            mode: self.mode,
            seconds: self.step_seconds,
            keep: self.keep,
        };
        (None, step)
    }

    /// Rounds `entry` (a desired entry: target references, the source's raw times) in
    /// place. Returns what it did and the explanation's text, or `None` when the entry is
    /// left as it is (exact, running, not positive, or already a multiple of the step).
    pub fn apply(&self, entry: &mut Entry) -> Option<(AppliedRounding, String)> {
        if entry.running {
            return None;
        }
        let duration = entry.duration_seconds.filter(|d| *d > 0)?;
        let (rule, step) = self.step_for(entry);
        let rounded = round_seconds(duration, step.mode, step.seconds);
        if rounded == duration {
            return None;
        }
        match step.keep {
            RoundingKeep::Begin => entry.end = Some(entry.begin + Duration::seconds(rounded)),
            RoundingKeep::End => {
                let end = entry
                    .end
                    .unwrap_or(entry.begin + Duration::seconds(duration));
                entry.end = Some(end);
                entry.begin = end - Duration::seconds(rounded);
            }
        }
        entry.duration_seconds = Some(rounded);
        let by = match rule {
            Some(n) => format!("rule #{n}"),
            None => "the pipeline's rounding".to_owned(),
        };
        let mut text = format!(
            "rounded {} from {} to {} by {by}",
            step.mode.as_str(),
            clock(duration),
            clock(rounded)
        );
        if duration < step.seconds && step.mode != RoundingMode::Up {
            text.push_str(&format!(
                " (raised to one step of {}: a positive duration is never rounded to zero)",
                clock(step.seconds)
            ));
        }
        if step.keep == RoundingKeep::End {
            text.push_str("; the end is kept, the begin moves");
        }
        Some((
            AppliedRounding {
                seconds: rounded - duration,
                rule,
            },
            text,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    const MODES: [RoundingMode; 4] = [
        RoundingMode::Exact,
        RoundingMode::Nearest,
        RoundingMode::Up,
        RoundingMode::Down,
    ];

    fn entry(begin: &str, seconds: i64) -> Entry {
        let begin: DateTime<Utc> = begin.parse().unwrap();
        Entry {
            system: "kimai".into(),
            key: "1".into(),
            ticket: None,
            customer: Some(crate::NamedRef {
                key: "c1".into(),
                name: None,
            }),
            project: Some(crate::NamedRef {
                key: "p1".into(),
                name: None,
            }),
            activity: None,
            user: None,
            begin,
            end: Some(begin + Duration::seconds(seconds)),
            duration_seconds: Some(seconds),
            description: String::new(),
            billable: None,
            tags: Vec::new(),
            running: false,
        }
    }

    fn policy(mode: RoundingMode, step: i64, keep: RoundingKeep) -> Rounding {
        Rounding {
            mode,
            step_seconds: step,
            keep,
            rules: Vec::new(),
        }
    }

    #[test]
    fn each_mode_rounds_seven_and_a_half_minutes_as_a_bookkeeper_expects() {
        assert_eq!(round_seconds(450, RoundingMode::Exact, 900), 450);
        assert_eq!(round_seconds(450, RoundingMode::Up, 900), 900);
        assert_eq!(round_seconds(450, RoundingMode::Nearest, 60), 480);
        assert_eq!(round_seconds(449, RoundingMode::Nearest, 60), 420);
        assert_eq!(round_seconds(1000, RoundingMode::Down, 900), 900);
        assert_eq!(round_seconds(1400, RoundingMode::Nearest, 900), 1800);
    }

    #[test]
    fn a_positive_duration_below_one_step_becomes_one_step_never_zero() {
        assert_eq!(round_seconds(450, RoundingMode::Down, 900), 900);
        assert_eq!(round_seconds(1, RoundingMode::Nearest, 900), 900);
        let mut e = entry("2026-03-02T09:00:00Z", 420);
        let (applied, text) = policy(RoundingMode::Down, 900, RoundingKeep::Begin)
            .apply(&mut e)
            .unwrap();
        assert_eq!(e.duration_seconds, Some(900));
        assert_eq!(applied.seconds, 480);
        assert!(text.contains("never rounded to zero"), "{text}");
    }

    #[test]
    fn zero_negative_and_running_entries_are_never_rounded() {
        let p = policy(RoundingMode::Up, 900, RoundingKeep::Begin);
        for d in [0, -450] {
            let mut e = entry("2026-03-02T09:00:00Z", d);
            let before = e.clone();
            assert_eq!(p.apply(&mut e), None);
            assert_eq!(e, before);
        }
        let mut e = entry("2026-03-02T09:00:00Z", 450);
        e.running = true;
        e.end = None;
        e.duration_seconds = None;
        let before = e.clone();
        assert_eq!(p.apply(&mut e), None);
        assert_eq!(e, before);
    }

    #[test]
    fn the_first_matching_rule_wins_and_says_its_number() {
        let mut p = policy(RoundingMode::Exact, 60, RoundingKeep::Begin);
        p.rules = vec![
            RoundingRule {
                customer: Some("other".into()),
                project: None,
                mode: RoundingMode::Down,
                step_seconds: 60,
                keep: RoundingKeep::Begin,
            },
            RoundingRule {
                customer: None,
                project: Some("p1".into()),
                mode: RoundingMode::Nearest,
                step_seconds: 300,
                keep: RoundingKeep::Begin,
            },
            RoundingRule {
                customer: Some("c1".into()),
                project: None,
                mode: RoundingMode::Up,
                step_seconds: 900,
                keep: RoundingKeep::End,
            },
        ];
        let mut e = entry("2026-03-02T09:00:00Z", 450);
        let (applied, text) = p.apply(&mut e).unwrap();
        assert_eq!(applied.rule, Some(2));
        assert_eq!(e.duration_seconds, Some(600));
        assert_eq!(text, "rounded nearest from 0:07:30 to 0:10 by rule #2");
        p.rules.remove(1);
        let mut e = entry("2026-03-02T09:00:00Z", 450);
        let (applied, text) = p.apply(&mut e).unwrap();
        assert_eq!(
            applied,
            AppliedRounding {
                seconds: 450,
                rule: Some(2)
            }
        );
        assert!(
            text.starts_with("rounded up from 0:07:30 to 0:15 by rule #2"),
            "{text}"
        );
        // No rule matches: the pipeline's exact default leaves it alone.
        p.rules.pop();
        let mut e = entry("2026-03-02T09:00:00Z", 450);
        assert_eq!(p.apply(&mut e), None);
    }

    #[test]
    fn the_pipeline_default_is_named_when_no_rule_applies() {
        let mut e = entry("2026-03-02T09:00:00Z", 450);
        let (applied, text) = policy(RoundingMode::Up, 900, RoundingKeep::Begin)
            .apply(&mut e)
            .unwrap();
        assert_eq!(applied.rule, None);
        assert_eq!(
            text,
            "rounded up from 0:07:30 to 0:15 by the pipeline's rounding"
        );
        assert_eq!(e.end, Some("2026-03-02T09:15:00Z".parse().unwrap()));
    }

    #[test]
    fn an_absent_policy_reads_as_exact() {
        let p: Rounding = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(p, Rounding::default());
        assert!(p.is_exact());
        let p: Rounding = serde_json::from_value(serde_json::json!({"mode": "up"})).unwrap();
        assert_eq!(p.step_seconds, 60);
        assert_eq!(p.keep, RoundingKeep::Begin);
    }

    fn any_mode() -> impl Strategy<Value = RoundingMode> {
        prop::sample::select(MODES.to_vec())
    }

    fn any_keep() -> impl Strategy<Value = RoundingKeep> {
        prop::sample::select(vec![RoundingKeep::Begin, RoundingKeep::End])
    }

    proptest! {
        #[test]
        fn rounding_a_rounded_entry_changes_nothing(
            d in 1i64..400_000, step in 1i64..=86_400, mode in any_mode(), keep in any_keep(),
        ) {
            let p = policy(mode, step, keep);
            let mut e = entry("2026-03-02T09:00:00Z", d);
            p.apply(&mut e);
            let once = e.clone();
            prop_assert_eq!(p.apply(&mut e), None);
            prop_assert_eq!(e, once);
        }

        #[test]
        fn up_never_shortens_and_down_never_lengthens_past_one_step(
            d in 1i64..400_000, step in 1i64..=86_400,
        ) {
            prop_assert!(round_seconds(d, RoundingMode::Up, step) >= d);
            let down = round_seconds(d, RoundingMode::Down, step);
            if d >= step {
                prop_assert!(down <= d);
            } else {
                prop_assert_eq!(down, step);
            }
        }

        #[test]
        fn a_rounded_duration_is_a_multiple_of_the_step_and_never_zero(
            d in 1i64..400_000, step in 1i64..=86_400, mode in any_mode(),
        ) {
            let r = round_seconds(d, mode, step);
            prop_assert!(r > 0);
            if mode != RoundingMode::Exact {
                prop_assert_eq!(r % step, 0);
                prop_assert!((r - d).abs() < step || r == step);
            } else {
                prop_assert_eq!(r, d);
            }
        }

        #[test]
        fn the_kept_edge_never_moves_and_the_times_agree_with_the_duration(
            d in 1i64..400_000, step in 1i64..=86_400, mode in any_mode(), keep in any_keep(),
            offset in 0i64..86_400,
        ) {
            let begin = "2026-03-02T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
                + Duration::seconds(offset);
            let mut e = entry(&begin.to_rfc3339(), d);
            let before = e.clone();
            policy(mode, step, keep).apply(&mut e);
            match keep {
                RoundingKeep::Begin => prop_assert_eq!(e.begin, before.begin),
                RoundingKeep::End => prop_assert_eq!(e.end, before.end),
            }
            let end = e.end.unwrap();
            prop_assert_eq!((end - e.begin).num_seconds(), e.duration_seconds.unwrap());
        }
    }
}
