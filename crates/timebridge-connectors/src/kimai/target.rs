//! The Kimai target connector.
//!
//! Per instance (one per run) it loads the API user, the users with their zones and the
//! master data once, and remembers which tags exist. Writes follow external-apis.md:
//! wall times in the caller's zone on POST and in the entry's zone on PATCH, `end`
//! always sent, `user` only when it is not the caller (else it is an extra field), tags
//! created before use (Kimai drops unknown ones silently), `billable` sent when decided.
//! A create whose outcome is unknown (timeout, broken connection, 5xx) is followed by a
//! search for its marker before anything is sent again, so one source entry never
//! becomes two timesheets. An update is one PATCH when the run's read saw the timesheet
//! (its user, begin rendering and export flag are kept in a [`Seen`] memo), else a GET
//! first.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use timebridge_core::entry::{Entry, NamedRef, UserRef, Window};
use timebridge_core::mapping::{
    BillableDefaults, Need, ProjectBillable, ProjectRules, TargetDirectory, TargetProject,
    TargetRules, TargetSettings, TargetUser,
};
use timebridge_core::plan::TargetItem;
use timebridge_core::rates::{RateCard, RateRule, RateScope};
use tokio::sync::{Mutex, OnceCell};

use super::api::{
    ApiActivity, ApiCustomer, ApiProject, ApiTag, ApiTimesheet, ApiUser, ApiVersion, kimai_error,
};
use super::rates::ApiRate;
use super::time::{Zone, entry_zone, parse_output, wall_time};
use crate::connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, TargetConnector, TestReport,
};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{HttpClient, HttpSettings, Request};
use crate::marker::Marker;
use crate::seen::Seen;

/// Page size of timesheet lists (Kimai's maximum).
const PAGE_SIZE: u32 = 500;
/// Margin around a window in list filters: Kimai reads filters as wall times in the
/// caller's zone, and a DST change may sit at a window edge; we filter exactly afterwards.
const FILTER_MARGIN_HOURS: i64 = 3;
/// How often a create whose outcome was unknown is tried again after the marker search
/// found nothing.
const CREATE_ATTEMPTS: u32 = 3;

/// Settings of the `kimai` kind.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KimaiSettings {
    billable_tag: String,
    non_billable_tag: String,
    set_billable_field: bool,
    timezone: Option<Tz>,
}

impl KimaiSettings {
    fn from_value(v: &Value) -> ConnectorResult<Self> {
        let timezone = match v["timezone"].as_str().filter(|s| !s.is_empty()) {
            Some(name) => Some(name.parse::<Tz>().map_err(|_| {
                ConnectorError::Config(format!("timezone {name:?} is not an IANA time zone"))
            })?),
            None => None,
        };
        Ok(KimaiSettings {
            billable_tag: v["billable_tag"].as_str().unwrap_or("billable").to_owned(),
            non_billable_tag: v["non_billable_tag"]
                .as_str()
                .unwrap_or("non-billable")
                .to_owned(),
            set_billable_field: v["set_billable_field"].as_bool().unwrap_or(true),
            timezone,
        })
    }
}

/// What one instance loads once: the caller, users and master data.
#[derive(Debug)]
struct Session {
    me: ApiUser,
    /// The zone Kimai reads POST bodies in.
    caller_zone: Tz,
    /// Where the caller's zone came from (for the test report).
    caller_zone_source: &'static str,
    users: HashMap<i64, ApiUser>,
    /// False when the token may not list users (only the caller is known).
    users_listed: bool,
    customers: HashMap<i64, ApiCustomer>,
    projects: HashMap<i64, ApiProject>,
    activities: HashMap<i64, ApiActivity>,
}

impl Session {
    fn user_zone(&self, id: i64) -> Option<Tz> {
        self.users
            .get(&id)
            .and_then(|u| u.timezone.as_deref())
            .and_then(|z| z.parse().ok())
    }
}

/// The day of a project's `start`/`end` (`Y-m-d`, also when a time follows); `None`
/// when it cannot be read (no rule is better than a wrong one).
fn api_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// What an update needs of a stored timesheet: its user and the begin as Kimai rendered
/// it decide the zone of the PATCH's wall times (`entry_zone`) and whether `user` is sent;
/// an exported one is refused without a request.
#[derive(Debug, Clone, Copy)]
struct WriteFacts {
    user: i64,
    begin: DateTime<FixedOffset>,
    exported: bool,
}

/// The Kimai connector (target role).
#[derive(Debug)]
pub struct KimaiConnector {
    client: HttpClient,
    settings: KimaiSettings,
    session: OnceCell<Arc<Session>>,
    /// Lower-cased names of tags known to exist.
    tags: Mutex<HashSet<String>>,
    /// What the latest `fetch` / `fetch_by_ids` saw of each timesheet, for `update`.
    seen: Seen<WriteFacts>,
}

