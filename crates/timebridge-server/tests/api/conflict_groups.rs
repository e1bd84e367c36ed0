//! Conflicts grouped by cause and fixed in place, end to end through the Zammad → Kimai
//! test world: one decision (a mapping, a change in the target then "retry all", a skip)
//! settles every conflict of a group, previewed first without writing anything, applied
//! as one run with trigger `resolution`.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::Seed;
use timebridge_sim::zammad::NewAccounting;

use crate::api_test;
use crate::common::{TestApp, error_code};
use crate::sync_e2e::{Env, marked, open_conflicts, setup, sync};

async fn groups(app: &TestApp, env: &Env) -> Vec<Value> {
    let (status, body) = app
        .get_json(
            &format!("/api/conflicts/groups?pipeline_id={}", env.pipeline),
            &env.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], body["items"].as_array().unwrap().len());
    body["items"].as_array().unwrap().clone()
}

fn group_of<'g>(groups: &'g [Value], reason: &str) -> &'g Value {
    groups
        .iter()
        .find(|g| g["reason"] == reason)
        .unwrap_or_else(|| panic!("no {reason} group in {groups:?}"))
}

async fn post(app: &TestApp, env: &Env, path: &str, body: Value) -> (StatusCode, Value) {
    app.send_json(Method::POST, path, &env.token, &body).await
}

