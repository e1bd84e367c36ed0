//! Deterministic, realistic seed data shared by both simulators, so that the Zammad and
//! Kimai sides correspond: the same agent e-mails, one Kimai customer and project per
//! Zammad organization (same name), and Kimai activities named like Zammad's time
//! accounting types.
//!
//! Id conventions (1-based, in generation order): Zammad user 1 is the admin the API token
//! belongs to, agents follow (ids 2..), then customer users; organization, ticket, type and
//! accounting ids are their index + 1. In Kimai, user 1 is the API user and the agents
//! that have a Kimai user follow; customer and project ids are the organization index + 1.
//!
//! Special cases (seeds with at least 4 organizations, i.e. Small and Month): project 2 has
//! `globalActivities=false` (own "Remote support" and "On-site" activities), project 3 runs
//! from a year before to a year after the generated month, project 4 ends on the 15th of
//! the generated month (so it is not "active now"), customer 6 is not billable. Project 1
//! has its own activity "Project work"; the global activity "Internal" is not billable.
//! Every seed has one agent (the last) without a Kimai user, accountings of "-15.0" and
//! "0.0", some without type and some without article. Agents' Kimai zones rotate through
//! [`TIMEZONES`].
//!
//! [`Seed::Demo`] is what `timebridge demo` shows a newcomer: Small's month, with each
//! deliberate problem on a few entries only (see [`Seed::Demo`]).

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Size of the generated data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Seed {
    /// No data besides the API users.
    Empty,
    /// A handful of records (3 agents, 2 organizations, 12 accountings) for unit tests.
    #[default]
    Tiny,
    /// About 5 agents and a few hundred accountings.
    Small,
    /// 50 agents, 40 accountings per agent and workday: about 44,000 accountings in one month.
    Month,
    /// Small's month for `timebridge demo`, where each deliberate problem shows once, on a
    /// few entries: a sixth agent, new at the month's end and without a Kimai user, books
    /// on its last [`DEMO_NEW_AGENT_WORKDAYS`] workdays only; [`DEMO_OLD_TYPE_ACCOUNTINGS`]
    /// accountings have the inactive type "Internal (old)" and none is without a type;
    /// project 4 ends shortly before the month does, so that its last
    /// [`DEMO_ENDED_PROJECT_ACCOUNTINGS`] accountings lie after its end; one accounting is a
    /// negative correction ("-15.0", none is "0.0"), [`DEMO_PART_MINUTE_ACCOUNTINGS`] last
    /// parts of a minute ("0.5"); project 2 allows global activities.
    Demo,
}

/// [`Seed::Demo`]: on how many of the month's last workdays the agent without a Kimai user
/// books (three accountings a day).
pub const DEMO_NEW_AGENT_WORKDAYS: usize = 2;
/// [`Seed::Demo`]: how many accountings have the inactive type "Internal (old)".
pub const DEMO_OLD_TYPE_ACCOUNTINGS: usize = 4;
/// [`Seed::Demo`]: how many accountings of project 4 lie after its end (its last ones).
pub const DEMO_ENDED_PROJECT_ACCOUNTINGS: usize = 3;
/// [`Seed::Demo`]: how many accountings last parts of a minute, which Kimai cannot store
/// exactly (a rounding policy on the demo pipeline would write them).
pub const DEMO_PART_MINUTE_ACCOUNTINGS: usize = 1;

impl FromStr for Seed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "empty" => Ok(Seed::Empty),
            "tiny" => Ok(Seed::Tiny),
            "small" => Ok(Seed::Small),
            "month" => Ok(Seed::Month),
            "demo" => Ok(Seed::Demo),
            other => Err(format!(
                "unknown seed {other:?} (expected empty, tiny, small, month or demo)"
            )),
        }
    }
}

impl fmt::Display for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Seed::Empty => "empty",
            Seed::Tiny => "tiny",
            Seed::Small => "small",
            Seed::Month => "month",
            Seed::Demo => "demo",
        })
    }
}

