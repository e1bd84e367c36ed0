//! The Zammad simulator's data and the control handle tests use to read and change it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::faults::{Faults, Flavor, Infra, RequestLog};
use crate::seed::{self, SeedData};
use crate::webhook::{self, WebhookDelivery};
use crate::{SimError, SimOptions, default_now};

/// Zammad's timestamp format: UTC with milliseconds.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Role of a Zammad user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Admin and agent.
    Admin,
    /// Agent (books time).
    Agent,
    /// Customer.
    Customer,
}

/// A Zammad user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Id.
    pub id: u64,
    /// Login.
    pub login: String,
    /// Given name.
    pub firstname: String,
    /// Family name.
    pub lastname: String,
    /// E-mail.
    pub email: String,
    /// Organization, if any.
    pub organization_id: Option<u64>,
    /// Whether the account is active.
    pub active: bool,
    /// Role.
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl User {
    pub(crate) fn to_json(&self) -> Value {
        let role_ids: Vec<u64> = match self.role {
            Role::Admin => vec![1, 2],
            Role::Agent => vec![2],
            Role::Customer => vec![3],
        };
        json!({
            "id": self.id,
            "organization_id": self.organization_id,
            "login": self.login,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "email": self.email,
            "image": null,
            "web": "",
            "phone": "",
            "fax": "",
            "mobile": "",
            "department": "",
            "street": "",
            "zip": "",
            "city": "",
            "country": "",
            "address": "",
            "vip": false,
            "verified": false,
            "active": self.active,
            "note": "",
            "last_login": null,
            "source": null,
            "login_failed": 0,
            "out_of_office": false,
            "role_ids": role_ids,
            "organization_ids": [],
            "group_ids": {},
            "updated_by_id": 1,
            "created_by_id": 1,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        })
    }
}

/// A Zammad organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// E-mail domain.
    pub domain: String,
    /// Whether it is active.
    pub active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Organization {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "shared": true,
            "domain": self.domain,
            "domain_assignment": false,
            "active": self.active,
            "vip": false,
            "note": "",
            "updated_by_id": 1,
            "created_by_id": 1,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        })
    }
}

/// A Zammad ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// Id.
    pub id: u64,
    /// Number, e.g. "31001".
    pub number: String,
    /// Title.
    pub title: String,
    /// Group.
    pub group_id: u64,
    /// State.
    pub state_id: u64,
    /// Organization, if any.
    pub organization_id: Option<u64>,
    /// Owner (agent).
    pub owner_id: u64,
    /// Customer user.
    pub customer_id: u64,
    /// Sum of the ticket's accountings as a decimal string, or none.
    pub time_unit: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change (touched by adding or deleting an accounting, not by a type change).
    pub updated_at: DateTime<Utc>,
}

impl Ticket {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "group_id": self.group_id,
            "priority_id": 2,
            "state_id": self.state_id,
            "organization_id": self.organization_id,
            "number": self.number,
            "title": self.title,
            "owner_id": self.owner_id,
            "customer_id": self.customer_id,
            "note": null,
            "first_response_at": null,
            "close_at": null,
            "last_contact_at": ts(self.updated_at),
            "create_article_type_id": 5,
            "create_article_sender_id": 2,
            "article_count": 1,
            "escalation_at": null,
            "pending_time": null,
            "type": null,
            "time_unit": self.time_unit,
            "preferences": {},
            "updated_by_id": self.owner_id,
            "created_by_id": self.customer_id,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        })
    }
}

/// A time accounting type.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountingType {
    /// Id.
    pub id: u64,
    /// Name, e.g. "Remote support".
    pub name: String,
    /// Note.
    pub note: String,
    /// Whether it can be chosen.
    pub active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl AccountingType {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "note": self.note,
            "active": self.active,
            "updated_by_id": 1,
            "created_by_id": 1,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        })
    }
}

/// A time accounting record.
#[derive(Debug, Clone, PartialEq)]
pub struct Accounting {
    /// Id.
    pub id: u64,
    /// Ticket.
    pub ticket_id: u64,
    /// Article, if any.
    pub ticket_article_id: Option<u64>,
    /// Decimal string without unit, e.g. "15.0"; may be zero or negative.
    pub time_unit: String,
    /// Type, if any.
    pub type_id: Option<u64>,
    /// The agent who booked it.
    pub created_by_id: u64,
    /// Booking time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Accounting {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "ticket_id": self.ticket_id,
            "ticket_article_id": self.ticket_article_id,
            "time_unit": self.time_unit,
            "type_id": self.type_id,
            "created_by_id": self.created_by_id,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
        })
    }
}

