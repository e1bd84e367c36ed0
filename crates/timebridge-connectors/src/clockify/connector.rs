//! The Clockify connector instance: settings, the master data it loads once per instance
//! (one instance per run), the paged reads both roles share, and the normalised entry.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use timebridge_core::entry::{Entry, NamedRef, UserRef, Window};
use tokio::sync::{Mutex, OnceCell};

use super::api::{
    ApiClient, ApiEntry, ApiProject, ApiTag, ApiTask, ApiUser, ApiWorkspace, clockify_error,
};
use crate::connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, SourceConnector, TargetConnector,
    TestReport,
};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{HttpClient, HttpSettings, Request};
use crate::seen::Seen;

/// The activity key of a task: its name. Clockify's tasks belong to projects and every
/// project has its own "Development"; keyed by name, one mapping serves all projects, and
/// a write resolves the name within the entry's project (a project without such a task
/// refuses the entry).
pub(crate) fn task_key(name: &str) -> String {
    name.trim().to_owned()
}

/// Page size of every list (Clockify's maximum is reported as 5000, UNCONFIRMED; a smaller
/// cap is harmless: paging follows `Last-Page`, not the length).
pub(crate) const PAGE_SIZE: usize = 1000;
/// How far a list window reaches beyond the asked one: Clockify may read the bounds as wall
/// clock in the account's zone (up to 14 h away), so a day on each side and the exact
/// filter here.
pub(crate) const WINDOW_PAD_DAYS: i64 = 1;
/// Ids per batch read.
const BATCH_SIZE: usize = 100;

/// What one instance loads once: the token's user and the workspace's master data.
#[derive(Debug)]
pub(crate) struct Master {
    pub me: ApiUser,
    pub users: Vec<ApiUser>,
    pub projects: HashMap<String, ApiProject>,
    pub clients: HashMap<String, ApiClient>,
    pub tags: HashMap<String, ApiTag>,
}

/// What an update needs of a stored entry: a locked one is refused without a request, and
/// its user decides whether the update is possible (Clockify cannot move an entry).
#[derive(Debug, Clone)]
pub(crate) struct WriteFacts {
    pub user_id: String,
    pub locked: bool,
}

impl WriteFacts {
    pub(crate) fn of(e: &ApiEntry) -> Self {
        WriteFacts {
            user_id: e.user_id.clone(),
            locked: e.is_locked.unwrap_or(false),
        }
    }
}

/// The Clockify connector (source and target).
#[derive(Debug)]
pub struct ClockifyConnector {
    pub(crate) client: HttpClient,
    pub(crate) workspace: String,
    /// Whose entries the source reads; empty: every user of the workspace.
    pub(crate) user_ids: Vec<String>,
    master: OnceCell<Arc<Master>>,
    tasks: OnceCell<Arc<Vec<ApiTask>>>,
    /// Tags by lower-cased name, including those this instance created.
    pub(crate) tag_ids: Mutex<HashMap<String, String>>,
    /// The server refused the batch read: read ids one by one.
    no_batch: AtomicBool,
    /// What the target role's latest `fetch` / `fetch_by_ids` saw of each entry, for
    /// `update` (the source role's reads do not touch it).
    pub(crate) seen: Seen<WriteFacts>,
}

impl ClockifyConnector {
    /// Builds the connector from its configuration (the registry's constructor).
    pub fn build(
        config: ConnectorConfig,
        ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        Ok(Arc::new(Self::new(config, ctx)?))
    }

