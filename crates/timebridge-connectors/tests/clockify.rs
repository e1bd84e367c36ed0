//! The Clockify connector against the Clockify simulator: paging by `Last-Page`, the
//! padded and filtered window (both readings of the bounds), running and locked entries,
//! 400/501 for unknown ids, 429 with and without `Retry-After`, creates for another user in
//! one request, creates whose answer is lost, deletions and linked keys, the webhook
//! token, and project mirroring with its unknown-outcome path.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use timebridge_connectors::clockify::ClockifyConnector;
use timebridge_connectors::http::RetryPolicy;
use timebridge_connectors::{
    Connector, ConnectorConfig, ConnectorContext, ConnectorError, Marker, ProjectCreator,
    SourceConnector, SourceQuery, TargetConnector, WebhookProtocol, registry,
};
use timebridge_core::entry::{Entry, NamedRef, UserRef, Window};
use timebridge_sim::clockify::NewEntry;
use timebridge_sim::{ClockifySim, Fault, Seed, SimOptions};

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

async fn sim(seed: Seed) -> ClockifySim {
    ClockifySim::start(SimOptions::with_seed(seed))
        .await
        .unwrap()
}

fn build(sim: &ClockifySim, token: &str, settings: Value, waits: &Waits) -> ClockifyConnector {
    let kind = registry::find("clockify").unwrap();
    let settings = registry::normalize_settings(&kind, &settings).unwrap();
    let config = ConnectorConfig {
        id: 1,
        name: "clockify-test".into(),
        base_url: sim.api_url(),
        api_token: SecretString::from(token.to_owned()),
        settings,
        secrets: BTreeMap::new(),
    };
    ClockifyConnector::new(config, &waits.context()).unwrap()
}

/// The agency admin's connector on the agency workspace.
fn agency(sim: &ClockifySim) -> ClockifyConnector {
    let settings = json!({"workspace_id": sim.agency_workspace});
    build(sim, &sim.token, settings, &Waits::default())
}

/// The contractor's connector on the contractor workspace.
fn contractor(sim: &ClockifySim) -> ClockifyConnector {
    let settings = json!({"workspace_id": sim.contractor_workspace});
    build(sim, &sim.contractor_token, settings, &Waits::default())
}

fn query(linked_keys: Vec<String>) -> SourceQuery {
    SourceQuery {
        window: march(),
        tickets: None,
        linked_tickets: vec![],
        linked_keys,
        memory: None,
    }
}

fn marker(key: &str) -> Marker {
    Marker::new("zammad", key).unwrap()
}

fn desired(user: &str, project: &str, begin: &str, end: &str) -> Entry {
    let (begin, end) = (utc(begin), utc(end));
    Entry {
        system: "clockify".into(),
        key: "k".into(),
        ticket: None,
        customer: None,
        project: Some(NamedRef {
            key: project.into(),
            name: None,
        }),
        activity: None,
        user: Some(UserRef {
            key: user.into(),
            email: None,
            name: None,
        }),
        begin,
        end: Some(end),
        duration_seconds: Some((end - begin).num_seconds()),
        description: "#31001 Printer on fire".into(),
        billable: Some(true),
        tags: vec![],
        running: false,
    }
}

fn entry(sim: &ClockifySim, ws: &str, user: &str, start: &str, end: Option<&str>) -> String {
    sim.add_entry(NewEntry {
        workspace: ws.into(),
        user: user.into(),
        project: None,
        task: None,
        description: "edge".into(),
        start: utc(start),
        end: end.map(utc),
        billable: false,
    })
    .unwrap()
    .id
}

#[tokio::test]
async fn every_page_is_read_by_the_last_page_header_or_until_an_empty_page() {
    let s = sim(Seed::Small).await;
    let expected = s
        .entries(&s.agency_workspace)
        .iter()
        .filter(|e| march().contains(e.start))
        .count();
    s.set_max_page_size(7);
    let batch = SourceConnector::fetch(&agency(&s), &query(vec![]))
        .await
        .unwrap();
    assert_eq!(batch.entries.len(), expected);
    let route = "GET /api/v1/workspaces/{ws}/user/{uid}/time-entries";
    let users = s.members(&s.agency_workspace).len();
    assert!(s.log().count(route) > users, "one page per user only");
    s.set_last_page_header(false);
    let batch = SourceConnector::fetch(&agency(&s), &query(vec![]))
        .await
        .unwrap();
    assert_eq!(batch.entries.len(), expected);
}