/// Input of [`ZammadControl::add_user`].
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login; the e-mail when empty.
    pub login: String,
    /// Given name.
    pub firstname: String,
    /// Family name.
    pub lastname: String,
    /// E-mail.
    pub email: String,
    /// Organization, if any.
    pub organization_id: Option<u64>,
    /// Role.
    pub role: Role,
}

/// Input of [`ZammadControl::add_ticket`].
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Title.
    pub title: String,
    /// Organization, if any.
    pub organization_id: Option<u64>,
    /// Customer user.
    pub customer_id: u64,
    /// Owner agent.
    pub owner_id: u64,
}

/// Input of [`ZammadControl::add_accounting`]; booked at the clock's now.
#[derive(Debug, Clone)]
pub struct NewAccounting {
    /// Ticket.
    pub ticket_id: u64,
    /// Decimal string, e.g. "15.0" or "-15.0".
    pub time_unit: String,
    /// Type, if any.
    pub type_id: Option<u64>,
    /// Booking agent.
    pub created_by_id: u64,
    /// Whether to attach it to a new article.
    pub with_article: bool,
}

impl NewAccounting {
    /// An accounting of `time_unit` on `ticket_id` by `agent`, with an article, no type.
    pub fn new(ticket_id: u64, time_unit: &str, agent: u64) -> Self {
        Self {
            ticket_id,
            time_unit: time_unit.to_owned(),
            type_id: None,
            created_by_id: agent,
            with_article: true,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Token {
    pub user_id: u64,
    pub admin: bool,
}

#[derive(Debug)]
pub(crate) struct ZState {
    pub users: BTreeMap<u64, User>,
    pub orgs: BTreeMap<u64, Organization>,
    pub tickets: BTreeMap<u64, Ticket>,
    pub types: BTreeMap<u64, AccountingType>,
    pub accountings: BTreeMap<u64, Accounting>,
    pub by_ticket: HashMap<u64, BTreeSet<u64>>,
    pub tokens: HashMap<String, Token>,
    pub next_article: u64,
    pub next_accounting: u64,
    pub rng: StdRng,
    /// Accounting lists ignore `sort_by`/`order_by` (always by id, ascending), as a
    /// server that does not honour them would.
    pub ignore_order: bool,
    /// The ticket search without `expand` leaves out `tickets_count` (UNCONFIRMED that every
    /// Zammad sends it).
    pub uncounted_search: bool,
}

impl ZState {
    fn next_id<T>(map: &BTreeMap<u64, T>) -> u64 {
        map.keys().next_back().map_or(1, |k| k + 1)
    }

    fn recompute_ticket_time(&mut self, ticket_id: u64) {
        let sum: f64 = self
            .by_ticket
            .get(&ticket_id)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.accountings.get(id))
                    .filter_map(|a| a.time_unit.parse::<f64>().ok())
                    .sum()
            })
            .unwrap_or(0.0);
        let has = self
            .by_ticket
            .get(&ticket_id)
            .is_some_and(|s| !s.is_empty());
        if let Some(t) = self.tickets.get_mut(&ticket_id) {
            t.time_unit = has.then(|| format_decimal(sum));
        }
    }

    fn insert_accounting(&mut self, acc: Accounting) {
        self.by_ticket
            .entry(acc.ticket_id)
            .or_default()
            .insert(acc.id);
        self.next_accounting = self.next_accounting.max(acc.id + 1);
        self.accountings.insert(acc.id, acc);
    }