impl KimaiConnector {
    /// Builds the connector from its configuration (the registry's constructor).
    pub fn build(
        config: ConnectorConfig,
        ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        Ok(Arc::new(Self::new(config, ctx)?))
    }

    /// Builds the connector as its concrete type.
    pub fn new(config: ConnectorConfig, ctx: &ConnectorContext) -> ConnectorResult<Self> {
        let settings = KimaiSettings::from_value(&config.settings)?;
        let mut http = HttpSettings::from_settings(&config.settings);
        if let Some(retry) = ctx.retry {
            http.retry = retry;
        }
        let token = config.api_token.expose_secret();
        if token.trim().is_empty() {
            return Err(ConnectorError::Config("the API token is empty".into()));
        }
        let client = HttpClient::builder(&config.base_url, &config.name)
            .auth_header(
                "authorization",
                SecretString::from(format!("Bearer {}", token.trim())),
            )
            .settings(http)
            .metrics(ctx.metrics.clone())
            .sleeper(ctx.sleeper.clone())
            .error_mapper(kimai_error)
            .build()?;
        Ok(KimaiConnector {
            client,
            settings,
            session: OnceCell::new(),
            tags: Mutex::new(HashSet::new()),
            seen: Seen::new(),
        })
    }

    async fn session(&self) -> ConnectorResult<Arc<Session>> {
        self.session
            .get_or_try_init(|| async { self.load_session().await.map(Arc::new) })
            .await
            .cloned()
    }

