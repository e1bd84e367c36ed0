//! Rounding per pipeline (`options.rounding`), end to end through the Zammad → Kimai test
//! world: a Zammad accounting of 7.5 minutes, which Kimai cannot keep exactly, is written
//! rounded up to 15 minutes by a rule; the next run finds it in sync and writes nothing
//! (never rounded twice); a changed rule updates it once, from the raw duration.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::Seed;
use timebridge_sim::zammad::NewAccounting;

use crate::api_test;
use crate::common::TestApp;
use crate::sync_e2e::{Env, setup, sync};

/// Replaces the pipeline's rounding policy; returns the answer.
async fn set_rounding(app: &TestApp, env: &Env, rounding: Value) -> (StatusCode, Value) {
    let (status, p) = app
        .get_json(&format!("/api/pipelines/{}", env.pipeline), &env.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    app.send_json(
        Method::PUT,
        &format!("/api/pipelines/{}", env.pipeline),
        &env.token,
        &json!({"name": p["name"], "source_connector_id": p["source_connector_id"],
                "target_connector_id": p["target_connector_id"],
                "options": {"rounding": rounding}}),
    )
    .await
}

fn item_of<'r>(run: &'r Value, key: &str) -> &'r Value {
    run["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source_key"] == key)
        .unwrap_or_else(|| panic!("no item for {key}: {run}"))
}

/// The Kimai timesheet carrying the marker of Zammad accounting `key`.
fn timesheet(env: &Env, key: &str) -> timebridge_sim::kimai::Timesheet {
    let marker = format!("[tb-zammad-{key}]");
    env.kimai
        .timesheets()
        .into_iter()
        .find(|t| {
            t.description
                .as_deref()
                .is_some_and(|d| d.contains(&marker))
        })
        .unwrap_or_else(|| panic!("no timesheet for {key}"))
}

