use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::api_test;
use crate::common::{PASSWORD, USERNAME};
use timebridge_server::Clock;

api_test!(async fn logins_are_audited_with_ip_and_username_but_never_the_password(app) {
    let _ = app.login_response(USERNAME, "a-wrong-password-xyz").await;
    let token = app.login().await;
    let failed = app.audit(&token, "login_failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["ip"], "127.0.0.1");
    assert_eq!(failed[0]["actor"], "admin");
    assert_eq!(failed[0]["details"]["username"], USERNAME);
    let ok = app.audit(&token, "login_succeeded").await;
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["ip"], "127.0.0.1");
    let res = app.authed(Method::GET, "/api/audit?limit=500", &token).send().await.unwrap();
    let text = res.text().await.unwrap();
    assert!(!text.contains("a-wrong-password-xyz") && !text.contains(PASSWORD), "{text}");
});

api_test!(async fn every_configuration_change_is_audited(app) {
    let token = app.login().await;
    let pipeline = app.create_pipeline(&token).await;
    let (_, p) = app.get_json(&format!("/api/pipelines/{pipeline}"), &token).await;
    let source = p["source_connector_id"].as_i64().unwrap();
    let (status, _) = app
        .send_json(Method::PUT, &format!("/api/connectors/{source}"), &token,
            &json!({"name": "Zammad", "base_url": "https://zammad.example.com", "api_token": "rotated-token"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut p2 = p.clone();
    p2["name"] = json!("Renamed");
    let (status, _) = app.send_json(Method::PUT, &format!("/api/pipelines/{pipeline}"), &token, &p2).await;
    assert_eq!(status, StatusCode::OK);
    let (_, m) = app
        .send_json(Method::POST, "/api/mappings", &token,
            &json!({"pipeline_id": pipeline, "kind": "user", "source_key": "4", "target_key": "5"}))
        .await;
    let mapping = m["id"].as_i64().unwrap();
    let (status, _) = app
        .send_json(Method::PUT, &format!("/api/mappings/{mapping}"), &token,
            &json!({"pipeline_id": pipeline, "kind": "user", "source_key": "4", "target_key": "6"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    app.authed(Method::DELETE, &format!("/api/mappings/{mapping}"), &token).send().await.unwrap();
    app.authed(Method::DELETE, &format!("/api/pipelines/{pipeline}"), &token).send().await.unwrap();
    let res = app.authed(Method::DELETE, &format!("/api/connectors/{source}"), &token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    for (action, entity_type, count) in [
        ("connector_created", "connector", 2),
        ("connector_updated", "connector", 1),
        ("connector_deleted", "connector", 1),
        ("pipeline_created", "pipeline", 1),
        ("pipeline_updated", "pipeline", 1),
        ("pipeline_deleted", "pipeline", 1),
        ("mapping_created", "mapping", 1),
        ("mapping_updated", "mapping", 1),
        ("mapping_deleted", "mapping", 1),
    ] {
        let events = app.audit(&token, action).await;
        assert_eq!(events.len(), count, "{action}: {events:?}");
        for e in &events {
            assert_eq!(e["actor"], "admin");
            assert_eq!(e["entity_type"], entity_type);
            assert!(e["entity_id"].is_string(), "{e}");
            assert_eq!(e["ip"], "127.0.0.1");
        }
    }
    let updated = app.audit(&token, "connector_updated").await;
    assert_eq!(updated[0]["details"]["fields_changed"], json!(["api_token"]));
    let res = app.authed(Method::GET, "/api/audit?limit=500", &token).send().await.unwrap();
    let text = res.text().await.unwrap();
    assert!(!text.contains("rotated-token") && !text.contains("zammad-token"), "{text}");
});

api_test!(async fn audit_filters_by_action_entity_type_and_time(app) {
    let token = app.login().await;
    app.clock.advance(chrono::Duration::hours(1));
    app.create_connector_pair(&token).await;
    let (_, all) = app.get_json("/api/audit", &token).await;
    assert_eq!(all["total"], 3);
    assert_eq!(all["items"][0]["action"], "connector_created", "newest first");
    let (_, by_type) = app.get_json("/api/audit?entity_type=connector", &token).await;
    assert_eq!(by_type["total"], 2);
    let (_, since) = app.get_json("/api/audit?since=2026-03-01T10:00:00Z", &token).await;
    assert_eq!(since["total"], 2);
    let (_, until) = app.get_json("/api/audit?until=2026-03-01T10:00:00%2B00:00", &token).await;
    assert_eq!(until["total"], 1);
    let (_, page) = app.get_json("/api/audit?limit=1&offset=1", &token).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["total"], 3);
    let (status, _) = app.get_json("/api/audit?since=yesterday", &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, by_action) = app.get_json("/api/audit?action=connector_created", &token).await;
    assert_eq!(by_action["total"], 2);
    let (status, body) = app.get_json("/api/audit?action=connector_made", &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["details"]["field"], "action", "{body}");
});

api_test!(async fn the_csv_export_quotes_fields_and_neutralises_formulas(app) {
    let token = app.login().await;
    app.create_connector(&token, json!({"kind": "kimai", "name": "=HYPERLINK(\"http://evil\",\"x\")",
        "base_url": "https://k.example", "api_token": "t"})).await;
    let res = app.authed(Method::GET, "/api/audit/export?entity_type=connector", &token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "id,at,actor,action,entity_type,entity_id,ip,details");
    let row = lines.next().unwrap();
    assert!(row.contains(",admin,connector_created,connector,"), "{row}");
    assert!(row.contains(",127.0.0.1,"), "{row}");
    // The details JSON holds the name; it is quoted with doubled quotes.
    assert!(row.contains("\"{\"\""), "{row}");
    assert!(lines.next().is_none(), "only the filtered event");

    // A cell that starts like a formula is prefixed with a quote.
    app.state
        .store
        .append_audit(timebridge_store::NewAuditEvent {
            at: app.clock.now(),
            actor: "system".into(),
            action: timebridge_store::AuditAction::SettingsUpdated,
            entity_type: "test".into(),
            entity_id: Some("=1+2".into()),
            details: json!({}),
            ip: None,
        })
        .await
        .unwrap();
    let res = app.authed(Method::GET, "/api/audit/export?entity_type=test", &token).send().await.unwrap();
    let text = res.text().await.unwrap();
    assert!(text.contains(",system,settings_updated,test,'=1+2,,{}"), "{text}");
});

api_test!(async fn no_route_alters_audit_events(app) {
    let token = app.login().await;
    for method in [Method::PUT, Method::DELETE, Method::POST] {
        let res = app.authed(method.clone(), "/api/audit", &token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        let res = app.authed(method.clone(), "/api/audit/1", &token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method}");
    }
});
