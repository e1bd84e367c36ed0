//! Kimai's rates as a [`RateCard`]: the rates of every customer, project and activity
//! (`GET /api/{customers,projects,activities}/{id}/rates`, general or for one user, hourly
//! or fixed per timesheet), each user's own `hourly_rate` preference as the fallback, and
//! each customer's currency (Kimai bills in the customer's currency).

use serde::Deserialize;
use serde_json::Value;
use timebridge_core::rates::{Rate, RateCard, RateKind, RateRule, RateScope, cents_of};

/// One item of a `…/rates` listing.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiRate {
    /// The user object (or its id) of a user's own rate; null for everyone.
    #[serde(default)]
    pub user: Value,
    pub rate: Value,
    #[serde(default, rename = "isFixed")]
    pub is_fixed: bool,
}

impl ApiRate {
    fn user_key(&self) -> Option<String> {
        match &self.user {
            Value::Number(n) => Some(n.to_string()),
            Value::Object(o) => o.get("id").map(|id| match id {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            _ => None,
        }
    }
}

/// A user preference (`{"name","value"}`), as the user's entity view lists them.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiPreference {
    pub name: String,
    #[serde(default)]
    pub value: Value,
}

/// The rules of one owner's rates; rates that do not read as amounts are left out.
pub fn rules_of(scope: &RateScope, rates: &[ApiRate]) -> Vec<RateRule> {
    rates
        .iter()
        .filter_map(|r| {
            Some(RateRule {
                scope: scope.clone(),
                user: r.user_key(),
                rate: Rate {
                    cents: cents_of(&r.rate)?,
                    kind: if r.is_fixed {
                        RateKind::Fixed
                    } else {
                        RateKind::Hourly
                    },
                    currency: None,
                },
            })
        })
        .collect()
}

/// A user's own hourly rate (the `hourly_rate` preference), the fallback when no customer,
/// project or activity rate applies; a rate of zero (Kimai's default) counts as none.
pub fn user_rule(user_key: &str, preferences: &[ApiPreference]) -> Option<RateRule> {
    let cents = preferences
        .iter()
        .find(|p| p.name == "hourly_rate")
        .and_then(|p| cents_of(&p.value))
        .filter(|c| *c > 0)?;
    Some(RateRule {
        scope: RateScope::Everything,
        user: Some(user_key.to_owned()),
        rate: Rate::hourly(cents, None),
    })
}

/// Assembles the card: rules in a stable order (customers, projects, activities by id,
/// then users), currencies by customer.
pub fn card(rules: Vec<RateRule>, currencies: Vec<(String, Option<String>)>) -> RateCard {
    RateCard {
        rules,
        customer_currencies: currencies
            .into_iter()
            .filter_map(|(k, c)| Some((k, c.filter(|c| !c.trim().is_empty())?)))
            .collect(),
        ..RateCard::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rate_for_one_user_names_the_user_by_object_or_id() {
        let rates: Vec<ApiRate> = serde_json::from_value(json!([
            {"id": 1, "user": null, "rate": 95.5, "internalRate": null, "isFixed": false},
            {"id": 2, "user": {"id": 7, "username": "ann"}, "rate": "120", "isFixed": false},
            {"id": 3, "user": 8, "rate": 300, "isFixed": true},
            {"id": 4, "user": null, "rate": "n/a", "isFixed": false},
        ]))
        .unwrap();
        let rules = rules_of(&RateScope::Project("3".into()), &rates);
        let got: Vec<(Option<&str>, i64, RateKind)> = rules
            .iter()
            .map(|r| (r.user.as_deref(), r.rate.cents, r.rate.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                (None, 9550, RateKind::Hourly),
                (Some("7"), 12000, RateKind::Hourly),
                (Some("8"), 30000, RateKind::Fixed),
            ]
        );
    }

    #[test]
    fn a_users_hourly_rate_preference_is_a_fallback_and_zero_is_none() {
        let prefs: Vec<ApiPreference> = serde_json::from_value(json!([
            {"name": "language", "value": "en"},
            {"name": "hourly_rate", "value": "80"},
        ]))
        .unwrap();
        let rule = user_rule("5", &prefs).unwrap();
        assert_eq!(rule.scope, RateScope::Everything);
        assert_eq!((rule.user.as_deref(), rule.rate.cents), (Some("5"), 8000));
        let zero: Vec<ApiPreference> =
            serde_json::from_value(json!([{"name": "hourly_rate", "value": "0"}])).unwrap();
        assert!(user_rule("5", &zero).is_none());
    }
}
