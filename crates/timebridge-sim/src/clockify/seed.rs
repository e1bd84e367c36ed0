//! The Clockify simulator's seed, derived from the shared seed ([`crate::seed`]) so that
//! the pairs fit together:
//!
//! - The **agency** workspace: its admin owns the main key; every agent that has a Kimai
//!   user is a member with the same e-mail (Zammad → Clockify matches them); one client
//!   and one project per organization, named like the Kimai projects (Clockify → Kimai
//!   matches them by name), each with the tasks [`TASKS`] (named like Kimai's global
//!   activities); the contractor's agency account ("chris.external@agency.example") is a
//!   member too. Its agents book entries on the generated month's workdays.
//! - The **contractor** workspace: the contractor owns it and the contractor key; one
//!   client, [`AGENCY_CLIENT`]; the first two agency project names already exist under it
//!   (mirrored earlier), beside [`CONTRACTOR_ONLY_PROJECT`] (no client), and the
//!   contractor's entries (no task) lie on the month's workdays, one running at its end.
//!
//! Every entry starts and ends on a whole minute.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::state::{CState, Client, NewEntry, Project, Role, Tag, Task, User, Workspace};
use crate::SimOptions;
use crate::seed::{self, Seed};

/// Tasks of every agency project, named like the Zammad types and Kimai's global activities.
pub const TASKS: [&str; 3] = ["Remote support", "On-site", "Consulting"];
/// The contractor workspace's only client: mirrored projects are created under it.
pub const AGENCY_CLIENT: &str = "Agency";
/// A contractor project the agency does not have (its entries are unmapped).
pub const CONTRACTOR_ONLY_PROJECT: &str = "Own administration";

pub(crate) struct SeedIds {
    pub agency_workspace: String,
    pub contractor_workspace: String,
    pub agency_admin: String,
    pub contractor: String,
    pub contractor_at_agency: String,
}

fn user(st: &mut CState, email: &str, name: &str, tz: chrono_tz::Tz) -> String {
    let id = st.new_id(0x64b0);
    st.users.insert(
        id.clone(),
        User {
            id: id.clone(),
            email: email.to_owned(),
            name: name.to_owned(),
            timezone: tz,
            active: true,
        },
    );
    id
}

fn client(st: &mut CState, ws: &str, name: &str) -> String {
    let id = st.new_id(0x64d0);
    st.clients.insert(
        id.clone(),
        Client {
            id: id.clone(),
            workspace: ws.to_owned(),
            name: name.to_owned(),
            archived: false,
        },
    );
    id
}

fn project(st: &mut CState, ws: &str, name: &str, client: Option<&str>, billable: bool) -> String {
    let id = st.new_id(0x64c0);
    st.projects.insert(
        id.clone(),
        Project {
            id: id.clone(),
            workspace: ws.to_owned(),
            name: name.to_owned(),
            client: client.map(str::to_owned),
            archived: false,
            billable,
            hourly_rate: None,
            color: "#4CAF50".to_owned(),
            public: true,
        },
    );
    id
}

fn tag(st: &mut CState, ws: &str, name: &str) -> String {
    let id = st.new_id(0x64f0);
    st.tags.insert(
        id.clone(),
        Tag {
            id: id.clone(),
            workspace: ws.to_owned(),
            name: name.to_owned(),
            archived: false,
        },
    );
    id
}

fn workdays(month_start: NaiveDate, max: usize) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    let mut d = month_start;
    while d.month() == month_start.month() && days.len() < max {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            days.push(d);
        }
        d += Duration::days(1);
    }
    days
}

fn at(day: NaiveDate, minutes: i64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight")) + Duration::minutes(minutes)
}

