//! Seed data that corresponds to the Zammad and Kimai seeds (see [`crate::seed`]):
//! every agent is a TimeTracker user with the same e-mail (ids 2.., in agent order; user 1
//! is the admin the main token belongs to); each organization is a client and a project of
//! the same name (client and project id = organization index + 1, as Kimai's project ids);
//! each project has tasks named like Kimai's global activities ("Remote support",
//! "On-site", "Consulting", "Travel"), except project 2, whose Kimai twin allows only its
//! own "Remote support" and "On-site", which are its only tasks.
//!
//! Entries: one per positive Zammad accounting of an agent that has a Kimai user (so a
//! TimeTracker → Kimai sync can write every one of them), ending when the accounting was
//! booked, cut short where it would overlap the agent's next entry (TimeTracker refuses
//! overlaps), on the project of the ticket's organization and the task of the accounting's
//! type (else the project's first task). Entries of project 4 after the end of its Kimai
//! twin (the 15th of the month; near the month's end with `Seed::Demo`) go to project 1.
//! Notes are `#<ticket number> <title>`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::state::{Client, Entry, Project, Role, Task, TtState, User};
use super::time::local_naive;
use crate::SimOptions;
use crate::seed;

/// The task names of every project but project 2.
pub const TASKS: [&str; 4] = ["Remote support", "On-site", "Consulting", "Travel"];

pub(crate) fn load(st: &mut TtState, opts: &SimOptions, now: DateTime<Utc>) {
    let data = seed::generate(opts.seed, opts.rng_seed, now);
    let tz = st.config.timezone;
    let created = now - Duration::days(300);
    let created_local = local_naive(tz, created);
    for agent in &data.agents {
        let id = st.next_user;
        st.next_user += 1;
        st.users.insert(
            id,
            User {
                id,
                username: agent.login.clone(),
                email: Some(agent.email.clone()),
                full_name: Some(format!("{} {}", agent.firstname, agent.lastname)),
                role: Role::User,
                is_active: true,
                created_at: created,
            },
        );
    }
    let mut tasks_of: HashMap<u64, Vec<(String, u64)>> = HashMap::new();
    for (i, org) in data.organizations.iter().enumerate() {
        let id = i as u64 + 1;
        st.clients.insert(
            id,
            Client {
                id,
                name: org.name.clone(),
                email: None,
                // The second client bills more; its project has no rate of its own.
                default_hourly_rate: Some(if id == 2 { 95.0 } else { 80.0 }),
                created_at: created,
            },
        );
        st.projects.insert(
            id,
            Project {
                id,
                name: org.name.clone(),
                client_id: Some(id),
                billable: org.billable,
                hourly_rate: (id != 2).then_some(80.0),
                archived: false,
                created_at: created,
            },
        );
        let names: &[&str] = if org.global_activities {
            &TASKS
        } else {
            &TASKS[..2]
        };
        for name in names {
            let tid = st.next_task;
            st.next_task += 1;
            st.tasks.insert(
                tid,
                Task {
                    id: tid,
                    project_id: id,
                    name: (*name).to_owned(),
                    created_by: super::state::ADMIN_USER_ID,
                    created_at: created_local,
                },
            );
            tasks_of
                .entry(id)
                .or_default()
                .push(((*name).to_owned(), tid));
        }
    }
    st.next_client = data.organizations.len() as u64 + 1;
    st.next_project = st.next_client;

    // Positive accountings of agents with a Kimai user, per agent in time order.
    let mut per_agent: HashMap<usize, Vec<&seed::SeedAccounting>> = HashMap::new();
    for a in &data.accountings {
        let minutes: f64 = a.time_unit.parse().unwrap_or(0.0);
        if minutes > 0.0 && data.agents[a.agent].kimai_user {
            per_agent.entry(a.agent).or_default().push(a);
        }
    }
    let mut rows: Vec<(DateTime<Utc>, Entry)> = Vec::new();
    let cut = data
        .organizations
        .get(3)
        .and_then(|o| o.project_end)
        .and_then(|d| d.and_hms_opt(23, 59, 59));
    for (agent, list) in per_agent {
        let user_id = agent as u64 + 2;
        let mut previous_end: Option<DateTime<Utc>> = None;
        for a in list {
            let minutes: f64 = a.time_unit.parse().unwrap_or(0.0);
            // Whole minutes (Kimai, a likely target, keeps no seconds).
            let seconds = (minutes.round() as i64).max(1) * 60;
            let end = DateTime::<Utc>::from_timestamp(a.created_at.timestamp() / 60 * 60, 0)
                .unwrap_or(a.created_at);
            let mut start = end - Duration::seconds(seconds);
            if let Some(prev) = previous_end
                && start < prev
            {
                start = prev;
            }
            if start >= end {
                continue;
            }
            previous_end = Some(end);
            let ticket = &data.tickets[a.ticket];
            let mut project = ticket.org as u64 + 1;
            if project == 4 && cut.is_some_and(|c| start.naive_utc() > c) {
                project = 1;
            }
            let tasks = &tasks_of[&project];
            let task = a
                .type_idx
                .and_then(|t| TASKS.get(t))
                .and_then(|name| tasks.iter().find(|(n, _)| n == name))
                .unwrap_or(&tasks[0])
                .1;
            let billable = data.organizations[project as usize - 1].billable;
            let start_local = local_naive(tz, start);
            let end_local = local_naive(tz, end);
            rows.push((
                start,
                Entry {
                    id: 0,
                    user_id,
                    project_id: Some(project),
                    client_id: None,
                    task_id: Some(task),
                    start: start_local,
                    end: Some(end_local),
                    break_seconds: 0,
                    notes: Some(format!("#{} {}", ticket.number, ticket.title)),
                    tags: None,
                    source: "manual",
                    billable,
                    paid: false,
                    invoice_number: None,
                    created_at: end_local,
                    updated_at: end_local,
                },
            ));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.user_id.cmp(&b.1.user_id)));
    for (_, e) in rows {
        st.insert_entry(e);
    }
}
