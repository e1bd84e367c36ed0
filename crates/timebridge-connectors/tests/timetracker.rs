//! The TimeTracker connector against the TimeTracker simulator: paging, the instance's
//! zone across DST changes, running entries, creates that stay one entry after a lost
//! answer, every error mapping, deletions inside the window and linked keys outside it,
//! webhooks, catalogs and project mirroring.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use timebridge_connectors::http::RetryPolicy;
use timebridge_connectors::timetracker::webhook::TimetrackerWebhook;
use timebridge_connectors::timetracker::{NO_TASK, TASK_NAME_PREFIX, TimetrackerConnector};
use timebridge_connectors::{
    Connector, ConnectorConfig, ConnectorContext, ConnectorError, ErrorClass, Marker,
    SourceConnector, SourceQuery, SourceScope, TargetConnector, WebhookProtocol, registry,
};
use timebridge_core::entry::{Entry, NamedRef, UserRef, Window};
use timebridge_sim::timetracker::{NewEntry, NewUser, RateLimit, Role};
use timebridge_sim::{Fault, Seed, SimOptions, TimetrackerSim};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn naive(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
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

async fn sim(seed: Seed) -> TimetrackerSim {
    TimetrackerSim::start(SimOptions::with_seed(seed))
        .await
        .unwrap()
}

fn connector_with(url: &str, token: &str, settings: Value, waits: &Waits) -> TimetrackerConnector {
    let kind = registry::find("timetracker").unwrap();
    let settings = registry::normalize_settings(&kind, &settings).unwrap();
    TimetrackerConnector::new(
        ConnectorConfig {
            id: 1,
            name: "timetracker-test".into(),
            base_url: url.into(),
            api_token: SecretString::from(token.to_owned()),
            settings,
            secrets: BTreeMap::new(),
        },
        &waits.context(),
    )
    .unwrap()
}

fn connector(sim: &TimetrackerSim) -> TimetrackerConnector {
    connector_with(&sim.url, &sim.token, json!({}), &Waits::default())
}

fn query(window: Window, linked_keys: Vec<String>) -> SourceQuery {
    SourceQuery {
        window,
        tickets: None,
        linked_tickets: Vec::new(),
        linked_keys,
        memory: None,
    }
}

/// A desired target entry of `user` on `project` (no task unless given).
fn desired(user: u64, project: u64, begin: &str, end: &str) -> Entry {
    let (b, e) = (utc(begin), utc(end));
    Entry {
        system: "timetracker".into(),
        key: "1".into(),
        ticket: None,
        customer: None,
        project: Some(NamedRef {
            key: project.to_string(),
            name: None,
        }),
        activity: Some(NamedRef {
            key: NO_TASK.into(),
            name: None,
        }),
        user: Some(UserRef {
            key: user.to_string(),
            email: None,
            name: None,
        }),
        begin: b,
        end: Some(e),
        duration_seconds: Some((e - b).num_seconds()),
        description: "#31001 Printer".into(),
        billable: Some(true),
        tags: vec!["zammad".into()],
        running: false,
    }
}

/// The source role's read.
async fn src(
    c: &TimetrackerConnector,
    q: SourceQuery,
) -> Result<timebridge_connectors::SourceBatch, ConnectorError> {
    SourceConnector::fetch(c, &q).await
}

fn marker(key: &str) -> Marker {
    Marker::new("zammad", key).unwrap()
}

/// An empty instance with one agent (user 2) and one project (1) under client 1.
async fn empty_with_agent() -> TimetrackerSim {
    let sim = sim(Seed::Empty).await;
    sim.add_user(NewUser {
        username: "anna".into(),
        email: Some("anna@example.com".into()),
        full_name: Some("Anna Becker".into()),
        role: Role::User,
    });
    let client = sim.add_client("Acme");
    sim.add_project("Support", Some(client.id), true, Some(80.0));
    sim
}

// ---------------------------------------------------------------------------------------
// Reading

#[tokio::test]
async fn a_window_is_read_completely_in_pages_of_a_hundred() {
    let sim = sim(Seed::Small).await;
    let c = connector(&sim);
    let batch = src(&c, query(march(), Vec::new())).await.unwrap();
    let tz = sim.timezone();
    let expected: HashSet<String> = sim
        .entries()
        .iter()
        .filter(|e| {
            let begin = e.start.and_local_timezone(tz).earliest().unwrap();
            march().contains(begin.with_timezone(&Utc))
        })
        .map(|e| e.id.to_string())
        .collect();
    let got: HashSet<String> = batch.entries.iter().map(|e| e.key.clone()).collect();
    assert!(expected.len() > 200, "{}", expected.len());
    assert_eq!(got, expected);
    assert_eq!(batch.entries.len(), expected.len(), "each entry once");
    assert_eq!(batch.scope, SourceScope::Everything);
    let pages = sim.log().count("GET /api/v1/time-entries");
    assert_eq!(pages, sim.entry_count().div_ceil(100).max(1));
    // Users are matched by e-mail; names come from the master data read once.
    let e = &batch.entries[0];
    assert!(e.user.as_ref().unwrap().email.is_some());
    assert!(e.project.as_ref().unwrap().name.is_some());
    assert!(e.activity.as_ref().unwrap().name.is_some());
    assert_eq!(sim.log().count("GET /api/v1/users"), 1);
    assert_eq!(sim.log().count("GET /api/v1/info"), 1);
}

#[tokio::test]
async fn naive_times_are_read_in_the_instance_zone_across_the_dst_change() {
    let sim = empty_with_agent().await;
    // 01:30 → 03:30 Berlin on 29 March 2026 spans the skipped hour: one real hour.
    let e = sim
        .insert_entry(NewEntry::new(
            2,
            1,
            naive("2026-03-29T01:30:00"),
            naive("2026-03-29T03:30:00"),
        ))
        .unwrap();
    let c = connector(&sim);
    let batch = src(&c, query(march(), Vec::new())).await.unwrap();
    let got = batch
        .entries
        .iter()
        .find(|x| x.key == e.id.to_string())
        .unwrap();
    assert_eq!(got.begin, utc("2026-03-29T00:30:00Z"));
    assert_eq!(got.end, Some(utc("2026-03-29T01:30:00Z")));
    assert_eq!(got.duration_seconds, Some(3600));
    assert_eq!(
        got.user.as_ref().unwrap().email.as_deref(),
        Some("anna@example.com")
    );
}

#[tokio::test]
async fn the_same_wall_time_means_another_instant_in_another_instance_zone() {
    let sim = empty_with_agent().await;
    sim.set_timezone(chrono_tz::America::New_York);
    sim.insert_entry(NewEntry::new(
        2,
        1,
        naive("2026-03-10T09:00:00"),
        naive("2026-03-10T10:00:00"),
    ))
    .unwrap();
    let batch = src(&connector(&sim), query(march(), Vec::new()))
        .await
        .unwrap();
    assert_eq!(batch.entries[0].begin, utc("2026-03-10T13:00:00Z"));
    // The `timezone` setting overrides what /api/v1/info says.
    let c = connector_with(
        &sim.url,
        &sim.token,
        json!({"timezone": "UTC"}),
        &Waits::default(),
    );
    let batch = src(&c, query(march(), Vec::new())).await.unwrap();
    assert_eq!(batch.entries[0].begin, utc("2026-03-10T09:00:00Z"));
}

#[tokio::test]
async fn running_entries_are_read_as_running() {
    let sim = empty_with_agent().await;
    let mut new = NewEntry::new(
        2,
        1,
        naive("2026-03-31T08:00:00"),
        naive("2026-03-31T09:00:00"),
    );
    new.end = None;
    let running = sim.insert_entry(new).unwrap();
    let batch = src(&connector(&sim), query(march(), Vec::new()))
        .await
        .unwrap();
    let got = batch
        .entries
        .iter()
        .find(|e| e.key == running.id.to_string())
        .expect("the running entry is listed (include_active=true)");
    assert!(got.running);
    assert_eq!(got.end, None);
    assert_eq!(got.duration_seconds, None);
    assert!(
        sim.log()
            .entries()
            .iter()
            .any(|r| r.path.contains("include_active=true"))
    );
}

#[tokio::test]
async fn deletions_show_in_the_window_and_linked_keys_outside_it_stay_known() {
    let sim = empty_with_agent().await;
    let inside = sim
        .insert_entry(NewEntry::new(
            2,
            1,
            naive("2026-03-10T09:00:00"),
            naive("2026-03-10T10:00:00"),
        ))
        .unwrap();
    let gone = sim
        .insert_entry(NewEntry::new(
            2,
            1,
            naive("2026-03-11T09:00:00"),
            naive("2026-03-11T10:00:00"),
        ))
        .unwrap();
    let outside = sim
        .insert_entry(NewEntry::new(
            2,
            1,
            naive("2026-01-05T09:00:00"),
            naive("2026-01-05T10:00:00"),
        ))
        .unwrap();
    let old_gone = sim
        .insert_entry(NewEntry::new(
            2,
            1,
            naive("2026-01-06T09:00:00"),
            naive("2026-01-06T10:00:00"),
        ))
        .unwrap();
    sim.delete_entry(gone.id).unwrap();
    sim.delete_entry(old_gone.id).unwrap();
    let linked: Vec<String> = [inside.id, gone.id, outside.id, old_gone.id]
        .iter()
        .map(u64::to_string)
        .collect();
    let batch = src(&connector(&sim), query(march(), linked)).await.unwrap();
    let keys: Vec<&str> = batch.entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, vec![inside.id.to_string().as_str()]);
    assert!(batch.known_keys.contains(&outside.id.to_string()));
    assert!(!batch.known_keys.contains(&old_gone.id.to_string()));
    assert!(!batch.known_keys.contains(&gone.id.to_string()));
    // Only the linked keys the read did not cover were looked up (the deleted ones too).
    assert_eq!(sim.log().count("GET /api/v1/time-entries/{id}"), 3);
}

