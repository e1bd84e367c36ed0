use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::api_test;
use crate::common::{error_code, into_json};

api_test!(async fn malformed_json_is_400_in_our_shape(app) {
    let token = app.login().await;
    for (body, code) in [
        ("{not json", "malformed_json"),
        ("{\"kind\": 1, \"name\": \"x\", \"base_url\": \"https://x\"}", "invalid_body"),
    ] {
        let res = app
            .authed(Method::POST, "/api/connectors", &token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, answer) = into_json(res).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(error_code(&answer), code);
    }
    let res = app
        .client
        .post(app.url("/api/auth/login"))
        .header(header::CONTENT_TYPE, "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    let (status, answer) = into_json(res).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    error_code(&answer);
});

api_test!(async fn a_body_over_one_mebibyte_is_413_in_our_shape(app) {
    let token = app.login().await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let res = app
        .authed(Method::POST, "/api/connectors", &token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, answer) = into_json(res).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&answer), "payload_too_large");
});

api_test!(async fn unknown_api_paths_bad_ids_and_methods_answer_in_our_shape(app) {
    let token = app.login().await;
    let (status, body) = app.get_json("/api/nothing/here", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
    let (status, body) = app.get_json("/api/connectors/abc", &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_path");
    let (status, body) = app.get_json("/api/connectors/424242", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    error_code(&body);
    let res = app.authed(Method::PATCH, "/api/connectors", &token).send().await.unwrap();
    let (status, body) = into_json(res).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&body), "method_not_allowed");
});

api_test!(async fn list_limits_are_clamped_and_bad_values_are_400(app) {
    let token = app.login().await;
    let (status, body) = app.get_json("/api/connectors?limit=100000", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"items": [], "total": 0}));
    for q in ["limit=-1", "limit=abc", "offset=-5", "limit=1.5"] {
        let (status, body) = app.get_json(&format!("/api/connectors?{q}"), &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
        error_code(&body);
    }
});

api_test!(async fn every_response_carries_a_request_id_and_echoes_a_given_one(app) {
    let res = app.client.get(app.url("/api/health")).send().await.unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store", "API answers are not cached");
    assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let res = app
        .client
        .get(app.url("/api/health"))
        .header("x-request-id", "req-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "req-123");
});

api_test!(async fn cors_is_off_unless_origins_are_configured(app) {
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/api/auth/me"))
        .header(header::ORIGIN, "https://ui.example.com")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
});

#[tokio::test]
async fn cors_allows_credentials_for_configured_origins_only() {
    let app = crate::common::spawn_app_with(crate::common::Backend::Sqlite, |vars| {
        vars.insert("CORS_ORIGINS".into(), "https://ui.example.com".into());
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/auth/me"))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
            .send()
    };
    let res = preflight("https://ui.example.com").await.unwrap();
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://ui.example.com"
    );
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
        "true"
    );
    let res = preflight("https://evil.example.com").await.unwrap();
    assert!(
        res.headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
    app.stop().await;
}

#[tokio::test]
async fn the_client_ip_comes_from_x_forwarded_for_only_when_trusted() {
    for (trust, expected) in [(false, "127.0.0.1"), (true, "203.0.113.9")] {
        let app = crate::common::spawn_app_with(crate::common::Backend::Sqlite, |vars| {
            vars.insert("TRUST_FORWARDED_FOR".into(), trust.to_string());
        })
        .await;
        let res = app
            .client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
            .json(
                &json!({"username": crate::common::USERNAME, "password": crate::common::PASSWORD}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let token = app.login().await;
        let events = app.audit(&token, "login_succeeded").await;
        assert_eq!(events.last().unwrap()["ip"], expected);
        app.stop().await;
    }
}
