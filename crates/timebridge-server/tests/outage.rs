//! The database going away mid-run: a PostgreSQL instance of this test's own (initialised
//! in a temporary directory) is stopped while a sync writes, then started again. Health
//! says 503 meanwhile and recovers by itself; no write happens without its intent; the
//! interrupted run is taken up again once its lease has expired and completes; every entry
//! ends up in Kimai exactly once.

#[path = "common/mod.rs"]
mod common;

use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use timebridge_sim::{Seed, SimOptions};
use timebridge_world::{Pair, World};

/// A throwaway PostgreSQL server.
struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries are installed under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("an initdb")
}

fn as_postgres(bin: &Path, tool: &str, args: &[&str]) -> std::process::Output {
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    let mut cmd = if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    };
    cmd.args(args).output().expect("PostgreSQL tool runs")
}

impl OwnPostgres {
    fn init() -> OwnPostgres {
        let dir = tempfile::tempdir().unwrap();
        // The server runs as `postgres` (it refuses root): it must own its directory.
        let uid = Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse::<u32>().ok());
        if let Some(uid) = uid {
            chown(dir.path(), Some(uid), None).unwrap();
        }
        let bin = postgres_bin();
        let data = dir.path().join("data");
        let out = as_postgres(
            &bin,
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let pg = OwnPostgres { dir, bin, port };
        pg.start();
        pg
    }

    fn start(&self) {
        let data = self.dir.path().join("data");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        let out = as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop(&self) {
        let data = self.dir.path().join("data");
        let out = as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_mid_run_loses_nothing_and_the_next_run_completes() {
    let pg = OwnPostgres::init();
    let url = pg.url();
    let app = common::spawn_app_with(common::Backend::Postgres, |vars| {
        vars.insert("DATABASE_URL".into(), url.clone());
    })
    .await;
    app.clock.set("2026-04-01T06:00:00Z".parse().unwrap());
    let token = app.login().await;
    let world = World::start(Pair::ZammadKimai, SimOptions::with_seed(Seed::Small))
        .await
        .unwrap();
    timebridge_world::configure_api(&app.api(&token), &world.plan)
        .await
        .unwrap();
    let kimai = world.kimai();
    // Slow writes, so that the outage falls in the middle of them.
    kimai.set_latency(Duration::from_millis(20));
    let (status, queued) = app
        .send_json(
            Method::POST,
            "/api/sync/manual",
            &token,
            &json!({"from": "2026-03-01", "to": "2026-03-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while kimai.timesheet_count() < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run did not start writing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pg.stop();
    let health = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Writes stop: none happens without its intent in the database.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut last = kimai.timesheet_count();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = kimai.timesheet_count();
        if now == last {
            break;
        }
        last = now;
        assert!(
            tokio::time::Instant::now() < deadline,
            "writes went on without a database"
        );
    }
    let written_during_outage = kimai.timesheet_count();
    pg.start();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let health = app.client.get(app.url("/api/health")).send().await.unwrap();
        if health.status() == StatusCode::OK {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The interrupted run's lease expires; the worker takes it up again and finishes.
    kimai.set_latency(Duration::ZERO);
    app.clock.advance(chrono::Duration::minutes(2));
    let token = app.login().await;
    let run_id = queued["run_id"].as_i64().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let run = loop {
        let (_, run) = app
            .get_json(&format!("/api/sync/runs/{run_id}"), &token)
            .await;
        if run["finished_at"].is_string() && run["status"] != "running" {
            break run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run was not taken up again: {run}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        ["succeeded", "partial"].contains(&run["status"].as_str().unwrap()),
        "{run}"
    );
    // A clean run afterwards: nothing is written twice, nothing is missing.
    let (status, again) = app
        .send_json(
            Method::POST,
            "/api/sync/manual?wait=true",
            &token,
            &json!({"from": "2026-03-01", "to": "2026-03-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["status"], "succeeded", "{}", again["stats"]);
    assert_eq!(again["stats"]["errors"], 0);
    let mut marks = std::collections::HashMap::<String, usize>::new();
    for t in kimai.timesheets() {
        let d = t.description.unwrap_or_default();
        if let Some(i) = d.find("[tb-zammad-") {
            *marks.entry(d[i..].to_owned()).or_default() += 1;
        }
    }
    assert!(
        marks.values().all(|n| *n == 1),
        "a duplicate after the outage"
    );
    assert!(
        marks.len() > written_during_outage,
        "the remaining entries were written"
    );
    app.stop().await;
}
