//! The TimeTracker connector: construction, the connection test, the catalogs and project
//! creation (project mirroring). Reading and writing entries live in `source.rs` and
//! `target.rs`.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use timebridge_core::mirror::CatalogProject;

use super::api::{Api, ApiProject};
use crate::connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, ProjectCreator, SourceConnector,
    TargetConnector, TestReport,
};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::Request;

/// The task key that means "no task": TimeTracker's task is optional, so a pipeline can
/// map activities (or its default activity) to it and entries are written without one.
pub const NO_TASK: &str = "0";

/// The prefix of a task key that names a task by its name, resolved in the entry's own
/// project when writing (`name:Remote support`): TimeTracker's tasks belong to one project
/// each, so one mapping can then serve every project that has a task of that name.
pub const TASK_NAME_PREFIX: &str = "name:";

/// The TimeTracker connector (source and target).
#[derive(Debug)]
pub struct TimetrackerConnector {
    pub(crate) api: Api,
}

impl TimetrackerConnector {
    /// Builds the connector from its configuration (the registry's constructor).
    pub fn build(
        config: ConnectorConfig,
        ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        Ok(Arc::new(Self::new(config, ctx)?))
    }

    /// Builds the connector as its concrete type.
    pub fn new(config: ConnectorConfig, ctx: &ConnectorContext) -> ConnectorResult<Self> {
        Ok(TimetrackerConnector {
            api: Api::new(&config, ctx)?,
        })
    }

    async fn check(
        &self,
        details: &mut serde_json::Map<String, Value>,
    ) -> Result<String, TestReport> {
        let fail = |step: &str, e: &ConnectorError, d: &serde_json::Map<String, Value>| {
            TestReport::failed(step, e, Value::Object(d.clone()))
        };
        let info = self
            .api
            .info()
            .await
            .map_err(|e| fail("Reading /api/v1/info", &e, details))?
            .clone();
        details.insert("app_version".into(), json!(info.app_version));
        let zone = self
            .api
            .zone()
            .await
            .map_err(|e| fail("Reading the instance's time zone", &e, details))?;
        details.insert("timezone".into(), json!(zone.0.name()));
        self.api
            .client
            .send(
                Request::get("GET /api/v1/time-entries", "/api/v1/time-entries")
                    .query("per_page", 1),
            )
            .await
            .map_err(|e| fail("Listing time entries (read:time_entries)", &e, details))?;
        self.api
            .client
            .send(Request::get("GET /api/v1/projects", "/api/v1/projects").query("per_page", 1))
            .await
            .map_err(|e| fail("Listing projects (read:projects)", &e, details))?;
        let me = self
            .api
            .me()
            .await
            .map_err(|e| fail("Reading the token's user", &e, details))?;
        let mut warnings = Vec::new();
        match &me {
            Some(u) => {
                details.insert("user".into(), json!(u.username));
                details.insert("role".into(), json!(u.role));
                if u.role.as_deref() != Some("admin") {
                    warnings.push(
                        "the token's user is not an admin: only their own entries can be read \
                         and written",
                    );
                }
            }
            None => warnings.push(
                "the token may not read its user (read:users, i.e. read:* or admin:all): the \
                 token user cannot be used as a fallback",
            ),
        }
        let users = self
            .api
            .client
            .send(Request::get("GET /api/v1/users", "/api/v1/users").query("per_page", 1))
            .await;
        match users {
            Ok(_) => {}
            Err(ConnectorError::Forbidden { .. }) => warnings.push(
                "the token may not list users (admin:all): people cannot be matched by e-mail",
            ),
            Err(e) => return Err(fail("Listing users", &e, details)),
        }
        details.insert("warnings".into(), json!(warnings));
        let who = me
            .and_then(|u| u.username)
            .unwrap_or_else(|| "an unknown user".into());
        let mut message = format!(
            "Connected to TimeTracker {} as {who}; times are in {}",
            info.app_version.as_deref().unwrap_or("?"),
            zone.0.name()
        );
        for w in warnings {
            message.push_str("; warning: ");
            message.push_str(w);
        }
        Ok(message)
    }
}

fn project_item(p: &ApiProject) -> CatalogItem {
    CatalogItem {
        key: p.id.to_string(),
        label: p.name.clone(),
        extra: json!({"client_id": p.client_id, "client": p.client, "active": p.active(),
                      "billable": p.billable, "hourly_rate": p.hourly_rate}),
    }
}

