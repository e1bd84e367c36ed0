//! History does not slow a run: a Zammad with three years of accountings (35 months of
//! history before `Seed::Month`'s March 2026, about 500,000 in all), the real
//! `timebridge sync` of March into Kimai, then a re-sync. Counts the pages of the global
//! accounting list each run read, against the pages the whole list holds.

use std::path::Path;

use serde_json::{Value, json};
use timebridge_sim::{History, Seed, SimOptions};

use crate::sync::{Phase, SyncOptions, keep_agents, sync_once};
use crate::world::World;

/// Three years in all: 35 months before the benchmark's month.
pub const HISTORY: History = History {
    months: 35,
    accountings_per_month: 13_000,
};
/// The route of the global accounting list in the simulator's request log.
const LIST: &str = "GET /api/v1/time_accountings";
const PAGE: u64 = 500;

fn phase_json(p: &Phase) -> Value {
    json!({
        "accounting_pages": p.requests.by_route.get(LIST).copied().unwrap_or(0),
        "zammad_and_kimai_reads": p.requests.reads,
        "writes": p.requests.writes,
        "wall_seconds": p.wall.as_secs_f64(),
        "peak_rss_mb": p.peak_rss_mb,
        "exit_ok": p.ok,
        "run": p.stats,
    })
}

pub async fn run(bin: &Path, opts: &SyncOptions) -> anyhow::Result<Value> {
    eprintln!(
        "history: starting simulators (Seed::Month after {} months of {} accountings)…",
        HISTORY.months, HISTORY.accountings_per_month
    );
    let world = World::new(SimOptions {
        seed: Seed::Month,
        latency: opts.latency,
        zammad_history: Some(HISTORY),
        ..SimOptions::default()
    })
    .await?;
    let agents = keep_agents(&world, opts.agents)?;
    let accountings = world.zammad.accounting_count() as u64;
    eprintln!("history: {agents} agents, {accountings} accountings; sync of March…");
    let full = sync_once(&world, bin, "history-full").await?;
    eprintln!("history: re-sync…");
    let resync = sync_once(&world, bin, "history-resync").await?;
    let fetched = full.stats["fetched"].as_u64().unwrap_or(0);
    Ok(json!({
        "agents": agents,
        "accountings_in_zammad": accountings,
        "pages_in_zammad": accountings / PAGE + 1,
        "window_entries": fetched,
        "window_pages": fetched.div_ceil(PAGE),
        "full": phase_json(&full),
        "resync": phase_json(&resync),
    }))
}
