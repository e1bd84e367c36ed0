//! Clockify as a source (entries of the configured users, by window) and as a project
//! creator (project mirroring, under a client).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use serde_json::json;
use timebridge_core::mirror::CatalogProject;

use super::api::{ApiProject, ApiTask};
use super::connector::ClockifyConnector;
use crate::connector::{ProjectCreator, SourceBatch, SourceConnector, SourceQuery, SourceScope};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::Request;

fn catalog(p: &ApiProject) -> CatalogProject {
    CatalogProject {
        key: p.id.clone(),
        name: p.name.clone(),
        active: !p.is_archived(),
    }
}

#[async_trait]
impl SourceConnector for ClockifyConnector {
    async fn fetch(&self, query: &SourceQuery) -> ConnectorResult<SourceBatch> {
        let m = self.master().await?;
        let users: Vec<String> = if self.user_ids.is_empty() {
            m.users.iter().map(|u| u.id.clone()).collect()
        } else {
            self.user_ids.clone()
        };
        // One paged read per user, hydrated so that task names come without task reads.
        let list = self
            .entries_of_users(users, &query.window, true, false)
            .await?;
        let no_tasks: HashMap<&str, &ApiTask> = HashMap::new();
        let mut entries = Vec::new();
        let mut known_keys = HashSet::new();
        let mut seen = HashSet::new();
        for e in list {
            if !seen.insert(e.id.clone()) {
                continue;
            }
            let description = e.description.clone().unwrap_or_default();
            let entry = self.normalize(&m, &no_tasks, &e, description)?;
            if query.window.contains(entry.begin) {
                entries.push(entry);
            } else {
                known_keys.insert(entry.key);
            }
        }
        // Linked entries the padded window did not hold: do they still exist?
        let missing: Vec<String> = query
            .linked_keys
            .iter()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        let mut notes = Vec::new();
        if !missing.is_empty() {
            for e in self.entries_by_ids(&missing).await? {
                known_keys.insert(e.id);
            }
            notes.push(format!(
                "{} linked entries lie outside the window; looked up by id",
                missing.len()
            ));
        }
        Ok(SourceBatch {
            entries,
            known_keys,
            scope: SourceScope::Everything,
            notes,
            memory: None,
        })
    }

    fn as_project_creator(&self) -> Option<&dyn ProjectCreator> {
        Some(self)
    }
}

#[async_trait]
impl ProjectCreator for ClockifyConnector {
    async fn projects(&self) -> ConnectorResult<Vec<CatalogProject>> {
        Ok(self.list_projects().await?.iter().map(catalog).collect())
    }

    async fn create_project(
        &self,
        name: &str,
        client_key: Option<&str>,
    ) -> ConnectorResult<CatalogProject> {
        let mut body = json!({"name": name.trim(), "isPublic": true, "billable": true});
        if let Some(c) = client_key.filter(|c| !c.is_empty()) {
            body["clientId"] = json!(c);
        }
        let req = Request::post(
            "POST /workspaces/{ws}/projects",
            self.ws_path("/projects"),
            body,
        );
        match self.client.json::<ApiProject>(req).await {
            Ok(p) => Ok(catalog(&p)),
            // It exists already (an earlier create whose answer was lost): adopt it.
            Err(e @ ConnectorError::Rejected { .. }) if matches!(&e, ConnectorError::Rejected { fields, .. } if fields.contains_key("name")) =>
            {
                let found: Vec<ApiProject> = self
                    .list_all(
                        "GET /workspaces/{ws}/projects",
                        self.ws_path("/projects"),
                        vec![
                            ("name", name.trim().to_owned()),
                            ("strict-name-search", "true".to_owned()),
                        ],
                    )
                    .await?;
                found
                    .iter()
                    .filter(|p| p.name.trim().eq_ignore_ascii_case(name.trim()))
                    .find(|p| client_key.is_none_or(|c| p.client() == Some(c)))
                    .map(catalog)
                    .ok_or(e)
            }
            Err(e) => Err(e),
        }
    }
}
