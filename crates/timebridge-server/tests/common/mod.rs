//! Test harness: `spawn_app` starts the real server (same `prepare` and
//! `launch_with_listener` as `main`) on a random port with a fresh database, and returns
//! a client plus helpers. `api_test!` runs one test on SQLite and on PostgreSQL.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use timebridge_server::{AppState, Config, ManualClock, SharedClock};
pub use timebridge_store::Backend;
use timebridge_store::testing::TestDb;
use tokio::sync::oneshot;

/// The admin's credentials in every test app.
pub const USERNAME: &str = "admin";
pub const PASSWORD: &str = "correct horse battery staple";

/// A running app.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// A client that sends no credentials by itself and follows no redirects.
    pub client: Client,
    /// The app's clock; move it to test expiry.
    pub clock: ManualClock,
    /// The app's state (store access for assertions).
    pub state: AppState,
    /// The configuration variables the app was started with.
    pub vars: HashMap<String, String>,
    /// The data directory (keys).
    pub data_dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    db: Option<TestDb>,
}

/// The fixed start instant of every test clock.
pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T09:30:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A fresh standard-base64 32-byte key.
pub fn key(byte: u8) -> String {
    STANDARD.encode([byte; 32])
}

/// The variables of a test app on `db`.
pub fn test_vars(db_url: &str, data_dir: &std::path::Path) -> HashMap<String, String> {
    [
        ("DATABASE_URL", db_url.to_string()),
        ("DATA_DIR", data_dir.display().to_string()),
        ("ADMIN_USERNAME", USERNAME.to_string()),
        ("ADMIN_PASSWORD", PASSWORD.to_string()),
        ("ENCRYPTION_KEY", key(1)),
        ("SECRET_KEY", key(2)),
        ("LOG_FORMAT", "json".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Starts an app on a fresh database of `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts an app after `adjust` changed its variables.
pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut HashMap<String, String>),
) -> TestApp {
    let db = TestDb::new(backend).await;
    let data_dir = tempfile::tempdir().unwrap();
    let mut vars = test_vars(db.url(), data_dir.path());
    adjust(&mut vars);
    let config = Config::from_map(&vars).expect("test configuration is valid");
    let clock = ManualClock::new(start_time());
    let shared: SharedClock = Arc::new(clock.clone());
    let state = timebridge_server::prepare(config, shared)
        .await
        .expect("app prepares");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(timebridge_server::launch_with_listener(
        listener,
        state.clone(),
        async {
            let _ = rx.await;
        },
    ));
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base,
        client,
        clock,
        state,
        vars,
        data_dir,
        shutdown: Some(tx),
        server: Some(server),
        db: Some(db),
    }
}

impl TestApp {
    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs in and returns the raw response.
    pub async fn login_response(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// Logs in as the admin and returns the access token.
    pub async fn login(&self) -> String {
        let res = self.login_response(USERNAME, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK, "login works");
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// A request with a bearer token.
    pub fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// GET with a bearer token, returning status and JSON (Null when not JSON).
    pub async fn get_json(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let res = self
            .authed(reqwest::Method::GET, path, token)
            .send()
            .await
            .unwrap();
        into_json(res).await
    }

    /// Sends `body` as JSON with a bearer token, returning status and JSON.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let res = self
            .authed(method, path, token)
            .json(body)
            .send()
            .await
            .unwrap();
        into_json(res).await
    }

    /// Creates a connector and returns its JSON.
    pub async fn create_connector(&self, token: &str, body: Value) -> Value {
        let (status, json) = self
            .send_json(reqwest::Method::POST, "/api/connectors", token, &body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        json
    }

    /// A Zammad source and a Kimai target connector; returns their ids.
    pub async fn create_connector_pair(&self, token: &str) -> (i64, i64) {
        let zammad = self
            .create_connector(
                token,
                json!({"kind": "zammad", "name": "Zammad", "base_url": "https://zammad.example.com",
                       "api_token": "zammad-token", "settings": {}}),
            )
            .await;
        let kimai = self
            .create_connector(
                token,
                json!({"kind": "kimai", "name": "Kimai", "base_url": "https://kimai.example.com",
                       "api_token": "kimai-token", "settings": {}}),
            )
            .await;
        (
            zammad["id"].as_i64().unwrap(),
            kimai["id"].as_i64().unwrap(),
        )
    }

    /// A pipeline between a fresh connector pair; returns its id.
    pub async fn create_pipeline(&self, token: &str) -> i64 {
        let (source, target) = self.create_connector_pair(token).await;
        let (status, json) = self
            .send_json(
                reqwest::Method::POST,
                "/api/pipelines",
                token,
                &json!({"name": "Zammad to Kimai", "source_connector_id": source,
                        "target_connector_id": target}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        json["id"].as_i64().unwrap()
    }

    /// This app as the test world's HTTP API, as the admin with `token`.
    pub fn api<'a>(&'a self, token: &'a str) -> AppApi<'a> {
        AppApi { app: self, token }
    }

    /// Audit events with `action`, newest first.
    pub async fn audit(&self, token: &str, action: &str) -> Vec<Value> {
        let (status, json) = self
            .get_json(&format!("/api/audit?action={action}&limit=500"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        json["items"].as_array().unwrap().clone()
    }

    /// Drops the database under the running app (PostgreSQL: connections are cut).
    pub async fn drop_database(&mut self) {
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }

    /// Stops the server and drops the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

/// Status and JSON body (Null when the body is not JSON).
pub async fn into_json(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts the error shape and returns the code.
pub fn error_code(body: &Value) -> String {
    let error = &body["error"];
    assert!(error.is_object(), "error shape: {body}");
    assert!(error["message"].is_string(), "error message: {body}");
    assert!(error["details"].is_object(), "error details: {body}");
    error["code"].as_str().expect("error code").to_string()
}

/// Runs an async test body on SQLite and on PostgreSQL:
/// `api_test!(async fn name(app) { ... })` → `name::sqlite`, `name::postgres`.
#[macro_export]
macro_rules! api_test {
    (async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: &$crate::common::TestApp) $body

            async fn run(backend: $crate::common::Backend) {
                let app = $crate::common::spawn_app(backend).await;
                body(&app).await;
                app.stop().await;
            }

            #[tokio::test]
            async fn sqlite() {
                run($crate::common::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                run($crate::common::Backend::Postgres).await;
            }
        }
    };
}

/// A [`TestApp`] with a session, through which a test world configures itself.
pub struct AppApi<'a> {
    app: &'a TestApp,
    token: &'a str,
}

impl timebridge_world::Api for AppApi<'_> {
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let (status, json) = self
            .app
            .send_json(reqwest::Method::POST, path, self.token, &body)
            .await;
        anyhow::ensure!(
            status == StatusCode::CREATED,
            "POST {path}: {status} {json}"
        );
        Ok(json)
    }
}
