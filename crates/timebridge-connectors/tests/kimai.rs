//! The Kimai target connector against the Kimai simulator: paging, time zones across DST
//! changes, tags, markers, locked entries, every error class, retries, and creates that
//! can never turn into two timesheets.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use secrecy::SecretString;
use serde_json::{Value, json};
use timebridge_connectors::http::RetryPolicy;
use timebridge_connectors::kimai::KimaiConnector;
use timebridge_connectors::{Connector, registry};
use timebridge_connectors::{
    ConnectorConfig, ConnectorContext, ConnectorError, ErrorClass, Marker, TargetConnector,
};
use timebridge_core::entry::{Entry, NamedRef, UserRef, Window};
use timebridge_sim::kimai::{NewTimesheet, NewUser, Permissions};
use timebridge_sim::{Fault, KimaiSim, Seed, SimOptions};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn march() -> Window {
    Window {
        from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
    }
}

/// Waits recorded by the connector instead of real sleeps.
#[derive(Clone, Default)]
struct Waits(Arc<Mutex<Vec<Duration>>>);

impl Waits {
    fn context(&self) -> ConnectorContext {
        let log = self.0.clone();
        ConnectorContext {
            sleeper: Arc::new(move |d| {
                log.lock().unwrap().push(d);
                Box::pin(async {})
            }),
            retry: Some(RetryPolicy {
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                ..RetryPolicy::default()
            }),
            ..ConnectorContext::default()
        }
    }

    fn recorded(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

async fn sim(seed: Seed) -> KimaiSim {
    KimaiSim::start(SimOptions::with_seed(seed)).await.unwrap()
}

fn config(url: &str, token: &str, settings: Value) -> ConnectorConfig {
    ConnectorConfig {
        id: 1,
        name: "kimai-test".into(),
        base_url: url.into(),
        api_token: SecretString::from(token.to_owned()),
        settings,
        secrets: BTreeMap::new(),
    }
}

fn connector_with(sim: &KimaiSim, settings: Value, waits: &Waits) -> KimaiConnector {
    let kind = registry::find("kimai").unwrap();
    let settings = registry::normalize_settings(&kind, &settings).unwrap();
    KimaiConnector::new(config(&sim.url, &sim.token, settings), &waits.context()).unwrap()
}

fn connector(sim: &KimaiSim) -> KimaiConnector {
    connector_with(sim, json!({}), &Waits::default())
}

fn marker(key: &str) -> Marker {
    Marker::new("zammad", key).unwrap()
}

/// A desired entry as the mapping would produce it.
fn desired(user: u64, project: u64, activity: u64, begin: &str, end: &str) -> Entry {
    let (begin, end) = (utc(begin), utc(end));
    Entry {
        system: "kimai".into(),
        key: "1".into(),
        ticket: None,
        customer: None,
        project: Some(NamedRef {
            key: project.to_string(),
            name: None,
        }),
        activity: Some(NamedRef {
            key: activity.to_string(),
            name: None,
        }),
        user: Some(UserRef {
            key: user.to_string(),
            email: None,
            name: None,
        }),
        begin,
        end: Some(end),
        duration_seconds: Some((end - begin).num_seconds()),
        description: "#31001 Printer on fire".into(),
        billable: None,
        tags: vec![],
        running: false,
    }
}

/// A global activity of the seeded data.
fn global_activity(sim: &KimaiSim) -> u64 {
    sim.activities()
        .iter()
        .find(|a| a.project.is_none() && a.billable)
        .unwrap()
        .id
}

fn add_user(sim: &KimaiSim, name: &str, tz: Tz) -> u64 {
    sim.add_user(NewUser {
        username: name.into(),
        email: format!("{name}@example.com"),
        timezone: tz,
        permissions: Permissions::user(),
    })
    .id
}

fn insert(sim: &KimaiSim, user: u64, begin: DateTime<Utc>, minutes: i64, desc: &str) -> u64 {
    sim.insert_timesheet(NewTimesheet {
        user,
        project: 1,
        activity: global_activity(sim),
        begin,
        end: Some(begin + chrono::Duration::minutes(minutes)),
        description: Some(desc.into()),
        tags: vec![],
        exported: false,
        billable: None,
    })
    .unwrap()
    .id
}

#[tokio::test]
async fn fetch_reads_every_page_and_lists_each_timesheet_once() {
    let sim = sim(Seed::Tiny).await;
    let start = utc("2026-03-02T08:00:00Z");
    for i in 0..1234 {
        insert(
            &sim,
            1,
            start + chrono::Duration::minutes(20 * i),
            15,
            "work",
        );
    }
    // Outside the window: not listed.
    insert(&sim, 1, utc("2026-04-02T08:00:00Z"), 15, "april");
    // kimai#4881: the second page repeats the last id of the first.
    sim.faults()
        .fail_next("GET /api/timesheets", 1, Fault::RepeatPreviousPageId);
    let k = connector(&sim);
    let items = k.fetch(&march(), "zammad").await.unwrap();
    assert_eq!(items.len(), 1234);
    let mut ids: Vec<&str> = items.iter().map(|i| i.target_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1234);
    let pages = sim
        .log()
        .entries()
        .iter()
        .filter(|r| r.route == "GET /api/timesheets")
        .count();
    assert!(pages >= 3, "read {pages} pages");
}

#[tokio::test]
async fn a_created_entry_reads_back_with_its_marker_and_exact_times() {
    let sim = sim(Seed::Tiny).await;
    let k = connector(&sim);
    let mut want = desired(
        1,
        1,
        global_activity(&sim),
        "2026-03-02T08:45:00Z",
        "2026-03-02T09:00:00Z",
    );
    want.billable = Some(false);
    let created = k.create(&marker("4711"), &want).await.unwrap();
    assert_eq!(created.link_key.as_deref(), Some("4711"));
    assert_eq!(created.entry.begin, want.begin);
    assert_eq!(created.entry.end, want.end);
    assert_eq!(created.entry.duration_seconds, Some(900));
    assert_eq!(created.entry.description, want.description);
    assert_eq!(created.entry.billable, Some(false));
    let stored = sim.timesheet(created.target_id.parse().unwrap()).unwrap();
    assert_eq!(
        stored.description.as_deref(),
        Some("#31001 Printer on fire [tb-zammad-4711]")
    );
    let read = k.fetch(&march(), "zammad").await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].entry.begin, want.begin);
    assert_eq!(read[0].link_key.as_deref(), Some("4711"));
    // A marker of another source system is not this pipeline's link.
    let other = k.fetch(&march(), "clockify").await.unwrap();
    assert_eq!(other[0].link_key, None);
}

