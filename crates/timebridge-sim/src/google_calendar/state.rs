//! The Google Calendar simulator's data (one account, its primary calendar and events, the
//! OAuth grants it issued, push channels), its JSON views, and the control handle tests
//! use to read and change it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, SecondsFormat, Utc};
use rand::Rng;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::faults::{Faults, Flavor, Infra, RequestLog};
use crate::{SimError, SimOptions, default_now};

/// When an event starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A timed event: an instant with the offset it is shown in.
    Timed(DateTime<FixedOffset>),
    /// An all-day event (the end date exclusive).
    AllDay(NaiveDate),
}

impl When {
    /// The instant (all-day: midnight UTC of the date).
    pub fn instant(&self) -> DateTime<Utc> {
        match self {
            When::Timed(t) => t.with_timezone(&Utc),
            When::AllDay(d) => d.and_hms_opt(0, 0, 0).expect("midnight").and_utc(),
        }
    }

    fn shifted(&self, by: Duration) -> When {
        match self {
            When::Timed(t) => When::Timed(*t + by),
            When::AllDay(d) => When::AllDay(*d + by),
        }
    }

    fn json(&self) -> Value {
        match self {
            When::Timed(t) => json!({"dateTime": t.to_rfc3339_opts(SecondsFormat::Secs, false)}),
            When::AllDay(d) => json!({"date": d.format("%Y-%m-%d").to_string()}),
        }
    }
}

/// How often a recurring event repeats (`RRULE:FREQ=…;COUNT=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    /// Every day.
    Daily,
    /// Every week on the same weekday.
    Weekly,
}

/// An event as stored: a single event, a recurring series, or an exception of one
/// instance (`recurring_event_id` set; its id is the instance's).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Id (instances: `<series id>_<original start, UTC basic format>`).
    pub id: String,
    /// Title.
    pub summary: String,
    /// Start.
    pub start: When,
    /// End (exclusive for all-day events).
    pub end: When,
    /// `confirmed`, `tentative` or `cancelled`.
    pub status: String,
    /// The owner's answer as an attendee (`accepted`, `declined`, `tentative`), if invited.
    pub response: Option<String>,
    /// Recurrence of a series: frequency and count of instances.
    pub recurrence: Option<(Freq, u32)>,
    /// The series an exception belongs to.
    pub recurring_event_id: Option<String>,
    /// When it last changed, as the change counter (sync tokens compare it).
    pub changed_seq: u64,
    /// When it last changed.
    pub updated: DateTime<Utc>,
}

impl Event {
    fn step(&self) -> Duration {
        match self.recurrence {
            Some((Freq::Daily, _)) => Duration::days(1),
            _ => Duration::weeks(1),
        }
    }
}

/// The instance id Google gives instance `start` of series `series`.
pub fn instance_id(series: &str, start: DateTime<Utc>) -> String {
    format!("{series}_{}", start.format("%Y%m%dT%H%M%SZ"))
}

/// A push channel opened with `events/watch`.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// The caller's id.
    pub id: String,
    /// Ours.
    pub resource_id: String,
    /// Where notifications go.
    pub address: String,
    /// The caller's token, sent back in `X-Goog-Channel-Token`.
    pub token: Option<String>,
    /// When it ends.
    pub expiration: DateTime<Utc>,
    /// Messages sent so far.
    pub messages: u64,
    /// Stopped with `channels/stop`.
    pub stopped: bool,
}

#[derive(Debug)]
pub(crate) struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
}

#[derive(Debug)]
pub(crate) struct GState {
    pub owner_email: String,
    pub owner_name: String,
    pub time_zone: String,
    pub events: BTreeMap<String, Event>,
    pub seq: u64,
    /// Sync tokens below this change counter are expired (410).
    pub sync_floor: u64,
    pub codes: HashMap<String, Grant>,
    pub refresh_tokens: HashMap<String, bool>,
    pub access_tokens: HashMap<String, Instant>,
    pub channels: Vec<Channel>,
    pub auto_approve: bool,
    pub access_ttl: StdDuration,
    pub page_cap: usize,
    pub max_channel_ttl: Duration,
    pub require_https: bool,
    /// Deleted single events carry only `id` and `status` (UNCONFIRMED how little Google
    /// sends; the default here), else every field.
    pub minimal_cancelled: bool,
    pub next_id: u64,
}

