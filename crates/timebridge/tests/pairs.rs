//! Every pair of the shared test world end to end, through real `timebridge sync`
//! processes, on SQLite and on PostgreSQL: a first sync killed during its writes and
//! finished by the next, which leaves every entry in the target exactly once (or
//! raised); a re-sync that writes nothing; then a source edit (an update), an edit in the
//! target (a `target_modified` conflict) and a source deletion (a `source_deleted`
//! conflict) in one run. The scenario only uses the world's drivers, so a connector issue
//! adds its pair here with one line.

mod common;

use common::{Proc, lease_expiry};
use timebridge_core::plan::ConflictReason;
use timebridge_sim::Seed;
use timebridge_store::{Backend, ItemOutcome, RunStatus};
use timebridge_world::Pair;

async fn scenario(pair: Pair, backend: Backend) {
    let w = Proc::start(pair, Seed::Small, backend).await;

    // Killed after its third write; the next process recovers and finishes.
    let killed = w.sync(Some("after_write:3"));
    assert!(
        !killed.status.success(),
        "the first sync was not killed: {}",
        String::from_utf8_lossy(&killed.stdout)
    );
    lease_expiry().await;
    let first = w.sync_to_completion().await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    w.assert_every_entry_answered_once().await;

    // Nothing changed: nothing is written.
    let writes = w.world.target().write_requests();
    let again = w.sync_to_completion().await;
    assert_eq!(again.stats["created"], 0, "{again:?}");
    assert_eq!(again.stats["updated"], 0, "{again:?}");
    assert_eq!(w.world.target().write_requests(), writes, "a re-sync wrote");

    // Three synced entries: one edited at the source, one in the target, one deleted.
    let source_keys = w.world.source().keys();
    let mut synced: Vec<(String, String)> = w
        .store
        .load_links(w.pipeline)
        .await
        .unwrap()
        .into_iter()
        .filter(|l| source_keys.contains(&l.source_key))
        .filter_map(|l| Some((l.source_key, l.target_id?)))
        .collect();
    synced.sort();
    assert!(synced.len() >= 3, "too few synced entries: {synced:?}");
    let (edited, touched, deleted) = (&synced[0], &synced[1], &synced[2]);
    w.world.source().edit(&edited.0).unwrap();
    w.world.target().edit(&touched.1).unwrap();
    w.world.source().delete(&deleted.0).unwrap();

    let run = w.sync_to_completion().await;
    let items = w.store.list_run_items(run.id).await.unwrap();
    let outcome = |key: &str| {
        items
            .iter()
            .find(|i| i.source_key == key)
            .map(|i| (i.outcome, i.reason.clone()))
    };
    assert_eq!(
        outcome(&edited.0),
        Some((ItemOutcome::Update, None)),
        "{run:?}"
    );
    assert_eq!(
        outcome(&touched.0).map(|o| o.0),
        Some(ItemOutcome::Conflict),
        "{run:?}"
    );
    assert_eq!(
        outcome(&deleted.0).map(|o| o.0),
        Some(ItemOutcome::Conflict),
        "{run:?}"
    );
    let open = w.open_conflicts().await;
    assert_eq!(
        open.get(&touched.0).map(String::as_str),
        Some(ConflictReason::TargetModified.as_str())
    );
    assert_eq!(
        open.get(&deleted.0).map(String::as_str),
        Some(ConflictReason::SourceDeleted.as_str())
    );
    w.assert_every_entry_answered_once().await;
    w.db.cleanup().await;
}

/// One module per pair, with the scenario on each backend.
macro_rules! pair {
    ($name:ident, $pair:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread")]
            async fn syncs_end_to_end_on_sqlite() {
                scenario($pair, Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn syncs_end_to_end_on_postgres() {
                scenario($pair, Backend::Postgres).await;
            }
        }
    };
}

pair!(zammad_to_kimai, Pair::ZammadKimai);
pair!(zammad_to_odoo_timesheets, Pair::ZammadOdoo);
pair!(zammad_to_timetracker, Pair::ZammadTimetracker);
pair!(timetracker_to_kimai, Pair::TimetrackerKimai);
pair!(timetracker_to_odoo_attendance, Pair::TimetrackerOdoo);
pair!(clockify_to_clockify, Pair::ClockifyClockify);
pair!(zammad_to_clockify, Pair::ZammadClockify);
pair!(clockify_to_kimai, Pair::ClockifyKimai);
pair!(
    google_calendar_to_timetracker,
    Pair::GoogleCalendarTimetracker
);
pair!(google_calendar_to_kimai, Pair::GoogleCalendarKimai);

/// TimeTracker → Odoo attendance with `include_running`: a running timer is written as an
/// open attendance (no check-out), and when it stops the same attendance gets its
/// check-out — an update, never a second attendance.
async fn running_timer_becomes_an_open_attendance(backend: Backend) {
    use chrono::{Duration, NaiveDate};
    use timebridge_sim::timetracker::NewEntry;

    let w = Proc::start(Pair::TimetrackerOdoo, Seed::Small, backend).await;
    let tt = w.world.timetracker();
    let odoo = w.world.odoo();
    // A person who books in TimeTracker and is an Odoo employee.
    let (user, employee) = tt
        .users()
        .into_iter()
        .filter(|u| tt.entries().iter().any(|e| e.user_id == u.id))
        .find_map(|u| {
            let e = odoo.employee_by_email(u.email.as_deref()?)?;
            Some((u, e))
        })
        .expect("a person in both systems");
    // Clocked in on the window's last day, after anything else that person booked.
    let day = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    let start = tt
        .entries()
        .iter()
        .filter(|e| e.user_id == user.id && e.start.date() == day)
        .filter_map(|e| e.end)
        .max()
        .unwrap_or(day.and_hms_opt(8, 0, 0).unwrap())
        + Duration::minutes(30);
    let project = tt.projects()[0].id;
    let mut timer = NewEntry::new(user.id, project, start, start);
    timer.end = None;
    let timer = tt.insert_entry(timer).unwrap();
    let key = timer.id.to_string();
    let check_in = start
        .and_local_timezone(tt.timezone())
        .single()
        .unwrap()
        .naive_utc();
    let open = |check_out: Option<chrono::NaiveDateTime>| {
        odoo.attendances()
            .into_iter()
            .filter(|a| a.employee_id == employee.id && a.check_in == check_in)
            .map(|a| a.check_out)
            .collect::<Vec<_>>()
            == vec![check_out]
    };

    let run = w.sync_to_completion().await;
    let items = w.store.list_run_items(run.id).await.unwrap();
    let item = items.iter().find(|i| i.source_key == key).expect("read");
    assert_eq!(item.outcome, ItemOutcome::Create, "{item:?}");
    assert!(open(None), "{:?}", odoo.attendances());

    // The timer stops two hours later: the attendance is closed, not doubled.
    tt.edit_entry(timer.id, |e| e.end = Some(start + Duration::hours(2)))
        .unwrap();
    let run = w.sync_to_completion().await;
    let items = w.store.list_run_items(run.id).await.unwrap();
    let item = items.iter().find(|i| i.source_key == key).expect("read");
    assert_eq!(item.outcome, ItemOutcome::Update, "{item:?}");
    assert!(
        open(Some(check_in + Duration::hours(2))),
        "{:?}",
        odoo.attendances()
    );
    w.assert_every_entry_answered_once().await;
    w.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_timer_is_an_open_attendance_until_it_stops_on_sqlite() {
    running_timer_becomes_an_open_attendance(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_timer_is_an_open_attendance_until_it_stops_on_postgres() {
    running_timer_becomes_an_open_attendance(Backend::Postgres).await;
}