// ---------------------------------------------------------------------------------------
// Writing

#[tokio::test]
async fn a_create_is_one_request_with_naive_local_times_and_the_marker() {
    let sim = empty_with_agent().await;
    let c = connector(&sim);
    // A run reads the target's window first (and the instance's zone with it).
    TargetConnector::fetch(&c, &march(), "zammad")
        .await
        .unwrap();
    sim.log().clear();
    let d = desired(2, 1, "2026-03-10T08:00:00Z", "2026-03-10T09:30:00Z");
    let item = c.create(&marker("7"), &d).await.unwrap();
    assert_eq!(sim.log().len(), 1, "{:?}", sim.log().counts_by_route());
    let stored = sim.entry(item.target_id.parse().unwrap()).unwrap();
    assert_eq!(stored.start, naive("2026-03-10T09:00:00"));
    assert_eq!(stored.end, Some(naive("2026-03-10T10:30:00")));
    assert_eq!(stored.user_id, 2);
    assert_eq!(
        stored.notes.as_deref(),
        Some("#31001 Printer [tb-zammad-7]")
    );
    assert_eq!(item.link_key.as_deref(), Some("7"));
    assert_eq!(item.entry.description, "#31001 Printer");
    assert_eq!(item.entry.begin, d.begin);
    assert_eq!(item.entry.duration_seconds, Some(5400));
    // What the target read gives back is what was written.
    let read = TargetConnector::fetch(&c, &march(), "zammad")
        .await
        .unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].entry, item.entry);
}