#[tokio::test]
async fn a_running_entry_is_written_without_an_end_and_reads_back_running() {
    let sim = sim(Seed::Tiny).await;
    let k = connector(&sim);
    let mut want = desired(
        1,
        1,
        global_activity(&sim),
        "2026-03-02T08:45:00Z",
        "2026-03-02T09:00:00Z",
    );
    want.end = None;
    want.duration_seconds = None;
    want.running = true;
    let created = k.create(&marker("77"), &want).await.unwrap();
    let stored = sim.timesheet(created.target_id.parse().unwrap()).unwrap();
    assert_eq!(stored.end, None, "Kimai keeps it running");
    assert!(created.entry.running);
    assert_eq!(
        (created.entry.end, created.entry.duration_seconds),
        (None, None)
    );
    let read = k.fetch(&march(), "zammad").await.unwrap();
    let item = read
        .iter()
        .find(|t| t.target_id == created.target_id)
        .unwrap();
    assert!(item.entry.running);
    assert_eq!(item.entry.end, None);
    assert_eq!(item.entry.duration_seconds, None);

    // It ended: the update writes the end, and Kimai stops it.
    let mut ended = want.clone();
    ended.end = Some(utc("2026-03-02T09:00:00Z"));
    ended.duration_seconds = Some(900);
    ended.running = false;
    let updated = k
        .update(&created.target_id, &marker("77"), &ended)
        .await
        .unwrap();
    assert!(!updated.entry.running);
    assert_eq!(updated.entry.end, ended.end);
    assert_eq!(updated.entry.duration_seconds, Some(900));
}

#[tokio::test]
async fn create_writes_the_callers_wall_time_across_the_us_dst_change() {
    let sim = sim(Seed::Tiny).await;
    // The API user is in Europe/Berlin; the entry's user in America/New_York. On
    // 8 March 2026 New York jumps from 02:00 EST to 03:00 EDT.
    let ny = add_user(&sim, "nyc", chrono_tz::America::New_York);
    let k = connector(&sim);
    let want = desired(
        ny,
        1,
        global_activity(&sim),
        "2026-03-08T06:30:00Z",
        "2026-03-08T07:30:00Z",
    );
    let created = k.create(&marker("1"), &want).await.unwrap();
    let stored = sim.timesheet(created.target_id.parse().unwrap()).unwrap();
    assert_eq!(stored.begin, want.begin);
    assert_eq!(stored.end, want.end);
    assert_eq!(stored.duration, Some(3600));
    assert_eq!(stored.timezone, chrono_tz::America::New_York);
    // Read back in New York time (the entry's zone) it is still the same instant.
    let read = k.fetch(&march(), "zammad").await.unwrap();
    assert_eq!(read[0].entry.begin, want.begin);
    assert_eq!(read[0].entry.end, want.end);
}

