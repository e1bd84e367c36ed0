//! The Google Calendar connector against the Google simulator: paging, instances of
//! recurring events, what is left out and counted, offsets to UTC, incremental reads with
//! a sync token (and a full read after 410), quota retries, a rejected access token, a
//! revoked grant, push channels, the connect flow and the calendars catalog.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use secrecy::SecretString;
use serde_json::json;
use timebridge_connectors::google_calendar::{REVOKED_MESSAGE, event_id, webhook::channel_token};
use timebridge_connectors::http::RetryPolicy;
use timebridge_connectors::registry;
use timebridge_connectors::{
    Connector, ConnectorConfig, ConnectorContext, ConnectorError, SourceBatch, SourceQuery,
};
use timebridge_core::entry::Window;
use timebridge_sim::google_calendar::{NewEvent, When};
use timebridge_sim::{Fault, GoogleCalendarSim, Seed, SimOptions};

const EVENTS: &str = "GET /calendar/v3/calendars/{cal}/events";

fn march() -> Window {
    Window {
        from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
    }
}

fn query(window: Window) -> SourceQuery {
    SourceQuery {
        window,
        tickets: None,
        linked_tickets: vec![],
        linked_keys: vec![],
        memory: None,
    }
}

/// Waits recorded by the connector instead of real sleeps.
#[derive(Clone, Default)]
struct Waits(Arc<Mutex<Vec<Duration>>>);

impl Waits {
    fn context(&self, public_url: Option<&str>) -> ConnectorContext {
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
            public_url: public_url.map(str::to_owned),
            ..ConnectorContext::default()
        }
    }
}

async fn sim(seed: Seed) -> GoogleCalendarSim {
    GoogleCalendarSim::start(SimOptions::with_seed(seed))
        .await
        .unwrap()
}

fn config(sim: &GoogleCalendarSim, refresh: Option<String>) -> ConnectorConfig {
    let mut secrets = BTreeMap::new();
    secrets.insert(
        "client_secret".to_owned(),
        SecretString::from(sim.client_secret.clone()),
    );
    if let Some(r) = refresh {
        secrets.insert("refresh_token".to_owned(), SecretString::from(r));
    }
    ConnectorConfig {
        id: 7,
        name: "Google".into(),
        base_url: sim.api_url(),
        api_token: SecretString::from(String::new()),
        settings: json!({"client_id": sim.client_id, "auth_url": sim.auth_url(),
                         "token_url": sim.token_url()}),
        secrets,
    }
}

fn build(
    sim: &GoogleCalendarSim,
    refresh: Option<String>,
    ctx: &ConnectorContext,
) -> Arc<dyn Connector> {
    registry::find("google_calendar")
        .unwrap()
        .build(config(sim, refresh), ctx)
        .unwrap()
}

async fn fetch(c: &Arc<dyn Connector>, window: Window) -> Result<SourceBatch, ConnectorError> {
    c.as_source().unwrap().fetch(&query(window)).await
}

fn summaries(batch: &SourceBatch) -> Vec<&str> {
    batch
        .entries
        .iter()
        .map(|e| e.description.as_str())
        .collect()
}

#[tokio::test]
async fn a_month_is_read_page_by_page_with_each_instance_its_own_entry() {
    let sim = sim(Seed::Small).await;
    sim.set_page_cap(7);
    let ctx = Waits::default().context(None);
    let c = build(&sim, Some(sim.issue_refresh_token()), &ctx);
    let batch = fetch(&c, march()).await.unwrap();

    assert!(
        sim.log().count(EVENTS) >= 5,
        "{:?}",
        sim.log().counts_by_route()
    );
    let requests = sim.log().entries();
    assert!(
        requests
            .iter()
            .filter(|r| r.route == EVENTS)
            .all(|r| r.path.contains("singleEvents=true") && r.path.contains("maxResults=2500")),
        "every page asks for instances and the largest page"
    );
    let standups: Vec<&str> = batch
        .entries
        .iter()
        .filter(|e| e.description == "Daily standup")
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(standups.len(), 5, "{standups:?}");
    // Instance ids are `<series>_<start>`; keys write the `_` as `.` (link markers).
    let series = standups[0].split('.').next().unwrap();
    assert!(
        standups
            .iter()
            .all(|k| k.starts_with(&format!("{series}.")) && !k.contains('_')),
        "{standups:?}"
    );
    let mut distinct = standups.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 5);
    // March 2026 has five Mondays.
    assert_eq!(
        summaries(&batch)
            .iter()
            .filter(|s| **s == "Weekly planning")
            .count(),
        5
    );
    let mut keys: Vec<&str> = batch.entries.iter().map(|e| e.key.as_str()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), batch.entries.len(), "every entry once");
    assert!(batch.entries.iter().all(|e| march().contains(e.begin)));
    let owner = sim.owner_email();
    assert!(
        batch
            .entries
            .iter()
            .all(|e| e.user.as_ref().unwrap().email.as_deref() == Some(owner.as_str()))
    );
}

