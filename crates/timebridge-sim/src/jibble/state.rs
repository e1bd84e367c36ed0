//! The Jibble simulator's data (people, activities, projects, clock events and access
//! tokens), their JSON views, and the control handle tests and the demo use to clock
//! people in and out, archive or edit a punch, and configure what the facts leave open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Offset, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::faults::{Faults, Flavor, Infra, RequestLog};
use crate::{SimError, SimOptions, default_now};

/// The break type every break punch refers to (`breakId`).
pub const LUNCH_BREAK_ID: &str = "0000b7ea-0000-4000-8000-000000000001";
/// The organization every person belongs to.
pub const ORGANIZATION_ID: &str = "000000a9-0000-4000-8000-000000000001";

/// How the token endpoint wants the client's credentials (the facts know both forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuth {
    /// `client_id` and `client_secret` form fields only.
    Body,
    /// HTTP Basic authentication only.
    Basic,
    /// Either (IdentityServer's default).
    Either,
}

/// What the facts leave open, as switches (defaults in brackets).
#[derive(Debug, Clone, PartialEq)]
pub struct JibbleConfig {
    /// The API client's id.
    pub client_id: String,
    /// The API client's secret.
    pub client_secret: String,
    /// Lifetime of an access token [3600 s]; expiry follows the simulator's clock.
    pub token_lifetime_secs: i64,
    /// Where the token endpoint accepts the credentials [either].
    pub token_auth: TokenAuth,
    /// Whether list answers carry `@odata.nextLink` while rows remain [false, as the
    /// Supabase client saw].
    pub next_link: bool,
    /// Whether archived punches are listed when the filter does not name `status` [true].
    pub archived_visible: bool,
    /// The most rows one answer holds, whatever `$top` asks [1000].
    pub max_page_size: usize,
}

/// A person of the workspace (`GET /v1/People`).
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// GUID.
    pub id: String,
    /// Full name.
    pub full_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// `Joined` for active people.
    pub status: String,
    /// The person's zone (decides `localTime` and `belongsToDate`).
    pub timezone: Tz,
    /// The account's user id.
    pub user_id: String,
}

/// A new person for [`JibbleControl::add_person`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewPerson {
    /// Full name.
    pub full_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Zone.
    pub timezone: Tz,
}

/// An activity or a project: `{id, name, code}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    /// GUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Short code.
    pub code: String,
}

/// The kind of a clock event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PunchType {
    /// Clocked in (work, or a break when `breakId` is set).
    In,
    /// Clocked out.
    Out,
}

impl PunchType {
    fn as_str(self) -> &'static str {
        match self {
            PunchType::In => "In",
            PunchType::Out => "Out",
        }
    }
}

/// One clock event (`GET /v1/TimeEntries`).
#[derive(Debug, Clone, PartialEq)]
pub struct Punch {
    /// GUID.
    pub id: String,
    /// The person (time-tracking person id).
    pub person_id: String,
    /// In or Out.
    pub kind: PunchType,
    /// The instant (UTC).
    pub time: DateTime<Utc>,
    /// The local work day the punch counts toward.
    pub belongs_to_date: NaiveDate,
    /// Activity.
    pub activity_id: Option<String>,
    /// Project.
    pub project_id: Option<String>,
    /// Set on a break's In.
    pub break_id: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// `Web`, `Mobile`, `AutoOut`, …
    pub client_type: String,
    /// Removed (`status: Archived`).
    pub archived: bool,
    /// Entered after the fact.
    pub is_manual: bool,
    /// The person's previous active punch.
    pub previous: Option<String>,
    /// The person's next active punch.
    pub next: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A raw punch for [`JibbleControl::add_punch`] (edge cases the clock methods never make).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPunch {
    /// The person.
    pub person_id: String,
    /// In or Out.
    pub kind: PunchType,
    /// The instant.
    pub time: DateTime<Utc>,
    /// Overrides the computed work day.
    pub belongs_to_date: Option<NaiveDate>,
    /// Activity.
    pub activity_id: Option<String>,
    /// Project.
    pub project_id: Option<String>,
    /// Break type.
    pub break_id: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// Client type [`Web`].
    pub client_type: String,
}

impl NewPunch {
    /// A plain punch from the web app.
    pub fn new(person_id: &str, kind: PunchType, time: DateTime<Utc>) -> Self {
        NewPunch {
            person_id: person_id.to_owned(),
            kind,
            time,
            belongs_to_date: None,
            activity_id: None,
            project_id: None,
            break_id: None,
            note: None,
            client_type: "Web".into(),
        }
    }
}

/// What a clock-in carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClockIn {
    /// Activity.
    pub activity_id: Option<String>,
    /// Project.
    pub project_id: Option<String>,
    /// Note.
    pub note: Option<String>,
}

