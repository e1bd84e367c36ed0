//! The Zammad source connector.
//!
//! Reading: with an admin token, through the global `GET /api/v1/time_accountings`, newest
//! first (`sort_by=id`, `order_by=DESC`), until a whole page was booked more than a day
//! before the window began (or a short page ends the list): the pages read grow with the
//! window and what was booked since, not with years of history. Zammad numbers
//! accountings in booking order and has no date filter; an entry begins no later than it
//! was booked, so everything of the window lies above that page. Linked keys below the
//! lowest id read were not reached: they are reported as unread (neither present nor
//! deleted; [`SourceScope::Recent`]); every key at or above it that is gone is deleted.
//! A server that ignores the order (ids not descending) is read to its end, as is every
//! Zammad with the `read_all_accountings` setting (for histories imported out of order).
//! Without admin rights (403), per ticket: the tickets updated since the
//! window began (ticket search) plus the tickets of stored links — type-only edits and
//! deletions leave no trace on the ticket, so those are re-read every time. A run limited
//! to some tickets (a webhook) reads just those, in either mode.
//!
//! Names (ticket number and title, organization, agent, type) are looked up once per
//! fetch, concurrently, never once per entry; a fetch given the memory of an earlier one
//! looks up only what it has never seen, and asks Zammad which tickets, agents and
//! organizations changed since (searches by `updated_at`; see `memory`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use timebridge_core::entry::{Entry, NamedRef, TicketRef, UserRef, Window};

use super::memory::Memory;
use super::normalize::{Placement, duration_seconds, place};
use crate::connector::{
    CatalogItem, Connector, ConnectorConfig, ConnectorContext, SourceBatch, SourceConnector,
    SourceQuery, SourceScope, TestReport,
};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::{ErrorContext, HttpClient, HttpSettings, Request, default_error, error_message};

/// Accountings per page (Zammad's default and our maximum).
const PER_PAGE: usize = 500;
/// Tickets per search page (Zammad's maximum).
const SEARCH_PER_PAGE: usize = 200;
/// Lookups in flight at once.
const LOOKUP_CONCURRENCY: usize = 8;
/// How long before the window's start a page of accountings must lie entirely before the
/// newest-first read stops: slack for accountings saved out of id order by a moment.
const READ_SLACK_HOURS: i64 = 24;