#[tokio::test]
async fn the_window_is_padded_by_a_day_and_filtered_exactly_in_either_reading() {
    for quirk in [false, true] {
        let s = sim(Seed::Empty).await;
        s.set_window_quirk(quirk);
        let (ws, me) = (s.agency_workspace.clone(), s.agency_admin.clone());
        s.set_user_timezone(&me, chrono_tz::America::New_York)
            .unwrap();
        let before = entry(
            &s,
            &ws,
            &me,
            "2026-02-28T23:30:00Z",
            Some("2026-02-28T23:45:00Z"),
        );
        let first = entry(
            &s,
            &ws,
            &me,
            "2026-03-01T00:10:00Z",
            Some("2026-03-01T00:20:00Z"),
        );
        let last = entry(
            &s,
            &ws,
            &me,
            "2026-03-31T23:50:00Z",
            Some("2026-04-01T00:10:00Z"),
        );
        let after = entry(
            &s,
            &ws,
            &me,
            "2026-04-01T00:05:00Z",
            Some("2026-04-01T00:15:00Z"),
        );
        let batch = SourceConnector::fetch(&agency(&s), &query(vec![]))
            .await
            .unwrap();
        let mut keys: Vec<String> = batch.entries.iter().map(|e| e.key.clone()).collect();
        keys.sort();
        let mut want = vec![first, last];
        want.sort();
        assert_eq!(keys, want, "quirk {quirk}");
        assert!(batch.known_keys.contains(&before), "quirk {quirk}");
        assert!(batch.known_keys.contains(&after), "quirk {quirk}");
        let path = &s.log().entries()[s.log().len() - 1].path;
        assert!(path.contains("start=2026-02-28T00%3A00%3A00Z"), "{path}");
        assert!(path.contains("end=2026-04-02T00%3A00%3A00Z"), "{path}");
    }
}

#[tokio::test]
async fn a_running_timer_reads_as_a_running_entry() {
    let s = sim(Seed::Tiny).await;
    let batch = SourceConnector::fetch(&contractor(&s), &query(vec![]))
        .await
        .unwrap();
    let running: Vec<&Entry> = batch.entries.iter().filter(|e| e.running).collect();
    assert_eq!(running.len(), 1);
    assert_eq!((running[0].end, running[0].duration_seconds), (None, None));
    let done = batch.entries.iter().find(|e| !e.running).unwrap();
    assert_eq!(done.activity, None, "no task, no activity");
    assert_eq!(
        done.customer.as_ref().unwrap().name.as_deref(),
        Some("Agency")
    );
    assert_eq!(
        done.user.as_ref().unwrap().email.as_deref(),
        Some("chris@contractor.example")
    );
}

#[tokio::test]
async fn a_locked_entry_is_reported_locked_and_refuses_changes_as_locked() {
    let s = sim(Seed::Tiny).await;
    let e = s.entries(&s.agency_workspace).remove(0);
    s.set_locked(&e.id, true).unwrap();
    let c = agency(&s);
    let items = TargetConnector::fetch(&c, &march(), "zammad")
        .await
        .unwrap();
    let item = items.iter().find(|i| i.target_id == e.id).unwrap();
    assert!(item.locked);
    let want = desired(
        &e.user,
        e.project.as_deref().unwrap(),
        "2026-03-02T08:00:00Z",
        "2026-03-02T09:00:00Z",
    );
    let err = c.update(&e.id, &marker("1"), &want).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Locked { .. }), "{err:?}");
    let err = c.delete(&e.id).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Locked { .. }), "{err:?}");
    assert!(s.entry(&e.id).is_some());
}

fn april() -> Window {
    Window {
        from: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 4, 30).unwrap(),
    }
}

const ENTRY_ROUTE: &str = "GET /api/v1/workspaces/{ws}/time-entries/{id}";
const PUT_ROUTE: &str = "PUT /api/v1/workspaces/{ws}/time-entries/{id}";

