//! Benchmarks of timebridge against "Numbers we hold ourselves to" in product.md.
//!
//! `cargo run --release -p timebridge-bench -- [--quick]` builds the release binary
//! (`cargo build --release -p timebridge`), then measures:
//!
//! - full sync, re-sync with nothing changed, and an incremental sync (1 % changed): the
//!   real `timebridge sync` as a child process against the Zammad and Kimai simulators in
//!   this process (Seed::Month, 20 ms per request), counting remote requests from the
//!   simulators' request logs and polling the child's peak RSS;
//! - the planner on 10k, 100k and 1M synthetic entries;
//! - `timebridge serve`: RSS when idle, and signed webhooks at 1,000/s;
//! - Clockify's request costs as a target and as a source (`clockify.rs`).
//!
//! It prints a table and writes `bench/results/latest.json` under the workspace root.
//! See `bench/README.md`.

mod clockify;
mod history;
mod pairs;
mod planner;
mod procfs;
mod sync;
mod webhook;
mod world;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(about = "timebridge benchmarks (see bench/README.md)")]
struct Args {
    /// Smaller data and shorter loads (under 5 minutes on 2 cores); every figure still runs.
    #[arg(long)]
    quick: bool,
    /// Latency the simulators add to every request, in milliseconds.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Agents whose accountings are synced (Month seed: 50; default 50, 10 with --quick).
    #[arg(long)]
    agents: Option<usize>,
    /// Webhook calls per second.
    #[arg(long, default_value_t = 1000)]
    webhook_rate: u32,
    /// Seconds of webhook load (default 10, 3 with --quick).
    #[arg(long)]
    webhook_seconds: Option<u64>,
    /// Do not run `cargo build --release -p timebridge` first (the binary must exist).
    #[arg(long)]
    no_build: bool,
    /// Run only these figures (comma-separated: sync, webhook, pairs, clockify, jibble,
    /// planner, history); the JSON then holds only them. Default: all but history (a
    /// Zammad with three years of accountings), which runs only when named.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where to write the results (default: bench/results/latest.json in the workspace).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The workspace root: two levels above this crate.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/timebridge-bench lies two levels below the root")
        .to_path_buf()
}

