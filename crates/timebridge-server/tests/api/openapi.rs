use std::collections::BTreeSet;

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use timebridge_server::routes::{Access, api_routes, route_table};

use crate::api_test;
use crate::common::{error_code, into_json};

/// Operations that need no session, per the contract.
fn is_contract_exception(method: &str, path: &str) -> bool {
    matches!(
        (method, path),
        ("POST", "/api/auth/login")
            | (
                "GET",
                "/api/health" | "/api/health/live" | "/api/health/ready"
            )
            | ("GET", "/metrics")
            // The OAuth callback: its one-time state authenticates it (hub contract).
            | ("GET", "/api/oauth/callback")
    ) || (method == "POST" && path.starts_with("/api/webhook/"))
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{connector_id}", "1")
        .replace("{what}", "types")
}

api_test!(async fn every_documented_route_outside_the_contract_exceptions_is_401_without_a_session(app) {
    let res = app.client.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the document needs no session");
    let doc: Value = res.json().await.unwrap();
    let ops = operations(&doc);
    assert!(ops.len() >= 20, "{ops:?}");
    for (method, path) in &ops {
        if is_contract_exception(method, path) {
            continue;
        }
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = app.client.request(m, app.url(&concrete(path)));
        if method == "POST" || method == "PUT" {
            req = req.json(&json!({}));
        }
        let (status, body) = into_json(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        assert_eq!(error_code(&body), "unauthenticated", "{method} {path}");
        // A bogus token is no better than none.
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let res = app.client.request(m, app.url(&concrete(path))).bearer_auth("forged").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path} with a forged token");
    }
});

#[test]
fn the_document_lists_exactly_the_served_routes_with_their_security() {
    let groups = api_routes();
    let doc = serde_json::to_value(timebridge_server::openapi::openapi(&groups)).unwrap();
    let routes = route_table(&groups);
    let documented = operations(&doc);
    let served: BTreeSet<(String, String)> = routes
        .iter()
        .map(|r| (r.method_name().to_string(), r.path.clone()))
        .collect();
    assert_eq!(documented, served);
    for route in &routes {
        let public = route.access == Access::Public;
        assert_eq!(
            public,
            is_contract_exception(route.method_name(), &route.path),
            "{} {} must need a session unless the contract exempts it",
            route.method_name(),
            route.path
        );
        let op = &doc["paths"][&route.path][route.method_name().to_lowercase()];
        let security = op["security"].as_array().unwrap();
        if public {
            assert_eq!(security, &vec![json!({})]);
        } else {
            assert!(
                security.contains(&json!({"bearer": []}))
                    && security.contains(&json!({"cookie": []}))
            );
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["cookie"]["in"], "cookie");
    assert_eq!(schemes["cookie"]["name"], "timebridge_session");
    assert!(doc["components"]["schemas"]["ErrorResponse"].is_object());

    // Every $ref resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").expect("schema ref");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "unresolved {r}"
        );
    }
}

api_test!(async fn swagger_ui_is_served_offline_without_a_session(app) {
    let res = app.client.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"), "{html}");
    assert!(!html.contains("cdn") && !html.contains("unpkg"), "no CDN: {html}");
    let res = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
});

#[test]
fn print_the_document_when_asked() {
    if std::env::var("PRINT_OPENAPI").is_ok() {
        let doc = timebridge_server::openapi::openapi(&api_routes());
        println!("{}", serde_json::to_string_pretty(&doc).unwrap());
    }
}

#[test]
fn every_operation_has_its_own_operation_id() {
    let doc = serde_json::to_value(timebridge_server::openapi::openapi(&api_routes())).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete", "patch"] {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operationId `{id}` is used by {other} and {method} {path}");
            }
        }
    }
    assert_eq!(seen["connectors_list"], "get /api/connectors");
    assert_eq!(seen["health_live"], "get /api/health/live");
}
