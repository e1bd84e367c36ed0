//! `timebridge demo` on a fresh machine: no configuration, a generated password printed
//! once, and a first sync that fills Kimai within a minute.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The pipelines the demo configures, one per pair it shows.
const DEMO_PIPELINES: &[&str] = &[
    "Demo: Zammad → Kimai",
    "Demo: TimeTracker → Kimai",
    "Demo: Zammad → Odoo timesheets",
    "Demo: Zammad → TimeTracker",
    "Demo: TimeTracker → Odoo attendance",
    "Demo: Clockify → Clockify",
    "Demo: Jibble → Odoo attendance",
    "Demo: Google Calendar → TimeTracker",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_needs_no_configuration_and_syncs_within_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    /// Stops the demo even when an assertion fails.
    struct Demo(std::process::Child);
    impl Drop for Demo {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = Command::new(env!("CARGO_BIN_EXE_timebridge"))
        .env_clear()
        .current_dir(dir.path())
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .args(["demo", "--seed", "tiny"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Demo(child);
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut password = None;
    let mut sink = None;
    while password.is_none() || sink.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the demo printed its password and its Slack-like sink");
        if let Some(rest) = line.split("with password `").nth(1) {
            password = rest.split('`').next().map(str::to_owned);
        }
        if let Some(rest) = line.split("Slack-like sink").nth(1) {
            sink = rest.split("): ").nth(1).map(|u| u.trim().to_owned());
        }
    }
    let sink = sink.unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": password.unwrap()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"]
        .as_str()
        .expect("logged in")
        .to_owned();
    let get = |path: String| {
        let request = client.get(format!("{base}{path}")).bearer_auth(&token);
        async move {
            request
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    // Every pair the demo shows has its pipeline and a finished first sync that wrote.
    let pipelines = get("/api/pipelines".into()).await;
    let pipelines = pipelines["items"].as_array().unwrap().clone();
    let names: Vec<&str> = pipelines
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for expected in DEMO_PIPELINES {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut runs = Vec::new();
    for p in &pipelines {
        let run = loop {
            let status = get(format!("/api/sync/status?pipeline_id={}", p["id"])).await;
            if status["last_run"].is_object() {
                break status["last_run"].clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no finished run of {}: {status}",
                p["name"]
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(run["status"], "succeeded", "{}: {run}", p["name"]);
        assert!(
            run["stats"]["created"].as_u64().unwrap() > 0,
            "{}: {run}",
            p["name"]
        );
        runs.push(run);
    }
    let conflicts: serde_json::Value = client
        .get(format!("{base}/api/conflicts?status=open"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The deliberate problems are told to the Slack-like sink, whose page shows them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let received: serde_json::Value = client
            .get(format!("{sink}_sim/messages"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let texts: Vec<&str> = received
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["text"].as_str())
            .collect();
        if texts
            .iter()
            .any(|t| t.starts_with("New conflicts: Demo: Zammad → Kimai"))
        {
            let page = client
                .get(&sink)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(
                page.contains("New conflicts: Demo: Zammad → Kimai"),
                "{page}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no conflicts_raised notification in the sink: {texts:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    drop(child);
    // The deliberate problems show up as conflicts to resolve.
    assert!(conflicts["total"].as_u64().unwrap() > 0, "{conflicts}");
    assert_eq!(runs.len(), DEMO_PIPELINES.len());
    assert!(dir.path().join("data/demo.db").exists());
}