#[tokio::test]
async fn update_writes_the_entrys_wall_time_across_the_european_dst_change() {
    let sim = sim(Seed::Tiny).await;
    let ny = add_user(&sim, "nyc", chrono_tz::America::New_York);
    let k = connector(&sim);
    let act = global_activity(&sim);
    let first = desired(ny, 1, act, "2026-03-27T15:00:00Z", "2026-03-27T16:00:00Z");
    let created = k.create(&marker("7"), &first).await.unwrap();
    // Moved across Berlin's change on 29 March (the caller's zone); the entry is stored in
    // New York time, which PATCH must use.
    let moved = desired(ny, 1, act, "2026-03-30T13:15:00Z", "2026-03-30T14:00:00Z");
    let updated = k
        .update(&created.target_id, &marker("7"), &moved)
        .await
        .unwrap();
    assert_eq!(updated.entry.begin, moved.begin);
    assert_eq!(updated.entry.end, moved.end);
    let stored = sim.timesheet(created.target_id.parse().unwrap()).unwrap();
    assert_eq!(stored.begin, moved.begin);
    assert_eq!(stored.end, moved.end);
    assert_eq!(
        stored.description.as_deref(),
        Some("#31001 Printer on fire [tb-zammad-7]")
    );
}

#[tokio::test]
async fn berlin_entries_on_both_sides_of_the_spring_gap_keep_their_instants() {
    let sim = sim(Seed::Tiny).await;
    let k = connector(&sim);
    let act = global_activity(&sim);
    // 00:30–01:30 UTC on 29 March spans Berlin's 02:00 → 03:00 jump.
    let want = desired(1, 1, act, "2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z");
    let created = k.create(&marker("9"), &want).await.unwrap();
    let stored = sim.timesheet(created.target_id.parse().unwrap()).unwrap();
    assert_eq!(stored.begin, want.begin);
    assert_eq!(stored.end, want.end);
    assert_eq!(stored.duration, Some(3600));
}

#[tokio::test]
async fn an_instant_in_the_repeated_autumn_hour_is_refused_not_shifted() {
    let sim = sim(Seed::Tiny).await;
    let k = connector(&sim);
    // 01:30 UTC on 25 Oct 2026 is the second 02:30 in Berlin: Kimai would read it as the first.
    let want = desired(
        1,
        1,
        global_activity(&sim),
        "2026-10-25T01:00:00Z",
        "2026-10-25T01:30:00Z",
    );
    let err = k.create(&marker("3"), &want).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Unrepresentable, "{err}");
    assert!(err.is_entry_level());
    assert_eq!(sim.timesheet_count(), 0);
    assert_eq!(sim.log().count("POST /api/timesheets"), 0);
}

