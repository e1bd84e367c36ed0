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

/// A `timebridge demo` process on a free port with an empty data directory, logged in as
/// its admin; stopped (killed) when dropped, even when an assertion fails.
struct Demo {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    base: String,
    token: String,
    sink: String,
    client: reqwest::Client,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// Starts `timebridge demo <args>` and logs in with the password it prints.
    async fn start(args: &[&str]) -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_timebridge"))
            .env_clear()
            .current_dir(dir.path())
            .env("BIND", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .arg("demo")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut demo = Demo {
            child,
            data: dir.path().join("data"),
            _dir: dir,
            base: String::new(),
            token: String::new(),
            sink: String::new(),
            client: reqwest::Client::new(),
        };
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
        // The demo listens on a port the system chose (`BIND` on port 0) and prints it.
        while demo.base.is_empty() || password.is_none() || sink.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("the demo printed its address, its password and its Slack-like sink");
            if let Some(rest) = line.split("is running at ").nth(1) {
                demo.base = rest.trim().trim_end_matches('/').to_owned();
            }
            if let Some(rest) = line.split("with password `").nth(1) {
                password = rest.split('`').next().map(str::to_owned);
            }
            if let Some(rest) = line.split("Slack-like sink").nth(1) {
                sink = rest.split("): ").nth(1).map(|u| u.trim().to_owned());
            }
        }
        demo.sink = sink.unwrap();
        let login: serde_json::Value = demo
            .client
            .post(format!("{}/api/auth/login", demo.base))
            .json(&serde_json::json!({"username": "admin", "password": password.unwrap()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        demo.token = login["access_token"]
            .as_str()
            .expect("logged in")
            .to_owned();
        demo
    }

    async fn get(&self, path: &str) -> serde_json::Value {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The pipelines the demo configured, after checking that every pair has one.
    async fn pipelines(&self) -> Vec<serde_json::Value> {
        let pipelines = self.get("/api/pipelines").await["items"]
            .as_array()
            .unwrap()
            .clone();
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
        pipelines
    }

    /// The first run of a pipeline (the one the demo queued at start; live bookings queue
    /// later ones), once it has finished.
    async fn first_run(&self, pipeline: &serde_json::Value) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let history = self
                .get(&format!(
                    "/api/sync/history?pipeline_id={}&limit=100",
                    pipeline["id"]
                ))
                .await;
            let first = history["items"]
                .as_array()
                .unwrap()
                .iter()
                .min_by_key(|r| r["id"].as_i64())
                .cloned();
            if let Some(run) = first
                && !run["finished_at"].is_null()
            {
                return run;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no finished first run of {}: {history}",
                pipeline["name"]
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The conflict reasons of a run's items.
    async fn conflict_reasons(&self, run: i64) -> Vec<String> {
        self.get(&format!("/api/sync/runs/{run}")).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["outcome"] == "conflict")
            .map(|i| i["reason"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_needs_no_configuration_and_syncs_within_a_minute() {
    let demo = Demo::start(&["--seed", "tiny"]).await;
    let (base, token, client, sink) = (&demo.base, &demo.token, &demo.client, &demo.sink);
    let get = |path: String| {
        let request = client.get(format!("{base}{path}")).bearer_auth(token);
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
    let pipelines = demo.pipelines().await;
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
        .bearer_auth(token)
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
            let page = client.get(sink).send().await.unwrap().text().await.unwrap();
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
    // The deliberate problems show up as conflicts to resolve.
    assert!(conflicts["total"].as_u64().unwrap() > 0, "{conflicts}");
    assert_eq!(runs.len(), DEMO_PIPELINES.len());
    assert!(demo.data.join("demo.db").exists());
}

/// The reasons the demo's seed (`Seed::Demo`) and plan show on purpose in the first syncs.
const DELIBERATE_REASONS: &[&str] = &[
    "unmapped_user",
    "unmapped_activity",
    "target_rejected",
    "negative_duration",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_demos_first_syncs_are_mostly_green_and_show_each_deliberate_problem() {
    let demo = Demo::start(&[]).await;
    let mut reasons = std::collections::BTreeSet::new();
    let mut zammad_kimai = None;
    for p in demo.pipelines().await {
        let run = demo.first_run(&p).await;
        let stats = &run["stats"];
        let (fetched, conflicts) = (
            stats["fetched"].as_u64().unwrap(),
            stats["conflicts"].as_u64().unwrap(),
        );
        assert_eq!(run["status"], "succeeded", "{}: {run}", p["name"]);
        // At most one conflict per ten entries; the one more allowed keeps a pair with few
        // entries (Clockify → Clockify reads about 40) from crossing the line by a single
        // entry in a month with fewer workdays.
        assert!(
            conflicts <= fetched / 10 + 1,
            "{}: {conflicts} conflicts of {fetched} entries: {run}",
            p["name"]
        );
        let of_run = demo.conflict_reasons(run["id"].as_i64().unwrap()).await;
        assert_eq!(of_run.len() as u64, conflicts, "{}", p["name"]);
        reasons.extend(of_run);
        if p["name"] == "Demo: Zammad → Kimai" {
            zammad_kimai = Some(p["id"].as_i64().unwrap());
        }
    }
    for reason in DELIBERATE_REASONS {
        assert!(
            reasons.contains(*reason),
            "{reason} missing from {reasons:?}"
        );
    }
    // After its first sync the demo edits one written Kimai entry by hand: a later run of
    // Zammad → Kimai raises it as `target_modified`.
    let pipeline = zammad_kimai.expect("the Zammad → Kimai pipeline");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let answer = demo
            .client
            .post(format!("{}/api/sync/manual?wait=true", demo.base))
            .bearer_auth(&demo.token)
            .json(&serde_json::json!({"pipeline_id": pipeline}))
            .send()
            .await
            .unwrap();
        // 409: a live booking's run is going; the next attempt follows it.
        if answer.status().is_success() {
            let run: serde_json::Value = answer.json().await.unwrap();
            let of_run = demo.conflict_reasons(run["id"].as_i64().unwrap()).await;
            if of_run.iter().any(|r| r == "target_modified") {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no run raised the hand-edited Kimai entry as target_modified"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
