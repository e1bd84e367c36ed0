use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::api_test;
use crate::common::error_code;

api_test!(async fn pipelines_get_contract_defaults_and_support_crud(app) {
    let token = app.login().await;
    let id = app.create_pipeline(&token).await;
    let (status, p) = app.get_json(&format!("/api/pipelines/{id}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p["enabled"], true);
    assert_eq!(p["schedule"], json!({"enabled": true, "interval_minutes": 360}));
    assert_eq!(p["window_days"], 31);
    assert_eq!(p["options"], json!({"default_project": null, "default_activity": null, "unmapped_user": "conflict",
        "match_by_name": false, "include_running": false,
        "mirror_projects": {"enabled": false, "client_key": null},
        "notify": [], "daily_summary_at": null,
        "rounding": {"mode": "exact", "step_seconds": 60, "keep": "begin", "rules": []}}));

    let (status, p) = app
        .send_json(Method::PUT, &format!("/api/pipelines/{id}"), &token, &json!({
            "name": "Renamed", "source_connector_id": p["source_connector_id"],
            "target_connector_id": p["target_connector_id"], "enabled": false,
            "schedule": {"enabled": false, "interval_minutes": 30}, "window_days": 7,
            "options": {"default_project": 12, "default_activity": "3", "unmapped_user": "token_user"}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["name"], "Renamed");
    assert_eq!(p["schedule"], json!({"enabled": false, "interval_minutes": 30}));
    assert_eq!(p["window_days"], 7);
    assert_eq!(p["options"], json!({"default_project": "12", "default_activity": "3", "unmapped_user": "token_user",
        "match_by_name": false, "include_running": false,
        "mirror_projects": {"enabled": false, "client_key": null},
        "notify": [], "daily_summary_at": null,
        "rounding": {"mode": "exact", "step_seconds": 60, "keep": "begin", "rules": []}}));

    let (_, list) = app.get_json("/api/pipelines", &token).await;
    assert_eq!(list["total"], 1);
    let res = app.authed(Method::DELETE, &format!("/api/pipelines/{id}"), &token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (status, _) = app.get_json(&format!("/api/pipelines/{id}"), &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

api_test!(async fn a_pipeline_needs_a_source_and_a_target_connector(app) {
    let token = app.login().await;
    let (zammad, kimai) = app.create_connector_pair(&token).await;
    for (source, target, field) in [
        (kimai, zammad, "source_connector_id"),
        (zammad, zammad, "target_connector_id"),
        (9999, kimai, "source_connector_id"),
    ] {
        let (status, body) = app
            .send_json(Method::POST, "/api/pipelines", &token,
                &json!({"name": "p", "source_connector_id": source, "target_connector_id": target}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        error_code(&body);
        assert_eq!(body["error"]["details"]["field"], field, "{body}");
    }
    let (status, body) = app
        .send_json(Method::POST, "/api/pipelines", &token,
            &json!({"name": "p", "source_connector_id": zammad, "target_connector_id": kimai,
                    "schedule": {"interval_minutes": 0}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"]["field"], "schedule.interval_minutes");
});

api_test!(async fn mappings_support_crud_and_a_duplicate_is_409(app) {
    let token = app.login().await;
    let pipeline = app.create_pipeline(&token).await;
    // pipeline_id may be omitted while exactly one pipeline exists.
    let (status, m) = app
        .send_json(Method::POST, "/api/mappings", &token, &json!({
            "kind": "activity", "source_key": 3, "source_label": "Remote support",
            "target_key": "7", "target_label": "Support", "billable": true}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert_eq!(m["pipeline_id"], pipeline);
    assert_eq!(m["source_key"], "3");
    assert_eq!(m["billable"], true);
    let id = m["id"].as_i64().unwrap();

    let (status, dup) = app
        .send_json(Method::POST, "/api/mappings", &token, &json!({
            "pipeline_id": pipeline, "kind": "activity", "source_key": "3", "target_key": "8"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&dup), "duplicate_mapping");

    let (status, _) = app
        .send_json(Method::POST, "/api/mappings", &token, &json!({
            "pipeline_id": pipeline, "kind": "project", "source_key": "3", "target_key": "8"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "same key, other kind");

    let (_, list) = app.get_json("/api/mappings?kind=activity", &token).await;
    assert_eq!(list["total"], 1);
    let (_, list) = app.get_json(&format!("/api/mappings?pipeline_id={pipeline}"), &token).await;
    assert_eq!(list["total"], 2);
    let (status, _) = app.get_json("/api/mappings?kind=ticket", &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, m) = app
        .send_json(Method::PUT, &format!("/api/mappings/{id}"), &token, &json!({
            "pipeline_id": pipeline, "kind": "activity", "source_key": "3", "target_key": "9", "billable": null}))
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["target_key"], "9");
    assert_eq!(m["billable"], serde_json::Value::Null);

    let res = app.authed(Method::DELETE, &format!("/api/mappings/{id}"), &token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.authed(Method::DELETE, &format!("/api/mappings/{id}"), &token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let (status, body) = app
        .send_json(Method::POST, "/api/mappings", &token, &json!({
            "pipeline_id": 9999, "kind": "user", "source_key": "1", "target_key": "2"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"]["field"], "pipeline_id");
});