#[tokio::test]
async fn missing_tags_are_created_before_an_entry_uses_them() {
    let sim = sim(Seed::Tiny).await;
    let k = connector(&sim);
    let mut want = desired(
        1,
        1,
        global_activity(&sim),
        "2026-03-02T08:00:00Z",
        "2026-03-02T08:30:00Z",
    );
    want.tags = vec!["billable".into(), "vip-customer".into()];
    let created = k.create(&marker("5"), &want).await.unwrap();
    assert_eq!(created.entry.tags, vec!["billable", "vip-customer"]);
    let names: Vec<String> = sim.tags().into_iter().map(|t| t.name).collect();
    assert!(names.contains(&"vip-customer".to_owned()), "{names:?}");
    // Known tags are not looked up or created again by the same instance.
    let lookups = sim.log().count("GET /api/tags/find");
    let mut again = want.clone();
    again.begin = utc("2026-03-03T08:00:00Z");
    again.end = Some(utc("2026-03-03T08:30:00Z"));
    k.create(&marker("6"), &again).await.unwrap();
    assert_eq!(sim.log().count("GET /api/tags/find"), lookups);
    assert_eq!(sim.log().count("POST /api/tags"), 2);
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_adopted_and_never_repeated() {
    let sim = sim(Seed::Tiny).await;
    let k = connector(&sim);
    let act = global_activity(&sim);
    // The server writes the timesheet, then the connection drops before the answer.
    sim.faults()
        .fail_next("POST /api/timesheets", 1, Fault::DropAfterHandling);
    let want = desired(1, 1, act, "2026-03-02T08:00:00Z", "2026-03-02T08:30:00Z");
    let created = k.create(&marker("11"), &want).await.unwrap();
    assert_eq!(sim.timesheet_count(), 1);
    assert_eq!(created.link_key.as_deref(), Some("11"));
    assert_eq!(sim.log().count("POST /api/timesheets"), 1);

    // A 500 before anything was written: looked for, not found, sent again once.
    sim.faults()
        .fail_next("POST /api/timesheets", 1, Fault::InternalError);
    let second = desired(1, 1, act, "2026-03-03T08:00:00Z", "2026-03-03T08:30:00Z");
    k.create(&marker("12"), &second).await.unwrap();
    assert_eq!(sim.timesheet_count(), 2);
}

#[tokio::test]
async fn a_create_that_times_out_after_the_write_is_adopted() {
    let sim = sim(Seed::Tiny).await;
    let k = connector_with(&sim, json!({"timeout_seconds": 0.3}), &Waits::default());
    sim.faults().fail_next(
        "POST /api/timesheets",
        1,
        Fault::LateResponse(Duration::from_secs(2)),
    );
    let want = desired(
        1,
        1,
        global_activity(&sim),
        "2026-03-02T08:00:00Z",
        "2026-03-02T08:30:00Z",
    );
    let created = k.create(&marker("21"), &want).await.unwrap();
    assert_eq!(sim.timesheet_count(), 1);
    assert_eq!(created.entry.begin, want.begin);
}

#[tokio::test]
async fn validation_errors_come_back_with_the_field_messages() {
    let sim = sim(Seed::Small).await;
    let k = connector(&sim);
    // Project 2 forbids global activities.
    let want = desired(
        1,
        2,
        global_activity(&sim),
        "2026-03-02T08:00:00Z",
        "2026-03-02T08:30:00Z",
    );
    let err = k.create(&marker("31"), &want).await.unwrap_err();
    let ConnectorError::Rejected { message, fields } = &err else {
        panic!("expected a rejection, got {err:?}")
    };
    assert_eq!(message, "Validation Failed");
    let all: Vec<&String> = fields.values().flatten().collect();
    assert!(
        all.iter()
            .any(|m| m.contains("Global activities are forbidden for the selected project.")),
        "{fields:?}"
    );
    assert!(err.is_entry_level());
    assert_eq!(sim.timesheet_count(), 0);
}

#[tokio::test]
async fn exported_entries_are_locked_for_reads_updates_and_deletes() {
    let sim = sim(Seed::Tiny).await;
    let k = connector(&sim);
    let want = desired(
        1,
        1,
        global_activity(&sim),
        "2026-03-02T08:00:00Z",
        "2026-03-02T08:30:00Z",
    );
    let created = k.create(&marker("41"), &want).await.unwrap();
    let id: u64 = created.target_id.parse().unwrap();
    sim.set_exported(id, true).unwrap();
    let read = k.fetch(&march(), "zammad").await.unwrap();
    assert!(read[0].locked);
    let err = k
        .update(&created.target_id, &marker("41"), &want)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Locked);
    let err = k.delete(&created.target_id).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Locked, "{err}");
    assert_eq!(sim.timesheet_count(), 1);
}

fn april() -> Window {
    Window {
        from: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 4, 30).unwrap(),
    }
}

#[tokio::test]
async fn an_update_after_a_fetch_sends_one_request() {
    let sim = sim(Seed::Tiny).await;
    // Stored in New York time and moved across Berlin's change (the caller's zone): the
    // PATCH must use the zone the listed begin was rendered in.
    let ny = add_user(&sim, "nyc", chrono_tz::America::New_York);
    let id = insert(&sim, ny, utc("2026-03-27T15:00:00Z"), 60, "x [tb-zammad-7]");
    let k = connector(&sim);
    k.fetch(&march(), "zammad").await.unwrap();
    sim.log().clear();
    let moved = desired(
        ny,
        1,
        global_activity(&sim),
        "2026-03-30T13:15:00Z",
        "2026-03-30T14:00:00Z",
    );
    let updated = k
        .update(&id.to_string(), &marker("7"), &moved)
        .await
        .unwrap();
    assert_eq!(
        sim.log().counts_by_route(),
        BTreeMap::from([("PATCH /api/timesheets/{id}".to_owned(), 1)])
    );
    assert_eq!(updated.entry.begin, moved.begin);
    let stored = sim.timesheet(id).unwrap();
    assert_eq!((stored.begin, stored.end), (moved.begin, moved.end));
    assert_eq!(stored.user, ny);
}