    async fn load_session(&self) -> ConnectorResult<Session> {
        // Five independent reads, at once: one round trip instead of five before a run
        // can plan.
        let me = self
            .client
            .json::<ApiUser>(Request::get("GET /api/users/me", "/api/users/me"));
        let users = async {
            match self
                .client
                .json::<Vec<ApiUser>>(
                    Request::get("GET /api/users", "/api/users").query("visible", 3),
                )
                .await
            {
                Ok(list) => Ok(Some(list)),
                Err(ConnectorError::Forbidden { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        };
        let customers = self.client.json::<Vec<ApiCustomer>>(
            Request::get("GET /api/customers", "/api/customers").query("visible", 3),
        );
        let projects = self.client.json::<Vec<ApiProject>>(
            Request::get("GET /api/projects", "/api/projects")
                .query("visible", 3)
                .query("ignoreDates", 1),
        );
        let activities = self.client.json::<Vec<ApiActivity>>(
            Request::get("GET /api/activities", "/api/activities").query("visible", 3),
        );
        let (me, users, customers, projects, activities) =
            futures::try_join!(me, users, customers, projects, activities)?;
        let (caller_zone, caller_zone_source) =
            match me.timezone.as_deref().and_then(|z| z.parse::<Tz>().ok()) {
                Some(tz) => (tz, "kimai_user"),
                None => match self.settings.timezone {
                    Some(tz) => (tz, "setting"),
                    None => (Tz::UTC, "default_utc"),
                },
            };
        let (users, users_listed) = match users {
            Some(list) => (list, true),
            None => (vec![me.clone()], false),
        };
        let mut users: HashMap<i64, ApiUser> = users.into_iter().map(|u| (u.id, u)).collect();
        users.entry(me.id).or_insert_with(|| me.clone());
        Ok(Session {
            me,
            caller_zone,
            caller_zone_source,
            users,
            users_listed,
            customers: customers.into_iter().map(|c| (c.id, c)).collect(),
            projects: projects.into_iter().map(|p| (p.id, p)).collect(),
            activities: activities.into_iter().map(|a| (a.id, a)).collect(),
        })
    }

    /// Normalises a timesheet; its marker for `source_system` becomes the link key.
    fn to_item(
        &self,
        s: &Session,
        ts: ApiTimesheet,
        source_system: &str,
    ) -> ConnectorResult<TargetItem> {
        let bad_time = |v: &str| ConnectorError::Protocol {
            host: self.client.host().to_owned(),
            message: format!("timesheet {} has an unreadable time {v:?}", ts.id),
        };
        let begin = parse_output(&ts.begin)
            .ok_or_else(|| bad_time(&ts.begin))?
            .to_utc();
        // A timesheet without an end is running in Kimai: no end and no duration yet (Kimai
        // reports a running duration of 0 or the time so far, which is not the work's).
        let end = match &ts.end {
            Some(e) => Some(parse_output(e).ok_or_else(|| bad_time(e))?.to_utc()),
            None => None,
        };
        let running = end.is_none();
        let duration_seconds = end.map(|end| ts.duration.unwrap_or((end - begin).num_seconds()));
        let (description, markers) = Marker::strip(ts.description.as_deref().unwrap_or(""));
        let link_key = markers
            .into_iter()
            .find(|m| m.system == source_system)
            .map(|m| m.key);
        let project = s.projects.get(&ts.project);
        let customer = project.map(|p| NamedRef {
            key: p.customer.to_string(),
            name: s.customers.get(&p.customer).map(|c| c.name.clone()),
        });
        let user = s.users.get(&ts.user);
        let mut tags = ts.tags;
        tags.sort();
        tags.dedup();
        Ok(TargetItem {
            target_id: ts.id.to_string(),
            link_key,
            locked: ts.exported,
            entry: Entry {
                system: "kimai".into(),
                key: ts.id.to_string(),
                ticket: None,
                customer,
                project: Some(NamedRef {
                    key: ts.project.to_string(),
                    name: project.map(|p| p.name.clone()),
                }),
                activity: Some(NamedRef {
                    key: ts.activity.to_string(),
                    name: s.activities.get(&ts.activity).map(|a| a.name.clone()),
                }),
                user: Some(UserRef {
                    key: ts.user.to_string(),
                    email: user.and_then(|u| u.email.clone()),
                    name: user.map(ApiUser::display_name),
                }),
                begin,
                end,
                duration_seconds,
                description,
                billable: Some(ts.billable),
                tags,
                running,
            },
        })
    }

    /// Every timesheet matching `filters`, all pages, each id once, checked complete
    /// against Kimai's own count.
    async fn list_all(&self, filters: &[(&str, String)]) -> ConnectorResult<Vec<ApiTimesheet>> {
        let mut last_error = None;
        for _ in 0..2 {
            match self.list_once(filters).await? {
                Ok(list) => return Ok(list),
                Err(short) => last_error = Some(short),
            }
        }
        Err(last_error.expect("the loop ran"))
    }

    /// One listing pass; the inner error says the pass missed entries (Kimai's total
    /// changed or pages overlapped and skipped), which a second pass may fix.
    async fn list_once(
        &self,
        filters: &[(&str, String)],
    ) -> ConnectorResult<Result<Vec<ApiTimesheet>, ConnectorError>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut page = 1u32;
        let mut total_pages = 1u32;
        let mut total_count: Option<usize> = None;
        while page <= total_pages {
            let mut req = Request::get("GET /api/timesheets", "/api/timesheets")
                .query("user", "all")
                .query("size", PAGE_SIZE)
                .query("orderBy", "id")
                .query("order", "ASC")
                .query("page", page);
            for (k, v) in filters {
                req = req.query(k, v);
            }
            let resp = match self.client.send(req).await {
                Ok(r) => r,
                // The list shrank between pages: the last page is gone.
                Err(ConnectorError::NotFound { .. }) if page > 1 => break,
                Err(e) => return Err(e),
            };
            if page == 1 {
                total_pages = resp
                    .header("X-Total-Pages")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                total_count = resp.header("X-Total-Count").and_then(|v| v.parse().ok());
            }
            let items: Vec<ApiTimesheet> = resp.json()?;
            let empty = items.is_empty();
            for ts in items {
                // kimai#4881: an id may show up on two consecutive pages.
                if seen.insert(ts.id) {
                    out.push(ts);
                }
            }
            if empty {
                break;
            }
            page += 1;
        }
        if let Some(total) = total_count
            && out.len() < total
        {
            return Ok(Err(ConnectorError::Protocol {
                host: self.client.host().to_owned(),
                message: format!(
                    "Kimai reported {total} timesheets but its pages held {} distinct ones; \
                     the list changed while it was read",
                    out.len()
                ),
            }));
        }
        Ok(Ok(out))
    }

    /// What an update needs of `ts` (see [`WriteFacts`]).
    fn write_facts(&self, ts: &ApiTimesheet) -> ConnectorResult<WriteFacts> {
        let begin = parse_output(&ts.begin).ok_or_else(|| ConnectorError::Protocol {
            host: self.client.host().to_owned(),
            message: format!("timesheet {} has an unreadable begin", ts.id),
        })?;
        Ok(WriteFacts {
            user: ts.user,
            begin,
            exported: ts.exported,
        })
    }

    async fn get_timesheet(&self, id: &str) -> ConnectorResult<Option<ApiTimesheet>> {
        let id = parse_id("timesheet", id)?;
        match self
            .client
            .json(Request::get(
                "GET /api/timesheets/{id}",
                format!("/api/timesheets/{id}"),
            ))
            .await
        {
            Ok(ts) => Ok(Some(ts)),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Makes sure every tag exists before an entry uses it (Kimai drops unknown tags).
    async fn ensure_tags(&self, tags: &[String]) -> ConnectorResult<()> {
        let mut known = self.tags.lock().await;
        for tag in tags {
            let lower = tag.to_lowercase();
            if tag.is_empty() || known.contains(&lower) {
                continue;
            }
            if !self.tag_exists(tag).await? {
                let created = self
                    .client
                    .send(Request::post(
                        "POST /api/tags",
                        "/api/tags",
                        json!({"name": tag, "visible": true}),
                    ))
                    .await;
                match created {
                    Ok(_) => {}
                    // Unknown outcome or "already exists": look again.
                    Err(e)
                        if e.outcome_unknown() || matches!(e, ConnectorError::Rejected { .. }) =>
                    {
                        if !self.tag_exists(tag).await? {
                            return Err(e);
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            known.insert(lower);
        }
        Ok(())
    }

    async fn tag_exists(&self, tag: &str) -> ConnectorResult<bool> {
        let found: Vec<ApiTag> = self
            .client
            .json(Request::get("GET /api/tags/find", "/api/tags/find").query("name", tag))
            .await?;
        Ok(found.iter().any(|t| t.name.eq_ignore_ascii_case(tag)))
    }

    /// The write body for `desired`, times as wall time in `zone`; `current_user` is the
    /// entry's user on update (the caller on create): `user` is sent only to change it.
    fn body(
        &self,
        marker: &Marker,
        desired: &Entry,
        zone: Zone,
        current_user: i64,
    ) -> ConnectorResult<Value> {
        let key = |what: &str, r: Option<&str>| -> ConnectorResult<i64> {
            let r = r.ok_or_else(|| ConnectorError::Rejected {
                message: format!("the entry has no {what}"),
                fields: Default::default(),
            })?;
            parse_id(what, r)
        };
        let project = key("project", desired.project.as_ref().map(|p| p.key.as_str()))?;
        let activity = key(
            "activity",
            desired.activity.as_ref().map(|a| a.key.as_str()),
        )?;
        let user = key("user", desired.user.as_ref().map(|u| u.key.as_str()))?;
        // A running entry is written without `end`: Kimai keeps it running.
        let end = if desired.running { None } else { desired.end };
        if !desired.running && end.is_none() {
            return Err(ConnectorError::Rejected {
                message: "the entry has ended but has no end".into(),
                fields: Default::default(),
            });
        }
        if end.is_some_and(|end| end < desired.begin) {
            return Err(ConnectorError::Rejected {
                message: "the entry ends before it begins".into(),
                fields: Default::default(),
            });
        }
        // Kimai keeps whole minutes (begin rounded down, end up): anything else would be
        // stored longer than the work was. Refuse rather than bill the difference.
        if desired.begin.timestamp() % 60 != 0 || end.is_some_and(|e| e.timestamp() % 60 != 0) {
            let to = end.map_or_else(|| "now".to_owned(), |e| e.format("%H:%M:%S").to_string());
            return Err(ConnectorError::Unrepresentable {
                message: format!(
                    "Kimai keeps whole minutes, and this entry lasts {} s ({} to {to}); written, \
                     it would be rounded up to whole minutes. Skip it, correct the booking \
                     in the source, or let the pipeline round it (option `rounding`)",
                    desired.duration_seconds.unwrap_or_default(),
                    desired.begin.format("%H:%M:%S"),
                ),
            });
        }
        let mut body = Map::new();
        body.insert("project".into(), json!(project));
        body.insert("activity".into(), json!(activity));
        body.insert("begin".into(), json!(wall_time(desired.begin, zone)?));
        if let Some(end) = end {
            body.insert("end".into(), json!(wall_time(end, zone)?));
        }
        body.insert(
            "description".into(),
            json!(marker.append_to(&desired.description)),
        );
        body.insert("tags".into(), json!(desired.tags));
        if user != current_user {
            body.insert("user".into(), json!(user));
        }
        if self.settings.set_billable_field
            && let Some(b) = desired.billable
        {
            body.insert("billable".into(), json!(b));
        }
        Ok(Value::Object(body))
    }

    async fn post_timesheet(&self, body: &Value) -> ConnectorResult<ApiTimesheet> {
        self.client
            .json(Request::post(
                "POST /api/timesheets",
                "/api/timesheets",
                body.clone(),
            ))
            .await
    }

    async fn find_marked_raw(&self, marker: &Marker) -> ConnectorResult<Vec<ApiTimesheet>> {
        let list = self.list_all(&[("term", marker.to_string())]).await?;
        Ok(list
            .into_iter()
            .filter(|ts| Marker::find_all(ts.description.as_deref().unwrap_or("")).contains(marker))
            .collect())
    }

    async fn check_access(&self, details: &mut Map<String, Value>) -> Result<String, TestReport> {
        let fail = |step: &str, e: &ConnectorError, d: &Map<String, Value>| {
            TestReport::failed(step, e, Value::Object(d.clone()))
        };
        let version: ApiVersion = self
            .client
            .json(Request::get("GET /api/version", "/api/version"))
            .await
            .map_err(|e| fail("Reading the Kimai version", &e, details))?;
        details.insert("version".into(), json!(version.version));
        let session = self
            .session()
            .await
            .map_err(|e| fail("Reading the API user and master data", &e, details))?;
        details.insert("user".into(), json!(session.me.username));
        details.insert("timezone".into(), json!(session.caller_zone.name()));
        details.insert("timezone_source".into(), json!(session.caller_zone_source));
        details.insert("users_listed".into(), json!(session.users_listed));
        details.insert("projects".into(), json!(session.projects.len()));
        details.insert("activities".into(), json!(session.activities.len()));
        let config: Value = self
            .client
            .json(Request::get(
                "GET /api/config/timesheet",
                "/api/config/timesheet",
            ))
            .await
            .map_err(|e| fail("Reading the timesheet configuration", &e, details))?;
        let mode = config["trackingMode"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        details.insert("tracking_mode".into(), json!(mode));
        if mode != "default" {
            return Err(TestReport {
                ok: false,
                message: format!(
                    "Kimai's time-tracking mode is {mode:?}: begin and end cannot be set through \
                     the API; set it to \"default\" in Kimai's system settings"
                ),
                details: Value::Object(details.clone()),
            });
        }
        self.client
            .send(
                Request::get("GET /api/timesheets", "/api/timesheets")
                    .query("user", "all")
                    .query("size", 1),
            )
            .await
            .map_err(|e| {
                let e = match e {
                    ConnectorError::Forbidden { message } => ConnectorError::Forbidden {
                        message: format!(
                            "{message}; the API user needs the permission to view other users' \
                             timesheets (view_other_timesheet)"
                        ),
                    },
                    other => other,
                };
                fail("Reading one timesheet of all users", &e, details)
            })?;
        let mut message = format!(
            "Connected to Kimai {} as {} (time zone {})",
            version.version,
            session.me.username,
            session.caller_zone.name()
        );
        if !session.users_listed {
            message.push_str(
                "; warning: the API user may not list users, so entries can only be written \
                 for itself",
            );
        }
        if let (Some(setting), "kimai_user") = (self.settings.timezone, session.caller_zone_source)
            && setting != session.caller_zone
        {
            message.push_str(&format!(
                "; note: the timezone setting ({}) differs from the API user's zone in Kimai, \
                 which Kimai uses to read new entries; the user's zone is used",
                setting.name()
            ));
        }
        Ok(message)
    }
}

/// Kimai's billable default per project and activity (a timesheet in auto mode is billable
/// unless its customer, project or activity is not). A project whose customer the API user
/// cannot see is left out: its default is then unknown and left to Kimai.
fn billable_defaults(s: &Session) -> BillableDefaults {
    BillableDefaults {
        label: "Kimai".into(),
        projects: s
            .projects
            .values()
            .filter_map(|p| {
                let customer = s.customers.get(&p.customer)?;
                let flags = ProjectBillable {
                    project: p.billable,
                    customer: Some(customer.billable),
                };
                Some((p.id.to_string(), flags))
            })
            .collect(),
        activities: s
            .activities
            .values()
            .map(|a| (a.id.to_string(), a.billable))
            .collect(),
    }
}

fn parse_id(what: &str, key: &str) -> ConnectorResult<i64> {
    key.trim().parse().map_err(|_| ConnectorError::Rejected {
        message: format!("{what} key {key:?} is not a Kimai id"),
        fields: Default::default(),
    })
}

#[async_trait]
impl Connector for KimaiConnector {
    fn project_url(&self, project_key: &str) -> Option<String> {
        // Kimai's project page (the locale is part of every page's path).
        let id: i64 = project_key.parse().ok()?;
        Some(format!(
            "{}/en/admin/project/{id}/edit",
            self.client.base_url().trim_end_matches('/')
        ))
    }

    fn kind(&self) -> &'static str {
        "kimai"
    }

    async fn test(&self) -> TestReport {
        let mut details = Map::new();
        details.insert("base_url".into(), json!(self.client.base_url()));
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
        let s = self.session().await?;
        let mut items: Vec<CatalogItem> = match what {
            "activities" => s
                .activities
                .values()
                .map(|a| CatalogItem {
                    key: a.id.to_string(),
                    label: match a.project.and_then(|p| s.projects.get(&p)) {
                        Some(p) => format!("{} ({})", a.name, p.name),
                        None => a.name.clone(),
                    },
                    extra: json!({"project": a.project, "global": a.project.is_none(),
                        "visible": a.visible, "billable": a.billable}),
                })
                .collect(),
            "projects" => s
                .projects
                .values()
                .map(|p| {
                    let customer = s.customers.get(&p.customer).map(|c| c.name.clone());
                    CatalogItem {
                        key: p.id.to_string(),
                        label: match &customer {
                            Some(c) => format!("{c} / {}", p.name),
                            None => p.name.clone(),
                        },
                        extra: json!({"customer": p.customer, "customer_name": customer,
                            "visible": p.visible, "billable": p.billable,
                            "global_activities": p.global_activities.unwrap_or(true),
                            "start": p.start, "end": p.end}),
                    }
                })
                .collect(),
            "customers" => s
                .customers
                .values()
                .map(|c| CatalogItem {
                    key: c.id.to_string(),
                    label: c.name.clone(),
                    extra: json!({"number": c.number, "visible": c.visible, "billable": c.billable}),
                })
                .collect(),
            "users" => s
                .users
                .values()
                .map(|u| CatalogItem {
                    key: u.id.to_string(),
                    label: match &u.email {
                        Some(e) if !e.is_empty() => format!("{} <{e}>", u.display_name()),
                        _ => u.display_name(),
                    },
                    extra: json!({"username": u.username, "email": u.email,
                        "timezone": u.timezone, "enabled": u.enabled}),
                })
                .collect(),
            other => {
                return Err(ConnectorError::NotFound {
                    message: format!(
                        "Kimai has no catalog {other:?} (activities, projects, customers, users)"
                    ),
                });
            }
        };
        items.sort_by_cached_key(|i| i.label.to_lowercase());
        Ok(items)
    }

    fn as_target(&self) -> Option<&dyn TargetConnector> {
        Some(self)
    }
}

#[async_trait]
impl TargetConnector for KimaiConnector {
    fn target_settings(&self) -> TargetSettings {
        TargetSettings {
            system: "kimai".into(),
            billable_tag: self.settings.billable_tag.clone(),
            non_billable_tag: self.settings.non_billable_tag.clone(),
            set_billable_field: self.settings.set_billable_field,
            project: Need::Required,
            activity: Need::Required,
        }
    }

    async fn directory(&self) -> ConnectorResult<TargetDirectory> {
        let s = self.session().await?;
        let users = s.users.values().filter(|u| u.enabled).map(|u| TargetUser {
            key: u.id.to_string(),
            email: u.email.clone(),
            name: Some(u.display_name()),
        });
        let projects = s
            .projects
            .values()
            .filter(|p| p.visible)
            .map(|p| TargetProject {
                key: p.id.to_string(),
                name: Some(p.name.clone()),
                customer: Some(NamedRef {
                    key: p.customer.to_string(),
                    name: s.customers.get(&p.customer).map(|c| c.name.clone()),
                }),
            });
        let activities = s
            .activities
            .values()
            .filter(|a| a.visible)
            .map(|a| NamedRef {
                key: a.id.to_string(),
                name: Some(a.name.clone()),
            });
        let rules = TargetRules {
            projects: s
                .projects
                .values()
                .map(|p| {
                    let day = |d: &Option<String>| d.as_deref().and_then(api_date);
                    let rules = ProjectRules {
                        start: day(&p.start),
                        end: day(&p.end),
                        global_activities: p.global_activities.unwrap_or(true),
                    };
                    (p.id.to_string(), rules)
                })
                .collect(),
            activity_projects: s
                .activities
                .values()
                .filter_map(|a| a.project.map(|p| (a.id.to_string(), p.to_string())))
                .collect(),
            billable: billable_defaults(&s),
        };
        Ok(
            TargetDirectory::new(users, projects, activities, Some(s.me.id.to_string()))
                .with_rules(rules),
        )
    }

    async fn fetch(
        &self,
        window: &Window,
        source_system: &str,
    ) -> ConnectorResult<Vec<TargetItem>> {
        // A new read of the window: nothing an earlier read saw is used for writes.
        self.seen.restart();
        let s = self.session().await?;
        let filter = |at: DateTime<Utc>| {
            at.with_timezone(&s.caller_zone)
                .naive_local()
                .format(super::time::INPUT_FORMAT)
                .to_string()
        };
        let margin = Duration::hours(FILTER_MARGIN_HOURS);
        let filters = [
            ("begin", filter(window.start() - margin)),
            ("end", filter(window.end_exclusive() + margin)),
        ];
        let list = self.list_all(&filters).await?;
        let mut out = Vec::with_capacity(list.len());
        let mut facts = Vec::with_capacity(list.len());
        for ts in list {
            let fact = (ts.id.to_string(), self.write_facts(&ts)?);
            let item = self.to_item(&s, ts, source_system)?;
            if window.contains(item.entry.begin) {
                out.push(item);
                facts.push(fact);
            }
        }
        self.seen.note_all(facts);
        Ok(out)
    }

    async fn fetch_by_ids(
        &self,
        ids: &[String],
        source_system: &str,
    ) -> ConnectorResult<Vec<TargetItem>> {
        let s = self.session().await?;
        let concurrency = 8;
        let reads: Vec<BoxFuture<'_, ConnectorResult<Option<ApiTimesheet>>>> = ids
            .iter()
            .map(|id| self.get_timesheet(id).boxed())
            .collect();
        let found: Vec<Option<ApiTimesheet>> = futures::stream::iter(reads)
            .buffered(concurrency)
            .try_collect()
            .await?;
        let found: Vec<ApiTimesheet> = found.into_iter().flatten().collect();
        let facts = found
            .iter()
            .map(|ts| Ok((ts.id.to_string(), self.write_facts(ts)?)))
            .collect::<ConnectorResult<Vec<_>>>()?;
        self.seen.note_all(facts);
        found
            .into_iter()
            .map(|ts| self.to_item(&s, ts, source_system))
            .collect()
    }

    async fn find_marked(
        &self,
        marker: &Marker,
        _desired: &Entry,
    ) -> ConnectorResult<Vec<TargetItem>> {
        let s = self.session().await?;
        self.find_marked_raw(marker)
            .await?
            .into_iter()
            .map(|ts| self.to_item(&s, ts, &marker.system))
            .collect()
    }

    async fn create(&self, marker: &Marker, desired: &Entry) -> ConnectorResult<TargetItem> {
        let s = self.session().await?;
        let body = self.body(marker, desired, Zone::Named(s.caller_zone), s.me.id)?;
        self.ensure_tags(&desired.tags).await?;
        let mut attempt = 1;
        loop {
            match self.post_timesheet(&body).await {
                Ok(ts) => return self.to_item(&s, ts, &marker.system),
                Err(e) if e.outcome_unknown() => {
                    // The create may have happened: look before sending it again.
                    let mut found = self.find_marked_raw(marker).await?;
                    if !found.is_empty() {
                        found.sort_by_key(|t| t.id);
                        tracing::warn!(
                            connector = %self.client.label(),
                            marker = %marker,
                            timesheet = found[0].id,
                            "Create answered with an unknown outcome; adopted the timesheet it made."
                        );
                        return self.to_item(&s, found.swap_remove(0), &marker.system);
                    }
                    if attempt >= CREATE_ATTEMPTS {
                        return Err(e);
                    }
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn update(
        &self,
        target_id: &str,
        marker: &Marker,
        desired: &Entry,
    ) -> ConnectorResult<TargetItem> {
        let s = self.session().await?;
        let id = parse_id("timesheet", target_id)?;
        let gone = || ConnectorError::NotFound {
            message: format!("timesheet {target_id} no longer exists in Kimai"),
        };
        // What this run's read saw of the timesheet, else a read now (an update of an
        // entry the run did not list, e.g. a conflict resolution's). The facts are those
        // of the read, not of this moment: an export since then is still refused by Kimai
        // (403, `locked_if_forbidden`) for users without the permission to edit exported
        // entries, but a user who has it would change the exported entry; a timesheet
        // moved to another user since is written for that user (`user` is sent only to
        // change it) in the zone it was read in. The GET narrowed that window, it never
        // closed it; the planner decided on the same read anyway.
        let facts = match self.seen.take(target_id) {
            Some(facts) => facts,
            None => {
                let current = self.get_timesheet(target_id).await?.ok_or_else(gone)?;
                self.write_facts(&current)?
            }
        };
        if facts.exported {
            return Err(ConnectorError::Locked {
                message: format!("timesheet {target_id} is exported"),
            });
        }
        let zone = entry_zone(s.user_zone(facts.user), facts.begin);
        let body = self.body(marker, desired, zone, facts.user)?;
        self.ensure_tags(&desired.tags).await?;
        let ts: ApiTimesheet = self
            .client
            .json(Request::patch(
                "PATCH /api/timesheets/{id}",
                format!("/api/timesheets/{id}"),
                body,
            ))
            .await
            .map_err(|e| match e {
                ConnectorError::NotFound { .. } => gone(),
                other => locked_if_forbidden(other, target_id),
            })?;
        self.to_item(&s, ts, &marker.system)
    }

    async fn delete(&self, target_id: &str) -> ConnectorResult<()> {
        let id = parse_id("timesheet", target_id)?;
        self.seen.forget(target_id);
        match self
            .client
            .send(Request::delete(
                "DELETE /api/timesheets/{id}",
                format!("/api/timesheets/{id}"),
            ))
            .await
        {
            Ok(_) | Err(ConnectorError::NotFound { .. }) => Ok(()),
            Err(e) => Err(locked_if_forbidden(e, target_id)),
        }
    }

    async fn rates(&self) -> ConnectorResult<Option<RateCard>> {
        let s = self.session().await?;
        let mut owners: Vec<(RateScope, &'static str, String)> = Vec::new();
        let mut ids: Vec<i64> = s.customers.keys().copied().collect();
        ids.sort_unstable();
        owners.extend(ids.iter().map(|id| {
            (
                RateScope::Customer(id.to_string()),
                "GET /api/customers/{id}/rates",
                format!("/api/customers/{id}/rates"),
            )
        }));
        let mut ids: Vec<i64> = s.projects.keys().copied().collect();
        ids.sort_unstable();
        owners.extend(ids.iter().map(|id| {
            (
                RateScope::Project(id.to_string()),
                "GET /api/projects/{id}/rates",
                format!("/api/projects/{id}/rates"),
            )
        }));
        let mut ids: Vec<i64> = s.activities.keys().copied().collect();
        ids.sort_unstable();
        owners.extend(ids.iter().map(|id| {
            (
                RateScope::Activity(id.to_string()),
                "GET /api/activities/{id}/rates",
                format!("/api/activities/{id}/rates"),
            )
        }));
        let reads: Vec<BoxFuture<'_, ConnectorResult<Vec<RateRule>>>> = owners
            .into_iter()
            .map(|(scope, route, path)| {
                async move {
                    let list: Vec<ApiRate> = self.client.json(Request::get(route, path)).await?;
                    Ok(super::rates::rules_of(&scope, &list))
                }
                .boxed()
            })
            .collect();
        let listed = futures::stream::iter(reads)
            .buffered(RATE_READS)
            .try_collect::<Vec<_>>()
            .await;
        let mut rules: Vec<_> = match listed {
            Ok(lists) => lists.into_iter().flatten().collect(),
            // A token that may not see rates prices nothing (its entries have no rate).
            Err(ConnectorError::Forbidden { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        // Each user's own hourly rate, from their entity view where the list left it out.
        let mut users: Vec<ApiUser> = s.users.values().filter(|u| u.enabled).cloned().collect();
        users.sort_by_key(|u| u.id);
        type Prefs = (i64, Vec<super::rates::ApiPreference>);
        let reads: Vec<BoxFuture<'_, ConnectorResult<Prefs>>> = users
            .into_iter()
            .map(|u| {
                async move {
                    if let Some(p) = u.preferences {
                        return Ok((u.id, p));
                    }
                    let path = format!("/api/users/{}", u.id);
                    match self
                        .client
                        .json::<ApiUser>(Request::get("GET /api/users/{id}", path))
                        .await
                    {
                        Ok(full) => Ok((u.id, full.preferences.unwrap_or_default())),
                        Err(ConnectorError::Forbidden { .. } | ConnectorError::NotFound { .. }) => {
                            Ok((u.id, Vec::new()))
                        }
                        Err(e) => Err(e),
                    }
                }
                .boxed()
            })
            .collect();
        let preferences = futures::stream::iter(reads)
            .buffered(RATE_READS)
            .try_collect::<Vec<_>>()
            .await?;
        rules.extend(
            preferences
                .iter()
                .filter_map(|(id, p)| super::rates::user_rule(&id.to_string(), p)),
        );
        let mut currencies: Vec<(String, Option<String>)> = s
            .customers
            .values()
            .map(|c| (c.id.to_string(), c.currency.clone()))
            .collect();
        currencies.sort();
        Ok(Some(super::rates::card(rules, currencies)))
    }
}

/// Rate listings read at a time (one request per customer, project and activity).
const RATE_READS: usize = 4;

/// Kimai answers 403 to changes of exported entries and entries in a lockdown period.
fn locked_if_forbidden(e: ConnectorError, target_id: &str) -> ConnectorError {
    match e {
        ConnectorError::Forbidden { message } => ConnectorError::Locked {
            message: format!(
                "Kimai refused to change timesheet {target_id} ({message}): it is exported, \
                 inside a lockdown period, or the API user may not edit it"
            ),
        },
        other => other,
    }
}