#[tokio::test]
async fn a_create_with_a_task_sets_it_with_a_second_request() {
    let sim = empty_with_agent().await;
    let task = sim.add_task(1, "Remote support").unwrap();
    let c = connector(&sim);
    let mut d = desired(2, 1, "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z");
    d.activity = Some(NamedRef {
        key: task.id.to_string(),
        name: None,
    });
    let item = c.create(&marker("8"), &d).await.unwrap();
    assert_eq!(
        sim.entry(item.target_id.parse().unwrap()).unwrap().task_id,
        Some(task.id)
    );
    assert_eq!(item.entry.activity.unwrap().key, task.id.to_string());
    assert_eq!(sim.log().count("POST /api/v1/time-entries"), 1);
    assert_eq!(sim.log().count("PATCH /api/v1/time-entries/{id}"), 1);
}

#[tokio::test]
async fn a_task_named_by_name_is_the_one_of_the_entrys_own_project() {
    let sim = empty_with_agent().await;
    let other = sim.add_project("Other", Some(1), true, None);
    let here = sim.add_task(1, "On-site").unwrap();
    let there = sim.add_task(other.id, "On-site").unwrap();
    let c = connector(&sim);
    let mut d = desired(2, 1, "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z");
    d.activity = Some(NamedRef {
        key: format!("{TASK_NAME_PREFIX}on-site"),
        name: None,
    });
    let item = c.create(&marker("11"), &d).await.unwrap();
    assert_eq!(item.entry.activity.unwrap().key, here.id.to_string());
    d.project = Some(NamedRef {
        key: other.id.to_string(),
        name: None,
    });
    let moved = c.update(&item.target_id, &marker("11"), &d).await.unwrap();
    assert_eq!(moved.entry.activity.unwrap().key, there.id.to_string());
    // A project without a task of that name refuses it, and nothing is written.
    let empty = sim.add_project("Empty", Some(1), true, None);
    d.project = Some(NamedRef {
        key: empty.id.to_string(),
        name: None,
    });
    d.begin = utc("2026-03-11T08:00:00Z");
    d.end = Some(utc("2026-03-11T09:00:00Z"));
    let e = c.create(&marker("12"), &d).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Rejected, "{e}");
    assert_eq!(sim.entry_count(), 1);
    // The task catalog offers the name once, next to each project's task by id.
    let tasks = c.catalog("tasks").await.unwrap();
    let by_name: Vec<_> = tasks
        .iter()
        .filter(|t| t.key.starts_with(TASK_NAME_PREFIX))
        .collect();
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].key, "name:On-site");
    assert!(
        tasks
            .iter()
            .any(|t| t.key == here.id.to_string() && t.label == "Support / On-site")
    );
}