#[tokio::test]
async fn all_day_cancelled_and_declined_events_are_left_out_and_counted() {
    let sim = sim(Seed::Small).await;
    let ctx = Waits::default().context(None);
    let c = build(&sim, Some(sim.issue_refresh_token()), &ctx);
    let batch = fetch(&c, march()).await.unwrap();
    let s = summaries(&batch);
    for absent in ["Conference", "Dentist", "Board meeting"] {
        assert!(!s.contains(&absent), "{absent} is no entry");
    }
    assert!(
        s.contains(&"Optional training"),
        "a tentative answer is kept"
    );
    let notes = batch.notes.join("\n");
    assert!(notes.contains("left out 5 all-day events"), "{notes}");
    assert!(notes.contains("left out 1 cancelled events"), "{notes}");
    assert!(
        notes.contains("left out 1 events the calendar's owner declined"),
        "{notes}"
    );
}

#[tokio::test]
async fn times_with_offsets_become_utc_and_the_summary_the_description() {
    let sim = sim(Seed::Small).await;
    let ctx = Waits::default().context(None);
    let c = build(&sim, Some(sim.issue_refresh_token()), &ctx);
    let berlin = chrono::FixedOffset::east_opt(3600).unwrap();
    let id = sim.add_event(NewEvent {
        summary: "  Late call with Acme  ".into(),
        start: When::Timed(berlin.with_ymd_and_hms(2026, 3, 7, 23, 30, 0).unwrap()),
        end: When::Timed(berlin.with_ymd_and_hms(2026, 3, 8, 0, 45, 0).unwrap()),
        response: None,
        recurrence: None,
    });
    let batch = fetch(&c, march()).await.unwrap();
    let e = batch.entries.iter().find(|e| e.key == id).unwrap();
    assert_eq!(
        e.begin,
        Utc.with_ymd_and_hms(2026, 3, 7, 22, 30, 0).unwrap()
    );
    assert_eq!(
        e.end,
        Some(Utc.with_ymd_and_hms(2026, 3, 7, 23, 45, 0).unwrap())
    );
    assert_eq!(e.duration_seconds, Some(75 * 60));
    assert_eq!(e.description, "Late call with Acme");
    assert!(e.project.is_none() && e.activity.is_none());
}

#[tokio::test]
async fn an_event_beginning_before_the_window_is_known_not_an_entry() {
    let sim = sim(Seed::Tiny).await;
    let ctx = Waits::default().context(None);
    let c = build(&sim, Some(sim.issue_refresh_token()), &ctx);
    let id = sim.add_event(NewEvent {
        summary: "Night shift".into(),
        start: When::Timed(
            Utc.with_ymd_and_hms(2026, 2, 28, 22, 0, 0)
                .unwrap()
                .fixed_offset(),
        ),
        end: When::Timed(
            Utc.with_ymd_and_hms(2026, 3, 1, 2, 0, 0)
                .unwrap()
                .fixed_offset(),
        ),
        response: None,
        recurrence: None,
    });
    let batch = fetch(&c, march()).await.unwrap();
    assert!(batch.entries.iter().all(|e| e.key != id));
    assert!(batch.known_keys.contains(&id));
}

