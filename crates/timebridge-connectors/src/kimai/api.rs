//! Kimai's JSON as it comes over the wire, and how its error answers read.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::ConnectorError;
use crate::http::{ErrorContext, default_error, error_message};

/// `GET /api/users/me`, `GET /api/users` items.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiUser {
    pub id: i64,
    pub username: String,
    #[serde(default)]
    pub alias: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Listed only in the single-entity view (`/api/users/me`, `/api/users/{id}`).
    #[serde(default)]
    pub preferences: Option<Vec<super::rates::ApiPreference>>,
}

fn yes() -> bool {
    true
}

impl ApiUser {
    /// The name people know the user by.
    pub fn display_name(&self) -> String {
        self.alias
            .clone()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| self.username.clone())
    }
}

/// `GET /api/customers` items.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiCustomer {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default = "yes")]
    pub visible: bool,
    #[serde(default = "yes")]
    pub billable: bool,
    /// ISO 4217 code the customer is billed in.
    #[serde(default)]
    pub currency: Option<String>,
}

/// `GET /api/projects` items (`customer` is an id).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiProject {
    pub id: i64,
    pub name: String,
    pub customer: i64,
    #[serde(default, rename = "globalActivities")]
    pub global_activities: Option<bool>,
    #[serde(default = "yes")]
    pub visible: bool,
    #[serde(default = "yes")]
    pub billable: bool,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
}

/// `GET /api/activities` items (`project` null = a global activity).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiActivity {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub project: Option<i64>,
    #[serde(default = "yes")]
    pub visible: bool,
    #[serde(default = "yes")]
    pub billable: bool,
}

/// `GET /api/tags/find` items.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiTag {
    pub name: String,
}

/// `GET /api/version`.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiVersion {
    pub version: String,
}

/// A timesheet (not `full`): references are ids; rate fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiTimesheet {
    pub id: i64,
    pub begin: String,
    #[serde(default)]
    pub end: Option<String>,
    #[serde(default)]
    pub duration: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
    pub activity: i64,
    pub project: i64,
    pub user: i64,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub exported: bool,
    #[serde(default = "yes")]
    pub billable: bool,
}

/// Kimai's reading of error answers: validation failures become [`ConnectorError::Rejected`]
/// with every field message; a bare 401 (invalid bearer token) says so.
pub fn kimai_error(ctx: &ErrorContext<'_>) -> ConnectorError {
    match ctx.status {
        401 => ConnectorError::Unauthorized {
            status: 401,
            message: if ctx.body.is_empty() {
                "Kimai does not accept this API token (invalid_token)".to_owned()
            } else {
                format!("Kimai: {}", error_message(401, ctx.body))
            },
        },
        400 => {
            let body: Value = serde_json::from_slice(ctx.body).unwrap_or(Value::Null);
            let message = body["message"].as_str().unwrap_or("Bad Request").to_owned();
            let mut fields = BTreeMap::new();
            collect_form_errors("", &body["errors"], &mut fields);
            ConnectorError::Rejected { message, fields }
        }
        _ => default_error(ctx),
    }
}

/// Walks Symfony's form error tree `{"errors":[…],"children":{"field":{…}}}`.
fn collect_form_errors(path: &str, node: &Value, out: &mut BTreeMap<String, Vec<String>>) {
    if let Some(list) = node["errors"].as_array() {
        let msgs: Vec<String> = list
            .iter()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect();
        if !msgs.is_empty() {
            out.entry(path.to_owned()).or_default().extend(msgs);
        }
    }
    if let Some(children) = node["children"].as_object() {
        for (name, child) in children {
            let child_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            collect_form_errors(&child_path, child, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    #[test]
    fn validation_failures_keep_every_field_message() {
        let body = br#"{"code":400,"message":"Validation Failed","errors":{"errors":["This form should not contain extra fields."],"children":{"project":{"errors":["A project needs to be selected."]},"begin":{},"tags":{"children":{"0":{"errors":["bad"]}}}}}}"#;
        let headers = HeaderMap::new();
        let e = kimai_error(&ErrorContext {
            host: "k",
            route: "POST /api/timesheets",
            status: 400,
            headers: &headers,
            body,
        });
        let ConnectorError::Rejected { message, fields } = e else {
            panic!("not a rejection")
        };
        assert_eq!(message, "Validation Failed");
        assert_eq!(
            fields[""],
            vec!["This form should not contain extra fields."]
        );
        assert_eq!(fields["project"], vec!["A project needs to be selected."]);
        assert_eq!(fields["tags.0"], vec!["bad"]);
        assert!(!fields.contains_key("begin"));
    }

    #[test]
    fn an_invalid_token_with_an_empty_body_reads_clearly() {
        let headers = HeaderMap::new();
        let e = kimai_error(&ErrorContext {
            host: "k",
            route: "GET /api/users/me",
            status: 401,
            headers: &headers,
            body: b"",
        });
        assert!(e.to_string().contains("invalid_token"), "{e}");
    }
}