/// Fills `st` for `opts.seed` and returns the fixed ids.
pub(crate) fn populate(st: &mut CState, opts: &SimOptions, now: DateTime<Utc>) -> SeedIds {
    let data = seed::generate(opts.seed, opts.rng_seed, now);
    let mut rng = StdRng::seed_from_u64(opts.rng_seed ^ 0xc10c);
    let berlin = chrono_tz::Europe::Berlin;
    let agency_ws = st.new_id(0x64a0);
    let contractor_ws = st.new_id(0x64a0);
    let admin = user(st, "admin@agency.example", "Agency Admin", berlin);
    let contractor = user(st, "chris@contractor.example", "Chris Contractor", berlin);
    let external = user(
        st,
        "chris.external@agency.example",
        "Chris Contractor (external)",
        berlin,
    );
    let mut agency_members = vec![(admin.clone(), Role::Owner)];
    let mut agents = Vec::new();
    for a in data.agents.iter().filter(|a| a.kimai_user) {
        let id = user(
            st,
            &a.email,
            &format!("{} {}", a.firstname, a.lastname),
            a.timezone,
        );
        agency_members.push((id.clone(), Role::User));
        agents.push(id);
    }
    agency_members.push((external.clone(), Role::User));
    st.workspaces.insert(
        agency_ws.clone(),
        Workspace {
            id: agency_ws.clone(),
            name: "Agency".to_owned(),
            members: agency_members,
            hourly_rate: 8000,
            currency: "EUR".to_owned(),
            force_projects: false,
        },
    );
    st.workspaces.insert(
        contractor_ws.clone(),
        Workspace {
            id: contractor_ws.clone(),
            name: "Chris Contractor".to_owned(),
            members: vec![(contractor.clone(), Role::Owner)],
            hourly_rate: 6500,
            currency: "EUR".to_owned(),
            force_projects: false,
        },
    );
    let agency_client = client(st, &contractor_ws, AGENCY_CLIENT);
    let ids = SeedIds {
        agency_workspace: agency_ws.clone(),
        contractor_workspace: contractor_ws.clone(),
        agency_admin: admin,
        contractor: contractor.clone(),
        contractor_at_agency: external,
    };
    if opts.seed == Seed::Empty {
        return ids;
    }

    // Agency master data: one client and project per organization, tasks, tags.
    let mut agency_projects = Vec::new();
    for (i, org) in data.organizations.iter().enumerate() {
        let c = client(st, &agency_ws, &org.name);
        let p = project(st, &agency_ws, &org.name, Some(&c), org.billable);
        if i == 0
            && let Some(proj) = st.projects.get_mut(&p)
        {
            proj.hourly_rate = Some(9500);
        }
        let mut tasks = Vec::new();
        for name in TASKS {
            let id = st.new_id(0x64e0);
            st.tasks.insert(
                id.clone(),
                Task {
                    id: id.clone(),
                    workspace: agency_ws.clone(),
                    project: p.clone(),
                    name: name.to_owned(),
                    active: true,
                },
            );
            tasks.push(id);
        }
        agency_projects.push((p, tasks));
    }
    let urgent = tag(st, &agency_ws, "urgent");
    tag(st, &agency_ws, "on-call");
    tag(st, &contractor_ws, "urgent");

    let month_start = data
        .month_start
        .unwrap_or_else(|| seed::previous_month_start(now));
    let (days, per_day) = match opts.seed {
        Seed::Tiny => (2, 2),
        Seed::Small | Seed::Demo => (22, 2),
        _ => (31, 10),
    };
    let days = workdays(month_start, days);

    // Agency entries: each agent, each workday, `per_day` entries from 08:00 UTC.
    for day in &days {
        for agent in &agents {
            let mut minute = 8 * 60 + rng.gen_range(0..4) * 15;
            for k in 0..per_day {
                let (p, tasks) = &agency_projects[rng.gen_range(0..agency_projects.len())];
                let task = (k % 3 != 2).then(|| tasks[rng.gen_range(0..tasks.len())].clone());
                let length = 15 * rng.gen_range(1..=8);
                let e = st.insert_entry(
                    NewEntry {
                        workspace: agency_ws.clone(),
                        user: agent.clone(),
                        project: Some(p.clone()),
                        task,
                        description: format!("Support work {}", k + 1),
                        start: at(*day, minute),
                        end: Some(at(*day, minute + length)),
                        billable: true,
                    },
                    now,
                );
                if rng.gen_ratio(1, 6)
                    && let Some(e) = st.entries.get_mut(&e.id)
                {
                    e.tags = vec![urgent.clone()];
                }
                minute += length + 15 * rng.gen_range(0..3);
            }
        }
    }

    // Contractor master data: the first two agency project names under "Agency".
    let mut contractor_projects = Vec::new();
    for org in data.organizations.iter().take(2) {
        contractor_projects.push(project(
            st,
            &contractor_ws,
            &org.name,
            Some(&agency_client),
            true,
        ));
    }
    let own = project(st, &contractor_ws, CONTRACTOR_ONLY_PROJECT, None, false);
    let mut n = 0usize;
    for day in &days {
        let mut minute = 9 * 60;
        for _ in 0..2 {
            n += 1;
            let p = if n.is_multiple_of(9) {
                own.clone()
            } else {
                contractor_projects[n % contractor_projects.len()].clone()
            };
            let length = 30 * rng.gen_range(1..=6);
            st.insert_entry(
                NewEntry {
                    workspace: contractor_ws.clone(),
                    user: contractor.clone(),
                    project: Some(p),
                    task: None,
                    description: format!("Development, part {n}"),
                    start: at(*day, minute),
                    end: Some(at(*day, minute + length)),
                    billable: true,
                },
                now,
            );
            minute += length + 30;
        }
    }
    if let Some(last) = days.last() {
        st.insert_entry(
            NewEntry {
                workspace: contractor_ws,
                user: contractor,
                project: contractor_projects.first().cloned(),
                task: None,
                description: "Still at it".to_owned(),
                start: at(*last, 18 * 60),
                end: None,
                billable: true,
            },
            now,
        );
    }
    ids
}