    fn load_seed(&mut self, data: &SeedData, now: DateTime<Utc>) {
        let created = data
            .month_start
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc() - chrono::Duration::days(400))
            .unwrap_or(now);
        for (i, org) in data.organizations.iter().enumerate() {
            let id = i as u64 + 1;
            self.orgs.insert(
                id,
                Organization {
                    id,
                    name: org.name.clone(),
                    domain: org.domain.clone(),
                    active: true,
                    created_at: created,
                    updated_at: created,
                },
            );
        }
        for agent in &data.agents {
            let id = Self::next_id(&self.users);
            self.users.insert(
                id,
                User {
                    id,
                    login: agent.login.clone(),
                    firstname: agent.firstname.clone(),
                    lastname: agent.lastname.clone(),
                    email: agent.email.clone(),
                    organization_id: None,
                    active: true,
                    role: Role::Agent,
                    created_at: created,
                    updated_at: created,
                },
            );
        }
        let first_customer = Self::next_id(&self.users);
        for c in &data.customers {
            let id = Self::next_id(&self.users);
            self.users.insert(
                id,
                User {
                    id,
                    login: c.email.clone(),
                    firstname: c.firstname.clone(),
                    lastname: c.lastname.clone(),
                    email: c.email.clone(),
                    organization_id: Some(c.org as u64 + 1),
                    active: true,
                    role: Role::Customer,
                    created_at: created,
                    updated_at: created,
                },
            );
        }
        for (i, (name, active)) in data.types.iter().enumerate() {
            let id = i as u64 + 1;
            self.types.insert(
                id,
                AccountingType {
                    id,
                    name: name.clone(),
                    note: String::new(),
                    active: *active,
                    created_at: created,
                    updated_at: created,
                },
            );
        }
        for (i, t) in data.tickets.iter().enumerate() {
            let id = i as u64 + 1;
            self.tickets.insert(
                id,
                Ticket {
                    id,
                    number: t.number.clone(),
                    title: t.title.clone(),
                    group_id: 1,
                    state_id: 2,
                    organization_id: Some(t.org as u64 + 1),
                    owner_id: t.owner as u64 + 2,
                    customer_id: first_customer + t.customer as u64,
                    time_unit: None,
                    created_at: t.created_at,
                    updated_at: t.created_at,
                },
            );
        }
        let mut sums: HashMap<u64, f64> = HashMap::new();
        for (i, a) in data.accountings.iter().enumerate() {
            let id = i as u64 + 1;
            let ticket_id = a.ticket as u64 + 1;
            let article = if a.with_article {
                self.next_article += 1;
                Some(self.next_article - 1)
            } else {
                None
            };
            *sums.entry(ticket_id).or_default() += a.time_unit.parse::<f64>().unwrap_or(0.0);
            if let Some(t) = self.tickets.get_mut(&ticket_id) {
                t.updated_at = t.updated_at.max(a.created_at);
            }
            self.insert_accounting(Accounting {
                id,
                ticket_id,
                ticket_article_id: article,
                time_unit: a.time_unit.clone(),
                type_id: a.type_idx.map(|t| t as u64 + 1),
                created_by_id: a.agent as u64 + 2,
                created_at: a.created_at,
                updated_at: a.created_at,
            });
        }
        for (ticket_id, sum) in sums {
            if let Some(t) = self.tickets.get_mut(&ticket_id) {
                t.time_unit = Some(format_decimal(sum));
            }
        }
    }
}

/// Formats a decimal like Zammad/Rails: at least one decimal ("15.0", "0.5", "2.25").
pub(crate) fn format_decimal(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r.fract() == 0.0 {
        format!("{r:.1}")
    } else {
        let s = format!("{r:.2}");
        s.trim_end_matches('0').to_owned()
    }
}

/// Cloneable handle on a Zammad simulator's state, clock, faults and request log.
#[derive(Debug, Clone)]
pub struct ZammadControl {
    pub(crate) state: Arc<Mutex<ZState>>,
    pub(crate) clock: Clock,
    pub(crate) infra: Infra,
    pub(crate) main_token: String,
}

