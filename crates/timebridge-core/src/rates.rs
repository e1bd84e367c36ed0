//! A target's rates and what time not (correctly) in the target is worth under them
//! ("money at risk"). Money is integer cents throughout; nothing here sums floats.
//!
//! A [`RateCard`] is the target's rules, each for everything, a customer, a project or an
//! activity, general or for one user. The rule that applies to an entry is the most
//! specific one ([`RateScope::score`]: activity 5 > project 3 > customer 1 > everything 0,
//! a rule for the entry's user one more than the general one of its scope), which is
//! Kimai's order (its timesheet rate service) and fits Clockify (project member rate >
//! project rate > workspace member rate > workspace rate) and TimeTracker (project rate >
//! client default rate). Among equally specific rules the first listed wins.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::entry::{Entry, NamedRef};

/// How a rate prices an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateKind {
    /// Per hour of the entry's duration.
    Hourly,
    /// Once per entry, whatever its duration (Kimai's fixed rates).
    Fixed,
}

/// One rate: an amount in cents (minor units) and its currency, where the target says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rate {
    pub cents: i64,
    pub kind: RateKind,
    /// ISO 4217 code, when the target names one.
    pub currency: Option<String>,
}

impl Rate {
    /// An hourly rate of `cents`.
    pub fn hourly(cents: i64, currency: Option<String>) -> Self {
        Rate {
            cents,
            kind: RateKind::Hourly,
            currency,
        }
    }

    /// What an entry of `seconds` costs, in cents: hourly rates pro rata, rounded half away
    /// from zero to the cent (per entry, as targets compute an entry's amount); a fixed rate
    /// once.
    pub fn amount_cents(&self, seconds: i64) -> i64 {
        match self.kind {
            RateKind::Fixed => self.cents,
            RateKind::Hourly => {
                let n = i128::from(self.cents) * i128::from(seconds);
                let q = n / 3600;
                let r = n % 3600;
                let rounded = if r.abs() * 2 >= 3600 {
                    q + n.signum()
                } else {
                    q
                };
                i64::try_from(rounded).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
            }
        }
    }
}

/// Reads a decimal amount in major units (`80`, `80.5`, `"95.00"`) as cents; `None` when
/// it is not a finite number.
pub fn cents_of(value: &serde_json::Value) -> Option<i64> {
    let text = match value {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    parse_cents(&text)
}

/// Parses `"-12.345"` → -1235 (half away from zero past the cent), exactly.
fn parse_cents(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    // Scientific notation (`8e1`) is read through f64, which is exact at these scales.
    if digits.contains(['e', 'E']) {
        let f: f64 = text.parse().ok()?;
        return f.is_finite().then(|| (f * 100.0).round() as i64);
    }
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut frac_digits = frac.bytes().map(|b| i64::from(b - b'0'));
    let tenths = frac_digits.next().unwrap_or(0);
    let hundredths = frac_digits.next().unwrap_or(0);
    let round_up = frac_digits.next().is_some_and(|d| d >= 5);
    let cents = whole
        .checked_mul(100)?
        .checked_add(tenths * 10 + hundredths + i64::from(round_up))?;
    Some(if negative { -cents } else { cents })
}

/// What a rate rule is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "key", rename_all = "snake_case")]
pub enum RateScope {
    /// Every entry (a workspace rate, a user's own rate).
    Everything,
    Customer(String),
    Project(String),
    Activity(String),
}

impl RateScope {
    /// How specific the scope is; the most specific rule that applies wins.
    pub fn score(&self) -> u8 {
        match self {
            RateScope::Everything => 0,
            RateScope::Customer(_) => 1,
            RateScope::Project(_) => 3,
            RateScope::Activity(_) => 5,
        }
    }

    fn applies(&self, entry: &Entry, customer: Option<&NamedRef>) -> bool {
        let is = |r: &Option<NamedRef>, key: &str| r.as_ref().is_some_and(|r| r.key == key);
        match self {
            RateScope::Everything => true,
            RateScope::Customer(k) => customer.is_some_and(|c| &c.key == k),
            RateScope::Project(k) => is(&entry.project, k),
            RateScope::Activity(k) => is(&entry.activity, k),
        }
    }
}

/// One rule of a [`RateCard`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateRule {
    pub scope: RateScope,
    /// Only for this target user (key), else for everyone.
    pub user: Option<String>,
    pub rate: Rate,
}

/// A target's rates, complete for the master data it knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateCard {
    pub rules: Vec<RateRule>,
    /// Customer key → the currency its entries are billed in, for rules that name none
    /// (Kimai bills in the customer's currency, whichever rule gives the rate).
    #[serde(default)]
    pub customer_currencies: BTreeMap<String, String>,
    /// Project key → its customer, for targets whose entries do not name their customer
    /// (TimeTracker's projects belong to clients its directory leaves out).
    #[serde(default)]
    pub project_customers: BTreeMap<String, NamedRef>,
}

