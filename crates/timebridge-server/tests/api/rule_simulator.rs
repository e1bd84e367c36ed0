//! The rule simulator (`POST /api/pipelines/{id}/simulate`) through the Zammad → Kimai test
//! world: proposed mappings and options answer which entries would change, before and
//! after, and nothing is stored or written.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::Seed;

use crate::api_test;
use crate::common::{TestApp, error_code};
use crate::sync_e2e::{Env, open_conflicts, setup, sync};

async fn simulate(app: &TestApp, env: &Env, body: Value) -> (StatusCode, Value) {
    let mut body = body;
    body["from"] = json!("2026-03-01");
    body["to"] = json!("2026-03-31");
    app.send_json(
        Method::POST,
        &format!("/api/pipelines/{}/simulate", env.pipeline),
        &env.token,
        &body,
    )
    .await
}

api_test!(async fn a_proposed_mapping_shows_which_entries_would_change_and_writes_nothing(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let unmapped = open_conflicts(app, &env, "unmapped_user").await;
    let agent = unmapped[0]["source"]["user"]["key"].as_str().unwrap().to_owned();
    let of_agent = unmapped.iter().filter(|c| c["source"]["user"]["key"] == agent.as_str()).count();
    let posts = env.kimai.log().count("POST /api/timesheets");
    let (_, runs_before) = app.get_json(&format!("/api/sync/history?pipeline_id={}", env.pipeline), &env.token).await;

    let (status, none) = simulate(app, &env, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{none}");
    assert_eq!(none["summary"]["changed"], 0, "{none}");
    assert!(none["summary"]["entries"].as_u64().unwrap() > 0);

    let (status, sim) = simulate(app, &env, json!({"mappings": [
        {"kind": "user", "source_key": agent, "target_key": "1"}]})).await;
    assert_eq!(status, StatusCode::OK, "{sim}");
    assert_eq!(sim["summary"]["changed"], of_agent, "{sim}");
    assert_eq!(sim["summary"]["by_outcome"]["create"], of_agent, "{sim}");
    for c in sim["changes"].as_array().unwrap() {
        // The source entry as read, so that a person sees which entry it is.
        assert_eq!(c["source"]["key"], c["source_key"], "{c}");
        assert_eq!(c["source"]["user"]["key"], agent.as_str(), "{c}");
        assert!(c["source"]["begin"].is_string(), "{c}");
        assert_eq!(c["before"]["outcome"], "conflict", "{c}");
        assert_eq!(c["before"]["reason"], "unmapped_user", "{c}");
        assert!(c["before"]["target"].is_null());
        assert_eq!(c["after"]["outcome"], "create", "{c}");
        assert_eq!(c["after"]["target"]["user"]["key"], "1", "{c}");
    }
    // Nothing stored, nothing written, no run.
    assert_eq!(env.kimai.log().count("POST /api/timesheets"), posts);
    let (_, maps) = app
        .get_json(&format!("/api/mappings?pipeline_id={}&kind=user", env.pipeline), &env.token)
        .await;
    assert!(maps["items"].as_array().unwrap().iter().all(|m| m["source_key"] != agent.as_str()));
    let (_, runs_after) = app.get_json(&format!("/api/sync/history?pipeline_id={}", env.pipeline), &env.token).await;
    assert_eq!(runs_before["total"], runs_after["total"]);

    // Leaving out an activity mapping: the entries it mapped would become conflicts.
    let (_, acts) = app
        .get_json(&format!("/api/mappings?pipeline_id={}&kind=activity", env.pipeline), &env.token)
        .await;
    let mapping = &acts["items"][0];
    let (status, gone) = simulate(app, &env, json!({"mappings": [{"id": mapping["id"], "delete": true}]})).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    let changes = gone["changes"].as_array().unwrap();
    assert!(!changes.is_empty(), "{gone}");
    assert!(changes.iter().any(|c| c["after"]["reason"] == "unmapped_activity"), "{gone}");
    assert!(changes.iter().all(|c| c["before"]["outcome"] != c["after"]["outcome"] || c["before"]["target"] != c["after"]["target"] || c["before"]["reason"] != c["after"]["reason"]));
});

api_test!(async fn a_simulation_with_invalid_changes_is_refused(app) {
    let env = setup(app, Seed::Tiny).await;
    for (body, expected) in [
        (json!({"mappings": [{"id": 1, "delete": false}]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"mappings": [{"kind": "user", "source_key": "7"}]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"mappings": [{"kind": "activity", "source_key": "7", "target_key": "1", "sync": false}]}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"options": {"rounding": {"mode": "sideways"}}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"options": []}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"surprise": true}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (status, answer) = simulate(app, &env, body.clone()).await;
        assert!(status == expected || (status == StatusCode::BAD_REQUEST && body.get("surprise").is_some()), "{body}: {status} {answer}");
        assert!(!error_code(&answer).is_empty(), "{answer}");
    }
    let (status, answer) = app
        .send_json(Method::POST, "/api/pipelines/999/simulate", &env.token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
});