/// Cloneable handle on the simulator's state, faults, log and clock.
#[derive(Debug, Clone)]
pub struct GoogleCalendarControl {
    pub(crate) state: Arc<Mutex<GState>>,
    pub(crate) infra: Infra,
    pub(crate) clock: Clock,
    /// The OAuth client id the simulator knows.
    pub client_id: String,
    /// The OAuth client secret the simulator knows.
    pub client_secret: String,
}

/// A new single event for [`GoogleCalendarControl::add_event`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Title.
    pub summary: String,
    /// Start.
    pub start: When,
    /// End.
    pub end: When,
    /// The owner's answer, if invited.
    pub response: Option<String>,
    /// Recurrence.
    pub recurrence: Option<(Freq, u32)>,
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 16] = rand::thread_rng().r#gen();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

impl GoogleCalendarControl {
    pub(crate) fn new(opts: &SimOptions) -> Self {
        let now = opts.now.unwrap_or_else(default_now);
        let clock = if opts.running_clock {
            Clock::running(now)
        } else {
            Clock::fixed(now)
        };
        let mut st = GState {
            owner_email: String::new(),
            owner_name: String::new(),
            time_zone: "UTC".into(),
            events: BTreeMap::new(),
            seq: 1,
            sync_floor: 0,
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            access_tokens: HashMap::new(),
            channels: Vec::new(),
            auto_approve: false,
            access_ttl: StdDuration::from_secs(3600),
            page_cap: 2500,
            max_channel_ttl: Duration::days(7),
            require_https: true,
            minimal_cancelled: true,
            next_id: 1,
        };
        super::seed::load(&mut st, opts, now);
        GoogleCalendarControl {
            state: Arc::new(Mutex::new(st)),
            infra: Infra::new(opts.rng_seed, opts.latency, Flavor::Google),
            clock,
            client_id: "timebridge-sim.apps.googleusercontent.com".into(),
            client_secret: opts.token.clone(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, GState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Injected faults.
    pub fn faults(&self) -> &Faults {
        &self.infra.faults
    }

    /// The request log.
    pub fn log(&self) -> &RequestLog {
        &self.infra.log
    }

    /// The simulator's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The calendar owner's e-mail (the primary calendar's id).
    pub fn owner_email(&self) -> String {
        self.lock().owner_email.clone()
    }

    /// Consent without a person: the authorization page redirects at once.
    pub fn set_auto_approve(&self, on: bool) {
        self.lock().auto_approve = on;
    }

    /// How long access tokens live (Google: an hour).
    pub fn set_access_token_lifetime(&self, ttl: StdDuration) {
        self.lock().access_ttl = ttl;
    }

    /// The most events one page holds (Google: 2500), whatever `maxResults` asks.
    pub fn set_page_cap(&self, cap: usize) {
        self.lock().page_cap = cap.max(1);
    }

    /// The longest a push channel lives.
    pub fn set_max_channel_lifetime(&self, ttl: Duration) {
        self.lock().max_channel_ttl = ttl;
    }

    /// Whether `events/watch` refuses addresses that are not https (Google does).
    pub fn set_require_https(&self, on: bool) {
        self.lock().require_https = on;
    }

    /// Whether deleted single events are listed with only `id` and `status` (default) or
    /// with every field: how little Google sends is UNCONFIRMED (external-apis-v2.md §8).
    pub fn set_minimal_cancelled(&self, on: bool) {
        self.lock().minimal_cancelled = on;
    }

    /// Revokes every refresh token (the person removed the app's access): refreshing
    /// answers `invalid_grant`, access tokens stop working.
    pub fn revoke_grants(&self) {
        let mut st = self.lock();
        for revoked in st.refresh_tokens.values_mut() {
            *revoked = true;
        }
        st.access_tokens.clear();
    }

    /// Forgets every access token issued so far (the next call with one gets 401), as
    /// when Google ends them early; refresh tokens keep working.
    pub fn expire_access_tokens(&self) {
        self.lock().access_tokens.clear();
    }

    /// Issues a refresh token as a finished connect flow would (for tests that seed it).
    pub fn issue_refresh_token(&self) -> String {
        let token = random_token("1//sim-refresh-");
        self.lock().refresh_tokens.insert(token.clone(), false);
        token
    }

    /// Expires every sync token issued so far (the next incremental read gets 410).
    pub fn expire_sync_tokens(&self) {
        let mut st = self.lock();
        st.sync_floor = st.seq + 1;
        st.seq += 1;
    }

    /// Every stored event (series, singles and exceptions), by id.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.values().cloned().collect()
    }

    /// The ids of the single events and instances a person would call their time: timed,
    /// not cancelled, not declined.
    pub fn timed_ids(&self) -> Vec<String> {
        let st = self.lock();
        st.instances()
            .into_iter()
            .filter(|e| matches!(e.start, When::Timed(_)))
            .filter(|e| e.status != "cancelled" && e.response.as_deref() != Some("declined"))
            .map(|e| e.id)
            .collect()
    }

    /// The push channels opened so far.
    pub fn channels(&self) -> Vec<Channel> {
        self.lock().channels.clone()
    }

    /// Adds an event; returns its id.
    pub fn add_event(&self, new: NewEvent) -> String {
        let now = self.clock.now();
        let mut st = self.lock();
        let id = st.new_event_id();
        st.seq += 1;
        let ev = Event {
            id: id.clone(),
            summary: new.summary,
            start: new.start,
            end: new.end,
            status: "confirmed".into(),
            response: new.response,
            recurrence: new.recurrence,
            recurring_event_id: None,
            changed_seq: st.seq,
            updated: now,
        };
        st.events.insert(id.clone(), ev);
        id
    }

    /// Changes event or instance `id` as a person would: `change` gets the event (an
    /// instance becomes an exception of its series first).
    pub fn edit_event(&self, id: &str, change: impl FnOnce(&mut Event)) -> Result<(), SimError> {
        let now = self.clock.now();
        let mut st = self.lock();
        let mut ev = st
            .instance(id)
            .ok_or_else(|| SimError::NotFound(format!("event {id}")))?;
        change(&mut ev);
        st.seq += 1;
        ev.changed_seq = st.seq;
        ev.updated = now;
        st.events.insert(id.to_owned(), ev);
        Ok(())
    }

    /// Deletes event or instance `id` (it becomes `cancelled`, as Google keeps it).
    pub fn delete_event(&self, id: &str) -> Result<(), SimError> {
        self.edit_event(id, |e| e.status = "cancelled".into())
    }

    /// Sends a push notification on channel `channel_id` with resource state `state`
    /// (`sync`, `exists`, `not_exists`) to the channel's address, or to `to` instead (a test
    /// server reachable without TLS); returns the answer's status.
    pub async fn push(
        &self,
        channel_id: &str,
        state: &str,
        to: Option<&str>,
    ) -> Result<u16, SimError> {
        let (ch, number) = {
            let mut st = self.lock();
            let ch = st
                .channels
                .iter_mut()
                .find(|c| c.id == channel_id && !c.stopped)
                .ok_or_else(|| SimError::NotFound(format!("channel {channel_id}")))?;
            ch.messages += 1;
            (ch.clone(), ch.messages)
        };
        let url = to.map_or(ch.address.clone(), str::to_owned);
        let mut req = reqwest::Client::new()
            .post(url)
            .header("X-Goog-Channel-ID", &ch.id)
            .header(
                "X-Goog-Channel-Expiration",
                ch.expiration.to_rfc2822().replace("+0000", "GMT"),
            )
            .header("X-Goog-Resource-ID", &ch.resource_id)
            .header(
                "X-Goog-Resource-URI",
                "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
            )
            .header("X-Goog-Resource-State", state)
            .header("X-Goog-Message-Number", number.to_string());
        if let Some(t) = &ch.token {
            req = req.header("X-Goog-Channel-Token", t);
        }
        Ok(req.send().await?.status().as_u16())
    }
}

impl GState {
    pub(crate) fn new_event_id(&mut self) -> String {
        self.next_id += 1;
        format!("ev{:06}{:04x}", self.next_id, (self.next_id * 7919) % 65521)
    }

    /// The instances of a series (exceptions applied) or the single event itself.
    pub(crate) fn expand(&self, ev: &Event) -> Vec<Event> {
        let Some((_, count)) = ev.recurrence else {
            return vec![ev.clone()];
        };
        let step = ev.step();
        (0..count)
            .map(|k| {
                let by = step * i32::try_from(k).unwrap_or(i32::MAX);
                let start = ev.start.shifted(by);
                let id = instance_id(&ev.id, start.instant());
                match self.events.get(&id) {
                    Some(exception) => exception.clone(),
                    None => Event {
                        id,
                        start,
                        end: ev.end.shifted(by),
                        recurrence: None,
                        recurring_event_id: Some(ev.id.clone()),
                        ..ev.clone()
                    },
                }
            })
            .collect()
    }

    /// Every single event and instance, in start order (ties by id).
    pub(crate) fn instances(&self) -> Vec<Event> {
        let mut out: Vec<Event> = self
            .events
            .values()
            .filter(|e| e.recurring_event_id.is_none())
            .flat_map(|e| self.expand(e))
            .collect();
        out.sort_by(|a, b| {
            a.start
                .instant()
                .cmp(&b.start.instant())
                .then_with(|| a.id.cmp(&b.id))
        });
        out
    }

    /// The single event or instance `id`.
    pub(crate) fn instance(&self, id: &str) -> Option<Event> {
        if let Some(e) = self.events.get(id) {
            if e.recurrence.is_none() {
                return Some(e.clone());
            }
            return None;
        }
        let (series, _) = id.rsplit_once('_')?;
        let master = self.events.get(series)?;
        self.expand(master).into_iter().find(|e| e.id == id)
    }

    /// The change counter of an instance: its own or its series'.
    pub(crate) fn changed(&self, e: &Event) -> u64 {
        let series = e
            .recurring_event_id
            .as_ref()
            .and_then(|s| self.events.get(s))
            .map_or(0, |s| s.changed_seq);
        e.changed_seq.max(series)
    }

    /// The event's JSON as `events.list` shows it.
    pub(crate) fn view(&self, e: &Event) -> Value {
        let mut v = json!({
            "kind": "calendar#event",
            "etag": format!("\"{}\"", self.changed(e)),
            "id": e.id,
            "status": e.status,
            "htmlLink": format!("https://www.google.com/calendar/event?eid={}", e.id),
            "updated": e.updated.to_rfc3339_opts(SecondsFormat::Millis, true),
            "summary": e.summary,
            "creator": {"email": self.owner_email},
            "organizer": {"email": self.owner_email, "self": true},
            "start": e.start.json(),
            "end": e.end.json(),
            "iCalUID": format!("{}@google.com", e.recurring_event_id.as_ref().unwrap_or(&e.id)),
            "sequence": 0,
            "eventType": "default",
        });
        if let Some(series) = &e.recurring_event_id {
            v["recurringEventId"] = json!(series);
            v["originalStartTime"] = e.start.json();
        }
        if let Some(r) = &e.response {
            v["organizer"] = json!({"email": "organizer@partner.example"});
            v["attendees"] = json!([
                {"email": "organizer@partner.example", "organizer": true,
                 "responseStatus": "accepted"},
                {"email": self.owner_email, "self": true, "responseStatus": r},
            ]);
        }
        if e.status == "cancelled" && e.recurring_event_id.is_none() && self.minimal_cancelled {
            // Google sends deleted events with little more than their id.
            return json!({"kind": "calendar#event", "etag": v["etag"], "id": e.id,
                          "status": "cancelled"});
        }
        v
    }
}