#[tokio::test]
async fn a_second_read_follows_the_changes_with_the_sync_token_and_matches_a_full_read() {
    let sim = sim(Seed::Small).await;
    let ctx = Waits::default().context(None);
    let refresh = sim.issue_refresh_token();
    let first = fetch(&build(&sim, Some(refresh.clone()), &ctx), march())
        .await
        .unwrap();
    let edited = first.entries[3].key.clone();
    let deleted = first.entries[4].key.clone();
    sim.edit_event(&event_id(&edited), |e| {
        e.summary = "Renamed by a person".into()
    })
    .unwrap();
    sim.delete_event(&event_id(&deleted)).unwrap();
    let added = sim.add_event(NewEvent {
        summary: "New meeting".into(),
        start: When::Timed(
            Utc.with_ymd_and_hms(2026, 3, 14, 12, 0, 0)
                .unwrap()
                .fixed_offset(),
        ),
        end: When::Timed(
            Utc.with_ymd_and_hms(2026, 3, 14, 13, 0, 0)
                .unwrap()
                .fixed_offset(),
        ),
        response: None,
        recurrence: None,
    });
    sim.log().clear();
    // A new instance (one per run), the same process.
    let second = fetch(&build(&sim, Some(refresh.clone()), &ctx), march())
        .await
        .unwrap();
    let reads = sim.log().entries();
    let lists: Vec<_> = reads.iter().filter(|r| r.route == EVENTS).collect();
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert!(lists[0].path.contains("syncToken="), "{}", lists[0].path);
    assert!(!lists[0].path.contains("timeMin"), "{}", lists[0].path);
    assert!(
        second
            .notes
            .iter()
            .any(|n| n.contains("incremental read: 3 changed")),
        "{:?}",
        second.notes
    );

    let full = fetch(
        &build(&sim, Some(refresh), &Waits::default().context(None)),
        march(),
    )
    .await
    .unwrap();
    let sorted = |b: &SourceBatch| {
        let mut v: Vec<(String, String)> = b
            .entries
            .iter()
            .map(|e| (e.key.clone(), e.description.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&second), sorted(&full));
    assert!(sorted(&second).contains(&(edited, "Renamed by a person".into())));
    assert!(second.entries.iter().all(|e| e.key != deleted));
    assert!(second.entries.iter().any(|e| e.key == added));
}

#[tokio::test]
async fn an_expired_sync_token_leads_to_a_full_read() {
    let sim = sim(Seed::Small).await;
    let ctx = Waits::default().context(None);
    let refresh = sim.issue_refresh_token();
    let first = fetch(&build(&sim, Some(refresh.clone()), &ctx), march())
        .await
        .unwrap();
    sim.expire_sync_tokens();
    sim.log().clear();
    let again = fetch(&build(&sim, Some(refresh), &ctx), march())
        .await
        .unwrap();
    let statuses: Vec<u16> = sim
        .log()
        .entries()
        .iter()
        .filter(|r| r.route == EVENTS)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses[0], 410, "{statuses:?}");
    assert!(statuses[1..].iter().all(|s| *s == 200));
    assert!(
        again.notes.iter().any(|n| n.contains("410")),
        "{:?}",
        again.notes
    );
    assert_eq!(again.entries.len(), first.entries.len());
}

#[tokio::test]
async fn quota_errors_and_429_are_retried_with_backoff() {
    let sim = sim(Seed::Tiny).await;
    let waits = Waits::default();
    let ctx = waits.context(None);
    let c = build(&sim, Some(sim.issue_refresh_token()), &ctx);
    sim.faults().fail_next(EVENTS, 2, Fault::QuotaExceeded);
    sim.faults()
        .fail_next(EVENTS, 1, Fault::TooManyRequestsWithoutRetryAfter);
    sim.faults().fail_next(EVENTS, 1, Fault::InternalError);
    let batch = fetch(&c, march()).await.unwrap();
    assert!(!batch.entries.is_empty());
    let statuses: Vec<u16> = sim
        .log()
        .entries()
        .iter()
        .filter(|r| r.route == EVENTS)
        .map(|r| r.status)
        .collect();
    assert_eq!(&statuses[..5], &[403, 403, 429, 500, 200], "{statuses:?}");
    assert_eq!(waits.0.lock().unwrap().len(), 4, "one backoff per retry");
}