#[tokio::test]
async fn a_repeated_create_after_a_lost_answer_returns_the_first_entry() {
    let sim = empty_with_agent().await;
    let waits = Waits::default();
    let c = connector_with(&sim.url, &sim.token, json!({}), &waits);
    sim.faults()
        .fail_next("POST /api/v1/time-entries", 1, Fault::DropAfterHandling);
    let d = desired(2, 1, "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z");
    let item = c.create(&marker("9"), &d).await.unwrap();
    assert_eq!(
        sim.entry_count(),
        1,
        "the repeat was answered with the first entry"
    );
    assert_eq!(sim.log().count("POST /api/v1/time-entries"), 2);
    assert_eq!(item.target_id, sim.entries()[0].id.to_string());
    // find_marked finds it by the marker in the notes.
    let found = c.find_marked(&marker("9"), &d).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].target_id, item.target_id);
}

#[tokio::test]
async fn a_create_after_the_entry_was_deleted_writes_a_new_one() {
    // TimeTracker keeps an answer for 24 h and replays it even for a deleted entry: a key
    // made from the marker alone would answer the deleted entry again.
    let sim = empty_with_agent().await;
    let c = connector(&sim);
    let d = desired(2, 1, "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z");
    let first = c.create(&marker("10"), &d).await.unwrap();
    c.delete(&first.target_id).await.unwrap();
    let second = c.create(&marker("10"), &d).await.unwrap();
    assert_ne!(first.target_id, second.target_id);
    assert_eq!(sim.entry_count(), 1);
}

