//! `POST /api/connectors/{id}/test` and `GET /api/connectors/{id}/catalog/{what}` against
//! the Zammad and Kimai simulators.

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::{Seed, SimOptions, start_both};

use crate::api_test;
use crate::common::{TestApp, error_code};

async fn connector(app: &TestApp, token: &str, kind: &str, url: &str, api_token: &str) -> i64 {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    app.create_connector(
        token,
        json!({"kind": kind, "name": format!("{kind} #{n}"), "base_url": url,
               "api_token": api_token, "settings": {}}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

async fn test(app: &TestApp, token: &str, id: i64) -> (StatusCode, String, Value) {
    let res = app
        .authed(Method::POST, &format!("/api/connectors/{id}/test"), token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, text, json)
}

api_test!(async fn both_connectors_test_ok_against_the_simulators(app) {
    let token = app.login().await;
    let (zammad, kimai) = start_both(SimOptions::with_seed(Seed::Tiny)).await.unwrap();
    let z = connector(app, &token, "zammad", &zammad.url, &zammad.token).await;
    let k = connector(app, &token, "kimai", &kimai.url, &kimai.token).await;
    let (status, text, report) = test(app, &token, z).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["ok"], true, "{report}");
    assert!(!text.contains(&zammad.token));
    let (status, text, report) = test(app, &token, k).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["details"]["version"], "2.66.0");
    assert!(!text.contains(&kimai.token));
});

api_test!(async fn a_wrong_token_is_a_clear_failed_test_not_an_error(app) {
    let token = app.login().await;
    let (zammad, kimai) = start_both(SimOptions::with_seed(Seed::Tiny)).await.unwrap();
    for (kind, url) in [("zammad", &zammad.url), ("kimai", &kimai.url)] {
        let id = connector(app, &token, kind, url, "definitely-wrong-token-123").await;
        let (status, text, report) = test(app, &token, id).await;
        assert_eq!(status, StatusCode::OK, "{kind}: {text}");
        assert_eq!(report["ok"], false, "{kind}: {report}");
        assert_eq!(report["details"]["error_class"], "unauthorized", "{kind}: {report}");
        assert!(report["message"].as_str().unwrap().contains("rejected"), "{kind}: {report}");
        assert!(!text.contains("definitely-wrong-token-123"));
    }
});

api_test!(async fn an_unreachable_host_is_a_failed_test_naming_it(app) {
    let token = app.login().await;
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", free.local_addr().unwrap().port());
    drop(free);
    for kind in ["zammad", "kimai"] {
        let id = connector(app, &token, kind, &url, "some-token").await;
        let (status, _, report) = test(app, &token, id).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(report["ok"], false);
        assert_eq!(report["details"]["error_class"], "unreachable", "{kind}: {report}");
    }
});

api_test!(async fn catalogs_list_the_simulators_master_data(app) {
    let token = app.login().await;
    let (zammad, kimai) = start_both(SimOptions::with_seed(Seed::Small)).await.unwrap();
    let z = connector(app, &token, "zammad", &zammad.url, &zammad.token).await;
    let k = connector(app, &token, "kimai", &kimai.url, &kimai.token).await;

    let (status, types) = app
        .get_json(&format!("/api/connectors/{z}/catalog/types"), &token)
        .await;
    assert_eq!(status, StatusCode::OK, "{types}");
    assert_eq!(types["items"].as_array().unwrap().len(), zammad.types().len());
    for what in ["organizations", "agents"] {
        let (status, list) = app
            .get_json(&format!("/api/connectors/{z}/catalog/{what}"), &token)
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert!(!list["items"].as_array().unwrap().is_empty(), "{what}");
    }
    let (status, projects) = app
        .get_json(&format!("/api/connectors/{k}/catalog/projects"), &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let items = projects["items"].as_array().unwrap();
    assert_eq!(items.len(), kimai.projects().len());
    assert!(items.iter().all(|i| i["key"].is_string() && i["label"].is_string()));
    for what in ["activities", "customers", "users"] {
        let (status, list) = app
            .get_json(&format!("/api/connectors/{k}/catalog/{what}"), &token)
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert!(!list["items"].as_array().unwrap().is_empty(), "{what}");
    }
});

api_test!(async fn an_unknown_catalog_is_404_and_a_failing_remote_is_502(app) {
    let token = app.login().await;
    let (_zammad, kimai) = start_both(SimOptions::with_seed(Seed::Tiny)).await.unwrap();
    let k = connector(app, &token, "kimai", &kimai.url, &kimai.token).await;
    let (status, body) = app
        .get_json(&format!("/api/connectors/{k}/catalog/types"), &token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
    let (status, _) = app.get_json("/api/connectors/999/catalog/projects", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let bad = connector(app, &token, "kimai", &kimai.url, "wrong-token-for-catalog").await;
    let (status, body) = app
        .get_json(&format!("/api/connectors/{bad}/catalog/projects"), &token)
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(error_code(&body), "remote_error");
    assert_eq!(body["error"]["details"]["error_class"], "unauthorized");
    assert!(!body.to_string().contains("wrong-token-for-catalog"));
});