/// An organization (Zammad) = a customer with one project (Kimai).
#[derive(Debug, Clone, PartialEq)]
pub struct SeedOrg {
    /// Organization, customer and project name.
    pub name: String,
    /// E-mail domain of its customer users.
    pub domain: String,
    /// Whether the Kimai customer is billable.
    pub billable: bool,
    /// Kimai project start date, if any.
    pub project_start: Option<NaiveDate>,
    /// Kimai project end date, if any.
    pub project_end: Option<NaiveDate>,
    /// Whether the Kimai project allows global activities.
    pub global_activities: bool,
}

/// A Zammad agent and (usually) the matching Kimai user.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedAgent {
    /// Given name.
    pub firstname: String,
    /// Family name.
    pub lastname: String,
    /// Login / Kimai username.
    pub login: String,
    /// E-mail, identical on both sides.
    pub email: String,
    /// Time zone of the Kimai user.
    pub timezone: Tz,
    /// False for the one agent deliberately without a Kimai user.
    pub kimai_user: bool,
}

/// A Zammad customer user (never books time).
#[derive(Debug, Clone, PartialEq)]
pub struct SeedCustomer {
    /// Given name.
    pub firstname: String,
    /// Family name.
    pub lastname: String,
    /// E-mail at the organization's domain.
    pub email: String,
    /// Index into [`SeedData::organizations`].
    pub org: usize,
}

/// A Zammad ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedTicket {
    /// Ticket number such as "31001".
    pub number: String,
    /// Title.
    pub title: String,
    /// Index into [`SeedData::organizations`].
    pub org: usize,
    /// Index into [`SeedData::customers`].
    pub customer: usize,
    /// Index into [`SeedData::agents`].
    pub owner: usize,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A Zammad time accounting.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedAccounting {
    /// Index into [`SeedData::tickets`].
    pub ticket: usize,
    /// Index into [`SeedData::agents`] (the booking agent).
    pub agent: usize,
    /// Index into [`SeedData::types`], or none.
    pub type_idx: Option<usize>,
    /// Decimal string, e.g. "15.0", "0.5", "-15.0", "0.0".
    pub time_unit: String,
    /// Whether it is attached to an article.
    pub with_article: bool,
    /// Booking time (UTC, with milliseconds).
    pub created_at: DateTime<Utc>,
}

/// A Kimai activity.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedActivity {
    /// Name (global ones are named like the Zammad types).
    pub name: String,
    /// Index into [`SeedData::organizations`] of the project, or `None` for a global one.
    pub project: Option<usize>,
    /// Whether it is billable.
    pub billable: bool,
}

/// The generated data set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeedData {
    /// First day of the generated month.
    pub month_start: Option<NaiveDate>,
    /// Organizations / Kimai customers and projects.
    pub organizations: Vec<SeedOrg>,
    /// Agents / Kimai users.
    pub agents: Vec<SeedAgent>,
    /// Zammad customer users.
    pub customers: Vec<SeedCustomer>,
    /// Zammad time accounting type names (active, except "Internal (old)").
    pub types: Vec<(String, bool)>,
    /// Tickets, ordered by creation.
    pub tickets: Vec<SeedTicket>,
    /// Accountings, ordered by creation.
    pub accountings: Vec<SeedAccounting>,
    /// Kimai activities, globals first.
    pub activities: Vec<SeedActivity>,
    /// Kimai tags.
    pub tags: Vec<String>,
}

/// The time zones Kimai users are spread over, in rotation.
pub const TIMEZONES: [Tz; 4] = [
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::UTC,
    chrono_tz::Asia::Kolkata,
];

