//! Clockify's JSON as it comes over the wire, and how its error answers read.
//!
//! Every optional field may come as an explicit `null` (external-apis-v2.md §1.2), so all
//! of them are `Option` with a default.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::ConnectorError;
use crate::http::{ErrorContext, default_error};

/// `GET /user`, `GET /workspaces/{ws}/users` items, hydrated `user`.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiUser {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub settings: Option<ApiUserSettings>,
}

impl ApiUser {
    /// Whether the user may get new entries (Clockify: `ACTIVE`; unknown counts as active).
    pub fn active(&self) -> bool {
        self.status
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("ACTIVE"))
    }

    /// The name people know the user by.
    pub fn label(&self) -> String {
        match (&self.name, &self.email) {
            (Some(n), Some(e)) if !n.is_empty() && !e.is_empty() => format!("{n} <{e}>"),
            (Some(n), _) if !n.is_empty() => n.clone(),
            (_, Some(e)) => e.clone(),
            _ => self.id.clone(),
        }
    }
}

/// `settings` of a user.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiUserSettings {
    #[serde(default, rename = "timeZone")]
    pub time_zone: Option<String>,
}

/// `GET /workspaces` items.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiWorkspace {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The workspace's default billable rate.
    #[serde(default, rename = "hourlyRate")]
    pub hourly_rate: Option<ApiRate>,
    /// Members, with their own rate where one is set.
    #[serde(default)]
    pub memberships: Vec<ApiMembership>,
}

/// A membership of a workspace or project, with the member's own rate if set.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiMembership {
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(default, rename = "hourlyRate")]
    pub hourly_rate: Option<ApiRate>,
}

/// A rate: `amount` in minor units (cents).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiRate {
    pub amount: i64,
    #[serde(default)]
    pub currency: Option<String>,
}

/// `GET /workspaces/{ws}/clients` items.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiClient {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub archived: Option<bool>,
}

/// `GET /workspaces/{ws}/projects` items, hydrated `project`.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiProject {
    pub id: String,
    pub name: String,
    #[serde(default, rename = "clientId")]
    pub client_id: Option<String>,
    #[serde(default, rename = "clientName")]
    pub client_name: Option<String>,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub billable: Option<bool>,
    #[serde(default, rename = "hourlyRate")]
    pub hourly_rate: Option<ApiRate>,
    /// Project members, with their own project rate where one is set.
    #[serde(default)]
    pub memberships: Vec<ApiMembership>,
}

impl ApiProject {
    /// The client id, `None` when absent or empty (Clockify writes `""` for "no client").
    pub fn client(&self) -> Option<&str> {
        self.client_id.as_deref().filter(|c| !c.is_empty())
    }

    /// Archived projects still exist but take no new entries.
    pub fn is_archived(&self) -> bool {
        self.archived.unwrap_or(false)
    }
}

/// `GET /workspaces/{ws}/projects/{pid}/tasks` items, hydrated `task`.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiTask {
    pub id: String,
    pub name: String,
    #[serde(default, rename = "projectId")]
    pub project_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

impl ApiTask {
    /// `ACTIVE` (or unknown) rather than `DONE`.
    pub fn active(&self) -> bool {
        self.status
            .as_deref()
            .is_none_or(|s| !s.eq_ignore_ascii_case("DONE"))
    }
}

/// `GET /workspaces/{ws}/tags` items, hydrated `tags`.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiTag {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub archived: Option<bool>,
}

/// `timeInterval`: UTC instants; `end` and `duration` are null while the timer runs.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiInterval {
    pub start: String,
    #[serde(default)]
    pub end: Option<String>,
}

/// A time entry (hydrated fields present only with `?hydrated=true`).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiEntry {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(default, rename = "workspaceId")]
    pub workspace_id: Option<String>,
    #[serde(default, rename = "projectId")]
    pub project_id: Option<String>,
    #[serde(default, rename = "taskId")]
    pub task_id: Option<String>,
    #[serde(default, rename = "tagIds")]
    pub tag_ids: Option<Vec<String>>,
    #[serde(default)]
    pub billable: Option<bool>,
    #[serde(default, rename = "isLocked")]
    pub is_locked: Option<bool>,
    #[serde(rename = "timeInterval")]
    pub time_interval: ApiInterval,
    #[serde(default)]
    pub project: Option<ApiProject>,
    #[serde(default)]
    pub task: Option<ApiTask>,
    #[serde(default)]
    pub tags: Option<Vec<ApiTag>>,
    #[serde(default)]
    pub user: Option<ApiUser>,
}

impl ApiEntry {
    /// The project id, `None` when absent or empty.
    pub fn project(&self) -> Option<&str> {
        self.project_id.as_deref().filter(|p| !p.is_empty())
    }

    /// The task id, `None` when absent or empty.
    pub fn task(&self) -> Option<&str> {
        self.task_id.as_deref().filter(|t| !t.is_empty())
    }
}

/// What a 400 with code 501 means. Clockify gives one code for "unknown or foreign id"
/// and for every domain validation, so its message is the only signal: this enum is
/// decided in [`read_501`] and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code501 {
    /// "Time entry doesn't belong to Workspace": the entry is gone (or never existed).
    EntryMissing,
    /// The entry is locked (approval or workspace lock).
    Locked,
    /// "Project with this name already exists".
    DuplicateName,
    /// Any other validation (unknown project, task or tag, a required project, …).
    Other,
}