api_test!(async fn a_rule_rounds_seven_and_a_half_minutes_up_to_fifteen_once_and_never_twice(app) {
    let env = setup(app, Seed::Tiny).await;
    let first = sync(app, &env, false).await;
    // An entry that was written: its ticket, type and agent map, its project takes it.
    let written = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["outcome"] == "create")
        .expect("the first run creates entries");
    let like = env
        .zammad
        .accountings()
        .into_iter()
        .find(|a| a.id.to_string() == written["source_key"].as_str().unwrap())
        .unwrap();
    let project = timesheet(&env, written["source_key"].as_str().unwrap()).project;
    env.zammad.clock().set("2026-03-31T12:00:30Z".parse().unwrap());
    let mut new = NewAccounting::new(like.ticket_id, "7.5", like.created_by_id);
    new.type_id = like.type_id;
    let acc = env.zammad.add_accounting(new).unwrap();
    let key = acc.id.to_string();

    // Without a policy Kimai cannot keep 7.5 minutes: a conflict, as before.
    let exact = sync(app, &env, false).await;
    assert_eq!(item_of(&exact, &key)["outcome"], "conflict", "{}", item_of(&exact, &key));
    assert!(item_of(&exact, &key).get("rounding").is_none());

    // Rule #2 applies (rule #1 names another project); the end is kept (Zammad's booking
    // minute), the begin moves.
    let (status, body) = set_rounding(app, &env, json!({"rules": [
        {"project": "99999", "mode": "down", "step_seconds": 60},
        {"project": project, "mode": "up", "step_seconds": 900, "keep": "end"},
    ]}))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["options"]["rounding"]["mode"], "exact");
    assert_eq!(body["options"]["rounding"]["rules"][1]["step_seconds"], 900);
    // Kimai rounds by itself, in a way its API does not show: the pipeline says so.
    assert_eq!(body["warnings"][0]["code"], "target_rounds_too", "{body}");
    assert_eq!(body["warnings"][0]["field"], "options.rounding", "{body}");

    let dry = sync(app, &env, true).await;
    assert_eq!(item_of(&dry, &key)["outcome"], "create", "{}", item_of(&dry, &key));
    assert_eq!(item_of(&dry, &key)["rounding"], json!({"seconds": 450, "rule": 2}));

    let rounded = sync(app, &env, false).await;
    let it = item_of(&rounded, &key);
    assert_eq!(it["outcome"], "create", "{it}");
    assert_eq!(it["rounding"], json!({"seconds": 450, "rule": 2}));
    let t = timesheet(&env, &key);
    assert_eq!(t.duration, Some(900));
    assert_eq!(t.end, Some("2026-03-31T12:00:00Z".parse().unwrap()));
    assert_eq!(t.begin, "2026-03-31T11:45:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap());
    // The link keeps what rounding added.
    let link = app.state.store.get_link(env.pipeline, &key).await.unwrap().unwrap();
    assert_eq!((link.rounded_seconds, link.rounding_rule), (Some(450), Some(2)));
    // The conflict the exact policy raised is closed by the write.
    let (_, open) = app
        .get_json(&format!("/api/conflicts?status=open&pipeline_id={}&limit=500", env.pipeline), &env.token)
        .await;
    assert!(open["items"].as_array().unwrap().iter().all(|c| c["source_key"] != key), "{open}");

    // The source is unchanged: in sync, nothing written, still rounded from the raw 7.5.
    let patches = env.kimai.log().count("PATCH /api/timesheets/{id}");
    let posts = env.kimai.log().count("POST /api/timesheets");
    let again = sync(app, &env, false).await;
    let it = item_of(&again, &key);
    assert_eq!(it["outcome"], "in_sync", "{it}");
    assert_eq!(it["rounding"], json!({"seconds": 450, "rule": 2}));
    assert_eq!(again["stats"]["updated"], 0, "{}", again["stats"]);
    assert_eq!(env.kimai.log().count("PATCH /api/timesheets/{id}"), patches);
    assert_eq!(env.kimai.log().count("POST /api/timesheets"), posts);
    assert_eq!(timesheet(&env, &key).duration, Some(900));

    // A changed rule: one update, from the raw duration again (not from 15 minutes).
    let (status, body) = set_rounding(app, &env, json!({"rules": [
        {"project": project, "mode": "up", "step_seconds": 1800, "keep": "end"},
    ]}))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let changed = sync(app, &env, false).await;
    let it = item_of(&changed, &key);
    assert_eq!(it["outcome"], "update", "{it}");
    assert_eq!(it["rounding"], json!({"seconds": 1350, "rule": 1}));
    // Each entry of the project whose rounded duration changed is updated once (this one,
    // and those the wider step now rounds differently).
    let updated = changed["stats"]["updated"].as_u64().unwrap() as usize;
    assert_eq!(env.kimai.log().count("PATCH /api/timesheets/{id}"), patches + updated);
    assert_eq!(timesheet(&env, &key).duration, Some(1800));
    let link = app.state.store.get_link(env.pipeline, &key).await.unwrap().unwrap();
    assert_eq!((link.rounded_seconds, link.rounding_rule), (Some(1350), Some(1)));
    let quiet = sync(app, &env, false).await;
    assert_eq!(item_of(&quiet, &key)["outcome"], "in_sync");
    assert_eq!(quiet["stats"]["updated"], 0, "{}", quiet["stats"]);
    assert_eq!(env.kimai.log().count("PATCH /api/timesheets/{id}"), patches + updated);
});

api_test!(async fn a_bad_rounding_policy_is_a_422_naming_the_field_and_changes_nothing(app) {
    let env = setup(app, Seed::Tiny).await;
    let (status, body) = set_rounding(app, &env, json!({"rules": [
        {"mode": "up", "step_seconds": 900},
        {"mode": "up", "step_seconds": 0},
    ]}))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["field"], "options.rounding.rules[1].step_seconds", "{body}");
    let (status, body) = set_rounding(app, &env, json!({"mode": "ceiling"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["field"], "options.rounding.mode", "{body}");
    let (_, p) = app
        .get_json(&format!("/api/pipelines/{}", env.pipeline), &env.token)
        .await;
    assert_eq!(p["options"]["rounding"]["mode"], "exact", "{p}");
    assert_eq!(p["options"]["rounding"]["rules"], json!([]), "{p}");
    assert_eq!(p["warnings"], json!([]), "an exact pipeline rounds nothing: {p}");
});