const FIRST: [&str; 25] = [
    "Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannes", "Ines", "Jonas", "Katrin",
    "Lukas", "Mira", "Noah", "Olga", "Paul", "Rosa", "Samir", "Tina", "Uwe", "Vera", "Wim",
    "Xenia", "Yusuf", "Zoe",
];
const LAST: [&str; 30] = [
    "Becker",
    "Schmidt",
    "Meyer",
    "Wagner",
    "Fischer",
    "Weber",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Braun",
    "Zimmermann",
    "Hartmann",
    "Lange",
    "Krause",
    "Werner",
    "Lehmann",
    "Kaya",
    "Novak",
    "Rossi",
    "Jensen",
    "Dubois",
    "Garcia",
    "Smith",
    "Patel",
    "Kowalski",
    "Berg",
];
const COMPANIES: [(&str, &str); 16] = [
    ("Acme Logistics GmbH", "acme-logistics.example"),
    ("Bergmann Dental", "bergmann-dental.example"),
    ("Cafe Sonnenschein", "cafe-sonnenschein.example"),
    ("Delta Steuerberatung", "delta-stb.example"),
    ("Elbe Immobilien AG", "elbe-immo.example"),
    ("Fuchs & Partner Architekten", "fuchs-partner.example"),
    ("Gruen Energie eG", "gruen-energie.example"),
    ("Hafen Spedition", "hafen-spedition.example"),
    ("Isar Kliniken", "isar-kliniken.example"),
    ("Jade Rechtsanwaelte", "jade-law.example"),
    ("Kranich Verlag", "kranich-verlag.example"),
    ("Lindner Maschinenbau", "lindner-mb.example"),
    ("Moewe Reisen", "moewe-reisen.example"),
    ("Nordlicht Schulen", "nordlicht-schulen.example"),
    ("Oster Bau GmbH", "oster-bau.example"),
    ("Pfeffer Gastro", "pfeffer-gastro.example"),
];
const TYPES: [(&str, bool); 5] = [
    ("Remote support", true),
    ("On-site", true),
    ("Consulting", true),
    ("Travel", true),
    ("Internal (old)", false),
];
const PROBLEMS: [&str; 16] = [
    "VPN connection drops every few minutes",
    "Printer on 2nd floor offline",
    "Outlook does not sync the shared calendar",
    "Password reset",
    "New laptop setup",
    "Backup job failed last night",
    "Cannot open invoices in the ERP",
    "Wi-Fi slow in the meeting room",
    "Phishing e-mail reported",
    "Teams meeting without audio",
    "Server disk almost full",
    "Onboarding of a new employee",
    "License renewal for the accounting software",
    "Scanner sends no e-mails",
    "Firewall rule for the new webshop",
    "Migrate file share to SharePoint",
];
const TIME_UNITS: [&str; 12] = [
    "15.0", "30.0", "15.0", "10.0", "45.0", "60.0", "5.0", "20.0", "30.0", "90.0", "0.5", "120.0",
];

struct Params {
    orgs: usize,
    agents: usize,
    customers_per_org: usize,
    workdays: usize,
    per_agent_day: usize,
    accountings_per_ticket: usize,
}

fn params(seed: Seed) -> Option<Params> {
    match seed {
        Seed::Empty => None,
        Seed::Tiny => Some(Params {
            orgs: 2,
            agents: 3,
            customers_per_org: 1,
            workdays: 2,
            per_agent_day: 2,
            accountings_per_ticket: 3,
        }),
        Seed::Small => Some(Params {
            orgs: 6,
            agents: 5,
            customers_per_org: 2,
            workdays: 22,
            per_agent_day: 3,
            accountings_per_ticket: 6,
        }),
        Seed::Demo => Some(Params {
            agents: 6,
            ..params(Seed::Small)?
        }),
        Seed::Month => Some(Params {
            orgs: 16,
            agents: 50,
            customers_per_org: 3,
            workdays: 31,
            per_agent_day: 40,
            accountings_per_ticket: 10,
        }),
    }
}