    /// Builds the connector as its concrete type.
    pub fn new(config: ConnectorConfig, ctx: &ConnectorContext) -> ConnectorResult<Self> {
        let workspace = config.settings["workspace_id"]
            .as_str()
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| {
                ConnectorError::Config(
                    "settings.workspace_id is missing: the id of the Clockify workspace".into(),
                )
            })?
            .to_owned();
        let user_ids = config.settings["user_ids"]
            .as_str()
            .unwrap_or_default()
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let header = match config.settings["auth_header"].as_str() {
            Some("X-Addon-Token") => "x-addon-token",
            _ => "x-api-key",
        };
        let mut http = HttpSettings::from_settings(&config.settings);
        if let Some(retry) = ctx.retry {
            http.retry = retry;
        }
        let token = config.api_token.expose_secret().trim().to_owned();
        if token.is_empty() {
            return Err(ConnectorError::Config("the API token is empty".into()));
        }
        let client = HttpClient::builder(&config.base_url, &config.name)
            .auth_header(header, SecretString::from(token))
            .settings(http)
            .metrics(ctx.metrics.clone())
            .sleeper(ctx.sleeper.clone())
            .error_mapper(clockify_error)
            .build()?;
        Ok(ClockifyConnector {
            client,
            workspace,
            user_ids,
            master: OnceCell::new(),
            tasks: OnceCell::new(),
            tag_ids: Mutex::new(HashMap::new()),
            no_batch: AtomicBool::new(false),
            seen: Seen::new(),
        })
    }

    pub(crate) fn ws_path(&self, rest: &str) -> String {
        format!("/workspaces/{}{rest}", self.workspace)
    }

    /// The master data, loaded on first use.
    pub(crate) async fn master(&self) -> ConnectorResult<Arc<Master>> {
        self.master
            .get_or_try_init(|| async { self.load_master().await.map(Arc::new) })
            .await
            .cloned()
    }

    async fn load_master(&self) -> ConnectorResult<Master> {
        let me: ApiUser = self.client.json(Request::get("GET /user", "/user")).await?;
        let (users, projects, clients, tags) = futures::try_join!(
            self.list_all::<ApiUser>("GET /workspaces/{ws}/users", self.ws_path("/users"), vec![]),
            self.list_projects(),
            self.list_all::<ApiClient>(
                "GET /workspaces/{ws}/clients",
                self.ws_path("/clients"),
                vec![]
            ),
            self.list_all::<ApiTag>("GET /workspaces/{ws}/tags", self.ws_path("/tags"), vec![]),
        )?;
        let mut names = self.tag_ids.lock().await;
        for t in &tags {
            names.insert(t.name.trim().to_lowercase(), t.id.clone());
        }
        Ok(Master {
            me,
            users,
            projects: projects.into_iter().map(|p| (p.id.clone(), p)).collect(),
            clients: clients.into_iter().map(|c| (c.id.clone(), c)).collect(),
            tags: tags.into_iter().map(|t| (t.id.clone(), t)).collect(),
        })
    }

    /// Every project, archived or not (fresh, not cached: mirroring creates some).
    pub(crate) async fn list_projects(&self) -> ConnectorResult<Vec<ApiProject>> {
        self.list_all(
            "GET /workspaces/{ws}/projects",
            self.ws_path("/projects"),
            vec![],
        )
        .await
    }

    /// Every task of every active project, loaded on first use.
    pub(crate) async fn tasks(&self) -> ConnectorResult<Arc<Vec<ApiTask>>> {
        self.tasks
            .get_or_try_init(|| async {
                let m = self.master().await?;
                let mut ids: Vec<String> = m
                    .projects
                    .values()
                    .filter(|p| !p.is_archived())
                    .map(|p| p.id.clone())
                    .collect();
                ids.sort();
                let reads: Vec<BoxFuture<'_, ConnectorResult<Vec<ApiTask>>>> = ids
                    .into_iter()
                    .map(|pid| self.project_tasks(pid).boxed())
                    .collect();
                let lists: Vec<Vec<ApiTask>> = futures::stream::iter(reads)
                    .buffered(4)
                    .try_collect()
                    .await?;
                Ok::<_, ConnectorError>(Arc::new(lists.into_iter().flatten().collect()))
            })
            .await
            .cloned()
    }

    async fn project_tasks(&self, pid: String) -> ConnectorResult<Vec<ApiTask>> {
        let mut tasks: Vec<ApiTask> = self
            .list_all(
                "GET /workspaces/{ws}/projects/{pid}/tasks",
                self.ws_path(&format!("/projects/{pid}/tasks")),
                vec![],
            )
            .await?;
        for t in &mut tasks {
            t.project_id.get_or_insert_with(|| pid.clone());
        }
        Ok(tasks)
    }

    /// Entries of several users (see [`Self::entries_of`]), four reads at a time. With
    /// `only_readable`, a user whose entries the token may not read (403: the key's user
    /// is no admin) counts as having none: a target that cannot read them cannot have
    /// written them either.
    pub(crate) async fn entries_of_users(
        &self,
        users: Vec<String>,
        window: &Window,
        hydrated: bool,
        only_readable: bool,
    ) -> ConnectorResult<Vec<ApiEntry>> {
        let reads: Vec<BoxFuture<'_, ConnectorResult<Vec<ApiEntry>>>> = users
            .into_iter()
            .map(|u| {
                async move {
                    match self.entries_of(&u, window, hydrated).await {
                        Err(ConnectorError::Forbidden { .. }) if only_readable => Ok(vec![]),
                        other => other,
                    }
                }
                .boxed()
            })
            .collect();
        let lists: Vec<Vec<ApiEntry>> = futures::stream::iter(reads)
            .buffered(4)
            .try_collect()
            .await?;
        Ok(lists.into_iter().flatten().collect())
    }

    /// Every page of a list: follows `Last-Page`; without the header, reads until a page
    /// comes back empty (a server that caps the page size below ours must not end it early).
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        route: &'static str,
        path: String,
        query: Vec<(&'static str, String)>,
    ) -> ConnectorResult<Vec<T>> {
        let mut out = Vec::new();
        for page in 1u32.. {
            let mut req = Request::get(route, path.clone())
                .query("page", page)
                .query("page-size", PAGE_SIZE);
            for (k, v) in &query {
                req = req.query(k, v);
            }
            let resp = self.client.send(req).await?;
            let last = resp
                .header("Last-Page")
                .map(|v| v.trim().eq_ignore_ascii_case("true"));
            let items: Vec<T> = resp.json()?;
            let empty = items.is_empty();
            out.extend(items);
            match last {
                Some(true) => break,
                Some(false) => {}
                None if empty => break,
                None => {}
            }
            if empty {
                break;
            }
        }
        Ok(out)
    }

    /// `user`'s entries that start in `window` padded by a day on each side (Clockify's
    /// reading of the bounds is not certain), each once; the caller filters exactly.
    pub(crate) async fn entries_of(
        &self,
        user: &str,
        window: &Window,
        hydrated: bool,
    ) -> ConnectorResult<Vec<ApiEntry>> {
        let pad = Duration::days(WINDOW_PAD_DAYS);
        let mut query = vec![
            ("start", stamp(window.start() - pad)),
            ("end", stamp(window.end_exclusive() + pad)),
        ];
        if hydrated {
            query.push(("hydrated", "true".to_owned()));
        }
        let list: Vec<ApiEntry> = self
            .list_all(
                "GET /workspaces/{ws}/user/{uid}/time-entries",
                self.ws_path(&format!("/user/{user}/time-entries")),
                query,
            )
            .await?;
        let mut seen = HashSet::new();
        Ok(list
            .into_iter()
            .filter(|e| seen.insert(e.id.clone()))
            .collect())
    }

    /// The entries with these ids that exist in the workspace: batch reads, or one read
    /// per id where the server has no batch route.
    pub(crate) async fn entries_by_ids(&self, ids: &[String]) -> ConnectorResult<Vec<ApiEntry>> {
        let mut out = Vec::new();
        if !self.no_batch.load(Ordering::Relaxed) {
            for chunk in ids.chunks(BATCH_SIZE) {
                let req = Request::post(
                    "POST /workspaces/{ws}/time-entries/batch",
                    self.ws_path("/time-entries/batch"),
                    json!({"timeEntryIds": chunk, "hydrated": false}),
                )
                .idempotent(true);
                match self.client.json::<Vec<ApiEntry>>(req).await {
                    Ok(list) => out.extend(list),
                    Err(ConnectorError::NotFound { .. }) => {
                        self.no_batch.store(true, Ordering::Relaxed);
                        out.clear();
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            if !self.no_batch.load(Ordering::Relaxed) {
                let wanted: HashSet<&String> = ids.iter().collect();
                return Ok(out
                    .into_iter()
                    .filter(|e| wanted.contains(&e.id))
                    .filter(|e| {
                        e.workspace_id
                            .as_deref()
                            .is_none_or(|w| w == self.workspace)
                    })
                    .collect());
            }
        }
        let reads: Vec<BoxFuture<'_, ConnectorResult<Option<ApiEntry>>>> =
            ids.iter().map(|id| self.entry(id).boxed()).collect();
        let found: Vec<Option<ApiEntry>> = futures::stream::iter(reads)
            .buffered(8)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Entry `id`, `None` when Clockify says it does not belong to the workspace.
    pub(crate) async fn entry(&self, id: &str) -> ConnectorResult<Option<ApiEntry>> {
        let req = Request::get(
            "GET /workspaces/{ws}/time-entries/{id}",
            self.ws_path(&format!("/time-entries/{}", path_id(id)?)),
        );
        match self.client.json(req).await {
            Ok(e) => Ok(Some(e)),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Normalises an entry; references carry Clockify ids, names from the hydrated fields
    /// or the master data.
    pub(crate) fn normalize(
        &self,
        m: &Master,
        tasks: &HashMap<&str, &ApiTask>,
        e: &ApiEntry,
        description: String,
    ) -> ConnectorResult<Entry> {
        let bad = |v: &str| ConnectorError::Protocol {
            host: self.client.host().to_owned(),
            message: format!("time entry {} has an unreadable time {v:?}", e.id),
        };
        let begin = instant(&e.time_interval.start).ok_or_else(|| bad(&e.time_interval.start))?;
        let end = match e.time_interval.end.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(instant(s).ok_or_else(|| bad(s))?),
            None => None,
        };
        let project = e.project().map(|pid| {
            e.project
                .as_ref()
                .filter(|p| p.id == pid)
                .or_else(|| m.projects.get(pid))
        });
        let customer = project.flatten().and_then(|p| {
            let cid = p.client()?;
            let name = p
                .client_name
                .clone()
                .filter(|n| !n.is_empty())
                .or_else(|| m.clients.get(cid).map(|c| c.name.clone()));
            Some(NamedRef {
                key: cid.to_owned(),
                name,
            })
        });
        // No task, no activity: the target's task is optional (`Need::Optional`).
        let activity = match e.task() {
            Some(tid) => {
                let name = e
                    .task
                    .as_ref()
                    .filter(|t| t.id == tid)
                    .map(|t| t.name.clone())
                    .or_else(|| tasks.get(tid).map(|t| t.name.clone()));
                Some(NamedRef {
                    // A task whose name is unknown (deleted) keeps its id: it maps to nothing.
                    key: name.as_deref().map_or_else(|| tid.to_owned(), task_key),
                    name,
                })
            }
            None => None,
        };
        let user = m
            .users
            .iter()
            .find(|u| u.id == e.user_id)
            .or(e.user.as_ref().filter(|u| u.id == e.user_id));
        let mut tags: Vec<String> = e
            .tag_ids
            .iter()
            .flatten()
            .filter_map(|id| {
                m.tags.get(id).map(|t| t.name.clone()).or_else(|| {
                    e.tags
                        .iter()
                        .flatten()
                        .find(|t| t.id == *id)
                        .map(|t| t.name.clone())
                })
            })
            .collect();
        tags.sort();
        tags.dedup();
        Ok(Entry {
            system: "clockify".into(),
            key: e.id.clone(),
            ticket: None,
            customer,
            project: e.project().map(|pid| NamedRef {
                key: pid.to_owned(),
                name: project.flatten().map(|p| p.name.clone()),
            }),
            activity,
            user: Some(UserRef {
                key: e.user_id.clone(),
                email: user.and_then(|u| u.email.clone()),
                name: user.and_then(|u| u.name.clone()),
            }),
            begin,
            end,
            duration_seconds: end.map(|end| (end - begin).num_seconds()),
            description,
            billable: e.billable,
            tags,
            running: end.is_none(),
        })
    }

    async fn check_access(&self, details: &mut Map<String, Value>) -> Result<String, TestReport> {
        let fail = |step: &str, e: &ConnectorError, d: &Map<String, Value>| {
            TestReport::failed(step, e, Value::Object(d.clone()))
        };
        let workspaces: Vec<ApiWorkspace> = self
            .client
            .json(Request::get("GET /workspaces", "/workspaces"))
            .await
            .map_err(|e| fail("Reading the key's workspaces", &e, details))?;
        let Some(ws) = workspaces.iter().find(|w| w.id == self.workspace) else {
            let known: Vec<String> = workspaces
                .iter()
                .map(|w| format!("{} ({})", w.name.as_deref().unwrap_or("?"), w.id))
                .collect();
            let e = ConnectorError::Config(format!(
                "the token's user is not a member of workspace {}; its workspaces: {}",
                self.workspace,
                known.join(", ")
            ));
            return Err(fail("Finding the workspace", &e, details));
        };
        details.insert("workspace".into(), json!(ws.name));
        let m = self
            .master()
            .await
            .map_err(|e| fail("Reading the users and master data", &e, details))?;
        details.insert("user".into(), json!(m.me.email));
        details.insert("users".into(), json!(m.users.len()));
        details.insert("projects".into(), json!(m.projects.len()));
        details.insert("clients".into(), json!(m.clients.len()));
        let other = self
            .user_ids
            .iter()
            .find(|u| **u != m.me.id)
            .or_else(|| m.users.iter().map(|u| &u.id).find(|u| **u != m.me.id));
        let probe = other.unwrap_or(&m.me.id);
        self.client
            .send(
                Request::get(
                    "GET /workspaces/{ws}/user/{uid}/time-entries",
                    self.ws_path(&format!("/user/{probe}/time-entries")),
                )
                .query("page-size", 1),
            )
            .await
            .map_err(|e| fail("Reading one time entry of another user", &e, details))?;
        Ok(format!(
            "Connected to Clockify workspace {} as {}",
            ws.name.as_deref().unwrap_or(&ws.id),
            m.me.label()
        ))
    }
}

/// An id as one path segment (Clockify ids are 24 hex digits; anything else is refused
/// here rather than sent).
pub(crate) fn path_id(id: &str) -> ConnectorResult<&str> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(ConnectorError::Rejected {
            message: format!("{id:?} is not a Clockify id"),
            fields: Default::default(),
        })
    }
}

/// Clockify's instant format on the wire: UTC with `Z`, whole seconds.
pub(crate) fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|d| d.to_utc())
}

