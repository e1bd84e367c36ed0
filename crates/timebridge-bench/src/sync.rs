//! Full sync, re-sync with nothing changed, and an incremental sync after 1 % of the
//! accountings changed: the real `timebridge sync` against the simulators.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use timebridge_sim::{Seed, SimOptions};

use crate::procfs::{kb_to_mb, run_watched};
use crate::world::{Requests, World};

/// Remote writes in flight at once in the engine (`WRITE_CONCURRENCY` in
/// `timebridge-server/src/sync/engine.rs`; connectors allow 8 requests at once too).
pub const WRITE_CONCURRENCY: u64 = 8;
/// Page sizes: Zammad accountings and Kimai timesheets (500 each).
const PAGE: u64 = 500;

#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub latency: Duration,
    /// Agents whose accountings stay (the last agent, the one without a Kimai user, is
    /// always among them); 50 is the whole Month seed.
    pub agents: usize,
}

/// One `timebridge sync` as measured.
#[derive(Debug)]
pub struct Phase {
    pub wall: Duration,
    pub peak_rss_mb: f64,
    pub ok: bool,
    pub requests: Requests,
    pub stats: Value,
}

impl Phase {
    fn n(&self, key: &str) -> u64 {
        self.stats[key].as_u64().unwrap_or(0)
    }

    fn to_json(&self) -> Value {
        json!({
            "wall_seconds": self.wall.as_secs_f64(),
            "peak_rss_mb": self.peak_rss_mb,
            "exit_ok": self.ok,
            "requests": self.requests.to_json(),
            "run": self.stats,
        })
    }
}

pub(crate) async fn sync_once(world: &World, bin: &Path, label: &str) -> anyhow::Result<Phase> {
    world.clear_logs();
    let cmd = world.command(
        bin,
        &["sync", "--from", "2026-03-01", "--to", "2026-03-31"],
        label,
    )?;
    let watched = tokio::task::spawn_blocking(move || run_watched(cmd)).await??;
    let requests = world.requests();
    let stats = world.last_run_stats().await?;
    if !watched.status.success() {
        let err = std::fs::read_to_string(world.log_path(label, "err")).unwrap_or_default();
        let out = std::fs::read_to_string(world.log_path(label, "out")).unwrap_or_default();
        let tail = |s: &str| s.lines().rev().take(5).collect::<Vec<_>>().join("\n");
        eprintln!(
            "  note: `timebridge sync` ({label}) exited with {}: {}\n{}",
            watched.status,
            tail(&out),
            tail(&err)
        );
    }
    Ok(Phase {
        wall: watched.wall,
        peak_rss_mb: kb_to_mb(watched.peak_rss_kb),
        ok: watched.status.success(),
        requests,
        stats,
    })
}

