//! The OAuth connect flow end to end against the Google simulator (consent auto-approved):
//! start → consent → callback stores the refresh token encrypted (never answered by the
//! API) and audits `connector_authorized`; a replayed, expired or unknown state is refused;
//! a revoked grant turns the connector's test red; push notifications authenticate with
//! the channel token derived from the refresh token.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_connectors::google_calendar::{REVOKED_MESSAGE, webhook::channel_token};
use timebridge_sim::{GoogleCalendarSim, Seed, SimOptions};

use crate::api_test;
use crate::common::{TestApp, error_code, into_json};

async fn google_sim() -> GoogleCalendarSim {
    let sim = GoogleCalendarSim::start(SimOptions::with_seed(Seed::Tiny))
        .await
        .unwrap();
    sim.set_auto_approve(true);
    sim
}

async fn google_connector(app: &TestApp, token: &str, sim: &GoogleCalendarSim) -> i64 {
    let c = app
        .create_connector(
            token,
            json!({"kind": "google_calendar", "name": "Calendar", "base_url": sim.api_url(),
                   "settings": {"client_id": sim.client_id, "client_secret": sim.client_secret,
                                "auth_url": sim.auth_url(), "token_url": sim.token_url()}}),
        )
        .await;
    c["id"].as_i64().unwrap()
}