#[tokio::test]
async fn an_update_after_a_fetch_sends_one_request() {
    let s = sim(Seed::Tiny).await;
    let (ws, me) = (s.agency_workspace.clone(), s.agency_admin.clone());
    let id = entry(
        &s,
        &ws,
        &me,
        "2026-03-02T08:00:00Z",
        Some("2026-03-02T09:00:00Z"),
    );
    let p = s.projects(&ws).remove(0);
    let c = agency(&s);
    TargetConnector::fetch(&c, &march(), "zammad")
        .await
        .unwrap();
    s.log().clear();
    let want = desired(&me, &p.id, "2026-03-02T08:00:00Z", "2026-03-02T09:30:00Z");
    c.update(&id, &marker("1"), &want).await.unwrap();
    assert_eq!(
        s.log().counts_by_route(),
        BTreeMap::from([(PUT_ROUTE.to_owned(), 1)])
    );
    assert_eq!(s.entry(&id).unwrap().end, want.end);
}

#[tokio::test]
async fn an_update_without_a_fetch_reads_the_entry_first() {
    let s = sim(Seed::Tiny).await;
    let (ws, me) = (s.agency_workspace.clone(), s.agency_admin.clone());
    let id = entry(
        &s,
        &ws,
        &me,
        "2026-03-02T08:00:00Z",
        Some("2026-03-02T09:00:00Z"),
    );
    let p = s.projects(&ws).remove(0);
    let c = agency(&s);
    let want = desired(&me, &p.id, "2026-03-02T08:00:00Z", "2026-03-02T09:30:00Z");
    c.update(&id, &marker("1"), &want).await.unwrap();
    assert_eq!(s.log().count(ENTRY_ROUTE), 1);
    assert_eq!(s.log().count(PUT_ROUTE), 1);
    // What a read saw is used once: a second update reads again.
    TargetConnector::fetch(&c, &march(), "zammad")
        .await
        .unwrap();
    s.log().clear();
    c.update(&id, &marker("1"), &want).await.unwrap();
    c.update(&id, &marker("1"), &want).await.unwrap();
    assert_eq!(s.log().count(ENTRY_ROUTE), 1);
    assert_eq!(s.log().count(PUT_ROUTE), 2);
}

#[tokio::test]
async fn an_update_after_fetch_by_ids_sends_one_request() {
    let s = sim(Seed::Tiny).await;
    let (ws, me) = (s.agency_workspace.clone(), s.agency_admin.clone());
    let id = entry(
        &s,
        &ws,
        &me,
        "2026-01-02T08:00:00Z",
        Some("2026-01-02T09:00:00Z"),
    );
    let p = s.projects(&ws).remove(0);
    let c = agency(&s);
    c.fetch_by_ids(std::slice::from_ref(&id), "zammad")
        .await
        .unwrap();
    s.log().clear();
    let want = desired(&me, &p.id, "2026-01-02T08:00:00Z", "2026-01-02T09:30:00Z");
    c.update(&id, &marker("1"), &want).await.unwrap();
    assert_eq!(
        s.log().counts_by_route(),
        BTreeMap::from([(PUT_ROUTE.to_owned(), 1)])
    );
}

#[tokio::test]
async fn a_locked_entry_seen_by_the_fetch_is_refused_without_a_request() {
    let s = sim(Seed::Tiny).await;
    let (ws, me) = (s.agency_workspace.clone(), s.agency_admin.clone());
    let id = entry(
        &s,
        &ws,
        &me,
        "2026-03-02T08:00:00Z",
        Some("2026-03-02T09:00:00Z"),
    );
    s.set_locked(&id, true).unwrap();
    let p = s.projects(&ws).remove(0);
    let c = agency(&s);
    TargetConnector::fetch(&c, &march(), "zammad")
        .await
        .unwrap();
    s.log().clear();
    let want = desired(&me, &p.id, "2026-03-02T08:00:00Z", "2026-03-02T09:30:00Z");
    let err = c.update(&id, &marker("1"), &want).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Locked { .. }), "{err:?}");
    assert_eq!(s.log().len(), 0, "{:?}", s.log().counts_by_route());
}