/// The first day of the calendar month before `now`.
pub fn previous_month_start(now: DateTime<Utc>) -> NaiveDate {
    let d = now.date_naive();
    let (y, m) = if d.month() == 1 {
        (d.year() - 1, 12)
    } else {
        (d.year(), d.month() - 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap()
}

/// Generates the data set for `seed`, deterministically from `rng_seed`; the accountings
/// fall on the workdays of the calendar month before `now`.
pub fn generate(seed: Seed, rng_seed: u64, now: DateTime<Utc>) -> SeedData {
    let Some(p) = params(seed) else {
        return SeedData::default();
    };
    let mut rng = StdRng::seed_from_u64(rng_seed);
    let month_start = previous_month_start(now);
    let demo = seed == Seed::Demo;

    let mut organizations: Vec<SeedOrg> = (0..p.orgs)
        .map(|i| {
            let (name, domain) = COMPANIES[i % COMPANIES.len()];
            let suffix = if i >= COMPANIES.len() {
                format!(" {}", i / COMPANIES.len() + 1)
            } else {
                String::new()
            };
            let mut org = SeedOrg {
                name: format!("{name}{suffix}"),
                domain: domain.to_owned(),
                billable: true,
                project_start: None,
                project_end: None,
                global_activities: true,
            };
            if p.orgs >= 4 {
                match i {
                    1 => org.global_activities = demo,
                    2 => {
                        org.project_start = Some(month_start - Duration::days(365));
                        org.project_end = Some(month_start + Duration::days(365));
                    }
                    3 => org.project_end = Some(month_start + Duration::days(14)),
                    5 => org.billable = false,
                    _ => {}
                }
            }
            org
        })
        .collect();

    let mut emails = HashSet::new();
    let agents: Vec<SeedAgent> = (0..p.agents)
        .map(|i| {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i + 7 * (i / FIRST.len())) % LAST.len()];
            let mut login = format!("{}.{}", first, last).to_lowercase();
            while !emails.insert(login.clone()) {
                login.push('x');
            }
            SeedAgent {
                firstname: first.to_owned(),
                lastname: last.to_owned(),
                email: format!("{login}@helpdesk.example"),
                login,
                timezone: TIMEZONES[i % TIMEZONES.len()],
                kimai_user: i + 1 != p.agents,
            }
        })
        .collect();

    let mut customers = Vec::new();
    for (o, org) in organizations.iter().enumerate() {
        for c in 0..p.customers_per_org {
            let k = o * 7 + c * 3 + 11;
            let first = FIRST[k % FIRST.len()];
            let last = LAST[(k * 3) % LAST.len()];
            customers.push(SeedCustomer {
                firstname: first.to_owned(),
                lastname: last.to_owned(),
                email: format!("{}.{}@{}", first, last, org.domain).to_lowercase(),
                org: o,
            });
        }
    }

    // Workdays of the month.
    let mut days = Vec::new();
    let mut d = month_start;
    while d.month() == month_start.month() && days.len() < p.workdays {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            days.push(d);
        }
        d += Duration::days(1);
    }

    // Accounting times first (sorted), then tickets spread over them.
    let mut slots: Vec<(DateTime<Utc>, usize)> =
        Vec::with_capacity(days.len() * p.agents * p.per_agent_day);
    for (d, day) in days.iter().enumerate() {
        for (a, agent) in agents.iter().enumerate() {
            if demo && !agent.kimai_user && d + DEMO_NEW_AGENT_WORKDAYS < days.len() {
                continue;
            }
            let start = agent
                .timezone
                .from_local_datetime(&day.and_hms_opt(8, 0, 0).unwrap())
                .earliest()
                .unwrap()
                .with_timezone(&Utc);
            let step_ms = 9 * 3_600_000 / p.per_agent_day as i64;
            for k in 0..p.per_agent_day {
                let jitter = rng.gen_range(0..step_ms.max(1));
                slots.push((
                    start + Duration::milliseconds(k as i64 * step_ms + jitter),
                    a,
                ));
            }
        }
    }
    slots.sort();

    let n_tickets = (slots.len() / p.accountings_per_ticket).max(1);
    let first_slot = slots.first().map(|s| s.0).unwrap_or(now);
    let last_slot = slots.last().map(|s| s.0).unwrap_or(now);
    let from = first_slot - Duration::days(3);
    let span_ms = (last_slot - from).num_milliseconds().max(1);
    let mut tickets: Vec<SeedTicket> = (0..n_tickets)
        .map(|t| {
            let org = rng.gen_range(0..organizations.len());
            let customer = org * p.customers_per_org + rng.gen_range(0..p.customers_per_org);
            let created_at = from
                + Duration::milliseconds(span_ms * t as i64 / n_tickets as i64)
                + Duration::milliseconds(rng.gen_range(0..1000));
            let problem = PROBLEMS[rng.gen_range(0..PROBLEMS.len())];
            let title = if rng.gen_bool(0.3) {
                format!("{problem} ({})", customers[customer].firstname)
            } else {
                problem.to_owned()
            };
            SeedTicket {
                number: (31001 + t).to_string(),
                title,
                org,
                customer,
                owner: rng.gen_range(0..agents.len()),
                created_at,
            }
        })
        .collect();
    tickets.sort_by_key(|t| t.created_at);
    // Keep numbers in creation order.
    for (t, ticket) in tickets.iter_mut().enumerate() {
        ticket.number = (31001 + t).to_string();
    }
    // The first tickets are opened before the first accounting.
    let mut accountings = Vec::with_capacity(slots.len());
    for (i, (at, agent)) in slots.into_iter().enumerate() {
        let upper = tickets.partition_point(|t| t.created_at < at).max(1);
        let ticket = rng.gen_range(upper.saturating_sub(150)..upper);
        let type_idx = if rng.gen_bool(0.06) {
            None
        } else {
            Some(rng.gen_range(0..4))
        };
        let time_unit = if i % 97 == 3 {
            "-15.0".to_owned()
        } else if i % 389 == 5 {
            "0.0".to_owned()
        } else {
            TIME_UNITS[rng.gen_range(0..TIME_UNITS.len())].to_owned()
        };
        accountings.push(SeedAccounting {
            ticket,
            agent,
            type_idx,
            time_unit,
            with_article: !rng.gen_bool(0.1),
            created_at: at,
        });
    }

    if demo {
        shape_demo(&mut accountings, &tickets, &mut organizations, &agents);
    }

    let mut activities: Vec<SeedActivity> = TYPES[..4]
        .iter()
        .map(|(n, _)| SeedActivity {
            name: (*n).to_owned(),
            project: None,
            billable: true,
        })
        .collect();
    activities.push(SeedActivity {
        name: "Internal".to_owned(),
        project: None,
        billable: false,
    });
    activities.push(SeedActivity {
        name: "Project work".to_owned(),
        project: Some(0),
        billable: true,
    });
    if !organizations[1].global_activities {
        for name in ["Remote support", "On-site"] {
            activities.push(SeedActivity {
                name: name.to_owned(),
                project: Some(1),
                billable: true,
            });
        }
    }

    SeedData {
        month_start: Some(month_start),
        organizations,
        agents,
        customers,
        types: TYPES.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect(),
        tickets,
        accountings,
        activities,
        tags: vec![
            "zammad".to_owned(),
            "remote".to_owned(),
            "onsite".to_owned(),
            "urgent".to_owned(),
        ],
    }
}