impl RateCard {
    /// The customer of a target-side entry: its own, else its project's.
    pub fn customer_of(&self, entry: &Entry) -> Option<NamedRef> {
        entry.customer.clone().or_else(|| {
            entry
                .project
                .as_ref()
                .and_then(|p| self.project_customers.get(&p.key))
                .cloned()
        })
    }

    /// The rate of a target-side entry (its customer, project, activity and user keys):
    /// the most specific rule that applies, `None` when none does. A rule without a
    /// currency takes the entry's customer's.
    pub fn rate_for(&self, entry: &Entry) -> Option<Rate> {
        let customer = self.customer_of(entry);
        let user = entry.user.as_ref().map(|u| u.key.as_str());
        let mut best: Option<(u8, &RateRule)> = None;
        for rule in &self.rules {
            if !rule.scope.applies(entry, customer.as_ref()) {
                continue;
            }
            let score = match rule.user.as_deref() {
                None => rule.scope.score() * 2,
                Some(u) if Some(u) == user => rule.scope.score() * 2 + 1,
                Some(_) => continue,
            };
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, rule));
            }
        }
        let mut rate = best.map(|(_, r)| r.rate.clone())?;
        if rate.currency.is_none() {
            rate.currency = customer
                .as_ref()
                .and_then(|c| self.customer_currencies.get(&c.key))
                .cloned();
        }
        Some(rate)
    }
}

/// Whose customer a row names: the target's (the entry is mapped) or the source's (it is
/// not, so it has no target customer yet).
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
pub enum CustomerSide {
    Target,
    Source,
}

/// Why an entry's time is not (correctly) in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AtRiskState {
    /// The next run would create or update it.
    Unsynced,
    /// An open conflict holds it.
    InConflict,
    /// An open conflict holds it because the target refuses it (or certainly will).
    Refused,
}

/// One source entry whose time is at risk, as the report sums it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtRiskEntry {
    /// The customer it is for (`None`: the entry names none, e.g. attendances).
    pub customer: Option<NamedRef>,
    pub side: CustomerSide,
    pub seconds: i64,
    pub state: AtRiskState,
    /// The rate that applies to it in the target, if the target has rates and one applies.
    pub rate: Option<Rate>,
}

/// The money at risk of one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtRiskRow {
    pub customer: Option<NamedRef>,
    pub side: CustomerSide,
    pub entries: u64,
    pub seconds_unsynced: i64,
    /// Includes `seconds_refused`.
    pub seconds_in_conflict: i64,
    pub seconds_refused: i64,
    /// Seconds of entries no rate applies to (not in `amount_cents`).
    pub seconds_unpriced: i64,
    /// The rate, when every priced entry of the row has the same one and no entry is
    /// unpriced.
    pub rate: Option<Rate>,
    /// The priced entries' amounts, summed; `None` when none is priced.
    pub amount_cents: Option<i64>,
    /// The currency of the amount, when its rates name one.
    pub currency: Option<String>,
}