/// Builds the release binary through the same `cargo` a person runs (the rustup proxy on
/// `PATH`), not `$CARGO`: that names the toolchain by its resolved path, which cargo
/// fingerprints as another compiler, so alternating the two rebuilt the whole workspace.
fn build_binary(root: &Path) -> anyhow::Result<()> {
    eprintln!("building: cargo build --release -p timebridge …");
    let status = std::process::Command::new("cargo")
        .env_remove("CARGO")
        .args(["build", "--release", "-p", "timebridge"])
        .current_dir(root)
        .status()
        .context("cannot run cargo")?;
    anyhow::ensure!(
        status.success(),
        "cargo build --release -p timebridge failed"
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = workspace_root();
    let wants = |figure: &str| args.only.is_empty() || args.only.iter().any(|o| o == figure);
    // Only the figures that run the `timebridge` process need its release build.
    let needs_binary = wants("sync")
        || wants("webhook")
        || wants("pairs")
        || wants("clockify")
        || wants("jibble")
        || wants("history");
    if needs_binary && !args.no_build {
        build_binary(&root)?;
    }
    let bin = sync::release_binary(&root);
    anyhow::ensure!(
        !needs_binary || bin.exists(),
        "{} is missing: run `cargo build --release -p timebridge`",
        bin.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let latency = Duration::from_millis(args.latency_ms);
    let sync_opts = sync::SyncOptions {
        latency,
        agents: args.agents.unwrap_or(if args.quick { 10 } else { 50 }),
    };
    let webhook_opts = webhook::WebhookOptions {
        latency,
        rate: args.webhook_rate,
        duration: Duration::from_secs(args.webhook_seconds.unwrap_or(if args.quick {
            3
        } else {
            10
        })),
        idle: Duration::from_secs(5),
        clients: 16,
    };

    let (full, resync, incremental) = if wants("sync") {
        runtime.block_on(sync::run(&bin, &sync_opts))?
    } else {
        (Value::Null, Value::Null, Value::Null)
    };
    // Not part of the default set (its simulators hold 500,000 accountings and it runs two
    // more syncs of the month): `--only history`, or `--only sync,history`.
    let history = if args.only.iter().any(|o| o == "history") {
        runtime.block_on(history::run(&bin, &sync_opts))?
    } else {
        Value::Null
    };
    let (idle_rss, hooks) = if wants("webhook") {
        let (idle, hooks) = runtime.block_on(webhook::run(&bin, &webhook_opts))?;
        (json!(idle), hooks)
    } else {
        (Value::Null, Value::Null)
    };
    let clockify = if wants("clockify") {
        let agents = sync_opts.agents.min(10);
        runtime.block_on(clockify::run(&bin, latency, agents))?
    } else {
        Value::Null
    };
    drop(runtime);
    let pairs = if wants("pairs") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(pairs::run(&bin))?
    } else {
        Value::Null
    };
    let jibble = if wants("jibble") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(pairs::jibble(&bin))?
    } else {
        Value::Null
    };
    let planner = if wants("planner") {
        planner::run(args.quick)
    } else {
        Value::Null
    };

    let (cores, cpu) = procfs::machine();
    let results = json!({
        "mode": if args.quick { "quick" } else { "full" },
        "generated_at": chrono::Utc::now().to_rfc3339(),
        "bench_seconds": started.elapsed().as_secs_f64(),
        "machine": {"cores": cores, "cpu": cpu},
        "latency_ms": args.latency_ms,
        "full_sync": full,
        "resync": resync,
        "incremental": incremental,
        "history": history,
        "planner": planner,
        "webhook": hooks,
        "pairs": pairs,
        "idle_rss_mb": idle_rss,
        "clockify": clockify,
        "jibble": jibble,
    });
    print_table(&results);
    let out = args
        .out
        .unwrap_or_else(|| root.join("bench").join("results").join("latest.json"));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&results)? + "\n")?;
    println!("\nwritten to {}", out.display());
    Ok(())
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn print_table(r: &Value) {
    let fs = &r["full_sync"];
    let rs = &r["resync"];
    let inc = &r["incremental"];
    let pl = &r["planner"];
    let wh = &r["webhook"];
    // (figure, measured, target, met?)
    let mut rows: Vec<(String, String, String, Option<bool>)> = Vec::new();
    let mut row = |name: String, value: String, target: &str, ok: Option<bool>| {
        rows.push((name, value, target.to_owned(), ok));
    };
    let entries = fs["entries"].as_u64().unwrap_or(0);
    row(
        format!(
            "full sync: entries ({} agents; written)",
            fs["agents"].as_u64().unwrap_or(0)
        ),
        format!("{entries} ({})", fs["written"].as_u64().unwrap_or(0)),
        "44,000 (50 agents)",
        None,
    );
    let wall = f(&fs["wall_seconds"]);
    let lb = f(&fs["lower_bound"]["seconds"]);
    row(
        "full sync: wall time / lower bound".into(),
        format!("{wall:.1} s / {lb:.1} s = {:.2}", wall / lb),
        "≤ 1.2",
        Some(wall / lb <= 1.2),
    );
    let rpw = f(&fs["requests_per_written_entry"]);
    row(
        "full sync: requests per written entry".into(),
        format!("{rpw:.3}"),
        "≤ 1.05",
        Some(rpw <= 1.05),
    );
    let rre = f(&fs["read_requests_per_entry"]);
    row(
        "full sync: read requests per entry".into(),
        format!("{rre:.4}"),
        "≤ 0.02",
        Some(rre <= 0.02),
    );
    let peak = f(&fs["peak_rss_mb"]);
    row(
        "full sync: peak RSS of `timebridge sync`".into(),
        format!("{peak:.1} MB"),
        "< 100 MB",
        Some(peak < 100.0),
    );
    let rs_writes = rs["requests"]["writes"].as_u64().unwrap_or(0);
    row(
        "re-sync: write requests".into(),
        format!("{rs_writes}"),
        "0",
        Some(rs_writes == 0),
    );
    let per500 = f(&rs["read_requests_per_500_entries"]);
    row(
        "re-sync: read requests per 500 entries".into(),
        format!(
            "{per500:.2} ({} reads, {:.1} s)",
            rs["requests"]["reads"].as_u64().unwrap_or(0),
            f(&rs["wall_seconds"])
        ),
        "≤ 1",
        Some(per500 <= 1.0),
    );
    row(
        "re-sync: requests per entry".into(),
        format!("{:.4}", f(&rs["requests_per_entry"])),
        "≤ 0.002",
        Some(f(&rs["requests_per_entry"]) <= 0.002),
    );
    row(
        "incremental (1 % changed): requests per change".into(),
        format!(
            "{:.2} ({} changed, {} requests, {:.1} s)",
            f(&inc["requests_per_changed_entry"]),
            inc["changed"].as_u64().unwrap_or(0),
            inc["requests"]["total"].as_u64().unwrap_or(0),
            f(&inc["wall_seconds"])
        ),
        "(none; 1 write each is the least)",
        None,
    );
    let h = &r["history"];
    if h.is_object() {
        let in_zammad = h["pages_in_zammad"].as_u64().unwrap_or(0);
        let window = h["window_pages"].as_u64().unwrap_or(0);
        for phase in ["full", "resync"] {
            let read = h[phase]["accounting_pages"].as_u64().unwrap_or(0);
            row(
                format!("history ({phase}): accounting pages read"),
                format!(
                    "{read} of {in_zammad} ({} accountings; the window's {} entries fill {window})",
                    h["accountings_in_zammad"].as_u64().unwrap_or(0),
                    h["window_entries"].as_u64().unwrap_or(0),
                ),
                "≈ the window's pages (+2), not the history's",
                Some(read <= window + 2),
            );
        }
        let same = r["full_sync"]["run"]["created"]
            .is_u64()
            .then(|| h["full"]["run"]["created"] == r["full_sync"]["run"]["created"]);
        row(
            "history: entries created, equal to the run without history".into(),
            format!(
                "{} (without history: {})",
                h["full"]["run"]["created"], r["full_sync"]["run"]["created"]
            ),
            "equal",
            same,
        );
    }
    let ct = &r["clockify"]["as_target"];
    if ct.is_object() {
        let rpw = f(&ct["requests_per_written_entry"]);
        row(
            "Clockify as target: requests per written entry".into(),
            format!(
                "{rpw:.3} ({} / {}; creates per created entry {:.2})",
                ct["clockify_requests"].as_u64().unwrap_or(0),
                ct["written"].as_u64().unwrap_or(0),
                f(&ct["creates_per_created_entry"])
            ),
            "≤ 1.05",
            Some(rpw <= 1.05),
        );
    }
    let cs = &r["clockify"]["as_source"];
    if cs.is_object() {
        row(
            "Clockify as source: requests per entry read".into(),
            format!(
                "{:.4} ({} / {})",
                f(&cs["requests_per_entry_read"]),
                cs["clockify_requests"].as_u64().unwrap_or(0),
                cs["entries_read"].as_u64().unwrap_or(0)
            ),
            "(none; ≤ 0.02 like Zammad)",
            None,
        );
    }
    let js = &r["jibble"];
    if js.is_object() {
        row(
            "Jibble as source: requests per entry read (a month, 50 people)".into(),
            format!(
                "{:.4} ({} / {} intervals from {} punches)",
                f(&js["source_requests_per_entry"]),
                js["source_requests"].as_u64().unwrap_or(0),
                js["entries"].as_u64().unwrap_or(0),
                js["punches"].as_u64().unwrap_or(0)
            ),
            "(none; ≤ 0.02 like Zammad)",
            None,
        );
    }
    if let Some(sizes) = pl["sizes"].as_array() {
        for s in sizes {
            let n = s["entries"].as_u64().unwrap_or(0);
            let secs = f(&s["seconds"]);
            let mem = s["peak_memory_delta_mb"]
                .as_f64()
                .map(|m| format!(", +{m:.0} MB"))
                .unwrap_or_default();
            let (target, ok) = if n == 1_000_000 {
                ("< 2 s", Some(secs < 2.0))
            } else {
                ("", None)
            };
            row(
                format!("planner: {n} × {n} entries"),
                format!("{secs:.3} s{mem}"),
                target,
                ok,
            );
        }
    }
    let p99 = f(&wh["ack_p99_ms"]);
    row(
        "webhook: ack p50 / p99 at target rate".into(),
        format!("{:.2} / {p99:.2} ms", f(&wh["ack_p50_ms"])),
        "p99 < 5 ms",
        Some(p99 < 5.0),
    );
    row(
        "webhook: ack p50 / p99 at 100/s (no queueing)".into(),
        format!(
            "{:.2} / {:.2} ms",
            f(&wh["light_load"]["ack_p50_ms"]),
            f(&wh["light_load"]["ack_p99_ms"])
        ),
        "",
        None,
    );
    let rps = f(&wh["requests_per_second"]);
    let all = wh["all_202"].as_bool().unwrap_or(false);
    row(
        "webhook: achieved rate (all 202?)".into(),
        format!(
            "{rps:.0}/s ({})",
            if all { "all 202" } else { "NOT all 202" }
        ),
        "1,000/s",
        Some(rps >= 0.98 * f(&wh["target_rate"]) && all),
    );
    for p in r["pairs"].as_array().into_iter().flatten() {
        let name = p["pipeline"].as_str().unwrap_or("?");
        let per = f(&p["target_requests_per_written_entry"]);
        row(
            format!(
                "{name}: target requests per written entry ({} written)",
                p["written"]
            ),
            format!("{per:.3}"),
            "≤ 1.05",
            Some(per <= 1.05),
        );
        row(
            format!("{name}: source requests per entry read"),
            format!("{:.3}", f(&p["source_requests_per_entry"])),
            "",
            None,
        );
    }
    let idle = f(&r["idle_rss_mb"]);
    row(
        "idle RSS of `timebridge serve`".into(),
        format!("{idle:.1} MB"),
        "< 30 MB",
        Some(idle < 30.0),
    );

    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let w2 = rows.iter().map(|r| r.2.chars().count()).max().unwrap_or(0);
    println!(
        "\ntimebridge benchmarks ({} mode, {} ms per remote request, {} cores: {})\n",
        r["mode"].as_str().unwrap_or("?"),
        r["latency_ms"],
        r["machine"]["cores"],
        r["machine"]["cpu"].as_str().unwrap_or("?")
    );
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    println!(
        "{}  {}  {}  met",
        pad("figure", w0),
        pad("measured", w1),
        pad("target", w2)
    );
    println!("{}", "-".repeat(w0 + w1 + w2 + 11));
    for (name, value, target, ok) in rows {
        let met = match ok {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        println!(
            "{}  {}  {}  {met}",
            pad(&name, w0),
            pad(&value, w1),
            pad(&target, w2)
        );
    }
}