/// [`Seed::Demo`]'s problems, made from Small's: project 4 ends the day before its last
/// [`DEMO_ENDED_PROJECT_ACCOUNTINGS`] accountings (others of project 4 after its end move
/// to the latest earlier ticket of another organization); none without a type, no "0.0",
/// no part of a minute and no negative correction but the few placed here, on
/// accountings of agents with a Kimai user outside project 4 (so that each shows its own
/// reason).
/// Years of earlier bookings for a Zammad (the benchmark's "history"): how many months
/// before the generated month, and how many accountings each holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    /// Months of history before the generated month.
    pub months: u32,
    /// Accountings booked in each of them.
    pub accountings_per_month: usize,
}

/// Puts `history` before `data`'s month: tickets and accountings of the same agents and
/// organizations, spread over the months before [`SeedData::month_start`], created before
/// everything already there (so ids stay in creation order, as in Zammad, and the month's
/// own records keep their order and content; ticket numbers of the history are 500001…).
/// Deterministic from `rng_seed`; the month's data is not changed otherwise.
pub fn add_history(data: &mut SeedData, history: History, rng_seed: u64) {
    let (Some(month_start), false, false) = (
        data.month_start,
        data.agents.is_empty(),
        data.organizations.is_empty(),
    ) else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(rng_seed ^ 0x4157_0e11);
    let end = month_start.and_hms_opt(0, 0, 0).unwrap().and_utc() - Duration::days(4);
    let start = end - Duration::days(30 * i64::from(history.months));
    let total = history.accountings_per_month * history.months as usize;
    let span_ms = (end - start).num_milliseconds().max(1);
    let mut times: Vec<DateTime<Utc>> = (0..total)
        .map(|_| start + Duration::milliseconds(rng.gen_range(0..span_ms)))
        .collect();
    times.sort();
    // About ten accountings per ticket, each ticket opened just before its first one.
    let per_ticket = 10;
    let mut tickets = Vec::with_capacity(total.div_ceil(per_ticket));
    let mut accountings = Vec::with_capacity(total);
    for (i, at) in times.into_iter().enumerate() {
        if i % per_ticket == 0 {
            let org = rng.gen_range(0..data.organizations.len());
            let per_org = (data.customers.len() / data.organizations.len()).max(1);
            tickets.push(SeedTicket {
                number: (500_001 + tickets.len()).to_string(),
                title: PROBLEMS[rng.gen_range(0..PROBLEMS.len())].to_owned(),
                org,
                customer: (org * per_org + rng.gen_range(0..per_org))
                    .min(data.customers.len().saturating_sub(1)),
                owner: rng.gen_range(0..data.agents.len()),
                created_at: at - Duration::minutes(5),
            });
        }
        accountings.push(SeedAccounting {
            ticket: tickets.len() - 1,
            agent: rng.gen_range(0..data.agents.len()),
            type_idx: Some(rng.gen_range(0..4)),
            time_unit: TIME_UNITS[rng.gen_range(0..TIME_UNITS.len())].to_owned(),
            with_article: true,
            created_at: at,
        });
    }
    let shift = tickets.len();
    for a in &mut data.accountings {
        a.ticket += shift;
    }
    tickets.append(&mut data.tickets);
    accountings.append(&mut data.accountings);
    data.tickets = tickets;
    data.accountings = accountings;
}