#[tokio::test]
async fn an_update_without_a_fetch_reads_the_entry_first() {
    let sim = sim(Seed::Tiny).await;
    let ny = add_user(&sim, "nyc", chrono_tz::America::New_York);
    let id = insert(&sim, ny, utc("2026-03-27T15:00:00Z"), 60, "x [tb-zammad-7]");
    let k = connector(&sim);
    let moved = desired(
        ny,
        1,
        global_activity(&sim),
        "2026-03-30T13:15:00Z",
        "2026-03-30T14:00:00Z",
    );
    k.update(&id.to_string(), &marker("7"), &moved)
        .await
        .unwrap();
    assert_eq!(sim.log().count("GET /api/timesheets/{id}"), 1);
    assert_eq!(sim.log().count("PATCH /api/timesheets/{id}"), 1);
    let stored = sim.timesheet(id).unwrap();
    assert_eq!((stored.begin, stored.end), (moved.begin, moved.end));
    // A second update of the same entry reads it again: what a read saw is used once.
    sim.log().clear();
    k.fetch(&march(), "zammad").await.unwrap();
    k.update(&id.to_string(), &marker("7"), &moved)
        .await
        .unwrap();
    k.update(&id.to_string(), &marker("7"), &moved)
        .await
        .unwrap();
    assert_eq!(sim.log().count("GET /api/timesheets/{id}"), 1);
    assert_eq!(sim.log().count("PATCH /api/timesheets/{id}"), 2);
}

#[tokio::test]
async fn an_update_after_fetch_by_ids_sends_one_request() {
    let sim = sim(Seed::Tiny).await;
    // A linked entry outside the window, read by id as the engine does.
    let id = insert(
        &sim,
        1,
        utc("2026-01-02T08:00:00Z"),
        30,
        "old [tb-zammad-77]",
    );
    let k = connector(&sim);
    k.fetch(&march(), "zammad").await.unwrap();
    k.fetch_by_ids(&[id.to_string()], "zammad").await.unwrap();
    sim.log().clear();
    let want = desired(
        1,
        1,
        global_activity(&sim),
        "2026-01-02T08:00:00Z",
        "2026-01-02T08:45:00Z",
    );
    k.update(&id.to_string(), &marker("77"), &want)
        .await
        .unwrap();
    assert_eq!(
        sim.log().counts_by_route(),
        BTreeMap::from([("PATCH /api/timesheets/{id}".to_owned(), 1)])
    );
    assert_eq!(sim.timesheet(id).unwrap().end, want.end);
}

#[tokio::test]
async fn an_exported_entry_seen_by_the_fetch_is_refused_without_a_request() {
    let sim = sim(Seed::Tiny).await;
    let id = insert(&sim, 1, utc("2026-03-02T08:00:00Z"), 30, "x [tb-zammad-41]");
    sim.set_exported(id, true).unwrap();
    let k = connector(&sim);
    let read = k.fetch(&march(), "zammad").await.unwrap();
    assert!(
        read.iter()
            .any(|t| t.target_id == id.to_string() && t.locked)
    );
    sim.log().clear();
    let want = desired(
        1,
        1,
        global_activity(&sim),
        "2026-03-02T08:00:00Z",
        "2026-03-02T08:45:00Z",
    );
    let err = k
        .update(&id.to_string(), &marker("41"), &want)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Locked, "{err}");
    assert_eq!(sim.log().len(), 0, "{:?}", sim.log().counts_by_route());
}

#[tokio::test]
async fn an_entry_exported_after_the_fetch_is_still_refused_as_locked() {
    let sim = sim(Seed::Tiny).await;
    let id = insert(&sim, 1, utc("2026-03-02T08:00:00Z"), 30, "x [tb-zammad-41]");
    let k = connector(&sim);
    k.fetch(&march(), "zammad").await.unwrap();
    // Exported between the read and the write: the API user may not edit exported
    // entries, so Kimai's 403 on the PATCH is the refusal.
    sim.set_exported(id, true).unwrap();
    let want = desired(
        1,
        1,
        global_activity(&sim),
        "2026-03-02T08:00:00Z",
        "2026-03-02T08:45:00Z",
    );
    let err = k
        .update(&id.to_string(), &marker("41"), &want)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Locked, "{err}");
    assert_eq!(
        sim.timesheet(id).unwrap().end,
        Some(utc("2026-03-02T08:30:00Z"))
    );
}

