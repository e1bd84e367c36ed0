//! Memory and process helpers on Linux's `/proc` (the workspace forbids `unsafe`, so no
//! `wait4`/`getrusage`: peak memory is polled from `/proc/<pid>/status`).

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// A field of `/proc/<pid>/status` in kB (e.g. `VmRSS`, `VmHWM`); `None` once the
/// process is gone or a zombie.
pub fn status_kb(pid: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Resident set size of `pid` in MB (MiB).
pub fn rss_mb(pid: u32) -> Option<f64> {
    status_kb(&pid.to_string(), "VmRSS").map(kb_to_mb)
}

pub fn kb_to_mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Resets this process's peak RSS (`VmHWM`) to its current RSS (Linux ≥ 4.0). Returns
/// false when the kernel does not allow it.
pub fn reset_own_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// What [`run_watched`] saw.
#[derive(Debug)]
pub struct Watched {
    pub status: ExitStatus,
    pub wall: Duration,
    /// Highest `VmHWM` seen while polling every 10 ms (the last poll is at most 10 ms
    /// before exit, and `VmHWM` only grows, so this misses at most the last 10 ms).
    pub peak_rss_kb: u64,
}

/// Spawns `cmd`, polls its peak RSS until it exits, and times it. Blocking: call it from
/// `spawn_blocking` when the simulators run on the async runtime.
pub fn run_watched(mut cmd: Command) -> anyhow::Result<Watched> {
    let start = Instant::now();
    let mut child: Child = cmd.spawn()?;
    let pid = child.id().to_string();
    let mut peak = 0u64;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Watched {
                status,
                wall: start.elapsed(),
                peak_rss_kb: peak,
            });
        }
        if let Some(hwm) = status_kb(&pid, "VmHWM") {
            peak = peak.max(hwm);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The machine: logical cores and CPU model from `/proc/cpuinfo`.
pub fn machine() -> (usize, String) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|r| r.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    (cores, model)
}
