//! Billable left to Kimai's default: every combination of the customer's, the project's
//! and the activity's flags is written with Kimai's own default as the `billable` field and
//! as a tag, and a change of that default reaches the entries already written (an update),
//! while a hand-edited entry becomes a conflict.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::Seed;
use timebridge_sim::kimai::{NewProject, Timesheet};
use timebridge_sim::zammad::{NewAccounting, NewTicket};

use crate::api_test;
use crate::common::TestApp;
use crate::sync_e2e::{Env, map, open_conflicts, outcomes, setup};

/// The day the combinations are booked on (outside the seeded March data).
const DAY: &str = "2026-04-02";

/// The flags of one entry's customer, project and activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Flags {
    customer: bool,
    project: bool,
    activity: bool,
}

impl Flags {
    fn kimai_default(self) -> bool {
        self.customer && self.project && self.activity
    }
}

struct Combinations {
    /// Source key → the flags of its entry.
    keys: HashMap<String, Flags>,
    /// Kimai project of each (customer, project) pair of flags.
    projects: HashMap<(bool, bool), u64>,
    /// Zammad type of each activity flag.
    types: HashMap<bool, u64>,
}

/// Kimai customers, projects and global activities for every combination of flags, the
/// Zammad organizations and types mapped to them without a billable flag, and one
/// accounting (30 minutes, by an agent Kimai knows by e-mail) per combination; `extra`
/// more accountings for the all-billable combination.
async fn combinations(app: &TestApp, env: &Env, extra: usize) -> Combinations {
    let agent = env
        .zammad
        .users()
        .into_iter()
        .find(|u| env.kimai.user_by_email(&u.email).is_some() && u.id != 1)
        .unwrap();
    let customer_user = env.zammad.tickets()[0].customer_id;
    let mut types = HashMap::new();
    for billable in [true, false] {
        let name = if billable {
            "Billable work"
        } else {
            "Unbillable work"
        };
        let activity = env.kimai.add_activity(name, None, billable);
        let ty = env.zammad.add_type(name);
        map(
            app,
            &env.token,
            env.pipeline,
            "activity",
            ty.id,
            activity.id,
        )
        .await;
        types.insert(billable, ty.id);
    }
    let mut orgs = HashMap::new();
    let mut projects = HashMap::new();
    for customer in [true, false] {
        let c = env
            .kimai
            .add_customer(&format!("Customer billable={customer}"), customer);
        for project in [true, false] {
            let name = format!("Project {customer}/{project}");
            let p = env
                .kimai
                .add_project(NewProject {
                    name: name.clone(),
                    customer: c.id,
                    global_activities: true,
                    billable: project,
                    start: None,
                    end: None,
                })
                .unwrap();
            let org = env
                .zammad
                .add_organization(&name, &format!("{}{}.example", customer, project));
            map(app, &env.token, env.pipeline, "project", org.id, p.id).await;
            orgs.insert((customer, project), org.id);
            projects.insert((customer, project), p.id);
        }
    }
    let mut keys = HashMap::new();
    let mut minute = 0;
    let mut book = |flags: Flags| {
        minute += 40;
        let at = format!("{DAY}T08:00:00Z")
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            + chrono::Duration::minutes(minute);
        env.zammad.clock().set(at);
        let ticket = env.zammad.add_ticket(NewTicket {
            title: format!("Work for {flags:?}"),
            organization_id: Some(orgs[&(flags.customer, flags.project)]),
            customer_id: customer_user,
            owner_id: agent.id,
        });
        let mut new = NewAccounting::new(ticket.id, "30.0", agent.id);
        new.type_id = Some(types[&flags.activity]);
        let acc = env.zammad.add_accounting(new).unwrap();
        keys.insert(acc.id.to_string(), flags);
    };
    for customer in [true, false] {
        for project in [true, false] {
            for activity in [true, false] {
                book(Flags {
                    customer,
                    project,
                    activity,
                });
            }
        }
    }
    for _ in 0..extra {
        book(Flags {
            customer: true,
            project: true,
            activity: true,
        });
    }
    Combinations {
        keys,
        projects,
        types,
    }
}