#[tokio::test]
async fn an_entry_locked_after_the_fetch_is_still_refused_as_locked() {
    let s = sim(Seed::Tiny).await;
    let (ws, me) = (s.agency_workspace.clone(), s.agency_admin.clone());
    let id = entry(
        &s,
        &ws,
        &me,
        "2026-03-02T08:00:00Z",
        Some("2026-03-02T09:00:00Z"),
    );
    let p = s.projects(&ws).remove(0);
    let c = agency(&s);
    TargetConnector::fetch(&c, &march(), "zammad")
        .await
        .unwrap();
    s.set_locked(&id, true).unwrap();
    let want = desired(&me, &p.id, "2026-03-02T08:00:00Z", "2026-03-02T09:30:00Z");
    let err = c.update(&id, &marker("1"), &want).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Locked { .. }), "{err:?}");
    assert_eq!(s.entry(&id).unwrap().end, Some(utc("2026-03-02T09:00:00Z")));
}

#[tokio::test]
async fn the_memo_of_an_earlier_fetch_is_not_used_after_a_new_fetch() {
    let s = sim(Seed::Tiny).await;
    let (ws, me) = (s.agency_workspace.clone(), s.agency_admin.clone());
    let in_march = entry(
        &s,
        &ws,
        &me,
        "2026-03-02T08:00:00Z",
        Some("2026-03-02T09:00:00Z"),
    );
    let in_april = entry(
        &s,
        &ws,
        &me,
        "2026-04-02T08:00:00Z",
        Some("2026-04-02T09:00:00Z"),
    );
    let p = s.projects(&ws).remove(0);
    let c = agency(&s);
    TargetConnector::fetch(&c, &march(), "zammad")
        .await
        .unwrap();
    // Locked after March was read; the next read (April) does not list it.
    s.set_locked(&in_march, true).unwrap();
    TargetConnector::fetch(&c, &april(), "zammad")
        .await
        .unwrap();
    s.log().clear();
    let april = desired(&me, &p.id, "2026-04-02T08:00:00Z", "2026-04-02T09:30:00Z");
    c.update(&in_april, &marker("2"), &april).await.unwrap();
    assert_eq!(
        s.log().counts_by_route(),
        BTreeMap::from([(PUT_ROUTE.to_owned(), 1)])
    );
    s.log().clear();
    // What the March read saw is gone: the entry is read again and refused as locked
    // before anything is sent.
    let march = desired(&me, &p.id, "2026-03-02T08:00:00Z", "2026-03-02T09:30:00Z");
    let err = c.update(&in_march, &marker("1"), &march).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Locked { .. }), "{err:?}");
    assert_eq!(
        s.log().counts_by_route(),
        BTreeMap::from([(ENTRY_ROUTE.to_owned(), 1)])
    );
}

#[tokio::test]
async fn an_unknown_id_answered_400_501_is_an_absent_entry() {
    let s = sim(Seed::Tiny).await;
    let c = agency(&s);
    let gone = "65a000000000000000000fff".to_owned();
    assert!(
        c.fetch_by_ids(std::slice::from_ref(&gone), "zammad")
            .await
            .unwrap()
            .is_empty()
    );
    c.delete(&gone).await.unwrap();
    let p = s.projects(&s.agency_workspace).remove(0);
    let want = desired(
        &s.agency_admin,
        &p.id,
        "2026-03-02T08:00:00Z",
        "2026-03-02T09:00:00Z",
    );
    let err = c.update(&gone, &marker("1"), &want).await.unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound { .. }), "{err:?}");
    let mut bad = want.clone();
    bad.project = Some(NamedRef {
        key: "64c000000000000000000fff".into(),
        name: None,
    });
    let err = c.create(&marker("2"), &bad).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected { message, .. } if message.contains("Project doesn't belong")),
        "{err:?}"
    );
}

#[tokio::test]
async fn rate_limits_are_retried_after_retry_after_or_a_backoff() {
    let s = sim(Seed::Tiny).await;
    s.faults().fail_next(
        "GET /api/v1/user",
        1,
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
    );
    s.faults().fail_next(
        "GET /api/v1/workspaces/{ws}/users",
        2,
        Fault::TooManyRequestsWithoutRetryAfter,
    );
    let waits = Waits::default();
    let settings = json!({"workspace_id": s.agency_workspace});
    let c = build(&s, &s.token, settings, &waits);
    let dir = c.directory().await.unwrap();
    assert!(dir.active_projects().len() >= 2);
    let recorded = waits.recorded();
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    assert!(recorded.contains(&Duration::from_secs(1)), "{recorded:?}");
    let backoffs: Vec<&Duration> = recorded
        .iter()
        .filter(|d| **d < Duration::from_secs(1))
        .collect();
    assert_eq!(backoffs.len(), 2, "{recorded:?}");
    assert!(backoffs.iter().all(|d| **d <= Duration::from_millis(5)));
}