fn shape_demo(
    accountings: &mut [SeedAccounting],
    tickets: &[SeedTicket],
    organizations: &mut [SeedOrg],
    agents: &[SeedAgent],
) {
    const ENDED_ORG: usize = 3;
    let of_ended: Vec<usize> = (0..accountings.len())
        .filter(|&i| tickets[accountings[i].ticket].org == ENDED_ORG)
        .collect();
    let kept: Vec<usize> = of_ended
        .iter()
        .copied()
        .filter(|&i| agents[accountings[i].agent].kimai_user)
        .rev()
        .take(DEMO_ENDED_PROJECT_ACCOUNTINGS)
        .collect();
    if kept.len() == DEMO_ENDED_PROJECT_ACCOUNTINGS
        && let Some(org) = organizations.get_mut(ENDED_ORG)
    {
        let first_day = accountings[kept[kept.len() - 1]].created_at.date_naive();
        org.project_end = first_day.pred_opt();
        for i in of_ended {
            let a = &mut accountings[i];
            if kept.contains(&i) || a.created_at.date_naive() < first_day {
                continue;
            }
            let earlier = tickets.partition_point(|t| t.created_at <= a.created_at);
            if let Some(t) = (0..earlier).rev().find(|&t| tickets[t].org != ENDED_ORG) {
                a.ticket = t;
            }
        }
    }
    for (i, a) in accountings.iter_mut().enumerate() {
        a.type_idx = Some(a.type_idx.unwrap_or(i % 4));
        let minutes: f64 = a.time_unit.parse().unwrap_or(0.0);
        if minutes < 1.0 {
            a.time_unit = "30.0".to_owned();
        }
    }
    let plain: Vec<usize> = (0..accountings.len())
        .filter(|&i| {
            let a = &accountings[i];
            agents[a.agent].kimai_user && tickets[a.ticket].org != ENDED_ORG
        })
        .collect();
    // Spread evenly over the month, each on an accounting of its own.
    let problems = 1 + DEMO_PART_MINUTE_ACCOUNTINGS + DEMO_OLD_TYPE_ACCOUNTINGS;
    if plain.len() > problems {
        for k in 0..problems {
            let i = plain[plain.len() * (k + 1) / (problems + 1)];
            if k == 0 {
                accountings[i].time_unit = "-15.0".to_owned();
            } else if k <= DEMO_PART_MINUTE_ACCOUNTINGS {
                accountings[i].time_unit = "0.5".to_owned();
            } else {
                accountings[i].type_idx = Some(4);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_month_has_about_44000_accountings() {
        let now = crate::default_now();
        let a = generate(Seed::Month, 7, now);
        let b = generate(Seed::Month, 7, now);
        assert_eq!(a, b);
        assert_eq!(a.agents.len(), 50);
        assert!((43_000..=45_000).contains(&a.accountings.len()));
        assert!(a.accountings.iter().any(|x| x.time_unit.starts_with('-')));
        assert!(a.accountings.iter().any(|x| x.time_unit == "0.0"));
        assert_eq!(a.agents.iter().filter(|x| !x.kimai_user).count(), 1);
    }

    #[test]
    fn the_demo_seed_shows_each_problem_on_a_few_accountings_whatever_the_month() {
        for month in 0..36 {
            let now = Utc
                .with_ymd_and_hms(2025 + month / 12, month as u32 % 12 + 1, 3, 9, 0, 0)
                .unwrap();
            let d = generate(Seed::Demo, 42, now);
            let accs = &d.accountings;
            let new_agent = d.agents.iter().position(|a| !a.kimai_user).unwrap();
            let count = |f: &dyn Fn(&SeedAccounting) -> bool| accs.iter().filter(|a| f(a)).count();
            assert!(accs.len() > 250, "{now}: {}", accs.len());
            assert!(
                (3..=6).contains(&count(&|a| a.agent == new_agent)),
                "{now}: the new agent's accountings"
            );
            assert_eq!(count(&|a| a.type_idx.is_none()), 0, "{now}");
            assert_eq!(
                count(&|a| a.type_idx == Some(4)),
                DEMO_OLD_TYPE_ACCOUNTINGS,
                "{now}"
            );
            assert_eq!(count(&|a| a.time_unit == "-15.0"), 1, "{now}");
            assert_eq!(count(&|a| a.time_unit == "0.0"), 0, "{now}");
            assert_eq!(
                count(&|a| a.time_unit == "0.5"),
                DEMO_PART_MINUTE_ACCOUNTINGS,
                "{now}"
            );
            let end = d.organizations[3].project_end.unwrap();
            let after_end =
                count(&|a| d.tickets[a.ticket].org == 3 && a.created_at.date_naive() > end);
            assert_eq!(
                after_end, DEMO_ENDED_PROJECT_ACCOUNTINGS,
                "{now}: accountings after project 4's end {end}"
            );
            assert!(d.organizations.iter().all(|o| o.global_activities));
        }
    }

    #[test]
    fn tickets_are_created_before_their_accountings() {
        for seed in [Seed::Small, Seed::Demo] {
            let d = generate(seed, 1, crate::default_now());
            for acc in &d.accountings {
                assert!(d.tickets[acc.ticket].created_at <= acc.created_at, "{seed}");
            }
        }
    }
}