/// Polls the run until it has finished (a deadline that holds on a loaded machine).
async fn finished_run(app: &TestApp, env: &Env, id: i64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (status, run) = app
            .get_json(&format!("/api/sync/runs/{id}"), &env.token)
            .await;
        assert_eq!(status, StatusCode::OK, "{run}");
        if ["succeeded", "partial", "failed"].contains(&run["status"].as_str().unwrap()) {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "run {id} did not finish: {run}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The open conflicts of the unmapped agent's group, its agent key and the group.
async fn unmapped_agent(app: &TestApp, env: &Env) -> (Value, Vec<Value>) {
    let all = groups(app, env).await;
    let group = group_of(&all, "unmapped_user").clone();
    let agent = group["cause"]["key"].as_str().unwrap().to_owned();
    let members: Vec<Value> = open_conflicts(app, env, "unmapped_user")
        .await
        .into_iter()
        .filter(|c| c["source"]["user"]["key"] == agent.as_str())
        .collect();
    (group, members)
}

api_test!(async fn an_unmapped_agent_is_one_group_that_one_mapping_fixes_after_a_preview_that_writes_nothing(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let (group, members) = unmapped_agent(app, &env).await;
    let id = group["id"].as_str().unwrap().to_owned();
    let count = members.len();
    assert!(count >= 2, "{group}");
    assert_eq!(group["count"], count, "{group}");
    assert_eq!(group["cause"]["kind"], "user");
    let seconds: i64 = members
        .iter()
        .map(|c| c["source"]["duration_seconds"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(group["seconds"], seconds, "{group}");
    assert!(group["examples"].as_array().unwrap().len() <= 3);
    assert!(!group["customers"].as_array().unwrap().is_empty(), "{group}");
    assert_eq!(group["fix"]["kind"], "mapping");
    assert_eq!(group["fix"]["mapping_kind"], "user");
    assert_eq!(group["fix"]["source_key"], group["cause"]["key"]);
    assert!(members.iter().all(|c| c["group"] == id.as_str()), "{members:?}");
    let newest = members.iter().map(|c| c["id"].as_i64().unwrap()).max().unwrap();
    assert_eq!(group["newest"]["conflict_id"], newest);

    // A Kimai user with the agent's e-mail (added after the sync) is suggested first.
    let email = members[0]["source"]["user"]["email"].as_str().unwrap().to_owned();
    let same = env.kimai.add_user(timebridge_sim::kimai::NewUser {
        username: "elsewhere".into(),
        email: email.to_uppercase(),
        timezone: chrono_tz::Europe::Berlin,
        permissions: timebridge_sim::kimai::Permissions::user(),
    });
    let (status, s) = app
        .get_json(&format!("/api/conflicts/groups/suggestions?group={id}"), &env.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["items"][0]["why"], "same_email", "{s}");
    assert_eq!(s["items"][0]["target_key"], same.id.to_string(), "{s}");

    // The preview reads like a dry run: every entry would be created, nothing is stored.
    let fix = json!({"mapping": {"kind": "user", "source_key": group["cause"]["key"],
                                 "target_key": "1", "target_label": "API user"}});
    let posts = env.kimai.log().count("POST /api/timesheets");
    let (status, preview) = post(app, &env, "/api/conflicts/groups/preview",
        json!({"group": id, "fix": fix})).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["total"], count);
    assert_eq!(preview["summary"]["create"], count, "{preview}");
    let item = &preview["items"][0];
    assert_eq!(item["outcome"], "create");
    assert_eq!(item["entry"]["user"]["key"], "1", "{item}");
    assert!(item["conflict_id"].is_i64());
    assert_eq!(env.kimai.log().count("POST /api/timesheets"), posts);
    let (_, maps) = app
        .get_json(&format!("/api/mappings?pipeline_id={}&kind=user", env.pipeline), &env.token)
        .await;
    assert!(maps["items"].as_array().unwrap().iter().all(|m| m["source_key"] != group["cause"]["key"]));
    assert_eq!(groups(app, &env).await.iter().filter(|g| g["id"] == id.as_str()).count(), 1);

    // Applied: the mapping is stored, one resolution run writes the group, it is gone.
    let mappings_created = app.audit(&env.token, "mapping_created").await.len();
    let (status, applied) = post(app, &env, "/api/conflicts/groups/apply",
        json!({"group": id, "fix": fix})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{applied}");
    assert!(applied["mapping_id"].is_i64(), "{applied}");
    let run = finished_run(app, &env, applied["run_id"].as_i64().unwrap()).await;
    assert_eq!(run["trigger"], "resolution", "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["stats"]["created"], count, "{run}");
    assert_eq!(run["items"].as_array().unwrap().len(), count, "only the group's entries: {run}");
    assert!(groups(app, &env).await.iter().all(|g| g["id"] != id.as_str()));
    for c in &members {
        let (_, now) = app.get_json(&format!("/api/conflicts/{}", c["id"]), &env.token).await;
        assert_eq!(now["status"], "resolved", "{now}");
    }
    let marks = marked(&env.kimai);
    assert!(members.iter().all(|c| marks.get(c["source_key"].as_str().unwrap()) == Some(&1)));
    assert_eq!(app.audit(&env.token, "mapping_created").await.len(), mappings_created + 1);
    let requested = app.audit(&env.token, "sync_requested").await;
    let queued = requested
        .iter()
        .find(|e| e["entity_id"].as_str().and_then(|s| s.parse::<i64>().ok()) == applied["run_id"].as_i64())
        .unwrap_or_else(|| panic!("no sync_requested for the run: {requested:?}"));
    assert_eq!(queued["details"]["trigger"], "resolution", "{queued}");
    assert_eq!(queued["details"]["group"], id.as_str(), "{queued}");
    assert_eq!(queued["details"]["entries"], count, "{queued}");

    // Nothing left to fix in that group.
    let (status, body) = post(app, &env, "/api/conflicts/groups/apply",
        json!({"group": id, "fix": fix})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // The next ordinary run finds them in sync.
    let again = sync(app, &env, false).await;
    assert_eq!(again["stats"]["created"], 0, "{}", again["stats"]);
});

api_test!(async fn a_fix_applies_to_five_hundred_entries_in_one_run_without_a_duplicate(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let (group, members) = unmapped_agent(app, &env).await;
    let agent: u64 = group["cause"]["key"].as_str().unwrap().parse().unwrap();
    let like = env
        .zammad
        .accountings()
        .into_iter()
        .find(|a| a.id.to_string() == members[0]["source_key"].as_str().unwrap())
        .unwrap();
    env.zammad.clock().set("2026-03-20T09:00:00Z".parse().unwrap());
    for _ in 0..(500 - members.len()) {
        let mut new = NewAccounting::new(like.ticket_id, "5.0", agent);
        new.type_id = like.type_id;
        env.zammad.add_accounting(new).unwrap();
    }
    sync(app, &env, false).await;
    let (group, members) = unmapped_agent(app, &env).await;
    assert_eq!(members.len(), 500);
    assert_eq!(group["count"], 500);
    let (status, applied) = post(app, &env, "/api/conflicts/groups/apply", json!({
        "group": group["id"],
        "fix": {"mapping": {"kind": "user", "source_key": group["cause"]["key"], "target_key": "1"}}}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{applied}");
    let run = finished_run(app, &env, applied["run_id"].as_i64().unwrap()).await;
    assert_eq!(run["stats"]["created"], 500, "{}", run["stats"]);
    let marks = marked(&env.kimai);
    let keys: HashSet<&str> = members.iter().map(|c| c["source_key"].as_str().unwrap()).collect();
    assert!(keys.iter().all(|k| marks.get(*k) == Some(&1)), "each entry written exactly once");
    assert!(marks.values().all(|n| *n == 1));
    assert!(open_conflicts(app, &env, "unmapped_user").await.iter()
        .all(|c| c["source"]["user"]["key"] != group["cause"]["key"]));
});

api_test!(async fn skipping_a_whole_group_resolves_each_conflict_and_keeps_them_quiet(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let (group, members) = unmapped_agent(app, &env).await;
    let (status, body) = post(app, &env, "/api/conflicts/groups/resolve",
        json!({"group": group["id"], "action": "create"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "action_not_allowed");
    let (status, body) = post(app, &env, "/api/conflicts/groups/resolve",
        json!({"group": group["id"], "action": "skip", "note": "not billed"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resolved"], members.len(), "{body}");
    assert_eq!(body["failed"], 0);
    assert!(groups(app, &env).await.iter().all(|g| g["id"] != group["id"]));
    assert_eq!(
        app.audit(&env.token, "conflict_resolved").await.len(),
        members.len()
    );
    let run = sync(app, &env, false).await;
    for c in &members {
        let it = run["items"].as_array().unwrap().iter()
            .find(|i| i["source_key"] == c["source_key"]).unwrap();
        assert_eq!(it["outcome"], "skip", "{it}");
    }
    assert!(groups(app, &env).await.iter().all(|g| g["id"] != group["id"]));
});

api_test!(async fn a_refusal_the_targets_rules_predict_is_one_group_retried_once_the_target_is_fixed(app) {
    let env = setup(app, Seed::Small).await;
    sync(app, &env, false).await;
    let all = groups(app, &env).await;
    let group = all
        .iter()
        .find(|g| g["cause"]["kind"] == "target_rule" && g["cause"]["key"].as_str().unwrap().starts_with("project_ended:"))
        .unwrap_or_else(|| panic!("no project_ended group in {all:?}"))
        .clone();
    assert_eq!(group["reason"], "target_rejected");
    assert_eq!(group["fix"]["kind"], "target");
    assert!(group["fix"]["hint"].as_str().unwrap().contains("end date"), "{group}");
    let project: u64 = group["cause"]["key"].as_str().unwrap()
        .trim_start_matches("project_ended:").parse().unwrap();
    assert!(group["fix"]["url"].as_str().unwrap().ends_with(&format!("/en/admin/project/{project}/edit")), "{group}");
    let count = group["count"].as_u64().unwrap();
    assert!(count >= 2, "{group}");

    // Fixed in Kimai: the project runs until the end of the year.
    env.kimai.edit_project(project, |p| p.end = Some("2026-12-31".parse().unwrap())).unwrap();
    let (status, preview) = post(app, &env, "/api/conflicts/groups/preview",
        json!({"group": group["id"], "fix": {"retry": true}})).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["summary"]["create"], count, "{preview}");
    let (status, applied) = post(app, &env, "/api/conflicts/groups/apply",
        json!({"group": group["id"], "fix": {"retry": true}})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{applied}");
    assert!(applied["mapping_id"].is_null());
    let run = finished_run(app, &env, applied["run_id"].as_i64().unwrap()).await;
    // Every entry was sent; the target may still refuse one for a reason of its own (Kimai
    // keeps whole minutes): that one becomes a conflict of its own, raised by the target.
    let created = run["stats"]["created"].as_u64().unwrap();
    let refused = run["stats"]["conflicts"].as_u64().unwrap();
    assert_eq!(created + refused, count, "{run}");
    assert!(created >= 2, "{run}");
    let after = groups(app, &env).await;
    assert!(after.iter().all(|g| g["id"] != group["id"]), "{after:?}");
    for it in run["items"].as_array().unwrap().iter().filter(|i| i["outcome"] == "conflict") {
        let (_, c) = app.get_json(&format!("/api/conflicts/{}", it["conflict_id"]), &env.token).await;
        assert_eq!((c["origin"].as_str(), c["cause"]["kind"].as_str()), (Some("target"), Some("entry")), "{c}");
    }
});

api_test!(async fn a_group_fix_that_does_not_fit_is_refused_with_the_error_shape(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let (group, _) = unmapped_agent(app, &env).await;
    let id = group["id"].as_str().unwrap();
    let mappings_created = app.audit(&env.token, "mapping_created").await.len();
    let cases = [
        (json!({"group": "nonsense", "fix": {"retry": true}}), StatusCode::BAD_REQUEST),
        (json!({"group": format!("{}.unmapped_user.user.no-such-agent", env.pipeline),
                "fix": {"retry": true}}), StatusCode::NOT_FOUND),
        (json!({"group": id, "fix": {}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"group": id, "fix": {"retry": true, "mapping": {"kind": "user",
                "source_key": group["cause"]["key"], "target_key": "1"}}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"group": id, "fix": {"mapping": {"kind": "activity",
                "source_key": group["cause"]["key"], "target_key": "1"}}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"group": id, "fix": {"retry": true}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"group": id, "fix": {"mapping": {"kind": "user",
                "source_key": group["cause"]["key"], "target_key": " "}}}), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, expected) in cases {
        for path in ["/api/conflicts/groups/preview", "/api/conflicts/groups/apply"] {
            let (status, answer) = post(app, &env, path, body.clone()).await;
            assert_eq!(status, expected, "{path} {body}: {answer}");
            assert!(!error_code(&answer).is_empty(), "{answer}");
        }
    }
    let (status, body) = app
        .get_json("/api/conflicts/groups?status=later", &env.token)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Nothing was stored or queued by the refused requests.
    assert_eq!(app.audit(&env.token, "mapping_created").await.len(), mappings_created);
    assert_eq!(groups(app, &env).await.iter().filter(|g| g["id"] == id).count(), 1);
});

api_test!(async fn entries_of_an_unmapped_type_are_fixed_by_the_pipeline_default(app) {
    let env = setup(app, Seed::Tiny).await;
    // A type whose mapping is removed: its entries are one cause, the default settles them.
    let (_, acts) = app
        .get_json(&format!("/api/mappings?pipeline_id={}&kind=activity", env.pipeline), &env.token)
        .await;
    let activity = acts["items"][0]["target_key"].as_str().unwrap().to_owned();
    let source_key = acts["items"][0]["source_key"].as_str().unwrap().to_owned();
    let (status, _) = app
        .send_json(Method::DELETE, &format!("/api/mappings/{}", acts["items"][0]["id"]), &env.token, &json!(null))
        .await;
    assert!(status.is_success(), "{status}");
    sync(app, &env, false).await;
    let all = groups(app, &env).await;
    let group = all
        .iter()
        .find(|g| g["reason"] == "unmapped_activity" && g["cause"]["key"] == source_key.as_str())
        .unwrap_or_else(|| panic!("no group for type {source_key}: {all:?}"))
        .clone();
    assert_eq!(group["fix"]["default_option"], "default_activity", "{group}");
    let fix = json!({"default": {"option": "default_activity", "target_key": activity}});
    let (status, body) = post(app, &env, "/api/conflicts/groups/preview",
        json!({"group": group["id"], "fix": {"default": {"option": "default_project", "target_key": "1"}}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, applied) = post(app, &env, "/api/conflicts/groups/apply",
        json!({"group": group["id"], "fix": fix})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{applied}");
    assert!(applied["mapping_id"].is_null());
    let run = finished_run(app, &env, applied["run_id"].as_i64().unwrap()).await;
    let created = run["stats"]["created"].as_u64().unwrap();
    assert!(created > 0 && created <= group["count"].as_u64().unwrap(), "{run}");
    let (_, p) = app.get_json(&format!("/api/pipelines/{}", env.pipeline), &env.token).await;
    assert_eq!(p["options"]["default_activity"], activity.as_str(), "{p}");
    let updated = app.audit(&env.token, "pipeline_updated").await;
    assert!(updated.iter().any(|e| e["details"]["group"] == group["id"]), "{updated:?}");
    assert!(groups(app, &env).await.iter().all(|g| g["id"] != group["id"]));
});
