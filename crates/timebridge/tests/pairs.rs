//! Every pair of the shared test world end to end, through real `timebridge sync`
//! processes, on SQLite and on PostgreSQL: a first sync killed during its writes and
//! finished by the next, which leaves every entry in the target exactly once (or
//! raised); a re-sync that writes nothing; then a source edit (an update), an edit in the
//! target (a `target_modified` conflict) and a source deletion (a `source_deleted`
//! conflict) in one run; then that run and the first one undone (written back, deleted
//! once each, not written again by the next sync). The scenario only uses the world's drivers, so a connector issue
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

    // Undo that run: its one write (the source edit) is written back, in one request.
    let writes = w.world.target().write_requests();
    let undo = w.queue_undo(&run).await;
    let undone = w.sync_to_completion().await;
    assert_eq!(undone.id, undo.id, "{undone:?}");
    assert_eq!(undone.status, RunStatus::Succeeded, "{undone:?}");
    assert_eq!(undone.stats["restored"], 1, "{undone:?}");
    assert_eq!(w.world.target().write_requests(), writes + 1);

    // Undo the first run (the one killed and finished by the next process): every entry
    // it created is deleted, once, unless it changed since (the entry edited in the
    // target), which is raised instead.
    let created: Vec<String> = w
        .store
        .list_run_items(first.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.outcome == ItemOutcome::Create)
        .filter_map(|i| i.target_id)
        .collect();
    let writes = w.world.target().write_requests();
    let undo = w.queue_undo(&first).await;
    let undone = w.sync_to_completion().await;
    assert_eq!(undone.id, undo.id, "{undone:?}");
    assert_eq!(undone.status, RunStatus::Succeeded, "{undone:?}");
    let items = w.store.list_run_items(undone.id).await.unwrap();
    let deleted: Vec<&str> = items
        .iter()
        .filter(|i| i.outcome == ItemOutcome::Delete)
        .filter_map(|i| i.target_id.as_deref())
        .collect();
    assert_eq!(items.len(), created.len(), "{items:?}");
    assert!(
        items
            .iter()
            .all(|i| matches!(i.outcome, ItemOutcome::Delete | ItemOutcome::Conflict)),
        "{items:?}"
    );
    assert!(
        items
            .iter()
            .any(|i| i.source_key == touched.0 && i.outcome == ItemOutcome::Conflict),
        "the entry edited in the target was taken back: {items:?}"
    );
    assert_eq!(
        w.world.target().write_requests(),
        writes + deleted.len(),
        "each entry deleted once"
    );
    let left: std::collections::HashSet<String> = w
        .world
        .target()
        .records()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(deleted.iter().all(|id| !left.contains(*id)), "{deleted:?}");
    // Nothing synced is left but what the undo raised (the entries the killed attempt of
    // the first run created count as that run's creates too).
    let synced_left: Vec<_> = w
        .world
        .target()
        .records()
        .into_iter()
        .filter(|r| r.identity.is_some())
        .collect();
    let raised = items
        .iter()
        .filter(|i| i.outcome == ItemOutcome::Conflict)
        .count();
    assert_eq!(
        synced_left.len(),
        raised,
        "{synced_left:?} {:?}",
        w.store.list_run_items(first.id).await.unwrap()
    );

    // The next sync writes none of them again.
    let writes = w.world.target().write_requests();
    let after = w.sync_to_completion().await;
    assert_eq!(after.stats["created"], 0, "{after:?}");
    assert_eq!(
        w.world.target().write_requests(),
        writes,
        "undone entries written again"
    );
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
pair!(jibble_to_odoo_attendance, Pair::JibbleOdoo);
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