#[tokio::test]
async fn a_create_is_one_request_for_the_token_user_or_another_member() {
    let s = sim(Seed::Tiny).await;
    let ws = s.agency_workspace.clone();
    let c = agency(&s);
    c.directory().await.unwrap();
    TargetConnector::fetch(&c, &march(), "zammad")
        .await
        .unwrap();
    s.log().clear();
    let p = s.projects(&ws).remove(0);
    let other = desired(
        &s.contractor_at_agency,
        &p.id,
        "2026-03-03T08:00:00Z",
        "2026-03-03T09:30:00Z",
    );
    let made = c.create(&marker("7"), &other).await.unwrap();
    let own = desired(
        &s.agency_admin,
        &p.id,
        "2026-03-04T08:00:00Z",
        "2026-03-04T08:15:00Z",
    );
    c.create(&marker("8"), &own).await.unwrap();
    assert_eq!(
        s.log().counts_by_route(),
        BTreeMap::from([
            ("POST /api/v1/workspaces/{ws}/time-entries".to_owned(), 1),
            (
                "POST /api/v1/workspaces/{ws}/user/{uid}/time-entries".to_owned(),
                1
            ),
        ])
    );
    let stored = s.entry(&made.target_id).unwrap();
    assert_eq!(stored.user, s.contractor_at_agency);
    assert_eq!(stored.description, "#31001 Printer on fire [tb-zammad-7]");
    assert_eq!(made.link_key.as_deref(), Some("7"));
    assert_eq!(made.entry.duration_seconds, Some(5400));
    assert_eq!(made.entry.description, "#31001 Printer on fire");
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_adopted_not_repeated() {
    let s = sim(Seed::Tiny).await;
    let ws = s.agency_workspace.clone();
    let p = s.projects(&ws).remove(0);
    s.faults().fail_next(
        "POST /api/v1/workspaces/{ws}/user/{uid}/time-entries",
        1,
        Fault::DropAfterHandling,
    );
    let c = agency(&s);
    let want = desired(
        &s.contractor_at_agency,
        &p.id,
        "2026-03-05T10:00:00Z",
        "2026-03-05T11:00:00Z",
    );
    let made = c.create(&marker("9"), &want).await.unwrap();
    let marked: Vec<_> = s
        .entries(&ws)
        .into_iter()
        .filter(|e| e.description.contains("[tb-zammad-9]"))
        .collect();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0].id, made.target_id);
    let found = c.find_marked(&marker("9"), &want).await.unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn deletions_inside_the_window_vanish_and_linked_keys_outside_it_stay_known() {
    let s = sim(Seed::Tiny).await;
    let ws = s.contractor_workspace.clone();
    let me = s.contractor.clone();
    let old = entry(
        &s,
        &ws,
        &me,
        "2026-01-15T09:00:00Z",
        Some("2026-01-15T10:00:00Z"),
    );
    let old_gone = entry(
        &s,
        &ws,
        &me,
        "2026-01-16T09:00:00Z",
        Some("2026-01-16T10:00:00Z"),
    );
    s.delete_entry(&old_gone).unwrap();
    let inside = s
        .entries(&ws)
        .into_iter()
        .find(|e| march().contains(e.start))
        .unwrap();
    s.delete_entry(&inside.id).unwrap();
    let linked = vec![old.clone(), old_gone.clone(), inside.id.clone()];
    let batch = SourceConnector::fetch(&contractor(&s), &query(linked))
        .await
        .unwrap();
    assert!(batch.entries.iter().all(|e| e.key != inside.id));
    assert!(batch.known_keys.contains(&old));
    assert!(!batch.known_keys.contains(&old_gone));
    assert!(!batch.known_keys.contains(&inside.id));
    assert_eq!(
        s.log()
            .count("POST /api/v1/workspaces/{ws}/time-entries/batch"),
        1
    );
}

