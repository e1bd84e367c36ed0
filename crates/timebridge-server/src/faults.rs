//! Crash points for the crash-safety tests: with `TIMEBRIDGE_CRASH_AT=<point>:<n>` in the
//! environment, the process aborts (as if killed) at the n-th passage of `<point>`:
//! `before_write` (intent stored, remote write not sent) or `after_write` (remote write
//! done, link not yet stored); for project mirroring `before_mirror` (mirror intent
//! stored, project not created) and `after_mirror` (project created, intent not settled);
//! for notifications `notify_due` (a notification is due, not yet claimed),
//! `before_notify` (claimed and marked sending, not sent) and `after_notify` (delivered,
//! not yet recorded as sent).
//! Unset — the normal case — these are no-ops. They exist only in builds with the
//! `crash-points` feature, which only test builds enable: a release binary ignores the
//! variable.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The variable that arms a crash point.
pub const CRASH_VAR: &str = "TIMEBRIDGE_CRASH_AT";

fn armed() -> &'static Option<(String, u64)> {
    static ARMED: OnceLock<Option<(String, u64)>> = OnceLock::new();
    ARMED.get_or_init(|| {
        if !cfg!(feature = "crash-points") {
            return None;
        }
        let v = std::env::var(CRASH_VAR).ok()?;
        let (point, n) = v.split_once(':')?;
        Some((point.to_owned(), n.parse().ok()?))
    })
}

fn pass(point: &str, counter: &AtomicU64) {
    if let Some((armed_point, n)) = armed()
        && armed_point == point
        && counter.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        eprintln!("{CRASH_VAR}: aborting at {point} #{n}");
        std::process::abort();
    }
}

/// Passed after the write intent is stored, before the remote write is sent.
pub fn before_remote_write() {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    pass("before_write", &COUNT);
}

/// Passed after the remote write returned, before its link is stored.
pub fn after_remote_write() {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    pass("after_write", &COUNT);
}

/// Passed after a mirror intent is stored, before the project is created in the source.
pub fn before_mirror_create() {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    pass("before_mirror", &COUNT);
}

/// Passed after the source created a mirrored project, before its intent is settled.
pub fn after_mirror_create() {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    pass("after_mirror", &COUNT);
}

/// Passed when notifications are due, before they are claimed.
pub fn notify_due() {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    pass("notify_due", &COUNT);
}

/// Passed after a notification is claimed and marked `sending`, before it is delivered.
pub fn before_notify() {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    pass("before_notify", &COUNT);
}

/// Passed after a notifier delivered, before the delivery is recorded.
pub fn after_notify() {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    pass("after_notify", &COUNT);
}
