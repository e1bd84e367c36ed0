use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api_test;
use crate::common::{error_code, into_json};

const TOKEN: &str = "tok-3f9a1c7e-distinctive-api-token";
const SECRET: &str = "whsec-5b2e8d-distinctive-webhook";

api_test!(async fn the_kinds_come_from_the_registry(app) {
    let token = app.login().await;
    let (status, kinds) = app.get_json("/api/connectors/kinds", &token).await;
    assert_eq!(status, StatusCode::OK);
    let zammad = kinds.as_array().unwrap().iter().find(|k| k["kind"] == "zammad").unwrap();
    assert_eq!(zammad["roles"], json!(["source"]));
    assert!(zammad["settings_schema"]["properties"]["time_unit_minutes"].is_object());
    let kimai = kinds.as_array().unwrap().iter().find(|k| k["kind"] == "kimai").unwrap();
    assert_eq!(kimai["roles"], json!(["target"]));
});

api_test!(async fn the_kinds_endpoint_describes_every_kind(app) {
    let token = app.login().await;
    let (status, kinds) = app.get_json("/api/connectors/kinds", &token).await;
    assert_eq!(status, StatusCode::OK);
    let kinds = kinds.as_array().unwrap();
    let known_roles = ["source", "target", "notifier"];
    let known_features = ["webhook", "running_entries", "idempotency_key", "create_projects", "oauth"];
    for k in kinds {
        let name = k["kind"].as_str().unwrap();
        assert!(!k["label"].as_str().unwrap().is_empty(), "{name}: label");
        let roles = k["roles"].as_array().unwrap();
        assert!(!roles.is_empty(), "{name}: roles");
        assert!(roles.iter().all(|r| known_roles.contains(&r.as_str().unwrap())), "{name}: {roles:?}");
        let features = k["features"].as_array().unwrap();
        assert!(features.iter().all(|f| known_features.contains(&f.as_str().unwrap())), "{name}: {features:?}");
        let catalogs: Vec<&str> = k["catalogs"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        for dim in ["activity", "project", "user"] {
            let word = &k["dimensions"][dim];
            assert!(word.is_string() || word.is_null(), "{name}: dimensions.{dim}");
            let catalog = &k["dimension_catalogs"][dim];
            if let Some(c) = catalog.as_str() {
                assert!(catalogs.contains(&c), "{name}: dimension_catalogs.{dim} = {c} is a catalog");
                assert!(word.is_string(), "{name}: a catalog for a dimension it names");
            } else {
                assert!(catalog.is_null(), "{name}: dimension_catalogs.{dim}");
            }
        }
        for secret in k["secret_settings"].as_array().unwrap() {
            let secret = secret.as_str().unwrap();
            assert_eq!(k["settings_schema"]["properties"][secret]["writeOnly"], true, "{name}: {secret}");
        }
        let has_webhook = features.iter().any(|f| f == "webhook");
        assert_eq!(k["webhook"].is_object(), has_webhook, "{name}: webhook and its feature go together");
        assert!(k["webhook"].is_object() || k["webhook"].is_null(), "{name}: webhook");
    }

    let kind = |name: &str| kinds.iter().find(|k| k["kind"] == name).unwrap().clone();
    let zammad = kind("zammad");
    assert_eq!(zammad["label"], "Zammad");
    assert_eq!(zammad["roles"], json!(["source"]));
    assert_eq!(zammad["features"], json!(["webhook"]));
    assert_eq!(zammad["dimensions"], json!({"activity": "type", "project": "organization", "user": "agent"}));
    assert_eq!(zammad["dimension_catalogs"], json!({"activity": "types", "project": "organizations", "user": "agents"}));
    assert_eq!(zammad["secret_settings"], json!(["webhook_secret"]));
    assert_eq!(zammad["catalogs"], json!(["types", "organizations", "agents"]));
    assert_eq!(zammad["webhook"]["path"], "/api/webhook/zammad/{connector_id}");
    assert!(zammad["webhook"]["signature"].as_str().unwrap().contains("X-Hub-Signature"));

    let kimai = kind("kimai");
    assert_eq!(kimai["label"], "Kimai");
    assert_eq!(kimai["roles"], json!(["target"]));
    assert_eq!(kimai["features"], json!(["running_entries"]));
    assert_eq!(kimai["dimensions"], json!({"activity": "activity", "project": "project", "user": "user"}));
    assert_eq!(kimai["dimension_catalogs"], json!({"activity": "activities", "project": "projects", "user": "users"}));
    assert_eq!(kimai["secret_settings"], json!([]));
    assert_eq!(kimai["catalogs"], json!(["activities", "projects", "customers", "users"]));
    assert!(kimai["webhook"].is_null(), "{kimai}");
});

api_test!(async fn connector_crud_never_answers_the_token_or_a_secret(app) {
    let token = app.login().await;
    let res = app
        .authed(Method::POST, "/api/connectors", &token)
        .json(&json!({"kind": "zammad", "name": "Helpdesk", "base_url": "https://zammad.example.com/",
                      "api_token": TOKEN, "settings": {"webhook_secret": SECRET, "time_unit_minutes": 15}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let text = res.text().await.unwrap();
    assert!(!text.contains(TOKEN) && !text.contains(SECRET), "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["kind"], "zammad");
    assert_eq!(created["base_url"], "https://zammad.example.com");
    assert_eq!(created["has_token"], true);
    assert_eq!(created["has_webhook_secret"], true);
    assert_eq!(created["settings"]["has_webhook_secret"], true);
    assert_eq!(created["settings"]["time_unit_minutes"], 15);
    assert_eq!(created["settings"]["time_placement"], "end_at_created", "defaults filled in");
    assert!(created["settings"].get("webhook_secret").is_none());

    // Update without token or secret keeps both.
    let res = app
        .authed(Method::PUT, &format!("/api/connectors/{id}"), &token)
        .json(&json!({"name": "Helpdesk 2", "base_url": "https://zammad.example.com",
                      "settings": {"time_unit_minutes": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(!text.contains(TOKEN) && !text.contains(SECRET), "{text}");
    let updated: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(updated["name"], "Helpdesk 2");
    assert_eq!(updated["has_token"], true);
    assert_eq!(updated["has_webhook_secret"], true);
    let secrets = app.state.store.get_connector_secrets(id).await.unwrap();
    assert_eq!(secrets.api_token.unwrap().expose(), TOKEN);
    assert_eq!(secrets.secret_settings["webhook_secret"].expose(), SECRET);

    // A new token replaces the old one.
    let (status, _) = app
        .send_json(Method::PUT, &format!("/api/connectors/{id}"), &token,
            &json!({"name": "Helpdesk 2", "base_url": "https://zammad.example.com", "api_token": "new-token-value"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let secrets = app.state.store.get_connector_secrets(id).await.unwrap();
    assert_eq!(secrets.api_token.unwrap().expose(), "new-token-value");

    for path in [format!("/api/connectors/{id}"), "/api/connectors".to_string(), "/api/audit?limit=500".to_string()] {
        let res = app.authed(Method::GET, &path, &token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap();
        for secret in [TOKEN, SECRET, "new-token-value"] {
            assert!(!text.contains(secret), "{path} leaks a secret: {text}");
        }
    }
    let (_, list) = app.get_json("/api/connectors", &token).await;
    assert_eq!(list["total"], 1);

    let res = app.authed(Method::DELETE, &format!("/api/connectors/{id}"), &token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (status, body) = app.get_json(&format!("/api/connectors/{id}"), &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
});

api_test!(async fn invalid_connectors_are_422_naming_the_field(app) {
    let token = app.login().await;
    let cases = [
        (json!({"kind": "jira", "name": "x", "base_url": "https://x.example", "api_token": "t"}), "kind"),
        (json!({"kind": "zammad", "name": "x", "base_url": "https://x.example", "api_token": "t",
                "settings": {"time_unit_minutes": 0}}), "settings.time_unit_minutes"),
        (json!({"kind": "zammad", "name": "x", "base_url": "https://x.example", "api_token": "t",
                "settings": {"nope": 1}}), "settings.nope"),
        (json!({"kind": "kimai", "name": "x", "base_url": "ftp://x.example", "api_token": "t"}), "base_url"),
        (json!({"kind": "kimai", "name": "x", "base_url": "/relative", "api_token": "t"}), "base_url"),
        (json!({"kind": "kimai", "name": " ", "base_url": "https://x.example", "api_token": "t"}), "name"),
    ];
    for (body, field) in cases {
        let (status, answer) = app.send_json(Method::POST, "/api/connectors", &token, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {answer}");
        error_code(&answer);
        assert_eq!(answer["error"]["details"]["field"], field, "{answer}");
    }
    let (_, list) = app.get_json("/api/connectors", &token).await;
    assert_eq!(list["total"], 0);
});

api_test!(async fn a_duplicate_connector_name_is_409(app) {
    let token = app.login().await;
    let body = json!({"kind": "kimai", "name": "Kimai", "base_url": "https://k.example", "api_token": "t"});
    app.create_connector(&token, body.clone()).await;
    let (status, answer) = app.send_json(Method::POST, "/api/connectors", &token, &body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&answer), "name_taken");
});

api_test!(async fn deleting_a_connector_used_by_a_pipeline_is_409(app) {
    let token = app.login().await;
    let pipeline = app.create_pipeline(&token).await;
    let (_, p) = app.get_json(&format!("/api/pipelines/{pipeline}"), &token).await;
    let source = p["source_connector_id"].as_i64().unwrap();
    let res = app.authed(Method::DELETE, &format!("/api/connectors/{source}"), &token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let (_, body) = into_json(res).await;
    assert_eq!(error_code(&body), "connector_in_use");
    let (status, _) = app.get_json(&format!("/api/connectors/{source}"), &token).await;
    assert_eq!(status, StatusCode::OK, "still there");
});
