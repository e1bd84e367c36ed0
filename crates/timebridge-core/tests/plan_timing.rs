//! A one-off timing of the planner on a synthetic million-entry input. Ignored: timings
//! belong to the benchmarks, this only prints a number for a quick look.
//!
//! `cargo test --release -p timebridge-core --test plan_timing -- --ignored --nocapture`

use std::time::Instant;

use timebridge_core::{plan, testing::synthetic_input};

/// CPU seconds (user + system) of this process so far, from `/proc/self/stat` (Linux);
/// the wall clock is meaningless on a shared build machine.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[test]
#[ignore = "prints a timing; run in release on purpose"]
fn planning_a_million_against_a_million_prints_its_time() {
    let n: usize = std::env::var("PLAN_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let t0 = Instant::now();
    let input = synthetic_input(n, 7);
    let built = t0.elapsed();
    for round in 0..3 {
        let t1 = Instant::now();
        let c1 = cpu_seconds();
        let p = plan(&input);
        let took = t1.elapsed();
        let cpu = cpu_seconds() - c1;
        println!(
            "round {round}: {} sources x {} targets ({} links) planned in {:?} wall, {cpu:.2} s CPU (input built in {built:?}); {:?}",
            input.sources.len(),
            input.targets.len(),
            input.links.len(),
            took,
            p.stats()
        );
    }
}