#[tokio::test]
async fn the_memo_of_an_earlier_fetch_is_not_used_after_a_new_fetch() {
    let sim = sim(Seed::Tiny).await;
    let march_id = insert(&sim, 1, utc("2026-03-02T08:00:00Z"), 30, "x [tb-zammad-1]");
    let april_id = insert(&sim, 1, utc("2026-04-02T08:00:00Z"), 30, "y [tb-zammad-2]");
    let k = connector(&sim);
    let act = global_activity(&sim);
    k.fetch(&march(), "zammad").await.unwrap();
    // Exported after March was read; the next read (April) does not list it.
    sim.set_exported(march_id, true).unwrap();
    k.fetch(&april(), "zammad").await.unwrap();
    sim.log().clear();
    let april = desired(1, 1, act, "2026-04-02T08:00:00Z", "2026-04-02T08:45:00Z");
    k.update(&april_id.to_string(), &marker("2"), &april)
        .await
        .unwrap();
    assert_eq!(
        sim.log().counts_by_route(),
        BTreeMap::from([("PATCH /api/timesheets/{id}".to_owned(), 1)])
    );
    sim.log().clear();
    // What the March read saw is gone: the entry is read again and refused as exported
    // before anything is sent.
    let march = desired(1, 1, act, "2026-03-02T08:00:00Z", "2026-03-02T08:45:00Z");
    let err = k
        .update(&march_id.to_string(), &marker("1"), &march)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Locked, "{err}");
    assert_eq!(
        sim.log().counts_by_route(),
        BTreeMap::from([("GET /api/timesheets/{id}".to_owned(), 1)])
    );
}

#[tokio::test]
async fn deleting_an_entry_that_is_already_gone_counts_as_deleted() {
    let sim = sim(Seed::Tiny).await;
    let k = connector(&sim);
    let id = insert(&sim, 1, utc("2026-03-02T08:00:00Z"), 30, "x");
    k.delete(&id.to_string()).await.unwrap();
    assert_eq!(sim.timesheet_count(), 0);
    k.delete(&id.to_string()).await.unwrap();
}

#[tokio::test]
async fn find_marked_matches_the_exact_marker_only() {
    let sim = sim(Seed::Tiny).await;
    let k = connector(&sim);
    let act = global_activity(&sim);
    k.create(
        &marker("12"),
        &desired(1, 1, act, "2026-03-02T08:00:00Z", "2026-03-02T08:30:00Z"),
    )
    .await
    .unwrap();
    k.create(
        &marker("123"),
        &desired(1, 1, act, "2026-03-03T08:00:00Z", "2026-03-03T08:30:00Z"),
    )
    .await
    .unwrap();
    let any = desired(1, 1, act, "2026-03-02T08:00:00Z", "2026-03-02T08:30:00Z");
    let found = k.find_marked(&marker("12"), &any).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].link_key.as_deref(), Some("12"));
}

#[tokio::test]
async fn fetch_by_ids_skips_ids_that_do_not_exist() {
    let sim = sim(Seed::Tiny).await;
    let k = connector(&sim);
    let id = insert(
        &sim,
        1,
        utc("2026-01-02T08:00:00Z"),
        30,
        "old [tb-zammad-77]",
    );
    let found = k
        .fetch_by_ids(&[id.to_string(), "999999".into()], "zammad")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].link_key.as_deref(), Some("77"));
    assert_eq!(found[0].entry.description, "old");
}

#[tokio::test]
async fn reads_are_retried_after_server_errors_and_honour_retry_after() {
    let sim = sim(Seed::Tiny).await;
    insert(&sim, 1, utc("2026-03-02T08:00:00Z"), 30, "x");
    let waits = Waits::default();
    let k = connector_with(&sim, json!({}), &waits);
    sim.faults().fail_next(
        "GET /api/timesheets",
        1,
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
    );
    sim.faults()
        .fail_next("GET /api/customers", 1, Fault::InternalError);
    sim.faults()
        .fail_next("GET /api/projects", 1, Fault::DropConnection);
    let items = k.fetch(&march(), "zammad").await.unwrap();
    assert_eq!(items.len(), 1);
    let waited = waits.recorded();
    assert!(waited.contains(&Duration::from_secs(7)), "{waited:?}");
    assert_eq!(waited.len(), 3, "{waited:?}");
}