#[tokio::test]
async fn quota_errors_that_never_end_fail_the_read_as_rate_limited() {
    let sim = sim(Seed::Tiny).await;
    let ctx = Waits::default().context(None);
    let c = build(&sim, Some(sim.issue_refresh_token()), &ctx);
    sim.faults().fail_next(EVENTS, 50, Fault::QuotaExceeded);
    let e = fetch(&c, march()).await.unwrap_err();
    assert!(matches!(e, ConnectorError::RateLimited { .. }), "{e:?}");
}

#[tokio::test]
async fn a_rejected_access_token_is_replaced_and_the_call_made_once_more() {
    let sim = sim(Seed::Tiny).await;
    let ctx = Waits::default().context(None);
    let refresh = sim.issue_refresh_token();
    fetch(&build(&sim, Some(refresh.clone()), &ctx), march())
        .await
        .unwrap();
    assert_eq!(sim.log().count("POST /token"), 1);
    // The next run reuses the token it holds …
    fetch(&build(&sim, Some(refresh.clone()), &ctx), march())
        .await
        .unwrap();
    assert_eq!(sim.log().count("POST /token"), 1);
    // … until Google ends it early.
    sim.expire_access_tokens();
    fetch(&build(&sim, Some(refresh), &ctx), march())
        .await
        .unwrap();
    assert_eq!(sim.log().count("POST /token"), 2);
}

#[tokio::test]
async fn a_revoked_grant_turns_the_test_red_and_fails_the_read() {
    let sim = sim(Seed::Tiny).await;
    let ctx = Waits::default().context(None);
    let c = build(&sim, Some(sim.issue_refresh_token()), &ctx);
    let ok = c.test().await;
    assert!(ok.ok, "{ok:?}");
    sim.revoke_grants();
    let c = build(&sim, Some(sim.issue_refresh_token()), &ctx);
    sim.revoke_grants();
    let report = c.test().await;
    assert!(!report.ok);
    assert_eq!(report.message, REVOKED_MESSAGE);
    assert_eq!(report.details["error_class"], "unauthorized");
    let e = fetch(&c, march()).await.unwrap_err();
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e:?}");
    assert!(e.to_string().contains("Connect again"), "{e}");
    assert_eq!(
        sim.log().count(EVENTS),
        1,
        "only the healthy test listed events"
    );
}

#[tokio::test]
async fn a_connector_never_connected_says_so() {
    let sim = sim(Seed::Tiny).await;
    let c = build(&sim, None, &Waits::default().context(None));
    let report = c.test().await;
    assert!(!report.ok);
    assert!(report.message.contains("Connect with Google"), "{report:?}");
    assert!(fetch(&c, march()).await.is_err());
    assert_eq!(sim.log().len(), 0);
}

#[tokio::test]
async fn the_connect_flow_exchanges_a_code_once_for_a_refresh_token() {
    let sim = sim(Seed::Tiny).await;
    sim.set_auto_approve(true);
    let c = build(&sim, None, &Waits::default().context(None));
    let oauth = c.as_oauth().unwrap();
    let redirect = "http://tb.example/api/oauth/callback";
    let url = oauth.authorize_url(redirect, "state-1").unwrap();
    assert!(url.contains("access_type=offline") && url.contains("prompt=consent"));
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = no_follow.get(&url).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    let location = reqwest::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let q: BTreeMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "state-1");
    assert!(location.as_str().starts_with(redirect));
    let set = oauth.exchange(&q["code"], redirect).await.unwrap();
    let refresh = set.refresh_token.unwrap();
    let again = oauth.exchange(&q["code"], redirect).await.unwrap_err();
    assert_eq!(
        again.class(),
        timebridge_connectors::ErrorClass::Unauthorized
    );
    let connected = build(
        &sim,
        Some(secrecy::ExposeSecret::expose_secret(&refresh).to_owned()),
        &Waits::default().context(None),
    );
    assert!(connected.test().await.ok);
}

