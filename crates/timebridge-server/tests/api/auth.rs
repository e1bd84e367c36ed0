use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::api_test;
use crate::common::{PASSWORD, USERNAME, error_code, into_json};
use timebridge_server::Clock;

api_test!(async fn login_returns_a_bearer_token_and_a_strict_http_only_cookie(app) {
    let res = app.login_response(USERNAME, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().to_string();
    let body: Value = res.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert!(token.len() >= 43, "at least 32 random bytes");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 12 * 3600);
    assert!(cookie.starts_with(&format!("timebridge_session={token};")), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http gets no Secure flag: {cookie}");
});

api_test!(async fn the_cookie_is_secure_when_the_request_came_over_https(app) {
    let res = app
        .client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"username": USERNAME, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
});

api_test!(async fn a_wrong_password_or_unknown_user_is_401_in_our_shape(app) {
    for (user, password) in [(USERNAME, "wrong"), ("nobody", PASSWORD)] {
        let (status, body) = into_json(app.login_response(user, password).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(&body), "invalid_credentials");
    }
});

api_test!(async fn repeated_failed_logins_are_rate_limited_with_retry_after(app) {
    for _ in 0..5 {
        let res = app.login_response(USERNAME, "wrong").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app.login_response(USERNAME, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    let retry: u64 = res.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert_eq!(retry, 15 * 60);
    let (_, body) = into_json(res).await;
    assert_eq!(error_code(&body), "rate_limited");

    app.clock.advance(chrono::Duration::minutes(15));
    let res = app.login_response(USERNAME, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK, "the window has passed");
});

api_test!(async fn bearer_token_and_cookie_both_authenticate(app) {
    let token = app.login().await;
    let (status, me) = app.get_json("/api/auth/me", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, json!({"username": USERNAME}));

    let res = app
        .client
        .get(app.url("/api/auth/me"))
        .header(header::COOKIE, format!("other=1; timebridge_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let res = app.client.get(app.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (_, body) = into_json(res).await;
    assert_eq!(error_code(&body), "unauthenticated");

    let (status, _) = app.get_json("/api/auth/me", "not-a-session").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
});

api_test!(async fn logout_invalidates_the_session_and_clears_the_cookie(app) {
    let token = app.login().await;
    let res = app.authed(Method::POST, "/api/auth/logout", &token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    let (status, _) = app.get_json("/api/auth/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
});

api_test!(async fn a_session_expires_after_12_hours(app) {
    let token = app.login().await;
    app.clock.advance(chrono::Duration::hours(12) - chrono::Duration::seconds(1));
    let (status, _) = app.get_json("/api/auth/me", &token).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(chrono::Duration::seconds(1));
    let (status, _) = app.get_json("/api/auth/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
});

api_test!(async fn the_database_holds_only_a_keyed_digest_of_the_token(app) {
    let token = app.login().await;
    assert!(app.state.store.find_session(&token, app.clock.now()).await.unwrap().is_none());
    let digest = timebridge_server::auth::session::token_digest(&app.state.keys.secret, &token);
    assert!(app.state.store.find_session(&digest, app.clock.now()).await.unwrap().is_some());
});