#[tokio::test]
async fn an_overlap_is_a_rejection_that_keeps_the_servers_message() {
    let sim = empty_with_agent().await;
    let c = connector(&sim);
    c.create(
        &marker("1"),
        &desired(2, 1, "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z"),
    )
    .await
    .unwrap();
    let e = c
        .create(
            &marker("2"),
            &desired(2, 1, "2026-03-10T08:30:00Z", "2026-03-10T09:30:00Z"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Rejected);
    assert!(e.is_entry_level());
    assert!(!e.outcome_unknown());
    assert!(
        e.to_string()
            .contains("This time overlaps with an existing entry"),
        "{e}"
    );
    assert_eq!(sim.entry_count(), 1);
}

#[tokio::test]
async fn a_missing_entry_is_not_found_on_update_and_already_deleted_on_delete() {
    let sim = empty_with_agent().await;
    let c = connector(&sim);
    let d = desired(2, 1, "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z");
    let e = c.update("999", &marker("1"), &d).await.unwrap_err();
    assert!(matches!(e, ConnectorError::NotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("Time entry not found"), "{e}");
    c.delete("999").await.unwrap();
    assert_eq!(
        c.fetch_by_ids(&["999".into()], "zammad")
            .await
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn an_update_overwrites_times_notes_tags_and_billable() {
    let sim = empty_with_agent().await;
    let c = connector(&sim);
    let d = desired(2, 1, "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z");
    let item = c.create(&marker("3"), &d).await.unwrap();
    let mut d2 = desired(2, 1, "2026-03-10T08:00:00Z", "2026-03-10T10:00:00Z");
    d2.tags = Vec::new();
    d2.billable = Some(false);
    d2.description = "changed".into();
    let updated = c.update(&item.target_id, &marker("3"), &d2).await.unwrap();
    assert_eq!(updated.entry.duration_seconds, Some(7200));
    assert!(updated.entry.tags.is_empty());
    assert_eq!(updated.entry.billable, Some(false));
    assert_eq!(updated.entry.description, "changed");
    assert_eq!(updated.link_key.as_deref(), Some("3"));
}

#[tokio::test]
async fn the_second_pass_of_a_repeated_hour_is_refused_before_anything_is_sent() {
    let sim = empty_with_agent().await;
    let c = connector(&sim);
    TargetConnector::fetch(&c, &march(), "zammad")
        .await
        .unwrap();
    sim.log().clear();
    // 2026-10-25 02:30 Berlin happens twice; 01:30 UTC is the second time.
    let d = desired(2, 1, "2026-10-25T01:30:00Z", "2026-10-25T02:30:00Z");
    let e = c.create(&marker("4"), &d).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Unrepresentable, "{e}");
    assert_eq!(sim.log().len(), 0);
    // The first pass is written exactly.
    let d = desired(2, 1, "2026-10-25T00:00:00Z", "2026-10-25T00:45:00Z");
    let item = c.create(&marker("5"), &d).await.unwrap();
    assert_eq!(item.entry.begin, d.begin);
}

#[tokio::test]
async fn a_closed_period_is_locked_and_a_requirement_is_a_rejection() {
    let sim = empty_with_agent().await;
    let c = connector(&sim);
    sim.set_closed_period(Some((
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(),
    )));
    let d = desired(2, 1, "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z");
    let e = c.create(&marker("1"), &d).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Locked, "{e}");
    assert!(e.to_string().contains("Timesheet period is closed"), "{e}");
    sim.set_closed_period(None);
    sim.set_requirements(timebridge_sim::timetracker::Requirements {
        require_task: true,
        ..Default::default()
    });
    let e = c.create(&marker("1"), &d).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Rejected, "{e}");
    assert!(e.to_string().contains("A task must be selected"), "{e}");
}

#[tokio::test]
async fn a_missing_scope_is_forbidden_and_names_the_scope() {
    let sim = empty_with_agent().await;
    sim.add_token(
        "tt_readonly_token_0000000000000000",
        1,
        &["read:time_entries"],
    )
    .unwrap();
    let c = connector_with(
        &sim.url,
        "tt_readonly_token_0000000000000000",
        json!({}),
        &Waits::default(),
    );
    let d = desired(2, 1, "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z");
    let e = c.create(&marker("1"), &d).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Forbidden);
    let text = e.to_string();
    assert!(text.contains("write:time_entries"), "{text}");
    assert!(text.contains("This endpoint requires one of"), "{text}");
    assert!(!e.is_entry_level());
}

