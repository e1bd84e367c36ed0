//! The logs never contain credentials: everything the server logs at debug level while
//! it handles a connector with a distinctive token, sessions, cookies, signatures and a
//! wrong password is captured and searched. A separate test binary, because it installs
//! the process-wide subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::{Method, StatusCode, header};
use serde_json::json;
use timebridge_server::config::LogFormat;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use common::{Backend, USERNAME, spawn_app};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let subscriber = timebridge_server::telemetry::subscriber(
            LogFormat::Json,
            EnvFilter::new(
                "trace,sqlx=debug,sea_orm=debug,hyper=debug,hyper_util=debug,h2=info,reqwest=info",
            ),
            capture.clone(),
        );
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        capture
    })
}

async fn run(backend: Backend) {
    let logs = capture();
    let api_token = format!("logtok-{backend:?}-9c41e7d2a8");
    let secret = format!("logsecret-{backend:?}-5d77aa01");
    let bad_password = format!("badpass-{backend:?}-e81f");
    let app = spawn_app(backend).await;

    let _ = app.login_response(USERNAME, &bad_password).await;
    let session = app.login().await;
    let created = app
        .create_connector(
            &session,
            json!({"kind": "zammad", "name": "Logged", "base_url": "https://z.example",
                   "api_token": api_token, "settings": {"webhook_secret": secret}}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let res = app
        .authed(Method::PUT, &format!("/api/connectors/{id}"), &session)
        .header("x-hub-signature", format!("sha1={secret}"))
        .header(header::COOKIE, format!("timebridge_session={session}"))
        .json(&json!({"name": "Logged", "base_url": "https://z.example", "api_token": api_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Error paths log too.
    let res = app
        .client
        .get(app.url("/api/connectors"))
        .header(header::AUTHORIZATION, format!("Bearer {api_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A full sync against the simulators, a connector test and a signed webhook.
    let zammad_token = format!("zsimtok-{backend:?}-41d0c2");
    let kimai_token = format!("ksimtok-{backend:?}-8be3f9");
    let zammad = timebridge_sim::ZammadSim::start(timebridge_sim::SimOptions {
        token: zammad_token.clone(),
        ..timebridge_sim::SimOptions::with_seed(timebridge_sim::Seed::Tiny)
    })
    .await
    .unwrap();
    let kimai = timebridge_sim::KimaiSim::start(timebridge_sim::SimOptions {
        token: kimai_token.clone(),
        ..timebridge_sim::SimOptions::with_seed(timebridge_sim::Seed::Tiny)
    })
    .await
    .unwrap();
    let z = app
        .create_connector(
            &session,
            json!({"kind": "zammad", "name": "Z", "base_url": zammad.url,
                   "api_token": zammad_token, "settings": {"webhook_secret": secret}}),
        )
        .await["id"]
        .clone();
    let k = app
        .create_connector(
            &session,
            json!({"kind": "kimai", "name": "K", "base_url": kimai.url,
                   "api_token": kimai_token, "settings": {}}),
        )
        .await["id"]
        .clone();
    for id in [&z, &k] {
        let res = app
            .authed(
                Method::POST,
                &format!("/api/connectors/{id}/test"),
                &session,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let (status, _) = app
        .send_json(
            Method::POST,
            "/api/pipelines",
            &session,
            &json!({"name": "p", "source_connector_id": z, "target_connector_id": k}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, run) = app
        .send_json(
            Method::POST,
            "/api/sync/manual?wait=true",
            &session,
            &json!({"from": "2026-03-01", "to": "2026-03-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let body = br#"{"ticket":{"id":1}}"#;
    let res = app
        .client
        .post(app.url(&format!("/api/webhook/zammad/{z}")))
        .header(
            "x-hub-signature",
            timebridge_sim::webhook::signature(&secret, body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    app.stop().await;

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(text.contains("Request finished."), "logs were captured");
    assert!(text.contains("Sync run finished."), "the sync was logged");
    assert!(
        text.contains("Remote call answered."),
        "remote calls were logged"
    );
    assert!(text.contains("request_id"), "requests carry their id");
    assert!(
        text.contains("Sensitive"),
        "sensitive headers are masked, not dropped"
    );
    for (what, value) in [
        ("API token", api_token.as_str()),
        ("webhook secret", secret.as_str()),
        ("session token", session.as_str()),
        ("password", bad_password.as_str()),
        ("admin password", common::PASSWORD),
        ("Zammad token", zammad_token.as_str()),
        ("Kimai token", kimai_token.as_str()),
    ] {
        assert!(!text.contains(value), "the logs contain the {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_contain_tokens_secrets_or_passwords_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_contain_tokens_secrets_or_passwords_postgres() {
    run(Backend::Postgres).await;
}