async fn sync_day(app: &TestApp, env: &Env) -> Value {
    let (status, run) = app
        .send_json(
            Method::POST,
            "/api/sync/manual?wait=true",
            &env.token,
            &json!({"pipeline_id": env.pipeline, "from": DAY, "to": DAY}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    run
}

/// Kimai's timesheets by the source key in their marker.
fn written(env: &Env) -> HashMap<String, Timesheet> {
    env.kimai
        .timesheets()
        .into_iter()
        .filter_map(|t| {
            let d = t.description.clone().unwrap_or_default();
            let start = d.find("[tb-zammad-")? + 11;
            Some((d[start..].trim_end_matches(']').to_owned(), t))
        })
        .collect()
}

fn billable_tags(t: &Timesheet) -> Vec<&str> {
    t.tags
        .iter()
        .map(String::as_str)
        .filter(|t| *t == "billable" || *t == "non-billable")
        .collect()
}

api_test!(async fn every_combination_of_billable_flags_is_written_with_kimais_default_as_field_and_tag(app) {
    let env = setup(app, Seed::Tiny).await;
    let keys = combinations(app, &env, 0).await.keys;
    let run = sync_day(app, &env).await;
    assert_eq!(run["stats"]["created"], 8, "{:?}", outcomes(&run));
    let sheets = written(&env);
    for (key, flags) in &keys {
        let t = &sheets[key];
        let expect = flags.kimai_default();
        assert_eq!(t.billable, expect, "{flags:?}");
        let tag = if expect { "billable" } else { "non-billable" };
        assert_eq!(billable_tags(t), vec![tag], "{flags:?}: {:?}", t.tags);
    }
    // Every entry carries exactly one of the two tags, and a second run writes nothing.
    let again = sync_day(app, &env).await;
    assert_eq!(again["stats"]["in_sync"], 8, "{:?}", outcomes(&again));
    assert_eq!(env.kimai.log().count("PATCH /api/timesheets/{id}"), 0);
});

api_test!(async fn a_billable_mapping_still_wins_over_kimais_default(app) {
    let env = setup(app, Seed::Tiny).await;
    let world = combinations(app, &env, 0).await;
    // The non-billable activity is billed all the same, by the mapping's word.
    let (_, list) = app
        .get_json(&format!("/api/mappings?pipeline_id={}&kind=activity", env.pipeline), &env.token)
        .await;
    let unbillable_type = world.types[&false].to_string();
    let rule = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["source_key"].as_str() == Some(unbillable_type.as_str()))
        .unwrap()
        .clone();
    let mut body = rule.clone();
    body["billable"] = json!(true);
    let (status, updated) = app
        .send_json(Method::PUT, &format!("/api/mappings/{}", rule["id"]), &env.token, &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    sync_day(app, &env).await;
    let sheets = written(&env);
    for (key, flags) in &world.keys {
        let t = &sheets[key];
        let expect = !flags.activity || flags.kimai_default();
        assert_eq!(t.billable, expect, "{flags:?}");
        let tag = if expect { "billable" } else { "non-billable" };
        assert_eq!(billable_tags(t), vec![tag], "{flags:?}: {:?}", t.tags);
    }
});

api_test!(async fn a_changed_kimai_default_updates_written_entries_and_a_hand_edit_becomes_a_conflict(app) {
    let env = setup(app, Seed::Tiny).await;
    let Combinations { keys, projects, .. } = combinations(app, &env, 2).await;
    sync_day(app, &env).await;
    let sheets = written(&env);
    // A bookkeeper corrects one entry of the all-billable project by hand; then the
    // project becomes non-billable in Kimai.
    let all_billable = Flags { customer: true, project: true, activity: true };
    let in_project: Vec<&String> = keys
        .iter()
        .filter(|(_, f)| **f == all_billable)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(in_project.len(), 3);
    let edited = in_project[0];
    env.kimai
        .edit_timesheet(sheets[edited].id, |t| {
            t.description = Some(format!("Checked: {}", t.description.clone().unwrap()));
        })
        .unwrap();
    env.kimai
        .edit_project(projects[&(true, true)], |p| p.billable = false)
        .unwrap();
    let run = sync_day(app, &env).await;
    let counts = outcomes(&run);
    assert_eq!(counts.get("update"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("conflict:target_modified"), Some(&1), "{counts:?}");
    let after = written(&env);
    for key in &in_project[1..] {
        assert!(!after[*key].billable);
        assert_eq!(billable_tags(&after[*key]), vec!["non-billable"]);
    }
    // The hand-edited entry keeps what the bookkeeper left: nothing is overwritten silently.
    assert_eq!(after[edited].tags, sheets[edited].tags);
    assert!(after[edited].description.as_deref().unwrap().starts_with("Checked: "));
    let conflicts = open_conflicts(app, &env, "target_modified").await;
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0]["source"]["key"], edited.as_str());
});
