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
    app.stop().await;

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(text.contains("Request finished."), "logs were captured");
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