#[tokio::test]
async fn an_expired_or_revoked_token_is_unauthorized_with_the_servers_reason() {
    let sim = empty_with_agent().await;
    sim.expire_token(&sim.token, utc("2026-01-01T00:00:00Z"))
        .unwrap();
    let e = src(&connector(&sim), query(march(), Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Unauthorized);
    assert!(e.to_string().contains("Token has expired"), "{e}");
    let report = connector(&sim).test().await;
    assert!(!report.ok);
    assert_eq!(report.details["error_class"], json!("unauthorized"));
    sim.add_token("tt_revoked_token_00000000000000000", 1, &["admin:all"])
        .unwrap();
    sim.revoke_token("tt_revoked_token_00000000000000000")
        .unwrap();
    let c = connector_with(
        &sim.url,
        "tt_revoked_token_00000000000000000",
        json!({}),
        &Waits::default(),
    );
    let e = src(&c, query(march(), Vec::new())).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Unauthorized);
    assert!(e.to_string().contains("Token has been revoked"), "{e}");
}

#[tokio::test]
async fn a_rate_limit_answer_is_waited_out_with_its_retry_after() {
    let sim = empty_with_agent().await;
    let waits = Waits::default();
    let c = connector_with(&sim.url, &sim.token, json!({}), &waits);
    sim.faults().fail_next(
        "GET /api/v1/time-entries",
        1,
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
    );
    src(&c, query(march(), Vec::new())).await.unwrap();
    assert!(waits.recorded().contains(&Duration::from_secs(1)));
}

#[tokio::test]
async fn a_rate_limit_that_persists_ends_as_rate_limited() {
    let sim = empty_with_agent().await;
    // The simulator's clock stands still at the start of a minute: it asks for 60 s.
    sim.set_rate_limit(Some(RateLimit {
        per_minute: 2,
        per_hour: 1000,
    }));
    let waits = Waits::default();
    let mut ctx = waits.context();
    ctx.retry = Some(RetryPolicy {
        max_retry_after: Duration::from_secs(30),
        ..ctx.retry.unwrap()
    });
    let kind = registry::find("timetracker").unwrap();
    let c = TimetrackerConnector::new(
        ConnectorConfig {
            id: 1,
            name: "timetracker-test".into(),
            base_url: sim.url.clone(),
            api_token: SecretString::from(sim.token.clone()),
            settings: registry::normalize_settings(&kind, &json!({})).unwrap(),
            secrets: BTreeMap::new(),
        },
        &ctx,
    )
    .unwrap();
    let e = src(&c, query(march(), Vec::new())).await.unwrap_err();
    assert_eq!(
        e,
        ConnectorError::RateLimited {
            retry_after_secs: 60
        }
    );
    assert_eq!(e.retry_after(), Some(Duration::from_secs(60)));
}

#[tokio::test]
async fn an_unfinished_setup_is_named_by_the_connection_test() {
    let sim = empty_with_agent().await;
    sim.set_setup_required(true);
    let report = connector(&sim).test().await;
    assert!(!report.ok);
    assert!(
        report.message.contains("setup wizard"),
        "{}",
        report.message
    );
    let e = src(&connector(&sim), query(march(), Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Config);
}

#[tokio::test]
async fn the_connection_test_reports_version_zone_and_missing_rights() {
    let sim = empty_with_agent().await;
    let report = connector(&sim).test().await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.details["timezone"], json!("Europe/Berlin"));
    assert_eq!(report.details["app_version"], json!("5.10.0"));
    sim.add_token(
        "tt_narrow_token_000000000000000000",
        1,
        &["read:time_entries", "write:time_entries", "read:projects"],
    )
    .unwrap();
    let c = connector_with(
        &sim.url,
        "tt_narrow_token_000000000000000000",
        json!({}),
        &Waits::default(),
    );
    let report = c.test().await;
    assert!(report.ok, "{report:?}");
    assert!(report.message.contains("admin:all"), "{}", report.message);
}