#[derive(Debug)]
pub(crate) struct JState {
    pub config: JibbleConfig,
    pub people: Vec<Person>,
    pub activities: Vec<Named>,
    pub projects: Vec<Named>,
    pub punches: Vec<Punch>,
    /// Access tokens and when they expire.
    pub tokens: HashMap<String, DateTime<Utc>>,
    next_id: u64,
}

impl JState {
    pub fn new_id(&mut self, kind: u32) -> String {
        self.next_id += 1;
        format!(
            "{kind:08x}-{:04x}-4{:03x}-8000-{:012x}",
            self.next_id % 0xffff,
            kind % 0xfff,
            self.next_id
        )
    }

    pub fn person(&self, id: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.id == id)
    }

    /// The local work day of a punch: that of the open session's In if the person is
    /// clocked in (or on a break) just before it, else the local date of `time`.
    fn work_day(&self, person: &Person, time: DateTime<Utc>) -> NaiveDate {
        let last = self
            .punches
            .iter()
            .filter(|p| p.person_id == person.id && !p.archived && p.time <= time)
            .max_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
        match last {
            Some(p) if p.kind == PunchType::In => p.belongs_to_date,
            _ => time.with_timezone(&person.timezone).date_naive(),
        }
    }

    pub fn insert(&mut self, new: NewPunch, now: DateTime<Utc>) -> Result<Punch, SimError> {
        let person = self
            .person(&new.person_id)
            .cloned()
            .unwrap_or_else(|| Person {
                // A punch of a person the workspace does not list (the UNCONFIRMED
                // time-tracking person id) counts its day in UTC.
                id: new.person_id.clone(),
                full_name: String::new(),
                email: None,
                status: "Joined".into(),
                timezone: chrono_tz::UTC,
                user_id: String::new(),
            });
        let day = new
            .belongs_to_date
            .unwrap_or_else(|| self.work_day(&person, new.time));
        let id = self.new_id(0x7e00_0001);
        let punch = Punch {
            id,
            person_id: new.person_id,
            kind: new.kind,
            time: new.time,
            belongs_to_date: day,
            activity_id: new.activity_id,
            project_id: new.project_id,
            break_id: new.break_id,
            note: new.note,
            client_type: new.client_type,
            archived: false,
            is_manual: new.time < now - chrono::Duration::minutes(5),
            previous: None,
            next: None,
            updated_at: now,
        };
        self.punches.push(punch.clone());
        self.relink(&punch.person_id);
        Ok(self.punch(&punch.id).cloned().unwrap_or(punch))
    }

    pub fn punch(&self, id: &str) -> Option<&Punch> {
        self.punches.iter().find(|p| p.id == id)
    }

    /// Recomputes a person's `previousTimeEntryId` / `nextTimeEntryId` chain over their
    /// active punches in time order.
    pub fn relink(&mut self, person: &str) {
        let mut idx: Vec<usize> = (0..self.punches.len())
            .filter(|i| self.punches[*i].person_id == person)
            .collect();
        idx.sort_by(|a, b| {
            let (x, y) = (&self.punches[*a], &self.punches[*b]);
            x.time.cmp(&y.time).then(x.id.cmp(&y.id))
        });
        let active: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|i| !self.punches[*i].archived)
            .collect();
        for i in idx {
            if self.punches[i].archived {
                self.punches[i].previous = None;
                self.punches[i].next = None;
            }
        }
        for (n, i) in active.iter().enumerate() {
            let prev = n.checked_sub(1).map(|p| self.punches[active[p]].id.clone());
            let next = active.get(n + 1).map(|x| self.punches[*x].id.clone());
            self.punches[*i].previous = prev;
            self.punches[*i].next = next;
        }
    }

    pub fn person_json(&self, p: &Person) -> Value {
        json!({
            "id": p.id, "fullName": p.full_name, "preferredName": p.full_name.split(' ').next(),
            "email": p.email, "code": null, "status": p.status, "role": "Member",
            "groupId": null, "userId": p.user_id, "organizationId": ORGANIZATION_ID,
            "createdAt": "2025-01-06T09:00:00.000Z", "updatedAt": "2025-01-06T09:00:00.000Z",
            "removedAt": null, "joinDate": "2025-01-06",
            "IPersonSetting/BillableRate": null,
        })
    }

    pub fn named_json(n: &Named) -> Value {
        json!({"id": n.id, "name": n.name, "code": n.code, "organizationId": ORGANIZATION_ID,
               "status": "Active"})
    }

    pub fn punch_json(&self, p: &Punch) -> Value {
        let tz = self
            .person(&p.person_id)
            .map_or(chrono_tz::UTC, |x| x.timezone);
        let local = p.time.with_timezone(&tz);
        let offset = local.offset().fix();
        let stamp = p.time.to_rfc3339_opts(SecondsFormat::Millis, true);
        json!({
            "id": p.id, "personId": p.person_id, "type": p.kind.as_str(),
            "time": stamp, "localTime": local.to_rfc3339_opts(SecondsFormat::Millis, false),
            "offset": offset.to_string(), "belongsToDate": p.belongs_to_date.to_string(),
            "projectId": p.project_id, "activityId": p.activity_id, "locationId": null,
            "kioskId": null, "breakId": p.break_id, "clientType": p.client_type,
            "status": if p.archived { "Archived" } else { "Active" }, "note": p.note,
            "isOffline": false, "isFaceRecognized": false,
            "isAutomatic": p.client_type == "AutoOut", "isManual": p.is_manual,
            "isOutsideGeofence": false, "isManualLocation": false, "isUnusual": false,
            "isEndOfDay": p.client_type == "AutoOut", "isFromSpeedKiosk": false,
            "isLocked": false, "previousTimeEntryId": p.previous, "nextTimeEntryId": p.next,
            "coordinates": null, "picture": null, "platform": null,
            "createdAt": stamp, "updatedAt": p.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        })
    }
}

