use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::api_test;
use crate::common::into_json;

api_test!(async fn settings_can_be_read_and_changed_within_range(app) {
    let token = app.login().await;
    let (status, s) = app.get_json("/api/settings", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["retention_days"], 90);
    let (status, s) = app.send_json(Method::PUT, "/api/settings", &token, &json!({"retention_days": 30})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["retention_days"], 30);
    let (_, s) = app.get_json("/api/settings", &token).await;
    assert_eq!(s["retention_days"], 30);
    for bad in [0, -1] {
        let (status, body) = app.send_json(Method::PUT, "/api/settings", &token, &json!({"retention_days": bad})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["details"]["field"], "retention_days");
    }
    let events = app.audit(&token, "settings_updated").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["details"]["changes"]["retention_days"], json!({"from": 90, "to": 30}));
});

api_test!(async fn health_reports_the_database_and_version_without_a_session(app) {
    let (status, body) = into_json(app.client.get(app.url("/api/health")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
});

api_test!(async fn liveness_and_readiness_answer_without_a_session(app) {
    let (status, body) = into_json(app.client.get(app.url("/api/health/live")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, body) = into_json(app.client.get(app.url("/api/health/ready")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["pending_migrations"], 0);
    assert_eq!(body["reason"], serde_json::Value::Null);
});

api_test!(async fn readiness_fails_while_a_migration_is_missing_and_liveness_does_not(app) {
    app.state.store.roll_back_migrations(1).await.unwrap();
    let (status, body) = into_json(app.client.get(app.url("/api/health/ready")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["reason"], "migrations");
    assert_eq!(body["pending_migrations"], 1);
    let (status, _) = into_json(app.client.get(app.url("/api/health/live")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    app.state.store.migrate().await.unwrap();
    let (status, _) = into_json(app.client.get(app.url("/api/health/ready")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
});

#[tokio::test]
async fn health_is_503_when_the_database_is_unreachable() {
    let mut app = crate::common::spawn_app(crate::common::Backend::Postgres).await;
    app.drop_database().await;
    let (status, body) =
        into_json(app.client.get(app.url("/api/health")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "error");
    assert_eq!(body["database"], "unreachable");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    let (status, body) = into_json(
        app.client
            .get(app.url("/api/health/ready"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["reason"], "database");
    let (status, _) = into_json(
        app.client
            .get(app.url("/api/health/live"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}
