//! Google Calendar as a source: the window's events, read in full (`timeMin`/`timeMax`,
//! `singleEvents=true`, every page) or, while this process keeps an earlier full read that
//! covers the window, as the changes since its sync token applied to it (a 410 reads
//! everything again); events become entries of the calendar's owner; push channels are
//! opened and renewed at the start of a read.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use secrecy::ExposeSecret;
use serde_json::json;
use timebridge_core::entry::{Entry, UserRef, Window};
use timebridge_core::mapping::ProjectRule;

use super::api::{ApiChannel, ApiEvent, ApiEventList};
use super::connector::{GoogleCalendarConnector, encode};
use super::webhook::channel_token;
use crate::connector::{SourceBatch, SourceConnector, SourceQuery, SourceScope};
use crate::error::{ConnectorError, ConnectorResult};
use crate::http::Request;

/// Events per page asked for (Google's maximum; it may send fewer).
pub const PAGE_SIZE: u32 = 2500;
/// How long a push channel is asked to live.
const CHANNEL_LIFETIME: Duration = Duration::hours(24);

/// A full read this process keeps, with the sync token that continues it.
struct Synced {
    fingerprint: String,
    window: Window,
    events: HashMap<String, ApiEvent>,
    sync_token: String,
}

/// The kept full read of a connector (one per connector id, see
/// [`crate::connector::InstanceMemory`]).
#[derive(Default)]
struct SyncMemory {
    synced: tokio::sync::Mutex<Option<Synced>>,
}

/// A push channel this process opened.
struct OpenChannel {
    fingerprint: String,
    id: String,
    resource_id: String,
    /// When to open the next one: a third of its lifetime before it ends.
    renew_at: DateTime<Utc>,
}

#[derive(Default)]
struct ChannelMemory {
    open: tokio::sync::Mutex<Option<OpenChannel>>,
}

/// Why an event is not an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Skip {
    AllDay,
    Cancelled,
    Declined,
}

/// An event read as an entry, or why it is not one.
enum Read {
    Entry(Box<Entry>),
    Skipped(Skip, Option<DateTime<Utc>>),
}

/// The entry key of event `id`: the id with `_` (which instance ids hold) written as `.`,
/// so that it fits a link marker. Google's ids are base32hex and hold no `.`.
pub fn entry_key(id: &str) -> String {
    id.replace('_', ".")
}

/// The event id of entry key `key` (see [`entry_key`]).
pub fn event_id(key: &str) -> String {
    key.replace('.', "_")
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn day_start(text: &str) -> Option<DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?))
}

impl GoogleCalendarConnector {
    /// Reads one event; `owner` is whose entries they become.
    fn read_event(&self, e: &ApiEvent, owner: &UserRef) -> ConnectorResult<Read> {
        let begin_of = |e: &ApiEvent| {
            e.start.as_ref().and_then(|s| {
                s.date_time
                    .as_deref()
                    .and_then(instant)
                    .or_else(|| s.date.as_deref().and_then(day_start))
            })
        };
        if e.status.as_deref() == Some("cancelled") {
            return Ok(Read::Skipped(Skip::Cancelled, begin_of(e)));
        }
        let start = e.start.as_ref();
        let end = e.end.as_ref();
        let (Some(s), Some(t)) = (
            start.and_then(|s| s.date_time.as_deref()),
            end.and_then(|t| t.date_time.as_deref()),
        ) else {
            return Ok(Read::Skipped(Skip::AllDay, begin_of(e)));
        };
        let bad = |v: &str| ConnectorError::Protocol {
            host: self.client.host().to_owned(),
            message: format!("event {} has an unreadable time {v:?}", e.id),
        };
        let begin = instant(s).ok_or_else(|| bad(s))?;
        let finish = instant(t).ok_or_else(|| bad(t))?;
        let declined =
            e.attendees.iter().flatten().any(|a| {
                a.is_self == Some(true) && a.response_status.as_deref() == Some("declined")
            });
        if declined {
            return Ok(Read::Skipped(Skip::Declined, Some(begin)));
        }
        let summary = e.summary.as_deref().map(str::trim).unwrap_or_default();
        Ok(Read::Entry(Box::new(Entry {
            system: "google_calendar".into(),
            key: entry_key(&e.id),
            ticket: None,
            customer: None,
            project: None,
            activity: None,
            user: Some(owner.clone()),
            begin,
            end: Some(finish),
            duration_seconds: Some((finish - begin).num_seconds()),
            description: if summary.is_empty() {
                "(No title)".into()
            } else {
                summary.to_owned()
            },
            billable: None,
            tags: Vec::new(),
            running: false,
        })))
    }

