//! The v2 pairs: for each pair of the test world with a new system on one side, a first
//! `timebridge sync` of the seeded month (`Seed::Small`) on a fresh SQLite database, and
//! what it cost each side in requests: the target's requests (reads and writes) per
//! written entry, the whole sync's, and the source's reads per entry read.

use std::path::Path;

use serde_json::{Value, json};
use timebridge_sim::{Seed, SimOptions};
use timebridge_store::{Cipher, Store};
use timebridge_world::{Pair, World};

use crate::procfs::{kb_to_mb, run_watched};

/// The pairs measured, with a target or a source that v2 added, and whether to drop the
/// plan's activity mappings: TimeTracker refuses a task on create, so an entry with a task
/// costs a create and a PATCH; the variant without task mappings shows the one-request
/// create.
const PAIRS: &[(Pair, bool)] = &[
    (Pair::ZammadTimetracker, false),
    (Pair::ZammadTimetracker, true),
    (Pair::ZammadOdoo, false),
    (Pair::TimetrackerOdoo, false),
    (Pair::TimetrackerKimai, false),
    (Pair::ZammadClockify, false),
    (Pair::ClockifyKimai, false),
    (Pair::ClockifyClockify, false),
    (Pair::JibbleOdoo, false),
    (Pair::GoogleCalendarTimetracker, false),
    (Pair::GoogleCalendarKimai, false),
];

fn ratio(a: usize, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

async fn one(bin: &Path, pair: Pair, without_tasks: bool, seed: Seed) -> anyhow::Result<Value> {
    let mut world = World::start(pair, SimOptions::with_seed(seed)).await?;
    if without_tasks {
        world
            .plan
            .mappings
            .retain(|m| m.kind != timebridge_store::MappingKind::Activity);
        world.plan.pipeline.name += " (no tasks)";
    }
    let dir = tempfile::tempdir()?;
    let db_url = format!("sqlite://{}", dir.path().join("timebridge.db").display());
    let store = Store::connect(&db_url, Cipher::new(&crate::world::KEY)).await?;
    store.migrate().await?;
    let ids = timebridge_world::configure_store(&store, &world.plan, chrono::Utc::now()).await?;
    let cmd = crate::world::process(
        bin,
        dir.path(),
        &db_url,
        &["sync", "--from", "2026-03-01", "--to", "2026-03-31"],
        "pair",
    )?;
    let watched = tokio::task::spawn_blocking(move || run_watched(cmd)).await??;
    let (runs, _) = store.list_runs(Some(ids.pipeline), 1, 0).await?;
    let run = runs
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("{pair:?}: no run recorded"))?;
    let n = |k: &str| run.stats[k].as_u64().unwrap_or(0);
    let (fetched, written) = (n("fetched"), n("created") + n("updated"));
    let source = world.source().requests();
    let target = world.target().requests();
    let target_writes = world.target().write_requests();
    Ok(json!({
        "pair": format!("{pair:?}"),
        "seed": seed.to_string(),
        "pipeline": world.plan.pipeline.name,
        "status": run.status,
        "exit_ok": watched.status.success(),
        "wall_seconds": watched.wall.as_secs_f64(),
        "peak_rss_mb": kb_to_mb(watched.peak_rss_kb),
        "entries": fetched,
        "written": written,
        "conflicts": n("conflicts"),
        "source_requests": source,
        "target_requests": target,
        "target_write_requests": target_writes,
        "requests_per_written_entry": ratio(source + target, written),
        "target_requests_per_written_entry": ratio(target, written),
        "source_requests_per_entry": ratio(source, fetched),
    }))
}

/// Measures every pair of [`PAIRS`].
pub async fn run(bin: &Path) -> anyhow::Result<Value> {
    let mut out = Vec::new();
    for (pair, without_tasks) in PAIRS {
        eprintln!("pairs: {pair:?}…");
        out.push(one(bin, *pair, *without_tasks, Seed::Small).await?);
    }
    Ok(Value::Array(out))
}

/// The Jibble source's read cost for a month of punches of 50 people (`Seed::Month`): a
/// first sync of Jibble → Odoo attendance, and the Jibble requests (token, people,
/// activities, projects, time-entry pages) per entry (worked interval) read.
pub async fn jibble(bin: &Path) -> anyhow::Result<Value> {
    eprintln!("jibble: Jibble → Odoo attendance, a month of 50 people's punches…");
    let mut r = one(bin, Pair::JibbleOdoo, false, Seed::Month).await?;
    let punches = timebridge_sim::JibbleSim::start(SimOptions::with_seed(Seed::Month))
        .await?
        .punches()
        .len();
    r["punches"] = json!(punches);
    Ok(r)
}