impl ZammadControl {
    pub(crate) fn new(opts: &SimOptions) -> Self {
        let now = opts.now.unwrap_or_else(default_now);
        let clock = if opts.running_clock {
            Clock::running(now)
        } else {
            Clock::fixed(now)
        };
        let mut st = ZState {
            users: BTreeMap::new(),
            orgs: BTreeMap::new(),
            tickets: BTreeMap::new(),
            types: BTreeMap::new(),
            accountings: BTreeMap::new(),
            by_ticket: HashMap::new(),
            tokens: HashMap::new(),
            next_article: 1,
            next_accounting: 1,
            rng: StdRng::seed_from_u64(opts.rng_seed ^ 0x002a_33ad),
            ignore_order: false,
            uncounted_search: false,
        };
        let admin_created = now - chrono::Duration::days(800);
        st.users.insert(
            1,
            User {
                id: 1,
                login: "admin@helpdesk.example".to_owned(),
                firstname: "Admin".to_owned(),
                lastname: "Helpdesk".to_owned(),
                email: "admin@helpdesk.example".to_owned(),
                organization_id: None,
                active: true,
                role: Role::Admin,
                created_at: admin_created,
                updated_at: admin_created,
            },
        );
        st.tokens.insert(
            opts.token.clone(),
            Token {
                user_id: 1,
                admin: true,
            },
        );
        let mut data = seed::generate(opts.seed, opts.rng_seed, now);
        if let Some(history) = opts.zammad_history {
            seed::add_history(&mut data, history, opts.rng_seed);
        }
        st.load_seed(&data, now);
        Self {
            state: Arc::new(Mutex::new(st)),
            clock,
            infra: Infra::new(opts.rng_seed, opts.latency, Flavor::Zammad),
            main_token: opts.token.clone(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ZState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The simulator's clock (all created/updated times come from it).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Injected faults.
    pub fn faults(&self) -> &Faults {
        &self.infra.faults
    }

    /// The request log.
    pub fn log(&self) -> &RequestLog {
        &self.infra.log
    }

    /// Changes the latency added to every request (before it is handled).
    pub fn set_latency(&self, latency: Duration) {
        self.infra.set_latency(latency);
    }

    /// The latency currently added to every request.
    pub fn latency(&self) -> Duration {
        self.infra.latency()
    }

    /// Whether the main token is an admin (`GET /api/v1/time_accountings` allowed) or a
    /// plain agent (403 there).
    pub fn set_admin(&self, admin: bool) {
        let token = self.main_token.clone();
        if let Some(t) = self.lock().tokens.get_mut(&token) {
            t.admin = admin;
        }
    }

    /// Makes the accounting lists ignore `sort_by` and `order_by` (always ascending ids),
    /// like a server that does not honour them: the connector must still read everything.
    pub fn set_order_ignored(&self, ignored: bool) {
        self.lock().ignore_order = ignored;
    }

    /// Makes the ticket search without `expand` answer without `tickets_count`: a client
    /// must then page until a short page.
    pub fn set_search_uncounted(&self, uncounted: bool) {
        self.lock().uncounted_search = uncounted;
    }

    /// Adds an API token for `user_id`.
    pub fn add_token(&self, token: &str, user_id: u64, admin: bool) {
        self.lock()
            .tokens
            .insert(token.to_owned(), Token { user_id, admin });
    }

    /// Adds an organization.
    pub fn add_organization(&self, name: &str, domain: &str) -> Organization {
        let now = self.clock.now();
        let mut st = self.lock();
        let id = ZState::next_id(&st.orgs);
        let org = Organization {
            id,
            name: name.to_owned(),
            domain: domain.to_owned(),
            active: true,
            created_at: now,
            updated_at: now,
        };
        st.orgs.insert(id, org.clone());
        org
    }

    /// Adds a user.
    pub fn add_user(&self, new: NewUser) -> User {
        let now = self.clock.now();
        let mut st = self.lock();
        let id = ZState::next_id(&st.users);
        let user = User {
            id,
            login: if new.login.is_empty() {
                new.email.clone()
            } else {
                new.login
            },
            firstname: new.firstname,
            lastname: new.lastname,
            email: new.email,
            organization_id: new.organization_id,
            active: true,
            role: new.role,
            created_at: now,
            updated_at: now,
        };
        st.users.insert(id, user.clone());
        user
    }

    /// Adds a ticket created now, numbered after the highest existing number.
    pub fn add_ticket(&self, new: NewTicket) -> Ticket {
        let now = self.clock.now();
        let mut st = self.lock();
        let id = ZState::next_id(&st.tickets);
        let number = st
            .tickets
            .values()
            .filter_map(|t| t.number.parse::<u64>().ok())
            .max()
            .map_or(31001, |n| n + 1);
        let ticket = Ticket {
            id,
            number: number.to_string(),
            title: new.title,
            group_id: 1,
            state_id: 1,
            organization_id: new.organization_id,
            owner_id: new.owner_id,
            customer_id: new.customer_id,
            time_unit: None,
            created_at: now,
            updated_at: now,
        };
        st.tickets.insert(id, ticket.clone());
        ticket
    }

    /// Adds an active time accounting type.
    pub fn add_type(&self, name: &str) -> AccountingType {
        let now = self.clock.now();
        let mut st = self.lock();
        let id = ZState::next_id(&st.types);
        let t = AccountingType {
            id,
            name: name.to_owned(),
            note: String::new(),
            active: true,
            created_at: now,
            updated_at: now,
        };
        st.types.insert(id, t.clone());
        t
    }

    /// Books time now; touches the ticket's `updated_at`.
    pub fn add_accounting(&self, new: NewAccounting) -> Result<Accounting, SimError> {
        let now = self.clock.now();
        if new.time_unit.parse::<f64>().is_err() {
            return Err(SimError::Invalid(format!("time_unit {:?}", new.time_unit)));
        }
        let mut st = self.lock();
        if !st.tickets.contains_key(&new.ticket_id) {
            return Err(SimError::NotFound(format!("ticket {}", new.ticket_id)));
        }
        if let Some(t) = new.type_id
            && !st.types.contains_key(&t)
        {
            return Err(SimError::NotFound(format!("time accounting type {t}")));
        }
        let article = if new.with_article {
            st.next_article += 1;
            Some(st.next_article - 1)
        } else {
            None
        };
        let id = st.next_accounting;
        let acc = Accounting {
            id,
            ticket_id: new.ticket_id,
            ticket_article_id: article,
            time_unit: format_decimal(new.time_unit.parse::<f64>().unwrap_or(0.0)),
            type_id: new.type_id,
            created_by_id: new.created_by_id,
            created_at: now,
            updated_at: now,
        };
        st.insert_accounting(acc.clone());
        if let Some(t) = st.tickets.get_mut(&new.ticket_id) {
            t.updated_at = now;
        }
        st.recompute_ticket_time(new.ticket_id);
        Ok(acc)
    }

    /// Deletes an accounting; touches the ticket's `updated_at`.
    pub fn delete_accounting(&self, id: u64) -> Result<Accounting, SimError> {
        let now = self.clock.now();
        let mut st = self.lock();
        let acc = st
            .accountings
            .remove(&id)
            .ok_or_else(|| SimError::NotFound(format!("time accounting {id}")))?;
        if let Some(set) = st.by_ticket.get_mut(&acc.ticket_id) {
            set.remove(&id);
        }
        if let Some(t) = st.tickets.get_mut(&acc.ticket_id) {
            t.updated_at = now;
        }
        st.recompute_ticket_time(acc.ticket_id);
        Ok(acc)
    }

    /// Changes only the type; the accounting's `updated_at` moves, the ticket's does NOT.
    pub fn set_accounting_type(
        &self,
        id: u64,
        type_id: Option<u64>,
    ) -> Result<Accounting, SimError> {
        let now = self.clock.now();
        let mut st = self.lock();
        if let Some(t) = type_id
            && !st.types.contains_key(&t)
        {
            return Err(SimError::NotFound(format!("time accounting type {t}")));
        }
        let acc = st
            .accountings
            .get_mut(&id)
            .ok_or_else(|| SimError::NotFound(format!("time accounting {id}")))?;
        acc.type_id = type_id;
        acc.updated_at = now;
        Ok(acc.clone())
    }

    /// Sets a ticket's `updated_at` to now (e.g. a state change or a new article).
    pub fn touch_ticket(&self, id: u64) -> Result<Ticket, SimError> {
        self.change(
            "ticket",
            id,
            |st| &mut st.tickets,
            |t, now| t.updated_at = now,
        )
    }

    /// Changes a ticket's title; its `updated_at` moves to now.
    pub fn set_ticket_title(&self, id: u64, title: &str) -> Result<Ticket, SimError> {
        self.change(
            "ticket",
            id,
            |st| &mut st.tickets,
            |t, now| {
                title.clone_into(&mut t.title);
                t.updated_at = now;
            },
        )
    }

    /// Changes a user's first and last name; its `updated_at` moves to now.
    pub fn rename_user(&self, id: u64, firstname: &str, lastname: &str) -> Result<User, SimError> {
        self.change(
            "user",
            id,
            |st| &mut st.users,
            |u, now| {
                firstname.clone_into(&mut u.firstname);
                lastname.clone_into(&mut u.lastname);
                u.updated_at = now;
            },
        )
    }

    /// Changes a user's e-mail (not the login); its `updated_at` moves to now.
    pub fn set_user_email(&self, id: u64, email: &str) -> Result<User, SimError> {
        self.change(
            "user",
            id,
            |st| &mut st.users,
            |u, now| {
                email.clone_into(&mut u.email);
                u.updated_at = now;
            },
        )
    }

    /// Changes an organization's name; its `updated_at` moves to now.
    pub fn rename_organization(&self, id: u64, name: &str) -> Result<Organization, SimError> {
        self.change(
            "organization",
            id,
            |st| &mut st.orgs,
            |o, now| {
                name.clone_into(&mut o.name);
                o.updated_at = now;
            },
        )
    }

    /// Applies `edit` (given the clock's now) to record `id` of the map `pick` chooses and
    /// returns the record as it is then; `what` names the kind in the not-found error.
    fn change<T: Clone>(
        &self,
        what: &str,
        id: u64,
        pick: impl FnOnce(&mut ZState) -> &mut BTreeMap<u64, T>,
        edit: impl FnOnce(&mut T, DateTime<Utc>),
    ) -> Result<T, SimError> {
        let now = self.clock.now();
        let mut st = self.lock();
        let record = pick(&mut st)
            .get_mut(&id)
            .ok_or_else(|| SimError::NotFound(format!("{what} {id}")))?;
        edit(record, now);
        Ok(record.clone())
    }

    /// One accounting.
    pub fn accounting(&self, id: u64) -> Option<Accounting> {
        self.lock().accountings.get(&id).cloned()
    }

    /// All accountings, by id.
    pub fn accountings(&self) -> Vec<Accounting> {
        self.lock().accountings.values().cloned().collect()
    }

    /// Number of accountings.
    pub fn accounting_count(&self) -> usize {
        self.lock().accountings.len()
    }

    /// One ticket.
    pub fn ticket(&self, id: u64) -> Option<Ticket> {
        self.lock().tickets.get(&id).cloned()
    }

    /// All tickets, by id.
    pub fn tickets(&self) -> Vec<Ticket> {
        self.lock().tickets.values().cloned().collect()
    }

    /// All users, by id (user 1 is the admin the main token belongs to).
    pub fn users(&self) -> Vec<User> {
        self.lock().users.values().cloned().collect()
    }

    /// The user with this e-mail (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Option<User> {
        self.lock()
            .users
            .values()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .cloned()
    }

    /// All organizations, by id.
    pub fn organizations(&self) -> Vec<Organization> {
        self.lock().orgs.values().cloned().collect()
    }

    /// All time accounting types, by id.
    pub fn types(&self) -> Vec<AccountingType> {
        self.lock().types.values().cloned().collect()
    }

    /// Sends a webhook for `ticket_id` like a Zammad trigger would, signed with `secret`
    /// when given, and returns the delivery (status and delivery id).
    pub async fn send_webhook(
        &self,
        url: &str,
        secret: Option<&str>,
        ticket_id: u64,
        trigger: &str,
    ) -> Result<WebhookDelivery, SimError> {
        let (body, delivery_id) = self.webhook_body(ticket_id)?;
        webhook::send(url, secret, trigger, &delivery_id, body).await
    }

    /// Sends a webhook and, like Zammad's job, retries a non-2xx answer (or a failed
    /// connection, reported as status 0) 5 times, waiting `wait_unit` × attempt between
    /// tries (Zammad: 10 s, 20 s, …; tests pass milliseconds). Every try carries the same
    /// delivery id and body. Returns all tries.
    pub async fn send_webhook_with_retries(
        &self,
        url: &str,
        secret: Option<&str>,
        ticket_id: u64,
        trigger: &str,
        wait_unit: Duration,
    ) -> Result<Vec<WebhookDelivery>, SimError> {
        let (body, delivery_id) = self.webhook_body(ticket_id)?;
        let mut tries = Vec::new();
        for attempt in 0..6u32 {
            if attempt > 0 {
                tokio::time::sleep(wait_unit * attempt).await;
            }
            let delivery = webhook::send(url, secret, trigger, &delivery_id, body.clone())
                .await
                .unwrap_or_else(|_| WebhookDelivery {
                    status: 0,
                    delivery_id: delivery_id.clone(),
                    body: body.clone(),
                });
            let ok = (200..300).contains(&delivery.status);
            tries.push(delivery);
            if ok {
                break;
            }
        }
        Ok(tries)
    }

    fn webhook_body(&self, ticket_id: u64) -> Result<(Vec<u8>, String), SimError> {
        let mut st = self.lock();
        let ticket = st
            .tickets
            .get(&ticket_id)
            .ok_or_else(|| SimError::NotFound(format!("ticket {ticket_id}")))?;
        let body = webhook::payload(&st, ticket);
        let r: u128 = st.rng.r#gen();
        Ok((body, webhook::delivery_id(r)))
    }
}