// ---------------------------------------------------------------------------------------
// Master data, mirroring, webhooks

#[tokio::test]
async fn the_directory_and_catalogs_list_users_projects_tasks_and_clients() {
    let sim = sim(Seed::Tiny).await;
    let c = connector(&sim);
    let dir = c.directory().await.unwrap();
    let projects = dir.active_projects();
    assert_eq!(projects.len(), sim.projects().len());
    for what in ["projects", "tasks", "clients", "users"] {
        let items = c.catalog(what).await.unwrap();
        assert!(!items.is_empty(), "{what}");
    }
    let users = c.catalog("users").await.unwrap();
    assert!(users.iter().any(|u| u.label.contains("@helpdesk.example")));
    let tasks = c.catalog("tasks").await.unwrap();
    assert!(tasks.iter().any(|t| t.key == NO_TASK));
    assert!(c.catalog("nope").await.is_err());
}

#[tokio::test]
async fn a_mirrored_project_is_created_under_the_client() {
    let sim = empty_with_agent().await;
    let c = connector(&sim);
    let creator = c.as_project_creator().unwrap();
    let p = creator.create_project("Mirrored", Some("1")).await.unwrap();
    assert_eq!(p.name, "Mirrored");
    assert!(p.active);
    assert_eq!(
        sim.projects()
            .iter()
            .find(|x| x.name == "Mirrored")
            .unwrap()
            .client_id,
        Some(1)
    );
    let names: Vec<String> = creator
        .projects()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert!(names.contains(&"Mirrored".to_owned()));
    let e = creator.create_project("No client", None).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Config);
}

#[tokio::test]
async fn a_webhook_the_simulator_sends_verifies_with_the_secret() {
    let received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sim = empty_with_agent().await;
    let e = sim
        .insert_entry(NewEntry::new(
            2,
            1,
            naive("2026-03-10T09:00:00"),
            naive("2026-03-10T10:00:00"),
        ))
        .unwrap();
    sim.add_webhook(&format!("http://{addr}/hook"), "s3cret-hook", &["*"]);
    let sent = sim.send_event("time_entry.updated", e.id).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, 200);
    let (headers, body) = received.lock().unwrap()[0].clone();
    TimetrackerWebhook
        .verify(&headers, &body, b"s3cret-hook")
        .unwrap();
    assert!(
        TimetrackerWebhook
            .verify(&headers, &body, b"other")
            .is_err()
    );
    let call = TimetrackerWebhook.parse(&headers, &body).unwrap();
    assert_eq!(call.event.as_deref(), Some("time_entry.updated"));
    assert_eq!(headers["user-agent"], "TimeTracker-Webhook/1.0");
}

#[tokio::test]
async fn a_projects_rate_wins_over_its_clients_default_rate_and_names_the_client() {
    let sim = sim(Seed::Small).await;
    let c = connector(&sim);
    let card = c.rates().await.unwrap().expect("TimeTracker keeps rates");
    let clients = sim.clients();
    let projects = sim.projects();
    assert!(projects.iter().any(|p| p.hourly_rate.is_none()));
    for p in &projects {
        let e = desired(1, p.id, "2026-03-03T08:00:00Z", "2026-03-03T09:00:00Z");
        let client = clients.iter().find(|cl| Some(cl.id) == p.client_id);
        let expected = p
            .hourly_rate
            .filter(|r| *r > 0.0)
            .or(client.and_then(|cl| cl.default_hourly_rate))
            .map(|r| (r * 100.0).round() as i64);
        assert_eq!(
            card.rate_for(&e).map(|r| r.cents),
            expected,
            "project {}",
            p.name
        );
        assert_eq!(
            card.customer_of(&e).map(|c| c.key),
            p.client_id.map(|id| id.to_string()),
            "project {}",
            p.name
        );
    }
}
