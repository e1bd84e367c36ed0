//! The hub's pipeline options and mapping rules (#14): excluded people, matching by name,
//! options with defaults, and what a source kind cannot do.

use std::collections::{HashMap, HashSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::Seed;
use timebridge_sim::zammad::NewAccounting;

use crate::api_test;
use crate::common::{TestApp, error_code};
use crate::sync_e2e::{Env, marked, open_conflicts, outcomes, setup};

async fn sync(app: &TestApp, env: &Env, dry_run: bool) -> Value {
    let (status, run) = app
        .send_json(
            Method::POST,
            "/api/sync/manual?wait=true",
            &env.token,
            &json!({"pipeline_id": env.pipeline, "from": "2026-03-01", "to": "2026-03-31",
                    "dry_run": dry_run}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    run
}

async fn set_options(app: &TestApp, env: &Env, options: Value) -> (StatusCode, Value) {
    let (_, p) = app
        .get_json(&format!("/api/pipelines/{}", env.pipeline), &env.token)
        .await;
    app.send_json(
        Method::PUT,
        &format!("/api/pipelines/{}", env.pipeline),
        &env.token,
        &json!({"name": p["name"], "source_connector_id": p["source_connector_id"],
                "target_connector_id": p["target_connector_id"], "options": options}),
    )
    .await
}

api_test!(async fn an_excluded_users_entries_are_skipped_as_user_excluded_and_never_raise_a_conflict(app) {
    let env = setup(app, Seed::Small).await;
    let first = sync(app, &env, false).await;
    // The agent without a Kimai user is raised as unmapped_user at first.
    let agent_of: HashMap<String, u64> = env
        .zammad
        .accountings()
        .into_iter()
        .map(|a| (a.id.to_string(), a.created_by_id))
        .collect();
    let unmapped = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reason"] == "conflict:unmapped_user" || i["reason"] == "unmapped_user")
        .expect("the seed has an agent without a Kimai user");
    let agent = agent_of[unmapped["source_key"].as_str().unwrap()];
    // And one agent whose entries were written: excluding them stops further writes.
    let written_agent = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["outcome"] == "create" && agent_of[i["source_key"].as_str().unwrap()] != agent)
        .map(|i| agent_of[i["source_key"].as_str().unwrap()])
        .unwrap();
    for excluded in [agent, written_agent] {
        let (status, m) = app
            .send_json(Method::POST, "/api/mappings", &env.token, &json!({
                "pipeline_id": env.pipeline, "kind": "user", "source_key": excluded,
                "source_label": "Leaver", "sync": false}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        assert_eq!(m["sync"], false);
        assert_eq!(m["target_key"], Value::Null);
    }
    let excluded: HashSet<u64> = [agent, written_agent].into();

    // A new accounting of the excluded, written agent is not written either.
    let ticket = env.zammad.tickets().into_iter().find(|t| t.organization_id.is_some()).unwrap();
    env.zammad.clock().set("2026-03-31T12:00:00Z".parse().unwrap());
    let mut new = NewAccounting::new(ticket.id, "25.0", written_agent);
    new.type_id = Some(env.zammad.types()[0].id);
    let fresh = env.zammad.add_accounting(new).unwrap();
    let mut agent_of = agent_of;
    agent_of.insert(fresh.id.to_string(), written_agent);
    let before = marked(&env.kimai);
    let second = sync(app, &env, false).await;
    let mut skipped = 0;
    for i in second["items"].as_array().unwrap() {
        let key = i["source_key"].as_str().unwrap();
        if agent_of.get(key).is_some_and(|a| excluded.contains(a)) {
            assert_eq!(i["outcome"], "skip", "{i}");
            assert_eq!(i["message"], "user excluded", "{i}");
            assert_eq!(i["conflict_id"], Value::Null, "{i}");
            skipped += 1;
        }
    }
    assert!(skipped > 1, "{:?}", outcomes(&second));
    assert_eq!(second["stats"]["created"], 0, "{}", second["stats"]);
    assert_eq!(marked(&env.kimai), before, "nothing written for excluded people");
    // The earlier unmapped_user conflicts of the excluded agent are closed, none are open.
    for c in open_conflicts(app, &env, "unmapped_user").await {
        let key = c["source"]["key"].as_str().unwrap_or_default();
        assert!(!agent_of.get(key).is_some_and(|a| excluded.contains(a)), "{c}");
    }
    let (_, all) = app
        .get_json(&format!("/api/conflicts?status=open&pipeline_id={}&limit=500", env.pipeline), &env.token)
        .await;
    for c in all["items"].as_array().unwrap() {
        let key = c["source"]["key"].as_str().unwrap_or_default();
        assert!(!agent_of.get(key).is_some_and(|a| excluded.contains(a)), "open conflict {c}");
    }
});

api_test!(async fn with_match_by_name_a_type_maps_to_the_kimai_activity_of_the_same_name_without_a_mapping(app) {
    let env = setup(app, Seed::Tiny).await;
    // Remove the activity mappings the setup made.
    let (_, list) = app
        .get_json(&format!("/api/mappings?pipeline_id={}&kind=activity&limit=500", env.pipeline), &env.token)
        .await;
    assert!(list["total"].as_u64().unwrap() > 0);
    for m in list["items"].as_array().unwrap() {
        let res = app
            .authed(Method::DELETE, &format!("/api/mappings/{}", m["id"]), &env.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let without = sync(app, &env, true).await;
    assert_eq!(without["stats"]["created"], 0, "{:?}", outcomes(&without));
    assert!(outcomes(&without).contains_key("conflict:unmapped_activity"));

    let (status, p) = set_options(app, &env, json!({"match_by_name": true})).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["options"]["match_by_name"], true);
    let run = sync(app, &env, false).await;
    let counts = outcomes(&run);
    assert!(run["stats"]["created"].as_u64().unwrap() > 0, "{counts:?}");

    // Each type's entries carry the one Kimai activity of the same (trimmed,
    // case-insensitive) name.
    let norm = |s: &str| s.trim().to_lowercase();
    let mut by_name: HashMap<String, Vec<u64>> = HashMap::new();
    for a in env.kimai.activities() {
        by_name.entry(norm(&a.name)).or_default().push(a.id);
    }
    let type_name: HashMap<u64, String> =
        env.zammad.types().into_iter().map(|t| (t.id, norm(&t.name))).collect();
    let accounting: HashMap<String, _> = env
        .zammad
        .accountings()
        .into_iter()
        .map(|a| (a.id.to_string(), a))
        .collect();
    let mut checked = 0;
    for t in env.kimai.timesheets() {
        let d = t.description.clone().unwrap_or_default();
        let key = d[d.find("[tb-zammad-").unwrap() + 11..].trim_end_matches(']').to_owned();
        let type_id = accounting[&key].type_id.expect("written entries have a type");
        let same_name = &by_name[&type_name[&type_id]];
        assert_eq!(same_name, &vec![t.activity], "{key}");
        checked += 1;
    }
    assert!(checked > 0);
    // A type whose name no (single) Kimai activity has stays unmapped.
    for i in run["items"].as_array().unwrap() {
        if i["reason"] == "unmapped_activity" {
            let a = &accounting[i["source_key"].as_str().unwrap()];
            let name = a.type_id.map(|t| type_name[&t].clone()).unwrap_or_default();
            assert!(by_name.get(&name).is_none_or(|v| v.len() != 1), "{i}");
        }
    }
});

api_test!(async fn mappings_accept_sync_and_refuse_what_it_cannot_mean(app) {
    let token = app.login().await;
    let pipeline = app.create_pipeline(&token).await;
    let post = |body: Value| {
        let token = token.clone();
        async move { app.send_json(Method::POST, "/api/mappings", &token, &body).await }
    };
    // sync defaults to true and is returned.
    let (status, m) = post(json!({"pipeline_id": pipeline, "kind": "activity", "source_key": "3",
                                  "target_key": "7"})).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert_eq!(m["sync"], true);
    assert_eq!(m["target_label"], "");
    // A syncing mapping needs a target key.
    for body in [
        json!({"pipeline_id": pipeline, "kind": "user", "source_key": "1"}),
        json!({"pipeline_id": pipeline, "kind": "user", "source_key": "1", "target_key": null}),
        json!({"pipeline_id": pipeline, "kind": "user", "source_key": "1", "target_key": " ",
               "sync": true}),
    ] {
        let (status, e) = post(body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {e}");
        assert_eq!(error_code(&e), "validation_failed");
        assert_eq!(e["error"]["details"]["field"], "target_key", "{e}");
    }
    // Only user mappings may be excluded from sync.
    for kind in ["activity", "project"] {
        let (status, e) = post(json!({"pipeline_id": pipeline, "kind": kind, "source_key": "9",
                                      "target_key": "1", "sync": false})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(e["error"]["details"]["field"], "sync", "{e}");
        assert!(e["error"]["message"].is_string());
    }
    // An excluded person needs no target; their mapping round-trips.
    let (status, m) = post(json!({"pipeline_id": pipeline, "kind": "user", "source_key": 5,
                                  "target_key": null, "target_label": null, "sync": false})).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert_eq!((m["sync"].clone(), m["target_key"].clone(), m["target_label"].clone()),
               (json!(false), Value::Null, Value::Null));
    let id = m["id"].as_i64().unwrap();
    let (status, got) = app.get_json(&format!("/api/mappings/{id}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["sync"], false);
    // Included again: a target is needed once more.
    let (status, e) = app
        .send_json(Method::PUT, &format!("/api/mappings/{id}"), &token,
            &json!({"pipeline_id": pipeline, "kind": "user", "source_key": "5", "sync": true}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (status, m) = app
        .send_json(Method::PUT, &format!("/api/mappings/{id}"), &token,
            &json!({"pipeline_id": pipeline, "kind": "user", "source_key": "5", "target_key": 2}))
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!((m["sync"].clone(), m["target_key"].clone()), (json!(true), json!("2")));
});

api_test!(async fn pipeline_options_round_trip_with_their_defaults(app) {
    let token = app.login().await;
    let id = app.create_pipeline(&token).await;
    let (_, p) = app.get_json(&format!("/api/pipelines/{id}"), &token).await;
    assert_eq!(p["options"], json!({
        "default_project": null, "default_activity": null, "unmapped_user": "conflict",
        "match_by_name": false, "include_running": false,
        "mirror_projects": {"enabled": false, "client_key": null},
        "notify": [], "daily_summary_at": null,
        "rounding": {"mode": "exact", "step_seconds": 60, "keep": "begin", "rules": []}}));
    let put = |options: Value| {
        let token = token.clone();
        let p = p.clone();
        async move {
            app.send_json(Method::PUT, &format!("/api/pipelines/{id}"), &token, &json!({
                "name": p["name"], "source_connector_id": p["source_connector_id"],
                "target_connector_id": p["target_connector_id"], "options": options}))
                .await
        }
    };
    let (status, got) = put(json!({"match_by_name": true, "include_running": true,
                                   "mirror_projects": {"client_key": 42}})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let want = json!({
        "default_project": null, "default_activity": null, "unmapped_user": "conflict",
        "match_by_name": true, "include_running": true,
        "mirror_projects": {"enabled": false, "client_key": "42"},
        "notify": [], "daily_summary_at": null,
        "rounding": {"mode": "exact", "step_seconds": 60, "keep": "begin", "rules": []}});
    assert_eq!(got["options"], want);
    // Omitted options keep their values; the stored pipeline reads the same.
    let (status, got) = put(json!({"unmapped_user": "token_user"})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let mut want = want;
    want["unmapped_user"] = json!("token_user");
    assert_eq!(got["options"], want);
    let (_, got) = app.get_json(&format!("/api/pipelines/{id}"), &token).await;
    assert_eq!(got["options"], want);
    let (status, got) = put(json!({"include_running": false, "mirror_projects": {"client_key": null}})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["options"]["include_running"], false);
    assert_eq!(got["options"]["mirror_projects"], json!({"enabled": false, "client_key": null}));
});

api_test!(async fn mirroring_projects_is_refused_for_a_zammad_source(app) {
    let token = app.login().await;
    let (zammad, kimai) = app.create_connector_pair(&token).await;
    let (status, e) = app
        .send_json(Method::POST, "/api/pipelines", &token, &json!({
            "name": "p", "source_connector_id": zammad, "target_connector_id": kimai,
            "options": {"mirror_projects": {"enabled": true}}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(error_code(&e), "validation_failed");
    assert_eq!(e["error"]["details"]["field"], "options.mirror_projects.enabled");
    let (_, list) = app.get_json("/api/pipelines", &token).await;
    assert_eq!(list["total"], 0, "nothing stored");
    // Disabled, it is accepted; enabling it later is refused the same way.
    let (status, p) = app
        .send_json(Method::POST, "/api/pipelines", &token, &json!({
            "name": "p", "source_connector_id": zammad, "target_connector_id": kimai,
            "options": {"mirror_projects": {"enabled": false}}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let (status, e) = app
        .send_json(Method::PUT, &format!("/api/pipelines/{}", p["id"]), &token, &json!({
            "name": "p", "source_connector_id": zammad, "target_connector_id": kimai,
            "options": {"mirror_projects": {"enabled": true}}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["details"]["field"], "options.mirror_projects.enabled");
});