#[tokio::test]
async fn without_auto_approve_the_consent_page_has_an_allow_button() {
    let sim = sim(Seed::Tiny).await;
    let c = build(&sim, None, &Waits::default().context(None));
    let url = c
        .as_oauth()
        .unwrap()
        .authorize_url("http://tb.example/api/oauth/callback", "s")
        .unwrap();
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains(">Allow</button>"), "{page}");
}

#[tokio::test]
async fn the_calendars_catalog_lists_every_calendar_of_the_account() {
    let sim = sim(Seed::Tiny).await;
    let c = build(
        &sim,
        Some(sim.issue_refresh_token()),
        &Waits::default().context(None),
    );
    let items = c.catalog("calendars").await.unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .any(|i| i.key == sim.owner_email() && i.extra["primary"] == true)
    );
}

#[tokio::test]
async fn with_an_https_public_url_a_push_channel_is_opened_and_renewed_before_it_ends() {
    let sim = GoogleCalendarSim::start(SimOptions {
        seed: Seed::Tiny,
        now: Some(Utc::now()),
        running_clock: true,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    sim.set_max_channel_lifetime(chrono::Duration::milliseconds(900));
    let ctx = Waits::default().context(Some("https://tb.example"));
    let refresh = sim.issue_refresh_token();
    fetch(&build(&sim, Some(refresh.clone()), &ctx), march())
        .await
        .unwrap();
    let channels = sim.channels();
    assert_eq!(channels.len(), 1);
    assert_eq!(
        channels[0].address,
        "https://tb.example/api/webhook/google_calendar/7"
    );
    assert_eq!(
        channels[0].token.as_deref(),
        Some(channel_token(refresh.as_bytes()).as_str())
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.channels().len() < 2 {
        assert!(Instant::now() < deadline, "the channel was never renewed");
        tokio::time::sleep(Duration::from_millis(100)).await;
        fetch(&build(&sim, Some(refresh.clone()), &ctx), march())
            .await
            .unwrap();
    }
    let channels = sim.channels();
    assert!(channels[0].stopped, "the replaced channel is stopped");
    assert!(!channels[1].stopped);
}

#[tokio::test]
async fn without_https_no_channel_is_opened_and_the_test_says_polling_only() {
    let sim = sim(Seed::Tiny).await;
    let ctx = Waits::default().context(Some("http://127.0.0.1:8080"));
    let c = build(&sim, Some(sim.issue_refresh_token()), &ctx);
    fetch(&c, march()).await.unwrap();
    assert!(sim.channels().is_empty());
    let report = c.test().await;
    assert!(report.ok);
    assert_eq!(report.details["push_channels"]["enabled"], false);
    assert!(
        report.details["push_channels"]["reason"]
            .as_str()
            .unwrap()
            .contains("polling only")
    );
}

#[tokio::test]
async fn a_deleted_event_is_left_out_whether_google_sends_its_fields_or_not() {
    for minimal in [true, false] {
        let sim = sim(Seed::Small).await;
        sim.set_minimal_cancelled(minimal);
        let ctx = Waits::default().context(None);
        let refresh = sim.issue_refresh_token();
        let first = fetch(&build(&sim, Some(refresh.clone()), &ctx), march())
            .await
            .unwrap();
        let single = first
            .entries
            .iter()
            .find(|e| !e.key.contains('.') && e.description.contains("review"))
            .unwrap()
            .key
            .clone();
        sim.delete_event(&event_id(&single)).unwrap();
        // Incremental (the deletion arrives as a change) and full (showDeleted) alike.
        let incremental = fetch(&build(&sim, Some(refresh.clone()), &ctx), march())
            .await
            .unwrap();
        let full = fetch(
            &build(&sim, Some(refresh), &Waits::default().context(None)),
            march(),
        )
        .await
        .unwrap();
        for batch in [&incremental, &full] {
            assert!(
                batch.entries.iter().all(|e| e.key != single),
                "minimal: {minimal}"
            );
            assert!(!batch.known_keys.contains(&single));
            assert!(
                batch
                    .notes
                    .iter()
                    .any(|n| n.contains("left out 2 cancelled events")),
                "minimal: {minimal}: {:?}",
                batch.notes
            );
        }
    }
}