/// Cloneable handle on the simulator's state, faults, request log and clock.
#[derive(Debug, Clone)]
pub struct JibbleControl {
    pub(crate) state: Arc<Mutex<JState>>,
    pub(crate) infra: Infra,
    clock: Clock,
}

impl JibbleControl {
    pub(crate) fn new(opts: &SimOptions) -> Self {
        let now = opts.now.unwrap_or_else(default_now);
        let clock = if opts.running_clock {
            Clock::running(now)
        } else {
            Clock::fixed(now)
        };
        let mut st = JState {
            config: JibbleConfig {
                client_id: "timebridge-sim-client".into(),
                client_secret: opts.token.clone(),
                token_lifetime_secs: 3600,
                token_auth: TokenAuth::Either,
                next_link: false,
                archived_visible: true,
                max_page_size: 1000,
            },
            people: Vec::new(),
            activities: Vec::new(),
            projects: Vec::new(),
            punches: Vec::new(),
            tokens: HashMap::new(),
            next_id: 0,
        };
        super::seed::load(&mut st, opts, now);
        JibbleControl {
            state: Arc::new(Mutex::new(st)),
            infra: Infra::new(opts.rng_seed, opts.latency, Flavor::Jibble),
            clock,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, JState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The simulated clock (token expiry, `updatedAt`).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Fault injection.
    pub fn faults(&self) -> &Faults {
        &self.infra.faults
    }

    /// The request log.
    pub fn log(&self) -> &RequestLog {
        &self.infra.log
    }

    /// Latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.infra.set_latency(latency);
    }

    /// The current switches.
    pub fn config(&self) -> JibbleConfig {
        self.lock().config.clone()
    }

    /// Changes the switches.
    pub fn configure(&self, change: impl FnOnce(&mut JibbleConfig)) {
        change(&mut self.lock().config);
    }

    /// The API client's id.
    pub fn client_id(&self) -> String {
        self.lock().config.client_id.clone()
    }

    /// The API client's secret.
    pub fn client_secret(&self) -> String {
        self.lock().config.client_secret.clone()
    }

    /// Makes every access token issued so far expire now (the next call with one is 401).
    pub fn expire_tokens(&self) {
        let now = self.clock.now();
        for until in self.lock().tokens.values_mut() {
            *until = now;
        }
    }

    /// Access tokens issued so far.
    pub fn tokens_issued(&self) -> usize {
        self.lock().tokens.len()
    }

    /// Every person.
    pub fn people(&self) -> Vec<Person> {
        self.lock().people.clone()
    }

    /// The person whose e-mail is `email` (case-insensitive).
    pub fn person_by_email(&self, email: &str) -> Option<Person> {
        self.lock()
            .people
            .iter()
            .find(|p| {
                p.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .cloned()
    }

    /// Adds a person.
    pub fn add_person(&self, new: NewPerson) -> Person {
        let mut st = self.lock();
        let id = st.new_id(0x9e50_0001);
        let user_id = st.new_id(0x05e4_0001);
        let p = Person {
            id,
            full_name: new.full_name,
            email: new.email,
            status: "Joined".into(),
            timezone: new.timezone,
            user_id,
        };
        st.people.push(p.clone());
        p
    }

    /// Every activity.
    pub fn activities(&self) -> Vec<Named> {
        self.lock().activities.clone()
    }

    /// Every project.
    pub fn projects(&self) -> Vec<Named> {
        self.lock().projects.clone()
    }

    /// Every punch, archived ones included, in time order.
    pub fn punches(&self) -> Vec<Punch> {
        let mut all = self.lock().punches.clone();
        all.sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
        all
    }

    /// Punch `id`.
    pub fn punch(&self, id: &str) -> Option<Punch> {
        self.lock().punch(id).cloned()
    }

    /// Adds a raw punch.
    pub fn add_punch(&self, new: NewPunch) -> Result<Punch, SimError> {
        let now = self.clock.now();
        self.lock().insert(new, now)
    }

    /// `person` clocks in at `at` (a switch if already clocked in, the end of a break if
    /// on one).
    pub fn clock_in(
        &self,
        person: &str,
        at: DateTime<Utc>,
        what: ClockIn,
    ) -> Result<Punch, SimError> {
        self.known(person)?;
        let mut p = NewPunch::new(person, PunchType::In, at);
        p.activity_id = what.activity_id;
        p.project_id = what.project_id;
        p.note = what.note;
        self.add_punch(p)
    }

    /// `person` starts a break at `at`.
    pub fn start_break(&self, person: &str, at: DateTime<Utc>) -> Result<Punch, SimError> {
        self.known(person)?;
        let mut p = NewPunch::new(person, PunchType::In, at);
        p.break_id = Some(LUNCH_BREAK_ID.into());
        self.add_punch(p)
    }

    /// `person` clocks out at `at`.
    pub fn clock_out(&self, person: &str, at: DateTime<Utc>) -> Result<Punch, SimError> {
        self.known(person)?;
        self.add_punch(NewPunch::new(person, PunchType::Out, at))
    }

    /// Jibble clocks `person` out at `at` ("forgot to clock out").
    pub fn auto_out(&self, person: &str, at: DateTime<Utc>) -> Result<Punch, SimError> {
        self.known(person)?;
        let mut p = NewPunch::new(person, PunchType::Out, at);
        p.client_type = "AutoOut".into();
        self.add_punch(p)
    }

    /// Whether `person`'s newest active punch is a work In (clocked in, not on a break).
    pub fn is_clocked_in(&self, person: &str) -> bool {
        self.punches()
            .into_iter()
            .rev()
            .find(|p| p.person_id == person && !p.archived)
            .is_some_and(|p| p.kind == PunchType::In && p.break_id.is_none())
    }

    /// Removes punch `id` as Jibble does: it becomes `Archived`.
    pub fn archive(&self, id: &str) -> Result<Punch, SimError> {
        self.edit_punch(id, |p| p.archived = true)
    }

    /// Changes punch `id` as a person would in Jibble (a corrected time, another
    /// activity, …); the chain is recomputed.
    pub fn edit_punch(&self, id: &str, change: impl FnOnce(&mut Punch)) -> Result<Punch, SimError> {
        let now = self.clock.now();
        let mut st = self.lock();
        let p = st
            .punches
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| SimError::NotFound(format!("time entry {id}")))?;
        change(p);
        p.updated_at = now;
        let person = p.person_id.clone();
        st.relink(&person);
        st.punch(id)
            .cloned()
            .ok_or_else(|| SimError::NotFound(format!("time entry {id}")))
    }

    fn known(&self, person: &str) -> Result<(), SimError> {
        if self.lock().person(person).is_some() {
            Ok(())
        } else {
            Err(SimError::NotFound(format!("person {person}")))
        }
    }
}