#[tokio::test]
async fn a_retry_after_longer_than_the_policy_allows_ends_the_call_as_rate_limited() {
    let sim = sim(Seed::Tiny).await;
    let waits = Waits::default();
    let k = connector_with(&sim, json!({}), &waits);
    sim.faults().fail_next(
        "GET /api/users/me",
        1,
        Fault::TooManyRequests {
            retry_after_secs: 3600,
        },
    );
    let err = k.directory().await.unwrap_err();
    assert_eq!(
        err,
        ConnectorError::RateLimited {
            retry_after_secs: 3600
        }
    );
    assert!(waits.recorded().is_empty());
}

#[tokio::test]
async fn the_test_reports_version_user_and_zone_with_the_right_token() {
    let sim = sim(Seed::Tiny).await;
    let report = connector(&sim).test().await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.details["version"], "2.66.0");
    assert_eq!(report.details["timezone"], "Europe/Berlin");
    assert!(
        report.message.contains("Europe/Berlin"),
        "{}",
        report.message
    );
}

#[tokio::test]
async fn the_test_says_the_token_was_rejected_when_it_is_wrong() {
    let sim = sim(Seed::Tiny).await;
    let kind = registry::find("kimai").unwrap();
    let settings = registry::normalize_settings(&kind, &json!({})).unwrap();
    let k = KimaiConnector::new(
        config(&sim.url, "wrong-token", settings),
        &Waits::default().context(),
    )
    .unwrap();
    let report = k.test().await;
    assert!(!report.ok);
    assert_eq!(report.details["error_class"], "unauthorized");
    assert!(report.message.contains("rejected"), "{}", report.message);
    assert!(!report.message.contains("wrong-token"));
}

#[tokio::test]
async fn the_test_names_an_unreachable_host_and_a_tls_failure() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let kind = registry::find("kimai").unwrap();
    let settings = registry::normalize_settings(&kind, &json!({})).unwrap();
    let k = KimaiConnector::new(
        config(&format!("http://127.0.0.1:{port}"), "t", settings.clone()),
        &Waits::default().context(),
    )
    .unwrap();
    let report = k.test().await;
    assert!(!report.ok);
    assert_eq!(report.details["error_class"], "unreachable", "{report:?}");

    // HTTPS against a plain HTTP server fails in the handshake.
    let sim = sim(Seed::Tiny).await;
    let https = sim.url.replace("http://", "https://");
    let k = KimaiConnector::new(
        config(&https, &sim.token, settings),
        &Waits::default().context(),
    )
    .unwrap();
    let report = k.test().await;
    assert!(!report.ok);
    assert_eq!(report.details["error_class"], "tls", "{report:?}");
}

#[tokio::test]
async fn the_test_fails_when_the_tracking_mode_forbids_setting_times() {
    let sim = sim(Seed::Tiny).await;
    sim.set_tracking_mode("punch");
    let report = connector(&sim).test().await;
    assert!(!report.ok);
    assert!(report.message.contains("punch"), "{}", report.message);
}

#[tokio::test]
async fn the_test_fails_without_permission_to_read_other_users_timesheets() {
    let sim = sim(Seed::Tiny).await;
    sim.set_permissions(1, Permissions::user()).unwrap();
    let report = connector(&sim).test().await;
    assert!(!report.ok, "{report:?}");
    assert_eq!(report.details["error_class"], "forbidden");
    assert!(
        report.message.contains("view_other_timesheet"),
        "{}",
        report.message
    );
}

#[test]
fn a_bad_ca_certificate_is_a_configuration_error() {
    let kind = registry::find("kimai").unwrap();
    let settings =
        registry::normalize_settings(&kind, &json!({"ca_certificate": "not a certificate"}))
            .unwrap();
    let err = KimaiConnector::new(
        config("https://kimai.example", "t", settings),
        &ConnectorContext::default(),
    )
    .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Config, "{err}");
}

#[tokio::test]
async fn catalogs_list_what_the_mapping_ui_offers() {
    let sim = sim(Seed::Small).await;
    let k = connector(&sim);
    for what in ["activities", "projects", "customers", "users"] {
        let items = k.catalog(what).await.unwrap();
        assert!(!items.is_empty(), "{what}");
    }
    let projects = k.catalog("projects").await.unwrap();
    assert_eq!(projects.len(), sim.projects().len());
    let users = k.catalog("users").await.unwrap();
    assert!(
        users
            .iter()
            .any(|u| u.extra["timezone"] == "America/New_York")
    );
    let err = k.catalog("planets").await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::NotFound);
}