    /// Every page of an events list with `params`; the sync token of the last page.
    async fn list_events(
        &self,
        params: &[(&str, String)],
    ) -> ConnectorResult<(Vec<ApiEvent>, Option<String>)> {
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut req = Request::get(
                "GET /calendars/{calendarId}/events",
                self.calendar_path("/events"),
            )
            .query("singleEvents", "true")
            .query("showDeleted", "true")
            .query("maxResults", PAGE_SIZE);
            for (k, v) in params {
                req = req.query(k, v);
            }
            if let Some(p) = &page {
                req = req.query("pageToken", p);
            }
            let list: ApiEventList = self.send(req).await?.json()?;
            out.extend(list.items);
            match list.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => page = Some(t),
                None => return Ok((out, list.next_sync_token.filter(|t| !t.is_empty()))),
            }
        }
    }

    /// A full read of `window`: the events that overlap it.
    async fn full_read(&self, window: &Window) -> ConnectorResult<Synced> {
        let (events, token) = self
            .list_events(&[
                ("timeMin", stamp(window.start())),
                ("timeMax", stamp(window.end_exclusive())),
            ])
            .await?;
        Ok(Synced {
            fingerprint: self.fingerprint.clone(),
            window: *window,
            events: events.into_iter().map(|e| (e.id.clone(), e)).collect(),
            sync_token: token.unwrap_or_default(),
        })
    }

    /// The window's events: from the kept read plus its changes where it covers the window,
    /// else a full read (kept for the next run).
    async fn window_events(
        &self,
        window: &Window,
        notes: &mut Vec<String>,
    ) -> ConnectorResult<Vec<ApiEvent>> {
        let memory = self.memory.slot::<SyncMemory>(self.id);
        let mut kept = memory.synced.lock().await;
        let usable = kept.as_ref().is_some_and(|s| {
            s.fingerprint == self.fingerprint
                && !s.sync_token.is_empty()
                && s.window.from <= window.from
                && window.to <= s.window.to
        });
        if usable && let Some(s) = kept.as_mut() {
            match self
                .list_events(&[("syncToken", s.sync_token.clone())])
                .await
            {
                Ok((changes, token)) => {
                    notes.push(format!(
                        "incremental read: {} changed events since the last read",
                        changes.len()
                    ));
                    for e in changes {
                        s.events.insert(e.id.clone(), e);
                    }
                    if let Some(t) = token {
                        s.sync_token = t;
                    }
                    return Ok(s.events.values().cloned().collect());
                }
                Err(ConnectorError::Remote { status: 410, .. }) => {
                    notes.push("the sync token expired (410): read everything again".into());
                }
                Err(e) => {
                    *kept = None;
                    return Err(e);
                }
            }
        }
        *kept = None;
        let synced = self.full_read(window).await?;
        notes.push(format!("full read: {} events", synced.events.len()));
        let events = synced.events.values().cloned().collect();
        if !synced.sync_token.is_empty() {
            *kept = Some(synced);
        }
        Ok(events)
    }

    /// Whether the event of entry `key` exists (and is not cancelled).
    async fn exists(&self, key: String) -> ConnectorResult<Option<String>> {
        let req = Request::get(
            "GET /calendars/{calendarId}/events/{eventId}",
            self.calendar_path(&format!("/events/{}", encode(&event_id(&key)))),
        );
        match self.send(req).await {
            Ok(r) => {
                let e: ApiEvent = r.json()?;
                Ok((e.status.as_deref() != Some("cancelled")).then_some(key))
            }
            Err(ConnectorError::NotFound { .. })
            | Err(ConnectorError::Remote { status: 410, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens a push channel when none is open for this configuration or the open one ends
    /// soon, then stops the one it replaces. Says what it did; never fails the read.
    async fn ensure_channel(&self, notes: &mut Vec<String>) {
        let Ok(address) = self.push_address() else {
            return;
        };
        let Some(refresh) = self.refresh_token() else {
            return;
        };
        let memory = self.memory.slot::<ChannelMemory>(self.id);
        let mut open = memory.open.lock().await;
        let now = Utc::now();
        if open
            .as_ref()
            .is_some_and(|c| c.fingerprint == self.fingerprint && now < c.renew_at)
        {
            return;
        }
        let id = format!("tb-{}-{}", self.id, hex::encode(rand::random::<[u8; 12]>()));
        let asked = now + CHANNEL_LIFETIME;
        let body = json!({
            "id": id,
            "type": "web_hook",
            "address": address,
            "token": channel_token(refresh.expose_secret().as_bytes()),
            "expiration": asked.timestamp_millis(),
        });
        let req = Request::post(
            "POST /calendars/{calendarId}/events/watch",
            self.calendar_path("/events/watch"),
            body,
        );
        let channel: ApiChannel = match self.send(req).await.and_then(|r| r.json()) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(connector = self.id, error = %e, "Opening a push channel failed.");
                notes.push(format!("push channel not opened: {e}"));
                return;
            }
        };
        let ends = channel
            .expiration
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or(asked);
        let lifetime = (ends - now).max(Duration::zero());
        let renew_at = now + lifetime - lifetime / 3;
        let replaced = open.replace(OpenChannel {
            fingerprint: self.fingerprint.clone(),
            id: channel.id,
            resource_id: channel.resource_id,
            renew_at,
        });
        notes.push(format!("push channel opened until {}", stamp(ends)));
        if let Some(old) = replaced {
            let stop = Request::post(
                "POST /channels/stop",
                "/channels/stop",
                json!({"id": old.id, "resourceId": old.resource_id}),
            )
            .idempotent(true);
            if let Err(e) = self.send(stop).await {
                tracing::info!(connector = self.id, error = %e, "Stopping the old push channel failed; it ends on its own.");
            }
        }
    }
}

#[async_trait]
impl SourceConnector for GoogleCalendarConnector {
    async fn fetch(&self, query: &SourceQuery) -> ConnectorResult<SourceBatch> {
        if !self.is_connected() {
            return Err(ConnectorError::Unauthorized {
                status: 401,
                message: "not connected to Google yet: use \"Connect with Google\"".into(),
            });
        }
        // The token first: a revoked grant ends the read before anything else.
        self.access_token().await?;
        let mut notes = Vec::new();
        self.ensure_channel(&mut notes).await;
        let owner = self.owner().await?;
        let window = &query.window;
        let events = self.window_events(window, &mut notes).await?;
        let mut entries = Vec::new();
        let mut known_keys = HashSet::new();
        let mut seen = HashSet::new();
        let mut skipped: HashMap<Skip, usize> = HashMap::new();
        for e in &events {
            match self.read_event(e, &owner)? {
                Read::Entry(entry) => {
                    seen.insert(entry.key.clone());
                    if window.contains(entry.begin) {
                        entries.push(*entry);
                    } else {
                        known_keys.insert(entry.key);
                    }
                }
                Read::Skipped(why, begin) => {
                    if begin.is_none_or(|b| window.contains(b)) {
                        *skipped.entry(why).or_default() += 1;
                    }
                }
            }
        }
        entries.sort_by(|a, b| a.begin.cmp(&b.begin).then_with(|| a.key.cmp(&b.key)));
        for (why, text) in [
            (Skip::AllDay, "all-day events"),
            (Skip::Cancelled, "cancelled events"),
            (Skip::Declined, "events the calendar's owner declined"),
        ] {
            if let Some(n) = skipped.get(&why) {
                notes.push(format!("left out {n} {text}"));
            }
        }
        // Linked events the window did not hold: do they still exist?
        let missing: Vec<String> = query
            .linked_keys
            .iter()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            let found: Vec<Option<String>> =
                futures::stream::iter(missing.iter().cloned().map(|id| self.exists(id)))
                    .buffer_unordered(8)
                    .try_collect()
                    .await?;
            known_keys.extend(found.into_iter().flatten());
            notes.push(format!(
                "{} linked events lie outside the window; looked up by id",
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

    fn project_rule(&self) -> ProjectRule {
        ProjectRule::KeywordInDescription
    }
}