/// Removes the accountings of all but `keep` agents (the last agent always stays), so a
/// quick run has fewer agents with the Month seed's shape. Returns the agents kept.
pub(crate) fn keep_agents(world: &World, keep: usize) -> anyhow::Result<usize> {
    // Agents are users 2.. in generation order; the last one has no Kimai user.
    let mut agents: Vec<u64> = world
        .zammad
        .accountings()
        .iter()
        .map(|a| a.created_by_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    agents.sort_unstable();
    if keep >= agents.len() {
        return Ok(agents.len());
    }
    let last = *agents.last().expect("agents");
    let kept: HashSet<u64> = agents
        .iter()
        .take(keep.saturating_sub(1))
        .copied()
        .chain([last])
        .collect();
    for a in world.zammad.accountings() {
        if !kept.contains(&a.created_by_id) {
            world.zammad.delete_accounting(a.id)?;
        }
    }
    Ok(kept.len())
}

/// Runs the three sync figures; returns `(full_sync, resync, incremental)` JSON.
pub async fn run(bin: &Path, opts: &SyncOptions) -> anyhow::Result<(Value, Value, Value)> {
    let latency_s = opts.latency.as_secs_f64();
    eprintln!(
        "sync: starting simulators (Seed::Month, {} ms per request)…",
        opts.latency.as_millis()
    );
    let world = World::new(SimOptions {
        seed: Seed::Month,
        latency: opts.latency,
        ..SimOptions::default()
    })
    .await?;
    let agents = keep_agents(&world, opts.agents)?;
    let accountings = world.zammad.accounting_count() as u64;
    eprintln!("sync: {agents} agents, {accountings} accountings; full sync…");

    // Full sync.
    let timesheets_before = world.kimai.timesheet_count() as u64;
    let full = sync_once(&world, bin, "full").await?;
    let entries = full.n("fetched");
    let written = full.n("created") + full.n("updated");
    // The least it must do: read every page of accountings (a short page ends the list)
    // and of the window's timesheets one after another, and write each entry once, 8 at
    // a time.
    let read_pages = accountings / PAGE + 1 + timesheets_before.div_ceil(PAGE).max(1);
    let write_rounds = written.div_ceil(WRITE_CONCURRENCY);
    let lower_bound = (read_pages + write_rounds) as f64 * latency_s;
    let wall = full.wall.as_secs_f64();
    let full_json = {
        let mut v = full.to_json();
        let o = v.as_object_mut().expect("object");
        o.insert("agents".into(), json!(agents));
        o.insert("accountings_in_zammad".into(), json!(accountings));
        o.insert("entries".into(), json!(entries));
        o.insert("written".into(), json!(written));
        o.insert("latency_ms".into(), json!(opts.latency.as_millis() as u64));
        o.insert(
            "lower_bound".into(),
            json!({
                "seconds": lower_bound,
                "sequential_read_pages": read_pages,
                "writes": written,
                "write_concurrency": WRITE_CONCURRENCY,
                "formula": "(sequential read pages + ceil(writes / 8)) × latency",
            }),
        );
        o.insert("wall_over_lower_bound".into(), json!(wall / lower_bound));
        o.insert(
            "requests_per_written_entry".into(),
            json!(ratio(full.requests.total(), written)),
        );
        o.insert(
            "read_requests_per_entry".into(),
            json!(ratio(full.requests.reads, entries)),
        );
        v
    };
    eprintln!(
        "sync: full sync {wall:.1} s, {written} written, {} requests; re-sync…",
        full.requests.total()
    );

    // Re-sync with nothing changed.
    let resync = sync_once(&world, bin, "resync").await?;
    let resync_entries = resync.n("fetched");
    let resync_json = {
        let mut v = resync.to_json();
        let o = v.as_object_mut().expect("object");
        o.insert("entries".into(), json!(resync_entries));
        o.insert(
            "requests_per_entry".into(),
            json!(ratio(resync.requests.total(), resync_entries)),
        );
        o.insert(
            "read_requests_per_500_entries".into(),
            json!(ratio(resync.requests.reads * 500, resync_entries)),
        );
        o.insert(
            "written".into(),
            json!(resync.n("created") + resync.n("updated")),
        );
        v
    };
    eprintln!(
        "sync: re-sync {:.1} s, {} requests; incremental…",
        resync.wall.as_secs_f64(),
        resync.requests.total()
    );

    // Incremental: 1 % of the accountings get another type (each one already written, so
    // that each change is an update in Kimai).
    let linked: HashMap<String, Option<String>> = world
        .store
        .load_links(world.pipeline)
        .await?
        .into_iter()
        .map(|l| (l.source_key, l.target_id))
        .collect();
    let want = (accountings / 100).max(1) as usize;
    let eligible: Vec<(u64, u64)> = world
        .zammad
        .accountings()
        .into_iter()
        .filter(|a| linked.get(&a.id.to_string()).is_some_and(|t| t.is_some()))
        .filter_map(|a| match a.type_id {
            Some(t @ 1..=4) => Some((a.id, t)),
            _ => None,
        })
        .collect();
    // Spread over the month: every k-th eligible accounting.
    let stride = (eligible.len() / want).max(1);
    let mut changed = 0usize;
    for (id, t) in eligible.into_iter().step_by(stride).take(want) {
        world.zammad.set_accounting_type(id, Some(t % 4 + 1))?;
        changed += 1;
    }
    let inc = sync_once(&world, bin, "incremental").await?;
    let inc_json = {
        let mut v = inc.to_json();
        let o = v.as_object_mut().expect("object");
        o.insert("changed".into(), json!(changed));
        o.insert("updated".into(), json!(inc.n("updated")));
        o.insert(
            "requests_per_changed_entry".into(),
            json!(ratio(inc.requests.total(), changed as u64)),
        );
        o.insert(
            "write_requests_per_changed_entry".into(),
            json!(ratio(inc.requests.writes, changed as u64)),
        );
        v
    };
    eprintln!(
        "sync: incremental {:.1} s, {changed} changed, {} requests",
        inc.wall.as_secs_f64(),
        inc.requests.total()
    );
    Ok((full_json, resync_json, inc_json))
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// `target/release/timebridge` under the workspace root (or `CARGO_TARGET_DIR`).
pub fn release_binary(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("release").join("timebridge")
}