#[async_trait]
impl Connector for ClockifyConnector {
    fn kind(&self) -> &'static str {
        "clockify"
    }

    async fn test(&self) -> TestReport {
        let mut details = Map::new();
        details.insert("base_url".into(), json!(self.client.base_url()));
        details.insert("workspace_id".into(), json!(self.workspace));
        match self.check_access(&mut details).await {
            Ok(message) => TestReport {
                ok: true,
                message,
                details: Value::Object(details),
            },
            Err(report) => report,
        }
    }

    async fn catalog(&self, what: &str) -> ConnectorResult<Vec<CatalogItem>> {
        let m = self.master().await?;
        let rate = |r: &Option<super::api::ApiRate>| {
            r.as_ref()
                .map(|r| json!({"amount": r.amount as f64 / 100.0, "currency": r.currency}))
        };
        let mut items: Vec<CatalogItem> = match what {
            "projects" => m
                .projects
                .values()
                .map(|p| {
                    let client = p.client().and_then(|c| m.clients.get(c));
                    CatalogItem {
                        key: p.id.clone(),
                        label: match client {
                            Some(c) => format!("{} / {}", c.name, p.name),
                            None => p.name.clone(),
                        },
                        extra: json!({"client": p.client(), "client_name": client.map(|c| &c.name),
                            "archived": p.is_archived(), "billable": p.billable,
                            "hourly_rate": rate(&p.hourly_rate)}),
                    }
                })
                .collect(),
            "tasks" => {
                // One item per task name, with the projects that have it.
                let tasks = self.tasks().await?;
                let mut by_name: std::collections::BTreeMap<String, Vec<String>> =
                    Default::default();
                for t in tasks.iter().filter(|t| t.active()) {
                    let project = t.project_id.as_ref().and_then(|p| m.projects.get(p));
                    by_name
                        .entry(task_key(&t.name))
                        .or_default()
                        .extend(project.map(|p| p.name.clone()));
                }
                by_name
                    .into_iter()
                    .map(|(name, projects)| CatalogItem {
                        key: name.clone(),
                        label: name,
                        extra: json!({"projects": projects}),
                    })
                    .collect()
            }
            "clients" => m
                .clients
                .values()
                .map(|c| CatalogItem {
                    key: c.id.clone(),
                    label: c.name.clone(),
                    extra: json!({"archived": c.archived.unwrap_or(false)}),
                })
                .collect(),
            "users" => m
                .users
                .iter()
                .map(|u| CatalogItem {
                    key: u.id.clone(),
                    label: u.label(),
                    extra: json!({"email": u.email, "active": u.active(),
                        "timezone": u.settings.as_ref().and_then(|s| s.time_zone.clone())}),
                })
                .collect(),
            "tags" => m
                .tags
                .values()
                .map(|t| CatalogItem {
                    key: t.id.clone(),
                    label: t.name.clone(),
                    extra: json!({"archived": t.archived.unwrap_or(false)}),
                })
                .collect(),
            other => {
                return Err(ConnectorError::NotFound {
                    message: format!(
                        "Clockify has no catalog {other:?} (projects, tasks, clients, users, tags)"
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