#[tokio::test]
async fn a_webhook_delivery_of_the_simulator_verifies_with_its_token() {
    use axum::http::HeaderMap;
    type Delivery = Option<(HeaderMap, Vec<u8>)>;
    let got: Arc<Mutex<Delivery>> = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                *sink.lock().unwrap() = Some((headers, body.to_vec()));
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let s = sim(Seed::Tiny).await;
    let e = s.entries(&s.contractor_workspace).remove(0);
    let status = s
        .deliver_webhook(&url, "the.webhook.token", "NEW_TIME_ENTRY", &e.id)
        .await
        .unwrap();
    assert_eq!(status, 202);
    let (headers, body) = got.lock().unwrap().clone().unwrap();
    let p = timebridge_connectors::clockify::webhook::ClockifyWebhook;
    p.verify(&headers, &body, b"the.webhook.token").unwrap();
    assert!(p.verify(&headers, &body, b"another.token").is_err());
    let call = p.parse(&headers, &body).unwrap();
    assert_eq!(call.event.as_deref(), Some("NEW_TIME_ENTRY"));
    assert!(!call.acknowledge_only);
}

#[tokio::test]
async fn a_mirrored_project_is_created_under_the_client_and_a_repeat_adopts_it() {
    let s = sim(Seed::Tiny).await;
    let ws = s.contractor_workspace.clone();
    let client = s.clients(&ws).remove(0);
    let c = contractor(&s);
    let made = c
        .create_project("Isar Kliniken", Some(&client.id))
        .await
        .unwrap();
    assert!(made.active);
    let again = c
        .create_project("Isar Kliniken", Some(&client.id))
        .await
        .unwrap();
    assert_eq!(again.key, made.key);
    let named: Vec<_> = s
        .projects(&ws)
        .into_iter()
        .filter(|p| p.name == "Isar Kliniken")
        .collect();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].client.as_deref(), Some(client.id.as_str()));
    let listed = c.projects().await.unwrap();
    assert!(listed.iter().any(|p| p.key == made.key));
}

#[tokio::test]
async fn a_mirrored_create_whose_answer_is_lost_says_its_outcome_is_unknown() {
    let s = sim(Seed::Tiny).await;
    let ws = s.contractor_workspace.clone();
    s.faults().fail_next(
        "POST /api/v1/workspaces/{ws}/projects",
        1,
        Fault::DropAfterHandling,
    );
    let c = contractor(&s);
    let err = c.create_project("Kranich Verlag", None).await.unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
    assert_eq!(
        s.log().count("POST /api/v1/workspaces/{ws}/projects"),
        1,
        "a create is never sent twice by the client"
    );
    let listed = c.projects().await.unwrap();
    assert_eq!(
        listed.iter().filter(|p| p.name == "Kranich Verlag").count(),
        1
    );
    assert!(s.projects(&ws).iter().any(|p| p.name == "Kranich Verlag"));
}

#[tokio::test]
async fn the_test_names_the_workspace_or_says_why_it_fails() {
    let s = sim(Seed::Tiny).await;
    let report = agency(&s).test().await;
    assert!(report.ok, "{report:?}");
    assert!(report.message.contains("Agency"), "{}", report.message);
    let wrong = build(
        &s,
        "not-a-key",
        json!({"workspace_id": s.agency_workspace}),
        &Waits::default(),
    );
    let report = wrong.test().await;
    assert!(!report.ok);
    assert_eq!(report.details["error_class"], json!("unauthorized"));
    let foreign = build(
        &s,
        &s.contractor_token,
        json!({"workspace_id": s.agency_workspace}),
        &Waits::default(),
    );
    let report = foreign.test().await;
    assert!(!report.ok);
    assert!(
        report.message.contains("not a member"),
        "{}",
        report.message
    );
    s.add_addon_token("addon.jwt", &s.agency_admin);
    let addon = build(
        &s,
        "addon.jwt",
        json!({"workspace_id": s.agency_workspace, "auth_header": "X-Addon-Token"}),
        &Waits::default(),
    );
    assert!(addon.test().await.ok);
}