/// Sums entries per customer (and side). Amounts of different currencies never add up: a
/// customer whose entries are priced in two currencies gets no amount (all its seconds
/// count as unpriced). Rows come ordered by amount (highest first), then seconds, then
/// name.
pub fn tally(entries: impl IntoIterator<Item = AtRiskEntry>) -> Vec<AtRiskRow> {
    type Key = (CustomerSide, Option<String>);
    let mut rows: BTreeMap<Key, (AtRiskRow, Vec<Rate>)> = BTreeMap::new();
    for e in entries {
        let key = (e.side, e.customer.as_ref().map(|c| c.key.clone()));
        let (row, rates) = rows.entry(key).or_insert_with(|| {
            (
                AtRiskRow {
                    customer: e.customer.clone(),
                    side: e.side,
                    entries: 0,
                    seconds_unsynced: 0,
                    seconds_in_conflict: 0,
                    seconds_refused: 0,
                    seconds_unpriced: 0,
                    rate: None,
                    amount_cents: None,
                    currency: None,
                },
                Vec::new(),
            )
        });
        if row.customer.as_ref().is_some_and(|c| c.name.is_none()) {
            row.customer.clone_from(&e.customer);
        }
        row.entries += 1;
        match e.state {
            AtRiskState::Unsynced => row.seconds_unsynced += e.seconds,
            AtRiskState::InConflict => row.seconds_in_conflict += e.seconds,
            AtRiskState::Refused => {
                row.seconds_in_conflict += e.seconds;
                row.seconds_refused += e.seconds;
            }
        }
        match e.rate {
            Some(rate) => {
                *row.amount_cents.get_or_insert(0) += rate.amount_cents(e.seconds);
                if !rates.contains(&rate) {
                    rates.push(rate);
                }
            }
            None => row.seconds_unpriced += e.seconds,
        }
    }
    let mut out: Vec<AtRiskRow> = rows
        .into_values()
        .map(|(mut row, rates)| {
            let mut currencies: Vec<&Option<String>> = rates.iter().map(|r| &r.currency).collect();
            currencies.sort();
            currencies.dedup();
            if currencies.len() > 1 {
                row.amount_cents = None;
                row.seconds_unpriced = row.seconds_unsynced + row.seconds_in_conflict;
                return row;
            }
            row.currency = rates.first().and_then(|r| r.currency.clone());
            if rates.len() == 1 && row.seconds_unpriced == 0 {
                row.rate = rates.into_iter().next();
            }
            row
        })
        .collect();
    out.sort_by(|a, b| {
        b.amount_cents
            .unwrap_or(i64::MIN)
            .cmp(&a.amount_cents.unwrap_or(i64::MIN))
            .then(
                (b.seconds_unsynced + b.seconds_in_conflict)
                    .cmp(&(a.seconds_unsynced + a.seconds_in_conflict)),
            )
            .then_with(|| {
                let name = |r: &AtRiskRow| {
                    r.customer
                        .as_ref()
                        .map(|c| c.name.clone().unwrap_or_else(|| c.key.clone()))
                };
                name(a).cmp(&name(b))
            })
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::UserRef;
    use crate::testing::source_entry;

    fn named(key: &str) -> Option<NamedRef> {
        Some(NamedRef {
            key: key.into(),
            name: Some(format!("name {key}")),
        })
    }

    fn target_entry(customer: &str, project: &str, activity: &str, user: &str) -> Entry {
        let mut e = source_entry(
            "k1",
            "a1",
            1,
            crate::testing::march_2026().end_exclusive(),
            60,
        );
        e.customer = named(customer);
        e.project = named(project);
        e.activity = named(activity);
        e.user = Some(UserRef {
            key: user.into(),
            email: None,
            name: None,
        });
        e
    }

    fn rule(scope: RateScope, user: Option<&str>, cents: i64) -> RateRule {
        RateRule {
            scope,
            user: user.map(str::to_owned),
            rate: Rate::hourly(cents, Some("EUR".into())),
        }
    }

    #[test]
    fn the_most_specific_rate_wins_and_a_users_rate_beats_the_general_one_of_its_scope() {
        let card = RateCard {
            rules: vec![
                rule(RateScope::Everything, Some("u1"), 1000),
                rule(RateScope::Customer("c1".into()), None, 2000),
                rule(RateScope::Project("p1".into()), Some("u1"), 3500),
                rule(RateScope::Project("p1".into()), None, 3000),
                rule(RateScope::Activity("a1".into()), None, 5000),
                rule(RateScope::Activity("a1".into()), Some("u2"), 5500),
            ],
            ..RateCard::default()
        };
        let cents = |e: &Entry| card.rate_for(e).map(|r| r.cents);
        assert_eq!(cents(&target_entry("c1", "p1", "a1", "u1")), Some(5000));
        assert_eq!(cents(&target_entry("c1", "p1", "a1", "u2")), Some(5500));
        assert_eq!(cents(&target_entry("c1", "p1", "a9", "u1")), Some(3500));
        assert_eq!(cents(&target_entry("c1", "p1", "a9", "u3")), Some(3000));
        assert_eq!(cents(&target_entry("c1", "p9", "a9", "u3")), Some(2000));
        assert_eq!(cents(&target_entry("c9", "p9", "a9", "u1")), Some(1000));
        assert_eq!(cents(&target_entry("c9", "p9", "a9", "u3")), None);
    }

    #[test]
    fn a_rule_without_a_currency_bills_in_the_customers() {
        let card = RateCard {
            rules: vec![RateRule {
                scope: RateScope::Activity("a1".into()),
                user: None,
                rate: Rate::hourly(5000, None),
            }],
            customer_currencies: [("c1".to_owned(), "CHF".to_owned())].into(),
            ..RateCard::default()
        };
        let rate = card.rate_for(&target_entry("c1", "p1", "a1", "u1"));
        assert_eq!(rate.and_then(|r| r.currency).as_deref(), Some("CHF"));
        let rate = card.rate_for(&target_entry("c2", "p1", "a1", "u1"));
        assert_eq!(rate.map(|r| (r.cents, r.currency)), Some((5000, None)));
    }

    #[test]
    fn a_project_names_the_customer_where_the_entry_does_not() {
        let card = RateCard {
            rules: vec![rule(RateScope::Customer("c7".into()), None, 7000)],
            project_customers: [("p1".to_owned(), named("c7").unwrap())].into(),
            ..RateCard::default()
        };
        let mut e = target_entry("c1", "p1", "a1", "u1");
        e.customer = None;
        assert_eq!(card.customer_of(&e), named("c7"));
        assert_eq!(card.rate_for(&e).map(|r| r.cents), Some(7000));
    }

    #[test]
    fn hourly_amounts_round_half_away_from_zero_per_entry_and_fixed_rates_count_once() {
        let r = Rate::hourly(8000, None);
        assert_eq!(r.amount_cents(3600), 8000);
        assert_eq!(r.amount_cents(90 * 60), 12000);
        // 80.00 per hour for 1 s is 2.22 cents.
        assert_eq!(r.amount_cents(1), 2);
        assert_eq!(Rate::hourly(1, None).amount_cents(1800), 1);
        assert_eq!(Rate::hourly(1, None).amount_cents(-1800), -1);
        let fixed = Rate {
            cents: 15000,
            kind: RateKind::Fixed,
            currency: None,
        };
        assert_eq!(fixed.amount_cents(60), 15000);
    }

    #[test]
    fn decimal_amounts_read_as_exact_cents() {
        use serde_json::json;
        assert_eq!(cents_of(&json!(80)), Some(8000));
        assert_eq!(cents_of(&json!(80.5)), Some(8050));
        assert_eq!(cents_of(&json!("95.00")), Some(9500));
        assert_eq!(cents_of(&json!(0.1)), Some(10));
        assert_eq!(cents_of(&json!("12.345")), Some(1235));
        assert_eq!(cents_of(&json!(-2.5)), Some(-250));
        assert_eq!(cents_of(&json!("x")), None);
        assert_eq!(cents_of(&json!(null)), None);
    }

    fn at_risk(customer: &str, seconds: i64, state: AtRiskState, rate: Option<i64>) -> AtRiskEntry {
        AtRiskEntry {
            customer: named(customer),
            side: CustomerSide::Target,
            seconds,
            state,
            rate: rate.map(|c| Rate::hourly(c, Some("EUR".into()))),
        }
    }

    #[test]
    fn a_row_sums_its_entries_and_names_a_rate_only_when_all_share_one() {
        let rows = tally([
            at_risk("c1", 3600, AtRiskState::Unsynced, Some(8000)),
            at_risk("c1", 1800, AtRiskState::Refused, Some(8000)),
            at_risk("c2", 3600, AtRiskState::Unsynced, Some(6000)),
            at_risk("c2", 3600, AtRiskState::InConflict, Some(9000)),
            at_risk("c3", 600, AtRiskState::InConflict, None),
        ]);
        assert_eq!(rows.len(), 3);
        let c2 = &rows[0];
        assert_eq!(c2.customer, named("c2"));
        assert_eq!(c2.rate, None);
        assert_eq!(c2.amount_cents, Some(15000));
        let c1 = &rows[1];
        assert_eq!(
            (
                c1.seconds_unsynced,
                c1.seconds_in_conflict,
                c1.seconds_refused
            ),
            (3600, 1800, 1800)
        );
        assert_eq!(c1.rate.as_ref().map(|r| r.cents), Some(8000));
        assert_eq!(c1.amount_cents, Some(12000));
        assert_eq!(c1.currency.as_deref(), Some("EUR"));
        let c3 = &rows[2];
        assert_eq!(
            (c3.amount_cents, c3.seconds_unpriced, c3.entries),
            (None, 600, 1)
        );
    }

    #[test]
    fn a_row_with_unpriced_entries_names_no_rate_but_sums_the_priced_ones() {
        let rows = tally([
            at_risk("c1", 3600, AtRiskState::Unsynced, Some(8000)),
            at_risk("c1", 3600, AtRiskState::Unsynced, None),
        ]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].rate, None);
        assert_eq!(rows[0].amount_cents, Some(8000));
        assert_eq!(rows[0].seconds_unpriced, 3600);
    }

    #[test]
    fn amounts_in_two_currencies_are_not_added_up() {
        let mut usd = at_risk("c1", 3600, AtRiskState::Unsynced, Some(8000));
        usd.rate = Some(Rate::hourly(8000, Some("USD".into())));
        let rows = tally([at_risk("c1", 3600, AtRiskState::Unsynced, Some(8000)), usd]);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].amount_cents, rows[0].currency.as_ref()),
            (None, None)
        );
        assert_eq!(rows[0].seconds_unpriced, 7200);
    }
}