/// Starts the flow and follows the consent page; returns the callback's path and query
/// (the redirect URI names `PUBLIC_URL`, which in tests is not this app's address).
async fn consent(app: &TestApp, token: &str, id: i64) -> String {
    let res = app
        .authed(
            Method::GET,
            &format!("/api/connectors/{id}/oauth/start"),
            token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let url = reqwest::Url::parse(&location).unwrap();
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(
        q["redirect_uri"],
        format!("{}/api/oauth/callback", app.state.config.public_url)
    );
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert!(q["scope"].contains("calendar.readonly"));
    assert!(q["state"].len() >= 32);
    let consent = app.client.get(location).send().await.unwrap();
    assert!(consent.status().is_redirection(), "{}", consent.status());
    let back = reqwest::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(back.path(), "/api/oauth/callback");
    format!("{}?{}", back.path(), back.query().unwrap())
}

async fn callback(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

api_test!(
    async fn oauth_connect_flow_stores_the_refresh_token_once(app) {
        let sim = google_sim().await;
        let token = app.login().await;
        let id = google_connector(app, &token, &sim).await;
        let (_, before) = app.get_json(&format!("/api/connectors/{id}"), &token).await;
        assert_eq!(before["has_refresh_token"], false);
        assert_eq!(before["has_client_secret"], true);

        let back = consent(app, &token, id).await;
        let res = callback(app, &back).await;
        assert_eq!(res.status(), StatusCode::FOUND);
        let to = res.headers()["location"].to_str().unwrap();
        assert!(
            to.ends_with(&format!("/connectors/{id}?oauth=connected")),
            "{to}"
        );

        let secrets = app.state.store.get_connector_secrets(id).await.unwrap();
        let refresh = secrets.secret("refresh_token").unwrap().expose().to_owned();
        assert!(refresh.starts_with("1//"));
        let (status, got) = app.get_json(&format!("/api/connectors/{id}"), &token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got["has_refresh_token"], true);
        let text = got.to_string();
        assert!(!text.contains(&refresh), "the API never answers the token");
        let (_, list) = app.get_json("/api/connectors", &token).await;
        assert!(!list.to_string().contains(&refresh));

        let audit = app.audit(&token, "connector_authorized").await;
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!(audit[0]["entity_id"], id.to_string());
        assert!(!Value::Array(audit).to_string().contains(&refresh));

        let (status, test) = app
            .send_json(Method::POST, &format!("/api/connectors/{id}/test"), &token, &json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(test["ok"], true, "{test}");

        // The same callback again: the state was used.
        let (status, body) = into_json(callback(app, &back).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_code(&body), "invalid_state");
        assert_eq!(app.audit(&token, "connector_authorized").await.len(), 1);
    }
);

api_test!(
    async fn oauth_expired_or_unknown_state(app) {
        let sim = google_sim().await;
        let token = app.login().await;
        let id = google_connector(app, &token, &sim).await;
        let back = consent(app, &token, id).await;
        app.clock.advance(chrono::Duration::minutes(11));
        let (status, body) = into_json(callback(app, &back).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_code(&body), "invalid_state");
        assert!(body["error"]["message"].as_str().unwrap().contains("expired"), "{body}");
        let secrets = app.state.store.get_connector_secrets(id).await.unwrap();
        assert!(secrets.secret("refresh_token").is_none());

        let (status, body) =
            into_json(callback(app, "/api/oauth/callback?code=x&state=never-issued").await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_code(&body), "invalid_state");
        let (status, _) = into_json(callback(app, "/api/oauth/callback?code=x").await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Within ten minutes it works.
        let back = consent(app, &token, id).await;
        app.clock.advance(chrono::Duration::minutes(9));
        assert_eq!(callback(app, &back).await.status(), StatusCode::FOUND);
    }
);

api_test!(
    async fn oauth_start_needs_a_session_and_an_oauth_kind(app) {
        let sim = google_sim().await;
        let token = app.login().await;
        let id = google_connector(app, &token, &sim).await;
        let res = app
            .client
            .get(app.url(&format!("/api/connectors/{id}/oauth/start")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let (zammad, _) = app.create_connector_pair(&token).await;
        let (status, body) = app
            .get_json(&format!("/api/connectors/{zammad}/oauth/start"), &token)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_code(&body), "oauth_unsupported");
        let (status, _) = app.get_json("/api/connectors/999999/oauth/start", &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

api_test!(
    async fn oauth_refresh_token_not_settable(app) {
        let sim = google_sim().await;
        let token = app.login().await;
        let id = google_connector(app, &token, &sim).await;
        let (status, body) = app
            .send_json(
                Method::PUT,
                &format!("/api/connectors/{id}"),
                &token,
                &json!({"name": "Calendar", "base_url": sim.api_url(),
                        "settings": {"client_id": sim.client_id, "refresh_token": "1//mine"}}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["details"]["field"], "settings.refresh_token");
    }
);

api_test!(
    async fn oauth_revoked_grant_and_push(app) {
        let sim = google_sim().await;
        let token = app.login().await;
        let id = google_connector(app, &token, &sim).await;
        let back = consent(app, &token, id).await;
        assert_eq!(callback(app, &back).await.status(), StatusCode::FOUND);
        let secrets = app.state.store.get_connector_secrets(id).await.unwrap();
        let refresh = secrets.secret("refresh_token").unwrap().expose().to_owned();

        // Push notifications carry the channel token derived from the refresh token.
        let path = format!("/api/webhook/google_calendar/{id}");
        let push = |state: &'static str, token: String, n: u32| {
            app.client
                .post(app.url(&path))
                .header("X-Goog-Channel-ID", "tb-channel")
                .header("X-Goog-Channel-Token", token)
                .header("X-Goog-Resource-State", state)
                .header("X-Goog-Message-Number", n.to_string())
                .send()
        };
        let good = channel_token(refresh.as_bytes());
        let res = push("sync", good.clone(), 1).await.unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let res = push("exists", good, 2).await.unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let res = push("exists", "guessed".into(), 3).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let received = app.audit(&token, "webhook_received").await;
        let sync_acks = received
            .iter()
            .filter(|e| e["details"]["acknowledge_only"] == true)
            .count();
        assert_eq!(sync_acks, 1, "{received:?}");

        sim.revoke_grants();
        let (_, test) = app
            .send_json(Method::POST, &format!("/api/connectors/{id}/test"), &token, &json!({}))
            .await;
        assert_eq!(test["ok"], false);
        assert_eq!(test["message"], REVOKED_MESSAGE);
    }
);

async fn manual_sync(app: &TestApp, token: &str, pipeline: i64) -> Value {
    let (status, run) = app
        .send_json(
            Method::POST,
            "/api/sync/manual?wait=true",
            token,
            &json!({"pipeline_id": pipeline, "from": "2026-03-01", "to": "2026-03-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    run
}

api_test!(
    async fn oauth_google_pair_connected_through_the_api(app) {
        use timebridge_world::{Pair, World};
        app.clock.set("2026-04-01T06:00:00Z".parse().unwrap());
        let token = app.login().await;
        let mut world = World::start(Pair::GoogleCalendarTimetracker, SimOptions::with_seed(Seed::Small))
            .await
            .unwrap();
        // Through the API the refresh token comes only from the connect flow.
        world.plan.source.settings.as_object_mut().unwrap().remove("refresh_token");
        let ids = timebridge_world::configure_api(&app.api(&token), &world.plan)
            .await
            .unwrap();
        let sim = world.google();
        sim.set_auto_approve(true);
        let back = consent(app, &token, ids.source_connector).await;
        assert_eq!(callback(app, &back).await.status(), StatusCode::FOUND);

        let run = manual_sync(app, &token, ids.pipeline).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        let created = run["stats"]["created"].as_u64().unwrap();
        assert_eq!(created as usize, world.source().keys().len(), "{run}");
        let again = manual_sync(app, &token, ids.pipeline).await;
        assert_eq!(again["stats"]["created"], 0, "{again}");
        assert_eq!(again["stats"]["updated"], 0, "{again}");
        assert_eq!(again["stats"]["in_sync"].as_u64().unwrap(), created);

        // A revoked grant: the run fails at the read and writes nothing.
        let key = world.source().keys()[0].clone();
        world.source().edit(&key).unwrap();
        let writes = world.target().write_requests();
        sim.revoke_grants();
        let failed = manual_sync(app, &token, ids.pipeline).await;
        assert_eq!(failed["status"], "failed", "{failed}");
        assert!(failed["error"].as_str().unwrap().contains("Connect again"), "{failed}");
        assert_eq!(world.target().write_requests(), writes, "nothing was written");
    }
);

/// With an https `PUBLIC_URL`, the first run opens a push channel; a notification on it
/// (sent by the simulator to this app) queues a run that reads only the changes (a sync
/// token) and writes the new event.
async fn push_brings_a_new_event_in(backend: crate::common::Backend) {
    use timebridge_sim::google_calendar::{NewEvent, When};
    use timebridge_world::{Pair, World};
    let app = crate::common::spawn_app_with(backend, |vars| {
        vars.insert("PUBLIC_URL".into(), "https://tb.example".into());
    })
    .await;
    app.clock.set("2026-04-01T06:00:00Z".parse().unwrap());
    let token = app.login().await;
    let mut world = World::start(
        Pair::GoogleCalendarTimetracker,
        SimOptions::with_seed(Seed::Tiny),
    )
    .await
    .unwrap();
    world
        .plan
        .source
        .settings
        .as_object_mut()
        .unwrap()
        .remove("refresh_token");
    let ids = timebridge_world::configure_api(&app.api(&token), &world.plan)
        .await
        .unwrap();
    let sim = world.google();
    sim.set_auto_approve(true);
    let back = consent(&app, &token, ids.source_connector).await;
    assert_eq!(callback(&app, &back).await.status(), StatusCode::FOUND);
    // The pipeline's own window, as the push's run will read it.
    let (status, first) = app
        .send_json(
            Method::POST,
            "/api/sync/manual?wait=true",
            &token,
            &json!({"pipeline_id": ids.pipeline}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["status"], "succeeded", "{first}");
    let channels = sim.channels();
    assert_eq!(channels.len(), 1, "the run opened a push channel");
    assert_eq!(
        channels[0].address,
        format!(
            "https://tb.example/api/webhook/google_calendar/{}",
            ids.source_connector
        )
    );

    let hook = app.url(&format!(
        "/api/webhook/google_calendar/{}",
        ids.source_connector
    ));
    assert_eq!(
        sim.push(&channels[0].id, "sync", Some(&hook))
            .await
            .unwrap(),
        202
    );
    let utc = chrono::Utc;
    use chrono::TimeZone;
    let id = sim.add_event(NewEvent {
        summary: "Late support call".into(),
        start: When::Timed(
            utc.with_ymd_and_hms(2026, 3, 31, 17, 0, 0)
                .unwrap()
                .fixed_offset(),
        ),
        end: When::Timed(
            utc.with_ymd_and_hms(2026, 3, 31, 18, 0, 0)
                .unwrap()
                .fixed_offset(),
        ),
        response: None,
        recurrence: None,
    });
    sim.log().clear();
    assert_eq!(
        sim.push(&channels[0].id, "exists", Some(&hook))
            .await
            .unwrap(),
        202
    );
    app.clock.advance(chrono::Duration::seconds(3));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let marked = world
            .target()
            .records()
            .into_iter()
            .any(|r| r.identity.as_deref() == Some(id.as_str()));
        if marked {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the push's run did not write the event"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let lists: Vec<String> = sim
        .log()
        .entries()
        .into_iter()
        .filter(|r| r.route == "GET /calendar/v3/calendars/{cal}/events")
        .map(|r| r.path)
        .collect();
    assert!(
        !lists.is_empty() && lists.iter().all(|p| p.contains("syncToken=")),
        "{lists:?}"
    );
    app.stop().await;
}

mod oauth_push_brings_a_new_event_in {
    #[tokio::test]
    async fn sqlite() {
        super::push_brings_a_new_event_in(crate::common::Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        super::push_brings_a_new_event_in(crate::common::Backend::Postgres).await;
    }
}