/// Jibble → Odoo attendance with `include_running`, one `timebridge sync` per polling
/// cycle: a clock-in becomes an open attendance in the next cycle and the clock-out closes
/// that same attendance in the one after; a person whose user mapping says `sync: false`
/// is left out (outcome `skip`, `user excluded`) and gets no attendance.
async fn clock_in_becomes_an_open_attendance(backend: Backend) {
    use chrono::{Duration, Utc};
    use timebridge_sim::jibble::ClockIn;
    use timebridge_store::{MappingInput, MappingKind};

    let w = Proc::start(Pair::JibbleOdoo, Seed::Small, backend).await;
    let jibble = w.world.jibble();
    let odoo = w.world.odoo();
    let month_end: chrono::DateTime<Utc> = "2026-04-01T00:00:00Z".parse().unwrap();
    // People in both systems, with the end of their last punch of the month.
    let mut both: Vec<_> = jibble
        .people()
        .into_iter()
        .filter_map(|p| {
            let employee = odoo.employee_by_email(p.email.as_deref()?)?;
            let last = jibble
                .punches()
                .iter()
                .filter(|x| x.person_id == p.id)
                .map(|x| x.time)
                .max()?;
            Some((p, employee, last))
        })
        .filter(|(_, _, last)| *last + Duration::minutes(30) < month_end)
        .collect();
    assert!(both.len() >= 2, "two people in both systems");
    let (excluded, excluded_employee, _) = both.pop().unwrap();
    let (person, employee, last) = both.remove(0);
    w.store
        .create_mapping(MappingInput {
            pipeline_id: w.pipeline,
            kind: MappingKind::User,
            source_key: excluded.id.clone(),
            source_label: Some(excluded.full_name.clone()),
            target_key: None,
            target_label: None,
            billable: None,
            sync: false,
        })
        .await
        .unwrap();
    // Clocked in half an hour after their last punch, still going.
    let start = last + Duration::minutes(30);
    let clock_in = jibble
        .clock_in(&person.id, start, ClockIn::default())
        .unwrap();
    let check_in = start.naive_utc();
    let attendance = |check_out: Option<chrono::NaiveDateTime>| {
        odoo.attendances()
            .into_iter()
            .filter(|a| a.employee_id == employee.id && a.check_in == check_in)
            .map(|a| a.check_out)
            .collect::<Vec<_>>()
            == vec![check_out]
    };

    let run = w.sync_to_completion().await;
    let items = w.store.list_run_items(run.id).await.unwrap();
    let item = items
        .iter()
        .find(|i| i.source_key == clock_in.id)
        .expect("read");
    assert_eq!(item.outcome, ItemOutcome::Create, "{item:?}");
    assert!(attendance(None), "{:?}", odoo.attendances());
    // The excluded person: every interval skipped, none in Odoo.
    let theirs: Vec<String> = jibble
        .punches()
        .into_iter()
        .filter(|p| p.person_id == excluded.id && p.kind == timebridge_sim::jibble::PunchType::In)
        .filter(|p| p.break_id.is_none())
        .map(|p| p.id)
        .collect();
    let skipped: Vec<_> = items
        .iter()
        .filter(|i| theirs.contains(&i.source_key))
        .collect();
    assert!(!skipped.is_empty());
    for i in &skipped {
        assert_eq!(i.outcome, ItemOutcome::Skip, "{i:?}");
        assert_eq!(i.message.as_deref(), Some("user excluded"), "{i:?}");
    }
    assert!(
        odoo.attendances()
            .iter()
            .all(|a| a.employee_id != excluded_employee.id),
        "an excluded person's attendance was written"
    );

    // Clocked out two hours later: the same attendance is closed, not doubled.
    jibble
        .clock_out(&person.id, start + Duration::hours(2))
        .unwrap();
    let run = w.sync_to_completion().await;
    let items = w.store.list_run_items(run.id).await.unwrap();
    let item = items
        .iter()
        .find(|i| i.source_key == clock_in.id)
        .expect("read");
    assert_eq!(item.outcome, ItemOutcome::Update, "{item:?}");
    assert!(
        attendance(Some(check_in + Duration::hours(2))),
        "{:?}",
        odoo.attendances()
    );
    w.assert_every_entry_answered_once().await;

    w.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jibble_clock_in_is_an_open_attendance_until_the_clock_out_on_sqlite() {
    clock_in_becomes_an_open_attendance(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jibble_clock_in_is_an_open_attendance_until_the_clock_out_on_postgres() {
    clock_in_becomes_an_open_attendance(Backend::Postgres).await;
}

/// Jibble → Odoo attendance through faults on both sides: the token endpoint and Jibble's
/// lists answer 5xx, 429 with and without `Retry-After` and drop answers; Odoo loses the
/// answers of creates that took effect and fails others. The sync still writes every
/// interval exactly once and loses none.
async fn jibble_faults_lose_nothing(backend: Backend) {
    use timebridge_sim::Fault;

    let w = Proc::start(Pair::JibbleOdoo, Seed::Small, backend).await;
    let jibble = w.world.jibble();
    let f = jibble.faults();
    f.fail_next("POST /connect/token", 1, Fault::InternalError);
    f.fail_next(
        "GET /v1/People",
        1,
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
    );
    f.fail_next(
        "GET /v1/TimeEntries",
        1,
        Fault::TooManyRequestsWithoutRetryAfter,
    );
    f.fail_next("GET /v1/TimeEntries", 1, Fault::InternalError);
    f.fail_next("GET /v1/TimeEntries", 1, Fault::DropConnection);
    let o = w.world.odoo().faults();
    o.fail_next(
        "execute_kw hr.attendance.create",
        1,
        Fault::DropAfterHandling,
    );
    o.fail_next("execute_kw hr.attendance.create", 1, Fault::InternalError);
    o.set_rate(
        "execute_kw hr.attendance.create",
        0.05,
        Fault::DropAfterHandling,
    );

    let first = w.sync_to_completion().await;
    assert_eq!(o.pending(), 0, "Odoo's queued faults fired");
    // A run that gave up on a write finishes in the next one.
    o.clear();
    let run = if first.status == RunStatus::Succeeded {
        first
    } else {
        w.sync_to_completion().await
    };
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(jibble.faults().pending(), 0, "every fault fired");
    w.assert_every_entry_answered_once().await;
    // Nothing lost: every interval of the month with an employee is an attendance.
    let again = w.sync_to_completion().await;
    assert_eq!(again.stats["created"], 0, "{again:?}");
    let items = w.store.list_run_items(again.id).await.unwrap();
    let in_sync = items
        .iter()
        .filter(|i| i.outcome == ItemOutcome::InSync)
        .count();
    assert_eq!(in_sync, items.len(), "{again:?}");
    assert_eq!(w.world.odoo().attendances().len(), in_sync);
    w.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jibble_faults_on_both_sides_lose_nothing_and_write_nothing_twice_on_sqlite() {
    jibble_faults_lose_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jibble_faults_on_both_sides_lose_nothing_and_write_nothing_twice_on_postgres() {
    jibble_faults_lose_nothing(Backend::Postgres).await;
}