#[derive(Debug, Clone, Deserialize)]
struct ApiAccounting {
    id: i64,
    ticket_id: i64,
    time_unit: Value,
    #[serde(default)]
    type_id: Option<i64>,
    created_by_id: i64,
    created_at: DateTime<Utc>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ApiTicket {
    id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    number: Value,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    organization_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ApiUser {
    id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    firstname: Option<String>,
    #[serde(default)]
    lastname: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    role_ids: Vec<i64>,
}

impl ApiUser {
    fn name(&self) -> Option<String> {
        let n = format!(
            "{} {}",
            self.firstname.as_deref().unwrap_or(""),
            self.lastname.as_deref().unwrap_or("")
        );
        let n = n.trim();
        if n.is_empty() {
            self.login.clone()
        } else {
            Some(n.to_owned())
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ApiOrganization {
    id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime<Utc>>,
    name: String,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    active: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
struct ApiType {
    id: i64,
    name: String,
    #[serde(default)]
    active: Option<bool>,
}

/// A ticket search page without `expand`: the ids in order, the number of matches over
/// all pages, and the records (tickets and their organizations) as assets.
#[derive(Debug, Deserialize)]
struct SearchPage {
    #[serde(default)]
    tickets: Vec<i64>,
    /// A number as Zammad sends it; anything else means "not counted" (paged one by one).
    #[serde(default)]
    tickets_count: Option<Value>,
    #[serde(default)]
    assets: SearchAssets,
}

#[derive(Debug, Default, Deserialize)]
struct SearchAssets {
    #[serde(default, rename = "Ticket")]
    tickets: HashMap<String, ApiTicket>,
    #[serde(default, rename = "Organization")]
    organizations: HashMap<String, ApiOrganization>,
}

/// Zammad's error answers: `{"error","error_human"}`; no credentials is a 403
/// "Authentication required", which means the token was not taken.
fn zammad_error(ctx: &ErrorContext<'_>) -> ConnectorError {
    let message = error_message(ctx.status, ctx.body);
    match ctx.status {
        401 => ConnectorError::Unauthorized {
            status: 401,
            message: format!("Zammad: {message}"),
        },
        403 if message.contains("Authentication required") => ConnectorError::Unauthorized {
            status: 403,
            message: format!("Zammad: {message}"),
        },
        _ => default_error(ctx),
    }
}

fn number_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The ids whose names a read needs, and the earliest booking among them.
struct Needed {
    tickets: BTreeSet<i64>,
    users: BTreeSet<i64>,
    earliest: DateTime<Utc>,
}

/// The names of a read, and what to remember of them.
struct Names {
    tickets: HashMap<i64, ApiTicket>,
    users: HashMap<i64, ApiUser>,
    orgs: HashMap<i64, ApiOrganization>,
    types: Vec<ApiType>,
    memory: Option<Value>,
}

/// Records changed since the remembered moment, by kind: `None` when the search was
/// refused (that kind is then looked up by id).
type Changed<T> = Option<HashMap<i64, T>>;

/// A remembered kind brought up to date: the changed records over the remembered ones,
/// when the search for changes answered; otherwise nothing remembered is used.
fn refreshed<T>(remembered: BTreeMap<i64, T>, changed: Changed<T>) -> HashMap<i64, T> {
    match changed {
        Some(changed) => remembered.into_iter().chain(changed).collect(),
        None => HashMap::new(),
    }
}

/// What to remember of a kind: the ids this read needed, or (on a read limited to some
/// tickets, whose search for changes answered) everything known, remembered before and
/// brought up to date.
fn kept<T: Clone>(
    known: &HashMap<i64, T>,
    needed: &BTreeSet<i64>,
    everything: bool,
) -> BTreeMap<i64, T> {
    if everything {
        return known.iter().map(|(k, v)| (*k, v.clone())).collect();
    }
    needed
        .iter()
        .filter_map(|id| known.get(id).map(|v| (*id, v.clone())))
        .collect()
}

/// One lookup by id: the record, or `None` when it does not exist.
type Lookup<'a, T> = BoxFuture<'a, ConnectorResult<Option<(i64, T)>>>;

/// The Zammad connector (source role).
#[derive(Debug)]
pub struct ZammadConnector {
    client: HttpClient,
    minutes_per_unit: f64,
    placement: Placement,
    /// Read every accounting on each run instead of the newest down to the window.
    read_all: bool,
}

/// The accountings read, and how.
struct Read {
    accountings: Vec<ApiAccounting>,
    scope: SourceScope,
    /// Tickets already known from a search (no lookup needed).
    tickets: HashMap<i64, ApiTicket>,
    notes: Vec<String>,
}

impl ZammadConnector {
    /// Builds the connector from its configuration (the registry's constructor).
    pub fn build(
        config: ConnectorConfig,
        ctx: &ConnectorContext,
    ) -> ConnectorResult<Arc<dyn Connector>> {
        Ok(Arc::new(Self::new(config, ctx)?))
    }

    /// Builds the connector as its concrete type.
    pub fn new(config: ConnectorConfig, ctx: &ConnectorContext) -> ConnectorResult<Self> {
        let token = config.api_token.expose_secret().trim().to_owned();
        if token.is_empty() {
            return Err(ConnectorError::Config("the API token is empty".into()));
        }
        let mut http = HttpSettings::from_settings(&config.settings);
        if let Some(retry) = ctx.retry {
            http.retry = retry;
        }
        let client = HttpClient::builder(&config.base_url, &config.name)
            .auth_header(
                "authorization",
                SecretString::from(format!("Token token={token}")),
            )
            .settings(http)
            .metrics(ctx.metrics.clone())
            .sleeper(ctx.sleeper.clone())
            .error_mapper(zammad_error)
            .build()?;
        let minutes_per_unit = config.settings["time_unit_minutes"]
            .as_f64()
            .filter(|m| *m > 0.0 && m.is_finite())
            .unwrap_or(1.0);
        let placement = match config.settings["time_placement"].as_str() {
            Some("begin_at_created") => Placement::BeginAtCreated,
            _ => Placement::EndAtCreated,
        };
        let read_all = config.settings["read_all_accountings"]
            .as_bool()
            .unwrap_or(false);
        Ok(ZammadConnector {
            client,
            minutes_per_unit,
            placement,
            read_all,
        })
    }

    /// All pages of an accounting list (`path` is global or per ticket); a short page is
    /// the last. `None` when the ticket does not exist (404 on a per-ticket read).
    async fn accounting_pages(
        &self,
        route: &'static str,
        path: String,
    ) -> ConnectorResult<Vec<ApiAccounting>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut page = 1usize;
        loop {
            let items: Vec<ApiAccounting> = self
                .client
                .json(
                    Request::get(route, path.clone())
                        .query("page", page)
                        .query("per_page", PER_PAGE)
                        .query("sort_by", "id")
                        .query("order_by", "ASC"),
                )
                .await?;
            let n = items.len();
            for a in items {
                if seen.insert(a.id) {
                    out.push(a);
                }
            }
            if n < PER_PAGE {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// The global list newest first, down to the first whole page booked before `since`
    /// (see the module's comment). Returns the accountings and, when the read stopped
    /// before the end of the list, the lowest id it reached.
    async fn newest_accountings(
        &self,
        since: DateTime<Utc>,
    ) -> ConnectorResult<(Vec<ApiAccounting>, Option<i64>)> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut ordered = true;
        let mut page = 1usize;
        loop {
            let items: Vec<ApiAccounting> = self
                .client
                .json(
                    Request::get("GET /api/v1/time_accountings", "/api/v1/time_accountings")
                        .query("page", page)
                        .query("per_page", PER_PAGE)
                        .query("sort_by", "id")
                        .query("order_by", "DESC"),
                )
                .await?;
            let n = items.len();
            ordered &= items.windows(2).all(|w| w[0].id > w[1].id)
                && out
                    .last()
                    .zip(items.first())
                    .is_none_or(|(prev, first): (&ApiAccounting, _)| prev.id > first.id);
            let before = !items.is_empty() && items.iter().all(|a| a.created_at < since);
            let lowest = items.iter().map(|a| a.id).min();
            for a in items {
                if seen.insert(a.id) {
                    out.push(a);
                }
            }
            if n < PER_PAGE {
                return Ok((out, None));
            }
            if ordered && before {
                return Ok((out, lowest));
            }
            page += 1;
        }
    }

    async fn ticket_accountings(&self, ticket_id: i64) -> ConnectorResult<Vec<ApiAccounting>> {
        match self
            .accounting_pages(
                "GET /api/v1/tickets/{id}/time_accountings",
                format!("/api/v1/tickets/{ticket_id}/time_accountings"),
            )
            .await
        {
            // A deleted ticket has no accountings any more.
            Err(ConnectorError::NotFound { .. }) => Ok(Vec::new()),
            other => other,
        }
    }

    /// Tickets updated at or after `since`, all pages.
    async fn tickets_updated_since(&self, since: DateTime<Utc>) -> ConnectorResult<Vec<ApiTicket>> {
        self.updated_since("GET /api/v1/tickets/search", since)
            .await
    }

    /// Records of a search route (tickets, users, organizations) updated at or after
    /// `since`, all pages, in id order.
    async fn updated_since<T: serde::de::DeserializeOwned>(
        &self,
        route: &'static str,
        since: DateTime<Utc>,
    ) -> ConnectorResult<Vec<T>> {
        let query = format!("updated_at:>={}", since.format("%Y-%m-%dT%H:%M:%SZ"));
        let path = route.trim_start_matches("GET ");
        let mut out = Vec::new();
        let mut page = 1usize;
        loop {
            let items: Vec<T> = self
                .client
                .json(
                    Request::get(route, path)
                        .query("query", &query)
                        .query("expand", "true")
                        .query("page", page)
                        .query("per_page", SEARCH_PER_PAGE)
                        .query("sort_by", "id")
                        .query("order_by", "asc"),
                )
                .await?;
            let n = items.len();
            out.extend(items);
            if n < SEARCH_PER_PAGE {
                return Ok(out);
            }
            page += 1;
        }
    }

    async fn read(&self, query: &SourceQuery) -> ConnectorResult<Read> {
        if let Some(tickets) = &query.tickets {
            let mut ids: Vec<i64> = tickets.clone();
            ids.sort_unstable();
            ids.dedup();
            let accountings = self.read_tickets(&ids).await?;
            return Ok(Read {
                accountings,
                scope: SourceScope::Tickets { ticket_ids: ids },
                tickets: HashMap::new(),
                notes: vec!["read the tickets named by the trigger".into()],
            });
        }
        let since = query.window.start() - chrono::Duration::hours(READ_SLACK_HOURS);
        let read = if self.read_all {
            self.accounting_pages(
                "GET /api/v1/time_accountings",
                "/api/v1/time_accountings".into(),
            )
            .await
            .map(|all| (all, None))
        } else {
            self.newest_accountings(since).await
        };
        match read {
            Ok((accountings, None)) => Ok(Read {
                accountings,
                scope: SourceScope::Everything,
                tickets: HashMap::new(),
                notes: vec!["read all time accountings (admin token)".into()],
            }),
            Ok((accountings, Some(lowest))) => {
                // Linked keys below the lowest id read were not reached.
                let unread: HashSet<String> = query
                    .linked_keys
                    .iter()
                    .filter(|k| k.parse::<i64>().is_ok_and(|id| id < lowest))
                    .cloned()
                    .collect();
                Ok(Read {
                    accountings,
                    scope: SourceScope::Recent { unread },
                    tickets: HashMap::new(),
                    notes: vec![format!(
                        "read the time accountings newest first, down to those booked before \
                         {} (admin token)",
                        since.format("%Y-%m-%d %H:%M UTC")
                    )],
                })
            }
            Err(ConnectorError::Forbidden { .. }) => {
                let since = query.window.start();
                let found = self.tickets_updated_since(since).await?;
                let mut ids: BTreeSet<i64> = found.iter().map(|t| t.id).collect();
                ids.extend(query.linked_tickets.iter().copied());
                let ids: Vec<i64> = ids.into_iter().collect();
                let accountings = self.read_tickets(&ids).await?;
                Ok(Read {
                    accountings,
                    scope: SourceScope::Tickets { ticket_ids: ids },
                    tickets: found.into_iter().map(|t| (t.id, t)).collect(),
                    notes: vec![
                        "the token may not list all time accountings: read per ticket (tickets \
                         updated since the window began, plus tickets already synced)"
                            .into(),
                    ],
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn read_tickets(&self, ids: &[i64]) -> ConnectorResult<Vec<ApiAccounting>> {
        let reads: Vec<BoxFuture<'_, ConnectorResult<Vec<ApiAccounting>>>> = ids
            .iter()
            .map(|id| self.ticket_accountings(*id).boxed())
            .collect();
        let lists: Vec<Vec<ApiAccounting>> = futures::stream::iter(reads)
            .buffered(LOOKUP_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(lists.into_iter().flatten().collect())
    }

    /// One page of the ticket search for tickets updated at or after `since`, without
    /// `expand` (which answers with the number of matches and the tickets' organizations).
    async fn ticket_search_page(&self, query: &str, page: usize) -> ConnectorResult<SearchPage> {
        self.client
            .json(
                Request::get("GET /api/v1/tickets/search", "/api/v1/tickets/search")
                    .query("query", query)
                    .query("page", page)
                    .query("per_page", SEARCH_PER_PAGE)
                    .query("sort_by", "id")
                    .query("order_by", "asc"),
            )
            .await
    }

    /// Tickets updated at or after `since`, with their organizations: the first page says
    /// how many match, the other pages are then read [`LOOKUP_CONCURRENCY`] at a time
    /// (pages after the counted ones, while full, one by one). A ticket that moves
    /// between pages while they are read is looked up by id afterwards (the caller looks
    /// up whatever is still missing).
    async fn window_tickets(
        &self,
        since: DateTime<Utc>,
    ) -> ConnectorResult<(Vec<ApiTicket>, Vec<ApiOrganization>)> {
        let query = format!("updated_at:>={}", since.format("%Y-%m-%dT%H:%M:%SZ"));
        let mut tickets = Vec::new();
        let mut orgs = Vec::new();
        let mut take = |p: SearchPage| {
            let full = p.tickets.len() >= SEARCH_PER_PAGE;
            let mut assets = p.assets;
            tickets.extend(
                p.tickets
                    .iter()
                    .filter_map(|id| assets.tickets.remove(&id.to_string())),
            );
            orgs.extend(assets.organizations.into_values());
            full
        };
        let first = self.ticket_search_page(&query, 1).await?;
        let counted = first
            .tickets_count
            .as_ref()
            .and_then(Value::as_u64)
            .map_or(1, |n| (n as usize).div_ceil(SEARCH_PER_PAGE).max(1));
        let mut full = take(first);
        if full && counted > 1 {
            let pages: Vec<SearchPage> = futures::stream::iter(2..=counted)
                .map(|page| self.ticket_search_page(&query, page))
                .buffered(LOOKUP_CONCURRENCY)
                .try_collect()
                .await?;
            for p in pages {
                full = take(p);
            }
        }
        let mut page = counted;
        while full {
            page += 1;
            full = take(self.ticket_search_page(&query, page).await?);
        }
        Ok((tickets, orgs))
    }

    /// Records of a search route changed at or after `since`, all pages (`Changed`:
    /// `None` when Zammad refused the search, e.g. one without a search index). An
    /// authentication failure is an error, not a refusal.
    async fn changed_since<T: serde::de::DeserializeOwned>(
        &self,
        route: &'static str,
        since: Option<DateTime<Utc>>,
        id: fn(&T) -> i64,
    ) -> ConnectorResult<Changed<T>> {
        let Some(since) = since else {
            return Ok(None);
        };
        match self.updated_since::<T>(route, since).await {
            Ok(items) => Ok(Some(items.into_iter().map(|t| (id(&t), t)).collect())),
            Err(e @ ConnectorError::Unauthorized { .. }) => Err(e),
            Err(e) => {
                tracing::warn!(route, error = %e,
                    "Zammad refused a search for changed records; looking them up by id.");
                Ok(None)
            }
        }
    }

    /// The names of `needed`: remembered ones that did not change, changed ones from the
    /// searches, the rest looked up (see `memory`).
    async fn names(
        &self,
        needed: Needed,
        searched: HashMap<i64, ApiTicket>,
        newest: Option<DateTime<Utc>>,
        query: &SourceQuery,
        notes: &mut Vec<String>,
    ) -> ConnectorResult<Names> {
        let base = self.client.base_url();
        let old = Memory::recall(query.memory.as_ref(), base, newest).unwrap_or_default();
        let since = old.changed_since();
        let (changed_tickets, changed_users, changed_orgs) = futures::try_join!(
            self.changed_since("GET /api/v1/tickets/search", since, |t: &ApiTicket| t.id),
            self.changed_since("GET /api/v1/users/search", since, |u: &ApiUser| u.id),
            self.changed_since(
                "GET /api/v1/organizations/search",
                since,
                |o: &ApiOrganization| o.id
            ),
        )?;
        // Which kinds Zammad said what changed of (the others are looked up again).
        let answered = [
            changed_tickets.is_some(),
            changed_users.is_some(),
            changed_orgs.is_some(),
        ];
        // Tickets: the remembered ones brought up to date, those the read's own search
        // found, then the missing ones (one search over the window when many).
        let mut tickets = refreshed(old.tickets, changed_tickets);
        tickets.extend(searched);
        let missing: BTreeSet<i64> = needed
            .tickets
            .iter()
            .copied()
            .filter(|t| !tickets.contains_key(t))
            .collect();
        let mut searched_orgs = Vec::new();
        if missing.len() > 50 {
            let (found, orgs) = self.window_tickets(needed.earliest).await?;
            for t in found {
                tickets.insert(t.id, t);
            }
            searched_orgs = orgs;
        }
        let still: Vec<i64> = missing
            .into_iter()
            .filter(|t| !tickets.contains_key(t))
            .collect();
        let looked_up_tickets = still.len();
        tickets.extend(
            self.lookup::<ApiTicket>("GET /api/v1/tickets/{id}", "/api/v1/tickets", still)
                .await?,
        );
        let org_ids: BTreeSet<i64> = needed
            .tickets
            .iter()
            .filter_map(|t| tickets.get(t).and_then(|t| t.organization_id))
            .collect();
        let mut users = refreshed(old.users, changed_users);
        let mut orgs = refreshed(old.organizations, changed_orgs);
        orgs.extend(searched_orgs.into_iter().map(|o| (o.id, o)));
        let user_missing: Vec<i64> = needed
            .users
            .iter()
            .copied()
            .filter(|u| !users.contains_key(u))
            .collect();
        let org_missing: Vec<i64> = org_ids
            .iter()
            .copied()
            .filter(|o| !orgs.contains_key(o))
            .collect();
        let (found_orgs, found_users, types) = futures::try_join!(
            self.lookup::<ApiOrganization>(
                "GET /api/v1/organizations/{id}",
                "/api/v1/organizations",
                org_missing.iter().copied()
            ),
            self.lookup::<ApiUser>(
                "GET /api/v1/users/{id}",
                "/api/v1/users",
                user_missing.iter().copied()
            ),
            self.types(),
        )?;
        orgs.extend(found_orgs);
        users.extend(found_users);
        if let Some(since) = since {
            let kinds = ["tickets", "agents", "organizations"];
            for (what, _) in kinds.iter().zip(answered).filter(|(_, answered)| !answered) {
                notes.push(format!(
                    "could not ask Zammad which {what} changed: looked each up again"
                ));
            }
            notes.push(format!(
                "names remembered from earlier reads, with Zammad's changes since {} \
                 ({} tickets, {} agents and {} organizations looked up)",
                since.format("%Y-%m-%d %H:%M UTC"),
                looked_up_tickets,
                user_missing.len(),
                org_missing.len()
            ));
        }
        // What to remember: what this read needed; a read limited to some tickets keeps
        // the rest of what was remembered, brought up to date.
        let limited = query.tickets.is_some();
        let [all_tickets, all_users, all_orgs] = answered.map(|a| limited && a);
        let mut next = Memory::new(base);
        next.reads = if since.is_some() { old.reads + 1 } else { 0 };
        next.tickets = kept(&tickets, &needed.tickets, all_tickets);
        next.users = kept(&users, &needed.users, all_users);
        next.organizations = kept(&orgs, &org_ids, all_orgs);
        next.saw(old.current_at);
        next.saw(newest);
        next.saw(tickets.values().filter_map(|t| t.updated_at).max());
        next.saw(users.values().filter_map(|u| u.updated_at).max());
        next.saw(orgs.values().filter_map(|o| o.updated_at).max());
        Ok(Names {
            tickets,
            users,
            orgs,
            types,
            memory: next.into_value(),
        })
    }

    /// Looks up each id once, concurrently; ids that do not exist are left out.
    async fn lookup<T: serde::de::DeserializeOwned + Send>(
        &self,
        route: &'static str,
        prefix: &str,
        ids: impl IntoIterator<Item = i64>,
    ) -> ConnectorResult<HashMap<i64, T>> {
        let reads: Vec<Lookup<'_, T>> = ids
            .into_iter()
            .map(|id| {
                let req = Request::get(route, format!("{prefix}/{id}"));
                async move {
                    match self.client.json::<T>(req).await {
                        Ok(v) => Ok(Some((id, v))),
                        Err(ConnectorError::NotFound { .. }) => Ok(None),
                        Err(e) => Err(e),
                    }
                }
                .boxed()
            })
            .collect();
        let found: Vec<Option<(i64, T)>> = futures::stream::iter(reads)
            .buffer_unordered(LOOKUP_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn types(&self) -> ConnectorResult<Vec<ApiType>> {
        self.client
            .json(Request::get(
                "GET /api/v1/time_accounting/types",
                "/api/v1/time_accounting/types",
            ))
            .await
    }

    async fn all_pages<T: serde::de::DeserializeOwned>(
        &self,
        route: &'static str,
        path: &str,
    ) -> ConnectorResult<Vec<T>> {
        let per_page = 500usize;
        let mut out = Vec::new();
        let mut page = 1usize;
        loop {
            let items: Vec<T> = self
                .client
                .json(
                    Request::get(route, path)
                        .query("page", page)
                        .query("per_page", per_page),
                )
                .await?;
            let n = items.len();
            out.extend(items);
            if n < per_page {
                return Ok(out);
            }
            page += 1;
        }
    }

    async fn check(
        &self,
        details: &mut serde_json::Map<String, Value>,
    ) -> Result<String, TestReport> {
        let fail = |step: &str, e: &ConnectorError, d: &serde_json::Map<String, Value>| {
            TestReport::failed(step, e, Value::Object(d.clone()))
        };
        let me: ApiUser = self
            .client
            .json(Request::get("GET /api/v1/users/me", "/api/v1/users/me"))
            .await
            .map_err(|e| fail("Reading the token's user", &e, details))?;
        details.insert("user".into(), json!(me.login.clone().or(me.email.clone())));
        let global = self
            .client
            .send(
                Request::get("GET /api/v1/time_accountings", "/api/v1/time_accountings")
                    .query("page", 1)
                    .query("per_page", 1),
            )
            .await;
        match global {
            Ok(_) => {
                details.insert("mode".into(), json!("global"));
                Ok(format!(
                    "Connected to Zammad as {}; all time accountings can be read",
                    me.login.clone().unwrap_or_else(|| me.id.to_string())
                ))
            }
            Err(ConnectorError::Forbidden { .. }) => {
                self.client
                    .send(
                        Request::get("GET /api/v1/tickets/search", "/api/v1/tickets/search")
                            .query("query", "*")
                            .query("per_page", 1),
                    )
                    .await
                    .map_err(|e| fail("Searching tickets", &e, details))?;
                details.insert("mode".into(), json!("per_ticket"));
                Ok(format!(
                    "Connected to Zammad as {}; warning: the token may not list all time \
                     accountings (admin.time_accounting), so they are read ticket by ticket, \
                     which takes more requests",
                    me.login.clone().unwrap_or_else(|| me.id.to_string())
                ))
            }
            Err(e) => Err(fail("Reading one time accounting", &e, details)),
        }
    }
}

#[async_trait]
impl Connector for ZammadConnector {
    fn kind(&self) -> &'static str {
        "zammad"
    }

    async fn test(&self) -> TestReport {
        let mut details = serde_json::Map::new();
        details.insert("base_url".into(), json!(self.client.base_url()));
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
            "types" => self
                .types()
                .await?
                .into_iter()
                .map(|t| CatalogItem {
                    key: t.id.to_string(),
                    label: t.name,
                    extra: json!({"active": t.active.unwrap_or(true)}),
                })
                .collect(),
            "organizations" => self
                .all_pages::<ApiOrganization>("GET /api/v1/organizations", "/api/v1/organizations")
                .await?
                .into_iter()
                .map(|o| CatalogItem {
                    key: o.id.to_string(),
                    label: o.name,
                    extra: json!({"domain": o.domain, "active": o.active.unwrap_or(true)}),
                })
                .collect(),
            "agents" => self
                .all_pages::<ApiUser>("GET /api/v1/users", "/api/v1/users")
                .await?
                .into_iter()
                // Zammad's built-in roles: 1 Admin, 2 Agent (3 is Customer).
                .filter(|u| u.role_ids.iter().any(|r| *r == 1 || *r == 2))
                .map(|u| {
                    let name = u.name().unwrap_or_else(|| u.id.to_string());
                    CatalogItem {
                        key: u.id.to_string(),
                        label: match &u.email {
                            Some(e) if !e.is_empty() => format!("{name} <{e}>"),
                            _ => name,
                        },
                        extra: json!({"email": u.email, "login": u.login,
                            "active": u.active.unwrap_or(true)}),
                    }
                })
                .collect(),
            other => {
                return Err(ConnectorError::NotFound {
                    message: format!(
                        "Zammad has no catalog {other:?} (types, organizations, agents)"
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
}

#[async_trait]
impl SourceConnector for ZammadConnector {
    async fn fetch(&self, query: &SourceQuery) -> ConnectorResult<SourceBatch> {
        let read = self.read(query).await?;
        let window: &Window = &query.window;
        // The newest moment Zammad's own clock showed in this read.
        let newest = read
            .accountings
            .iter()
            .map(|a| a.updated_at.unwrap_or(a.created_at))
            .max();
        let mut known_keys = HashSet::new();
        let mut in_window = Vec::new();
        for a in read.accountings {
            let unit = number_text(&a.time_unit);
            let seconds = duration_seconds(&unit, self.minutes_per_unit).ok_or_else(|| {
                ConnectorError::Protocol {
                    host: self.client.host().to_owned(),
                    message: format!("time accounting {} has time_unit {unit:?}", a.id),
                }
            })?;
            let (begin, end) = place(a.created_at, seconds, self.placement);
            if window.contains(begin) {
                in_window.push((a, seconds, begin, end));
            } else {
                known_keys.insert(a.id.to_string());
            }
        }
        // Names, once each, only for what is in the window; what an earlier read
        // remembered is reused unless Zammad says it changed since (see `memory`).
        let mut notes = read.notes;
        let needed = Needed {
            tickets: in_window.iter().map(|(a, ..)| a.ticket_id).collect(),
            users: in_window.iter().map(|(a, ..)| a.created_by_id).collect(),
            earliest: in_window
                .iter()
                .map(|(a, ..)| a.created_at)
                .min()
                .unwrap_or_else(|| window.start()),
        };
        let names = self
            .names(needed, read.tickets, newest, query, &mut notes)
            .await?;
        let Names {
            tickets,
            users,
            orgs,
            types,
            memory,
        } = names;
        let types: HashMap<i64, String> = types.into_iter().map(|t| (t.id, t.name)).collect();
        let base = self.client.base_url().to_owned();
        let entries = in_window
            .into_iter()
            .map(|(a, seconds, begin, end)| {
                let ticket = tickets.get(&a.ticket_id);
                let org = ticket.and_then(|t| t.organization_id).map(|o| NamedRef {
                    key: o.to_string(),
                    name: orgs.get(&o).map(|o| o.name.clone()),
                });
                let user = users.get(&a.created_by_id);
                Entry {
                    system: "zammad".into(),
                    key: a.id.to_string(),
                    ticket: Some(TicketRef {
                        id: a.ticket_id,
                        number: ticket.map(|t| number_text(&t.number)).unwrap_or_default(),
                        title: ticket.and_then(|t| t.title.clone()).unwrap_or_default(),
                        url: Some(format!("{base}/#ticket/zoom/{}", a.ticket_id)),
                    }),
                    customer: org.clone(),
                    project: org,
                    activity: a.type_id.map(|t| NamedRef {
                        key: t.to_string(),
                        name: types.get(&t).cloned(),
                    }),
                    user: Some(UserRef {
                        key: a.created_by_id.to_string(),
                        email: user.and_then(|u| u.email.clone()).filter(|e| !e.is_empty()),
                        name: user.and_then(ApiUser::name),
                    }),
                    begin,
                    end: Some(end),
                    duration_seconds: Some(seconds),
                    description: String::new(),
                    billable: None,
                    tags: Vec::new(),
                    running: false,
                }
            })
            .collect();
        Ok(SourceBatch {
            entries,
            known_keys,
            scope: read.scope,
            notes,
            memory,
        })
    }
}