/// The one function that reads the wording of Clockify's code-501 messages.
pub fn read_501(message: &str) -> Code501 {
    let m = message.trim().to_lowercase();
    if m.starts_with("time entry doesn't belong to workspace") {
        Code501::EntryMissing
    } else if m.contains("locked") {
        Code501::Locked
    } else if m.contains("already exists") {
        Code501::DuplicateName
    } else {
        Code501::Other
    }
}

/// Clockify's reading of error answers (`{"message","code"}` with a numeric code).
pub fn clockify_error(ctx: &ErrorContext<'_>) -> ConnectorError {
    let body: Value = serde_json::from_slice(ctx.body).unwrap_or(Value::Null);
    let message = body["message"]
        .as_str()
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    let code = body["code"].as_u64();
    match (ctx.status, code) {
        (401, code) => ConnectorError::Unauthorized {
            status: 401,
            message: match code {
                Some(1000) => "Clockify wants exactly one of X-Api-Key or X-Addon-Token \
                               (code 1000)"
                    .to_owned(),
                Some(4003) => "Clockify does not know this API key (code 4003)".to_owned(),
                Some(4017) => "Clockify does not accept this add-on token (code 4017)".to_owned(),
                _ => format!(
                    "Clockify: {}",
                    message.unwrap_or_else(|| "Unauthorized".into())
                ),
            },
        },
        (403, _) => ConnectorError::Forbidden {
            message: format!(
                "Clockify: {} (the token's user must be a member, and an admin to read or \
                 write other users' entries)",
                message.unwrap_or_else(|| "Access Denied".into())
            ),
        },
        (400, Some(501)) => {
            let message = message.unwrap_or_else(|| "Bad Request".into());
            match read_501(&message) {
                Code501::EntryMissing => ConnectorError::NotFound { message },
                Code501::Locked => ConnectorError::Locked { message },
                Code501::DuplicateName => {
                    let mut fields = BTreeMap::new();
                    fields.insert("name".to_owned(), vec![message.clone()]);
                    ConnectorError::Rejected { message, fields }
                }
                Code501::Other => ConnectorError::Rejected {
                    message,
                    fields: BTreeMap::new(),
                },
            }
        }
        (404, _) => ConnectorError::NotFound {
            message: format!(
                "{} ({})",
                ctx.route,
                message.unwrap_or_else(|| "Not Found".into())
            ),
        },
        // A route that does not exist on this server (code 3000 with 405).
        (405, _) => ConnectorError::NotFound {
            message: format!("{}: method not supported by this server", ctx.route),
        },
        _ => default_error(ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn read(status: u16, body: &str) -> ConnectorError {
        let headers = HeaderMap::new();
        clockify_error(&ErrorContext {
            host: "api.clockify.me",
            route: "GET /workspaces/{ws}/time-entries/{id}",
            status,
            headers: &headers,
            body: body.as_bytes(),
        })
    }

    #[test]
    fn an_unknown_entry_reads_as_not_found() {
        let e = read(
            400,
            r#"{"message":"Time entry doesn't belong to Workspace","code":501}"#,
        );
        assert!(matches!(e, ConnectorError::NotFound { .. }), "{e:?}");
        assert!(e.to_string().contains("doesn't belong"), "{e}");
    }

    #[test]
    fn an_unknown_project_or_tag_is_a_rejection_with_the_servers_text() {
        for text in [
            "Project doesn't belong to Workspace",
            "Tag doesn't belong to Workspace",
            "Time entry couldn't be created. Project is either required field or given \
             project is archived.",
        ] {
            let e = read(400, &format!(r#"{{"message":"{text}","code":501}}"#));
            let ConnectorError::Rejected { message, fields } = e else {
                panic!("{text}: not a rejection");
            };
            assert_eq!(message, text);
            assert!(fields.is_empty());
        }
    }

    #[test]
    fn a_locked_entry_and_a_duplicate_name_read_by_their_text() {
        assert!(matches!(
            read(400, r#"{"message":"Time entry is locked","code":501}"#),
            ConnectorError::Locked { .. }
        ));
        let e = read(
            400,
            r#"{"message":"Project with this name already exists","code":501}"#,
        );
        assert!(
            matches!(&e, ConnectorError::Rejected { fields, .. } if fields.contains_key("name"))
        );
        assert_eq!(read_501("Webhook already exists"), Code501::DuplicateName);
    }

    #[test]
    fn each_auth_code_says_what_is_wrong() {
        let e = read(
            401,
            r#"{"message":"Multiple or none auth tokens present","code":1000}"#,
        );
        assert!(e.to_string().contains("exactly one"), "{e}");
        let e = read(401, r#"{"message":"Api key does not exist","code":4003}"#);
        assert!(e.to_string().contains("API key"), "{e}");
        let e = read(401, r#"{"message":"Token is not valid","code":4017}"#);
        assert!(e.to_string().contains("add-on token"), "{e}");
    }

    #[test]
    fn a_missing_route_is_not_found_and_a_server_fault_stays_remote() {
        assert!(matches!(
            read(404, r#"{"message":"No static resource.","code":3000}"#),
            ConnectorError::NotFound { .. }
        ));
        let e = read(500, r#"{"message":"Internal Server Error","code":500}"#);
        assert!(e.outcome_unknown());
    }
}
