//! The pure planner on synthetic inputs of n source against about n target entries.

use std::time::Instant;

use serde_json::{Value, json};
use timebridge_core::plan::plan;
use timebridge_core::testing::synthetic_input;

use crate::procfs::{kb_to_mb, reset_own_peak, status_kb};

/// Plans `n` entries `repeats` times; returns the best time and the peak memory the
/// planning added on top of its input (when the kernel lets us reset the peak).
fn one_size(n: usize, repeats: usize) -> Value {
    let t0 = Instant::now();
    let input = synthetic_input(n, 7);
    let build = t0.elapsed().as_secs_f64();
    let rows = (input.sources.len(), input.targets.len(), input.links.len());
    let mut best = f64::INFINITY;
    let mut times = Vec::new();
    let mut peak_delta_mb: Option<f64> = None;
    let mut decisions = 0usize;
    for _ in 0..repeats.max(1) {
        let resettable = reset_own_peak();
        let before = status_kb("self", "VmRSS");
        let t = Instant::now();
        let p = plan(&input);
        let secs = t.elapsed().as_secs_f64();
        let after = status_kb("self", "VmHWM");
        if let (true, Some(b), Some(a)) = (resettable, before, after) {
            let d = kb_to_mb(a.saturating_sub(b));
            peak_delta_mb = Some(peak_delta_mb.map_or(d, |m: f64| m.max(d)));
        }
        decisions = p.decisions.len();
        drop(p);
        times.push(secs);
        best = best.min(secs);
    }
    eprintln!(
        "planner: {n:>9} entries: best {best:.3} s of {} (input built in {build:.1} s)",
        times.len()
    );
    json!({
        "entries": n,
        "sources": rows.0,
        "targets": rows.1,
        "links": rows.2,
        "decisions": decisions,
        "seconds": best,
        "runs_seconds": times,
        "peak_memory_delta_mb": peak_delta_mb,
        "input_build_seconds": build,
    })
}

/// 10k, 100k and 1M entries: best of 5, 5 and 3 runs (each once when `quick`).
pub fn run(quick: bool) -> Value {
    let sizes: [(usize, usize); 3] = if quick {
        [(10_000, 1), (100_000, 1), (1_000_000, 1)]
    } else {
        [(10_000, 5), (100_000, 5), (1_000_000, 3)]
    };
    let runs: Vec<Value> = sizes.iter().map(|(n, r)| one_size(*n, *r)).collect();
    let largest = runs.last().cloned().unwrap_or(Value::Null);
    json!({
        "entries": largest["entries"],
        "seconds": largest["seconds"],
        "peak_memory_delta_mb": largest["peak_memory_delta_mb"],
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "sizes": runs,
    })
}