#[tokio::test]
async fn a_task_is_named_and_resolved_within_the_entrys_project() {
    let s = sim(Seed::Tiny).await;
    let ws = s.agency_workspace.clone();
    let c = agency(&s);
    let dir = c.directory().await.unwrap();
    assert_eq!(dir.active_projects().len(), s.projects(&ws).len());
    let (p1, p2) = {
        let mut ps = s.projects(&ws);
        (ps.remove(0), ps.remove(0))
    };
    let mut want = desired(
        &s.agency_admin,
        &p2.id,
        "2026-03-06T08:00:00Z",
        "2026-03-06T09:00:00Z",
    );
    want.activity = Some(NamedRef {
        key: "On-site".into(),
        name: None,
    });
    let made = c.create(&marker("11"), &want).await.unwrap();
    let task = s.entry(&made.target_id).unwrap().task.unwrap();
    let owner = s.tasks(&ws).into_iter().find(|t| t.id == task).unwrap();
    assert_eq!(
        (owner.project.as_str(), owner.name.as_str()),
        (p2.id.as_str(), "On-site")
    );
    assert_eq!(made.entry.activity.as_ref().unwrap().key, "On-site");
    // A project without that task refuses the entry before anything is sent.
    let lone = s.add_project(&ws, "No tasks here", None);
    let c = agency(&s);
    want.project = Some(NamedRef {
        key: lone.id.clone(),
        name: None,
    });
    s.log().clear();
    let err = c.create(&marker("12"), &want).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Rejected { .. }), "{err:?}");
    assert_eq!(s.log().write_count(), 0);
    assert_ne!(p1.id, lone.id);
}

#[tokio::test]
async fn a_member_key_reads_and_writes_its_own_entries_only() {
    let s = sim(Seed::Tiny).await;
    let ws = s.agency_workspace.clone();
    let me = s.contractor_at_agency.clone();
    s.add_api_key("member-key", &me);
    let c = build(
        &s,
        "member-key",
        json!({"workspace_id": ws}),
        &Waits::default(),
    );
    let p = s.projects(&ws).remove(0);
    let own = desired(&me, &p.id, "2026-03-09T08:00:00Z", "2026-03-09T09:00:00Z");
    let made = c.create(&marker("21"), &own).await.unwrap();
    let items = TargetConnector::fetch(&c, &march(), "zammad")
        .await
        .unwrap();
    assert_eq!(
        items
            .iter()
            .map(|i| i.target_id.clone())
            .collect::<Vec<_>>(),
        vec![made.target_id]
    );
    // Another member's entries need the admin right: refused, and said so.
    let other = desired(
        &s.agency_admin,
        &p.id,
        "2026-03-09T10:00:00Z",
        "2026-03-09T11:00:00Z",
    );
    let err = c.create(&marker("22"), &other).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Forbidden { .. }), "{err:?}");
    let err = SourceConnector::fetch(&c, &query(vec![]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("admin"), "{err}");
}

#[tokio::test]
async fn the_rate_card_prices_each_entry_as_clockify_itself_prices_it() {
    let s = sim(Seed::Tiny).await;
    let ws = s.agency_workspace.clone();
    let c = agency(&s);
    let card = c.rates().await.unwrap().expect("Clockify keeps rates");
    let projects = s.projects(&ws);
    assert!(
        projects.iter().any(|p| p.hourly_rate.is_some())
            && projects.iter().any(|p| p.hourly_rate.is_none()),
        "the seed has projects with and without their own rate"
    );
    for (i, p) in projects.iter().enumerate() {
        let begin = format!("2026-03-{:02}T08:00:00Z", i + 2);
        let end = format!("2026-03-{:02}T09:30:00Z", i + 2);
        let e = desired(&s.agency_admin, &p.id, &begin, &end);
        let made = c.create(&marker(&format!("r{i}")), &e).await.unwrap();
        let stored = s.entry(&made.target_id).unwrap();
        let rate = card
            .rate_for(&e)
            .expect("the workspace rate applies to every project");
        assert_eq!(rate.cents, stored.hourly_rate, "project {}", p.name);
        // The agency workspace bills in euros.
        assert_eq!(rate.currency.as_deref(), Some("EUR"), "project {}", p.name);
    }
}