#[async_trait]
impl Connector for TimetrackerConnector {
    fn kind(&self) -> &'static str {
        "timetracker"
    }

    async fn test(&self) -> TestReport {
        let mut details = serde_json::Map::new();
        details.insert("base_url".into(), json!(self.api.client.base_url()));
        match self.check(&mut details).await {
            Ok(message) => TestReport {
                ok: true,
                message,
                details: Value::Object(details),
            },
            Err(report) => report,
        }
    }

    async fn catalog(&self, what: &str) -> ConnectorResult<Vec<CatalogItem>> {
        let mut items: Vec<CatalogItem> = match what {
            "projects" => self
                .api
                .projects(true)
                .await?
                .iter()
                .map(project_item)
                .collect(),
            "tasks" => {
                let (tasks, projects) =
                    futures::try_join!(self.api.tasks(), self.api.projects(true))?;
                let mut items: Vec<CatalogItem> = tasks
                    .into_iter()
                    .map(|t| {
                        let project = projects.iter().find(|p| p.id == t.project_id);
                        CatalogItem {
                            key: t.id.to_string(),
                            label: match project {
                                Some(p) => format!("{} / {}", p.name, t.name),
                                None => t.name.clone(),
                            },
                            extra: json!({"project_id": t.project_id, "name": t.name}),
                        }
                    })
                    .collect();
                let mut names: Vec<String> = items
                    .iter()
                    .filter_map(|i| i.extra["name"].as_str().map(str::to_owned))
                    .collect();
                names.sort_by_key(|n| n.to_lowercase());
                names.dedup_by_key(|n| n.to_lowercase());
                for name in names {
                    items.push(CatalogItem {
                        key: format!("{TASK_NAME_PREFIX}{name}"),
                        label: format!("{name} (in the entry's project)"),
                        extra: json!({"project_id": null, "name": name}),
                    });
                }
                items.push(CatalogItem {
                    key: NO_TASK.into(),
                    label: "(no task)".into(),
                    extra: json!({"project_id": null}),
                });
                items
            }
            "clients" => self
                .api
                .clients()
                .await?
                .into_iter()
                .map(|c| CatalogItem {
                    key: c.id.to_string(),
                    label: c.name,
                    extra: json!({"default_hourly_rate": c.default_hourly_rate}),
                })
                .collect(),
            "users" => {
                let (users, _) = self.api.users().await?;
                users
                    .into_iter()
                    .map(|u| {
                        let name = u.name().unwrap_or_else(|| u.id.to_string());
                        CatalogItem {
                            key: u.id.to_string(),
                            label: match &u.email {
                                Some(e) if !e.is_empty() => format!("{name} <{e}>"),
                                _ => name,
                            },
                            extra: json!({"email": u.email, "username": u.username,
                                          "active": u.is_active.unwrap_or(true)}),
                        }
                    })
                    .collect()
            }
            other => {
                return Err(ConnectorError::NotFound {
                    message: format!(
                        "TimeTracker has no catalog {other:?} (projects, tasks, clients, users)"
                    ),
                });
            }
        };
        items.sort_by_cached_key(|i| i.label.to_lowercase());
        Ok(items)
    }

    fn as_source(&self) -> Option<&dyn SourceConnector> {
        Some(self)
    }

    fn as_target(&self) -> Option<&dyn TargetConnector> {
        Some(self)
    }
}

#[async_trait]
impl ProjectCreator for TimetrackerConnector {
    async fn projects(&self) -> ConnectorResult<Vec<CatalogProject>> {
        Ok(self
            .api
            .projects(true)
            .await?
            .into_iter()
            .map(|p| CatalogProject {
                key: p.id.to_string(),
                active: p.active(),
                name: p.name,
            })
            .collect())
    }

    async fn create_project(
        &self,
        name: &str,
        client_key: Option<&str>,
    ) -> ConnectorResult<CatalogProject> {
        let Some(client) = client_key.and_then(|c| c.trim().parse::<i64>().ok()) else {
            return Err(ConnectorError::Config(
                "TimeTracker projects belong to a client: set the client (mirror_projects.\
                 client_key) new projects are created under"
                    .into(),
            ));
        };
        let body: Value = self
            .api
            .client
            .json(Request::post(
                "POST /api/v1/projects",
                "/api/v1/projects",
                json!({"name": name, "client_id": client, "billable": true}),
            ))
            .await?;
        let p: ApiProject = serde_json::from_value(body["project"].clone()).map_err(|e| {
            ConnectorError::Protocol {
                host: self.api.client.host().to_owned(),
                message: format!("the created project is not the documented JSON ({e})"),
            }
        })?;
        Ok(CatalogProject {
            key: p.id.to_string(),
            active: p.active(),
            name: p.name,
        })
    }
}