#[tokio::test]
async fn master_data_is_read_once_per_instance() {
    let sim = sim(Seed::Small).await;
    let k = connector(&sim);
    k.directory().await.unwrap();
    k.directory().await.unwrap();
    assert_eq!(sim.log().count("GET /api/users"), 1);
    assert_eq!(sim.log().count("GET /api/projects"), 1);
    assert_eq!(sim.log().count("GET /api/activities"), 1);
    k.fetch(&march(), "zammad").await.unwrap();
    assert_eq!(sim.log().count("GET /api/users/me"), 1);
}

#[tokio::test]
async fn the_user_field_is_sent_only_for_other_users() {
    let sim = sim(Seed::Tiny).await;
    // A plain user's token may not set `user` (it would be an extra field) but may write
    // its own entries.
    let own = add_user(&sim, "solo", chrono_tz::UTC);
    sim.add_token("solo-token", own).unwrap();
    let kind = registry::find("kimai").unwrap();
    let settings = registry::normalize_settings(&kind, &json!({})).unwrap();
    let k = KimaiConnector::new(
        config(&sim.url, "solo-token", settings),
        &Waits::default().context(),
    )
    .unwrap();
    let want = desired(
        own,
        1,
        global_activity(&sim),
        "2026-03-02T08:00:00Z",
        "2026-03-02T08:30:00Z",
    );
    let created = k.create(&marker("51"), &want).await.unwrap();
    assert_eq!(created.entry.user.unwrap().key, own.to_string());
    assert_eq!(created.entry.begin, want.begin);
}

#[tokio::test]
async fn the_rate_card_prices_each_entry_as_kimai_itself_prices_the_timesheet() {
    use timebridge_sim::kimai::RateOwner;
    let sim = sim(Seed::Small).await;
    let agent = sim
        .users()
        .into_iter()
        .find(|u| u.id != timebridge_sim::kimai::API_USER_ID)
        .unwrap()
        .id;
    let other = add_user(&sim, "rita", chrono_tz::Europe::Berlin);
    // A fixed rate for one user on project 3, and a second currency.
    sim.add_rate(RateOwner::Project(3), Some(other), 300.0, true);
    sim.set_customer_currency(3, "CHF").unwrap();
    let c = connector(&sim);
    let card = c.rates().await.unwrap().expect("Kimai keeps rates");
    let globals: Vec<u64> = sim
        .activities()
        .iter()
        .filter(|a| a.project.is_none())
        .map(|a| a.id)
        .collect();
    let mut checked = 0;
    let begin = utc("2026-03-10T09:00:00Z");
    for (i, (project, activity, user)) in [
        (1, globals[0], agent),
        (1, globals[1], agent),
        (1, globals[1], other),
        (3, globals[0], agent),
        (3, globals[0], other),
        (5, globals[0], other),
    ]
    .into_iter()
    .enumerate()
    {
        let at = begin + chrono::Duration::hours(2 * i as i64);
        let mut e = desired(
            user,
            project,
            activity,
            &at.to_rfc3339(),
            &(at + chrono::Duration::minutes(90)).to_rfc3339(),
        );
        e.customer = sim
            .projects()
            .iter()
            .find(|p| p.id == project)
            .map(|p| NamedRef {
                key: p.customer.to_string(),
                name: None,
            });
        let written = c.create(&marker(&format!("r{i}")), &e).await.unwrap();
        let ts = sim.timesheet(written.target_id.parse().unwrap()).unwrap();
        let rate = card.rate_for(&e).expect("every seeded entry has a rate");
        let kimai_cents = (ts.fixed_rate.unwrap_or(ts.hourly_rate) * 100.0).round() as i64;
        assert_eq!(
            rate.cents, kimai_cents,
            "entry {i}: {project}/{activity}/{user}"
        );
        assert_eq!(
            rate.kind == timebridge_core::rates::RateKind::Fixed,
            ts.fixed_rate.is_some(),
            "entry {i}"
        );
        let customer = sim
            .projects()
            .iter()
            .find(|p| p.id == project)
            .unwrap()
            .customer;
        let expected_currency = if customer == 3 { "CHF" } else { "EUR" };
        assert_eq!(
            rate.currency.as_deref(),
            Some(expected_currency),
            "entry {i}"
        );
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[tokio::test]
async fn a_token_that_may_not_see_rates_prices_nothing() {
    let sim = sim(Seed::Small).await;
    let mut perms = Permissions::api();
    perms.view_rate = false;
    sim.set_permissions(timebridge_sim::kimai::API_USER_ID, perms)
        .unwrap();
    assert_eq!(connector(&sim).rates().await.unwrap(), None);
}
