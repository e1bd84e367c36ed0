//! Jibble's wire types (OData envelope, people, activities and projects, clock events)
//! and the reading of its error answers.

use serde::Deserialize;
use serde_json::Value;

use crate::error::ConnectorError;
use crate::http::{ErrorContext, default_error, error_message};

/// OData's list envelope.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.count", default)]
    pub count: Option<u64>,
}

/// A person of the workspace.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiPerson {
    pub id: String,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub preferred_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
}

impl ApiPerson {
    pub fn label(&self) -> String {
        self.full_name
            .clone()
            .or_else(|| self.preferred_name.clone())
            .filter(|n| !n.trim().is_empty())
            .or_else(|| self.email.clone())
            .unwrap_or_else(|| self.id.clone())
    }
}

/// An activity or a project.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ApiNamed {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

/// One clock event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiPunch {
    pub id: String,
    pub person_id: String,
    /// `In` or `Out`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The UTC instant.
    pub time: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub activity_id: Option<String>,
    #[serde(default)]
    pub break_id: Option<String>,
    #[serde(default)]
    pub client_type: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub next_time_entry_id: Option<String>,
}

impl ApiPunch {
    /// Removed in Jibble (`status: Archived`).
    pub fn archived(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("archived"))
    }

    /// Closed by Jibble itself ("forgot to clock out").
    pub fn auto_out(&self) -> bool {
        self.client_type
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("autoout"))
    }
}

/// Reads Jibble's error answers: OData's `{"error":{"code","message"}}` (UNCONFIRMED),
/// else whatever message the body has; the status decides the class.
pub(crate) fn jibble_error(ctx: &ErrorContext<'_>) -> ConnectorError {
    let message = serde_json::from_slice::<Value>(ctx.body)
        .ok()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["error_description"].as_str())
                .or_else(|| v["message"].as_str())
                .map(str::to_owned)
        })
        .filter(|m| !m.is_empty());
    let Some(message) = message else {
        if ctx.status == 401 {
            return ConnectorError::Unauthorized {
                status: 401,
                message: "the access token was refused".into(),
            };
        }
        return default_error(ctx);
    };
    match default_error(ctx) {
        ConnectorError::Unauthorized { status, .. } => {
            ConnectorError::Unauthorized { status, message }
        }
        ConnectorError::Forbidden { .. } => ConnectorError::Forbidden { message },
        ConnectorError::NotFound { .. } => ConnectorError::NotFound {
            message: format!("{} ({message})", ctx.route),
        },
        ConnectorError::Rejected { fields, .. } => ConnectorError::Rejected { message, fields },
        ConnectorError::Remote { host, status, .. } => ConnectorError::Remote {
            host,
            status,
            message: if message.is_empty() {
                error_message(status, ctx.body)
            } else {
                message
            },
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_odata_error_body_gives_its_message_and_the_status_its_class() {
        let headers = http::HeaderMap::new();
        let ctx = ErrorContext {
            host: "time-tracking.prod.jibble.io",
            route: "GET /TimeEntries",
            status: 400,
            headers: &headers,
            body: br#"{"error":{"code":"BadRequest","message":"Could not find a property named 'x'."}}"#,
        };
        let e = jibble_error(&ctx);
        assert_eq!(e.class(), crate::ErrorClass::Rejected);
        assert!(e.to_string().contains("property named 'x'"), "{e}");
        let ctx = ErrorContext {
            status: 401,
            body: b"",
            ..ctx
        };
        assert_eq!(jibble_error(&ctx).class(), crate::ErrorClass::Unauthorized);
    }
}
