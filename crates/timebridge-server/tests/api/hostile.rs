//! Hostile input: random and malformed bodies, query strings and webhook calls against
//! every route of the OpenAPI document, authenticated. Nothing may answer 5xx, no unsigned
//! webhook may be processed, and injection strings are stored and returned inertly.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api_test;
use crate::common::into_json;

fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_some() {
                out.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// A hostile body: random bytes, truncated JSON, deep nesting, huge strings, wrong types,
/// injection strings.
fn hostile_body(rng: &mut StdRng) -> Vec<u8> {
    match rng.gen_range(0..9) {
        0 => (0..rng.gen_range(0..300))
            .map(|_| rng.r#gen::<u8>())
            .collect(),
        1 => b"{\"name\": \"unterminated".to_vec(),
        2 => {
            let depth = rng.gen_range(100..3000);
            let mut s = "[".repeat(depth);
            s.push_str(&"]".repeat(depth));
            s.into_bytes()
        }
        3 => json!({"name": "x".repeat(rng.gen_range(1000..200_000))})
            .to_string()
            .into_bytes(),
        4 => json!({"kind": 7, "name": [], "base_url": {}, "api_token": false, "settings": "s",
                    "pipeline_id": "one", "from": 20260301, "to": null, "dry_run": "yes",
                    "action": 3, "target_id": [1], "email": {"a": 1}, "retention_days": -5})
        .to_string()
        .into_bytes(),
        5 => json!({"name": "'; DROP TABLE connectors; --", "kind": "zammad",
                    "base_url": "http://127.0.0.1:9", "api_token": "<script>alert(1)</script>",
                    "settings": {"time_unit_minutes": 1e308}})
        .to_string()
        .into_bytes(),
        6 => b"null".to_vec(),
        7 => json!([1, 2, 3]).to_string().into_bytes(),
        _ => json!({"pipeline_id": i64::MAX, "from": "2026-13-45", "ticket_ids": [-1, 0],
                    "limit": u64::MAX})
        .to_string()
        .into_bytes(),
    }
}

fn concrete(path: &str, rng: &mut StdRng) -> String {
    let ids = [
        "1",
        "0",
        "-1",
        "99999999999999999999",
        "abc",
        "%27%20OR%201%3D1",
    ];
    let mut out = path.to_owned();
    for p in ["{id}", "{connector_id}"] {
        out = out.replace(p, ids[rng.gen_range(0..ids.len())]);
    }
    out.replace(
        "{what}",
        ["types", "../../etc", "projects"][rng.gen_range(0..3)],
    )
}

api_test!(async fn no_hostile_request_gets_a_server_error(app) {
    let token = app.login().await;
    let (_, doc) = app.get_json("/api/openapi.json", &token).await;
    let ops = operations(&doc);
    let mut rng = StdRng::seed_from_u64(20261123);
    let queries = [
        "",
        "?limit=-1",
        "?limit=abc&offset=1e9",
        "?status=%27%3B--&reason=<script>",
        "?pipeline_id=9223372036854775808",
        "?since=yesterday&until=2026-99-99",
        "?email=%00%00",
        "?wait=maybe",
    ];
    for round in 0..4 {
        for (method, path) in &ops {
            if path == "/api/auth/logout" {
                continue;
            }
            let url = format!(
                "{}{}",
                concrete(path, &mut rng),
                queries[(round + path.len()) % queries.len()]
            );
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = app.authed(m, &url, &token);
            if method == "POST" || method == "PUT" {
                req = req
                    .header("content-type", "application/json")
                    .body(hostile_body(&mut rng));
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            assert!(
                status.as_u16() < 500 || (path.contains("/catalog/") && status == StatusCode::BAD_GATEWAY)
                    || (path.ends_with("/resolve") && status == StatusCode::BAD_GATEWAY),
                "{method} {url} answered {status}: {body}"
            );
        }
    }
    // The session still works and nothing was created from garbage.
    let (status, _) = app.get_json("/api/auth/me", &token).await;
    assert_eq!(status, StatusCode::OK);
});

api_test!(async fn unsigned_or_forged_webhooks_are_never_processed(app) {
    let token = app.login().await;
    let zammad = app
        .create_connector(
            &token,
            json!({"kind": "zammad", "name": "Z", "base_url": "http://127.0.0.1:9",
                   "api_token": "t", "settings": {"webhook_secret": "a-long-secret"}}),
        )
        .await;
    let kimai = app
        .create_connector(
            &token,
            json!({"kind": "kimai", "name": "K", "base_url": "http://127.0.0.1:9",
                   "api_token": "t", "settings": {}}),
        )
        .await;
    let (status, _) = app
        .send_json(Method::POST, "/api/pipelines", &token,
            &json!({"name": "p", "source_connector_id": zammad["id"],
                    "target_connector_id": kimai["id"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut rng = StdRng::seed_from_u64(7);
    let url = app.url(&format!("/api/webhook/zammad/{}", zammad["id"]));
    for i in 0..150 {
        let body = if i % 3 == 0 {
            json!({"ticket": {"id": rng.gen_range(1..1000)}}).to_string().into_bytes()
        } else {
            hostile_body(&mut rng)
        };
        let sig = match i % 4 {
            0 => None,
            1 => Some("sha1=".to_owned() + &"0".repeat(40)),
            2 => Some(format!("sha1={}", "zz")),
            _ => Some(timebridge_sim::webhook::signature("the-wrong-secret", &body)),
        };
        let mut req = app.client.post(&url).header("content-type", "application/json").body(body);
        if let Some(s) = sig {
            req = req.header("x-hub-signature", s);
        }
        let res = req.send().await.unwrap();
        assert!(
            matches!(res.status().as_u16(), 401 | 413),
            "call {i}: {}",
            res.status()
        );
    }
    let (_, history) = app.get_json("/api/sync/history", &token).await;
    assert_eq!(history["total"], 0, "a forged webhook queued a run");
});

api_test!(async fn injection_strings_are_stored_and_returned_inertly(app) {
    let token = app.login().await;
    let evil = "Robert'); DROP TABLE connectors;-- <img src=x onerror=alert(1)>";
    let created = app
        .create_connector(
            &token,
            json!({"kind": "kimai", "name": evil, "base_url": "http://127.0.0.1:9",
                   "api_token": "t", "settings": {}}),
        )
        .await;
    assert_eq!(created["name"], evil);
    let (status, list) = app
        .get_json("/api/audit?action=connector_created&entity_type=%27%20OR%201%3D1--", &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 0);
    let (_, all) = app.get_json("/api/connectors", &token).await;
    assert_eq!(all["items"][0]["name"], evil);
    // The CSV export neutralises formula injection and keeps the text.
    let res = app
        .authed(Method::GET, "/api/audit/export?action=connector_created", &token)
        .send()
        .await
        .unwrap();
    let csv = res.text().await.unwrap();
    assert!(csv.contains("DROP TABLE"), "{csv}");
    let (status, _) = into_json(
        app.authed(Method::GET, "/api/connectors", &token).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
});
