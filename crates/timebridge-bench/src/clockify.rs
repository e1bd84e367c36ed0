//! Clockify's request costs, the real `timebridge sync` against the simulators:
//!
//! - **as a target**: Zammad → Clockify (Seed::Month, the accountings of `agents` agents),
//!   every Clockify request (master data, the window's entries, the creates) per written
//!   entry, and creates per written entry (one each: no read before a write);
//! - **as a source**: Clockify → Kimai (Seed::Month, the agency workspace), a dry run, the
//!   Clockify requests per entry read.
//!
//! The connectors' own rate limit (Clockify allows 50 requests per second) is lifted: the
//! figures count requests, not time.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use timebridge_sim::{ClockifyControl, Seed, SimOptions};
use timebridge_store::{Cipher, Store};
use timebridge_world::{Pair, World};

use crate::procfs::run_watched;

const KEY: [u8; 32] = [42u8; 32];
const CREATE: &str = "POST /api/v1/workspaces/{ws}/user/{uid}/time-entries";
const CREATE_OWN: &str = "POST /api/v1/workspaces/{ws}/time-entries";

/// A fresh SQLite database with `world`'s plan configured, and the binary's environment.
struct Env {
    dir: tempfile::TempDir,
    db_url: String,
    store: Store,
    pipeline: i64,
}

impl Env {
    async fn new(world: &mut World) -> anyhow::Result<Env> {
        let dir = tempfile::tempdir()?;
        let db_url = format!("sqlite://{}", dir.path().join("timebridge.db").display());
        let store = Store::connect(&db_url, Cipher::new(&KEY)).await?;
        store.migrate().await?;
        for def in [&mut world.plan.source, &mut world.plan.target] {
            if def.kind == "clockify" {
                def.settings["max_requests_per_second"] = Value::Null;
            }
        }
        let ids =
            timebridge_world::configure_store(&store, &world.plan, chrono::Utc::now()).await?;
        Ok(Env {
            dir,
            db_url,
            store,
            pipeline: ids.pipeline,
        })
    }

    fn sync(&self, bin: &Path, dry_run: bool) -> anyhow::Result<bool> {
        let b64 = |k: &[u8]| base64::engine::general_purpose::STANDARD.encode(k);
        let mut args = vec!["sync", "--from", "2026-03-01", "--to", "2026-03-31"];
        if dry_run {
            args.push("--dry-run");
        }
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(self.dir.path())
            .env("DATABASE_URL", &self.db_url)
            .env("DATA_DIR", self.dir.path())
            .env("ENCRYPTION_KEY", b64(&KEY))
            .env("SECRET_KEY", b64(&[7u8; 32]))
            .env("ADMIN_PASSWORD", "a long enough password")
            .env("LOG_FORMAT", "json")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Ok(run_watched(cmd)?.status.success())
    }

    async fn stats(&self) -> anyhow::Result<Value> {
        let (runs, _) = self.store.list_runs(Some(self.pipeline), 1, 0).await?;
        let run = runs
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no run recorded"))?;
        let mut stats = run.stats;
        stats["status"] = json!(run.status);
        Ok(stats)
    }
}

fn routes(c: &ClockifyControl) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for e in c.log().entries() {
        *out.entry(e.route).or_default() += 1;
    }
    out
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Runs both figures; returns the `clockify` JSON.
pub async fn run(bin: &Path, latency: Duration, agents: usize) -> anyhow::Result<Value> {
    let opts = SimOptions {
        seed: Seed::Month,
        latency,
        ..SimOptions::default()
    };

    // As a target: Zammad → Clockify.
    eprintln!("clockify: Zammad → Clockify (Seed::Month, {agents} agents)…");
    let mut world = World::start(Pair::ZammadClockify, opts.clone()).await?;
    let zammad = world.zammad();
    let mut booking: Vec<u64> = zammad
        .accountings()
        .iter()
        .map(|a| a.created_by_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    booking.sort_unstable();
    let kept: HashSet<u64> = booking.iter().take(agents).copied().collect();
    for a in zammad.accountings() {
        if !kept.contains(&a.created_by_id) {
            zammad.delete_accounting(a.id)?;
        }
    }
    let env = Env::new(&mut world).await?;
    let clockify = world.clockify().control();
    clockify.log().clear();
    let ok = env.sync(bin, false)?;
    let stats = env.stats().await?;
    let by_route = routes(&clockify);
    let total: u64 = by_route.values().sum();
    let creates =
        by_route.get(CREATE).copied().unwrap_or(0) + by_route.get(CREATE_OWN).copied().unwrap_or(0);
    let written = stats["created"].as_u64().unwrap_or(0) + stats["updated"].as_u64().unwrap_or(0);
    let target = json!({
        "exit_ok": ok,
        "agents": kept.len(),
        "run": stats,
        "written": written,
        "clockify_requests": total,
        "requests_per_written_entry": ratio(total, written),
        "creates_per_created_entry": ratio(creates, stats["created"].as_u64().unwrap_or(0)),
        "by_route": by_route,
    });
    drop(world);

    // As a source: Clockify → Kimai, a dry run (reads only).
    eprintln!("clockify: Clockify → Kimai, dry run (Seed::Month)…");
    let mut world = World::start(Pair::ClockifyKimai, opts).await?;
    let env = Env::new(&mut world).await?;
    let clockify = world.clockify().control();
    clockify.log().clear();
    let ok = env.sync(bin, true)?;
    let stats = env.stats().await?;
    let by_route = routes(&clockify);
    let total: u64 = by_route.values().sum();
    let fetched = stats["fetched"].as_u64().unwrap_or(0);
    let source = json!({
        "exit_ok": ok,
        "run": stats,
        "entries_read": fetched,
        "clockify_requests": total,
        "requests_per_entry_read": ratio(total, fetched),
        "by_route": by_route,
    });
    Ok(json!({"as_target": target, "as_source": source}))
}
