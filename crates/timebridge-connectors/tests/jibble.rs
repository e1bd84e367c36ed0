//! The Jibble connector against the Jibble simulator: paging by `$top`/`$skip` (full
//! pages, a server that caps pages and counts, `@odata.nextLink`), access tokens (fetched
//! once, renewed before they expire, replaced after a 401, credentials in the body or as
//! Basic auth), archived punches whether the server lists them or not, linked keys
//! outside the read, the pairing's edge cases (a switch, an Out without an In, AutoOut,
//! a session across midnight, breaks, a running clock-in, a session ending beyond the
//! read, a person the workspace does not list), 429 with and without `Retry-After`,
//! 5xx and dropped answers, the connection test and the catalogs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use timebridge_connectors::http::RetryPolicy;
use timebridge_connectors::jibble::JibbleConnector;
use timebridge_connectors::{
    Connector, ConnectorConfig, ConnectorContext, SourceBatch, SourceConnector, SourceQuery,
    registry,
};
use timebridge_core::entry::{Entry, Window};
use timebridge_sim::jibble::{ClockIn, NewPerson, NewPunch, PunchType, TokenAuth};
use timebridge_sim::{Fault, JibbleSim, Seed, SimOptions};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn days(from: u32, to: u32) -> Window {
    Window {
        from: NaiveDate::from_ymd_opt(2026, 3, from).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 3, to).unwrap(),
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

async fn sim(seed: Seed) -> JibbleSim {
    JibbleSim::start(SimOptions::with_seed(seed)).await.unwrap()
}

fn build_with(sim: &JibbleSim, secret: &str, extra: Value, waits: &Waits) -> JibbleConnector {
    let kind = registry::find("jibble").unwrap();
    let mut settings = json!({
        "client_id": sim.client_id, "identity_url": sim.url,
        "workspace_url": sim.api_url(), "time_tracking_url": sim.api_url(),
        "max_requests_per_second": null,
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        settings[k] = v;
    }
    let settings = registry::normalize_settings(&kind, &settings).unwrap();
    let config = ConnectorConfig {
        id: 1,
        name: "jibble-test".into(),
        base_url: sim.url.clone(),
        api_token: SecretString::from(secret.to_owned()),
        settings,
        secrets: BTreeMap::new(),
    };
    JibbleConnector::new(config, &waits.context()).unwrap()
}

fn build(sim: &JibbleSim, extra: Value) -> JibbleConnector {
    build_with(sim, &sim.token, extra, &Waits::default())
}

async fn read(c: &JibbleConnector, window: Window, linked: &[&str]) -> SourceBatch {
    c.fetch(&SourceQuery {
        window,
        tickets: None,
        linked_tickets: vec![],
        linked_keys: linked.iter().map(|k| (*k).to_owned()).collect(),
        memory: None,
    })
    .await
    .unwrap()
}

/// The clock-ins (work, not breaks, not removed) of the simulator that lie in `window`:
/// the keys a complete read must report.
fn expected(sim: &JibbleSim, window: Window) -> BTreeSet<String> {
    sim.punches()
        .into_iter()
        .filter(|p| p.kind == PunchType::In && p.break_id.is_none() && !p.archived)
        .filter(|p| window.contains(p.time))
        .map(|p| p.id)
        .collect()
}

fn keys(batch: &SourceBatch) -> BTreeSet<String> {
    batch.entries.iter().map(|e| e.key.clone()).collect()
}

fn entry<'a>(batch: &'a SourceBatch, key: &str) -> &'a Entry {
    batch
        .entries
        .iter()
        .find(|e| e.key == key)
        .unwrap_or_else(|| panic!("{key} not read: {:?}", keys(batch)))
}

fn time_entry_pages(sim: &JibbleSim) -> usize {
    sim.log().count("GET /v1/TimeEntries")
}

#[tokio::test]
async fn a_month_is_read_completely_in_full_pages_of_top_and_skip() {
    let sim = sim(Seed::Small).await;
    let c = build(&sim, json!({"page_size": 37}));
    let batch = read(&c, days(1, 31), &[]).await;
    let want = expected(&sim, days(1, 31));
    assert!(want.len() > 150, "the seed is a month: {}", want.len());
    assert_eq!(keys(&batch), want);
    assert_eq!(batch.entries.len(), want.len(), "each once");
    assert!(
        time_entry_pages(&sim) >= sim.punches().len() / 37,
        "{} pages",
        time_entry_pages(&sim)
    );
    // Every interval ends after it begins; none of the seed's is running.
    assert!(
        batch
            .entries
            .iter()
            .all(|e| !e.running && e.duration_seconds.unwrap() > 0)
    );
    // A person's day with a lunch break is two entries whose lengths leave the break out.
    let people = sim.people();
    let e = &batch.entries[0];
    let person = people
        .iter()
        .find(|p| Some(&p.id) == e.user.as_ref().map(|u| &u.key));
    assert_eq!(
        e.user.as_ref().and_then(|u| u.email.clone()),
        person.and_then(|p| p.email.clone())
    );
}

#[tokio::test]
async fn a_server_that_caps_its_pages_below_top_is_read_completely_by_its_count() {
    let sim = sim(Seed::Small).await;
    sim.configure(|c| c.max_page_size = 40);
    let c = build(&sim, json!({"page_size": 200}));
    let batch = read(&c, days(1, 31), &[]).await;
    assert_eq!(keys(&batch), expected(&sim, days(1, 31)));
    // Every page the server cut short was followed by another, as the count asked.
    let rows = sim.punches().len();
    assert!(
        time_entry_pages(&sim) >= rows / 40,
        "{} pages",
        time_entry_pages(&sim)
    );
}

#[tokio::test]
async fn paging_follows_the_next_link_when_the_server_sends_one() {
    let sim = sim(Seed::Small).await;
    sim.configure(|c| {
        c.next_link = true;
        c.max_page_size = 50;
    });
    let c = build(&sim, json!({"page_size": 1000}));
    let batch = read(&c, days(1, 31), &[]).await;
    assert_eq!(keys(&batch), expected(&sim, days(1, 31)));
    let followed = sim
        .log()
        .entries()
        .iter()
        .filter(|r| r.route == "GET /v1/TimeEntries" && r.path.contains("%24skip=50"))
        .count();
    assert_eq!(followed, 1, "the second page came from the link");
}

#[tokio::test]
async fn a_token_is_fetched_once_and_an_expired_one_is_replaced_after_a_401() {
    let sim = sim(Seed::Tiny).await;
    let c = build(&sim, json!({}));
    let first = read(&c, days(1, 31), &[]).await;
    assert_eq!(sim.tokens_issued(), 1, "one token for the whole read");
    sim.expire_tokens();
    let again = read(&c, days(1, 31), &[]).await;
    assert_eq!(keys(&again), keys(&first));
    assert_eq!(sim.tokens_issued(), 2);
    let refused = sim
        .log()
        .entries()
        .iter()
        .filter(|r| r.status == 401)
        .count();
    assert_eq!(refused, 1, "one refusal, then the new token");
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires_without_a_refusal() {
    let sim = sim(Seed::Tiny).await;
    sim.configure(|c| c.token_lifetime_secs = 2);
    let c = build(&sim, json!({}));
    read(&c, days(1, 31), &[]).await;
    // The token lives 2 s on the simulator's clock (which stands still) and the keeper
    // renews it after half its life, by its own clock.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    read(&c, days(1, 31), &[]).await;
    assert_eq!(sim.tokens_issued(), 2);
    assert!(sim.log().entries().iter().all(|r| r.status != 401));
}

#[tokio::test]
async fn the_credentials_go_where_the_token_endpoint_wants_them() {
    let sim = sim(Seed::Tiny).await;
    for (server, setting, works, sent_as) in [
        (TokenAuth::Basic, "auto", true, Some("basic")),
        (TokenAuth::Body, "auto", true, Some("body")),
        (TokenAuth::Basic, "basic", true, Some("basic")),
        (TokenAuth::Body, "body", true, Some("body")),
        (TokenAuth::Body, "basic", false, None),
        (TokenAuth::Basic, "body", false, None),
    ] {
        sim.configure(|c| c.token_auth = server);
        let report = build(&sim, json!({"token_auth": setting})).test().await;
        assert_eq!(report.ok, works, "{server:?} / {setting}: {report:?}");
        if works {
            assert_eq!(report.details["credentials_sent_as"], json!(sent_as));
            assert_eq!(report.details["people"], json!(sim.people().len()));
        } else {
            assert_eq!(report.details["error_class"], json!("unauthorized"));
        }
    }
    sim.configure(|c| c.token_auth = TokenAuth::Either);
    let wrong = build_with(&sim, "not-the-secret", json!({}), &Waits::default())
        .test()
        .await;
    assert!(!wrong.ok);
    assert_eq!(
        wrong.details["failed_step"],
        json!("Getting an access token")
    );
    assert!(
        !wrong.message.contains("not-the-secret"),
        "{}",
        wrong.message
    );
}

#[tokio::test]
async fn an_archived_clock_in_is_a_removal_whether_or_not_the_server_lists_it() {
    for visible in [true, false] {
        let sim = sim(Seed::Tiny).await;
        sim.configure(|c| c.archived_visible = visible);
        let c = build(&sim, json!({}));
        let before = read(&c, days(1, 31), &[]).await;
        let gone = before.entries[0].key.clone();
        // Removed in Jibble: the clock-in and its clock-out are archived.
        let out = sim.punch(&gone).unwrap().next.unwrap();
        sim.archive(&gone).unwrap();
        sim.archive(&out).unwrap();
        let c = build(&sim, json!({}));
        let after = read(&c, days(1, 31), &[&gone]).await;
        assert!(!keys(&after).contains(&gone), "visible={visible}");
        assert!(!after.known_keys.contains(&gone), "visible={visible}");
        assert_eq!(keys(&after), expected(&sim, days(1, 31)));
        assert_eq!(
            after.notes.iter().any(|n| n.contains("archived")),
            visible,
            "{:?}",
            after.notes
        );
    }
}

#[tokio::test]
async fn linked_clock_ins_outside_the_read_are_known_while_they_exist() {
    let sim = sim(Seed::Tiny).await;
    let c = build(&sim, json!({}));
    let all = read(&c, days(1, 31), &[]).await;
    let first_day = all.entries.iter().map(|e| e.begin).min().unwrap();
    // A window far after the seeded days: the linked keys lie outside its read.
    let later = days(20, 21);
    assert!(!later.contains(first_day));
    let linked: Vec<&str> = all.entries.iter().take(3).map(|e| e.key.as_str()).collect();
    sim.archive(linked[2]).unwrap();
    let c = build(&sim, json!({}));
    let batch = read(&c, later, &[linked[0], linked[1], linked[2], "not-a-guid!"]).await;
    assert!(batch.known_keys.contains(linked[0]));
    assert!(batch.known_keys.contains(linked[1]));
    assert!(!batch.known_keys.contains(linked[2]), "archived: deleted");
    assert!(!batch.known_keys.contains("not-a-guid!"));
}

/// An empty workspace with two people: Berlin and UTC.
async fn two_people() -> (JibbleSim, String, String) {
    let sim = sim(Seed::Empty).await;
    let berlin = sim.add_person(NewPerson {
        full_name: "Anna Becker".into(),
        email: Some("anna.becker@helpdesk.example".into()),
        timezone: chrono_tz::Europe::Berlin,
    });
    let utc_person = sim.add_person(NewPerson {
        full_name: "Ben Schmidt".into(),
        email: Some("ben.schmidt@helpdesk.example".into()),
        timezone: chrono_tz::UTC,
    });
    (sim, berlin.id, utc_person.id)
}

#[tokio::test]
async fn breaks_switches_and_a_running_clock_in_pair_as_a_person_expects() {
    let (sim, anna, _) = two_people().await;
    let dev = ClockIn {
        note: Some("Sprint work".into()),
        ..ClockIn::default()
    };
    let a = sim
        .clock_in(&anna, utc("2026-03-02T07:00:00Z"), dev.clone())
        .unwrap();
    sim.start_break(&anna, utc("2026-03-02T11:00:00Z")).unwrap();
    let b = sim
        .clock_in(&anna, utc("2026-03-02T11:30:00Z"), ClockIn::default())
        .unwrap();
    // Clocked in again while clocked in: a switch, which ends the first part.
    let c2 = sim
        .clock_in(&anna, utc("2026-03-02T14:00:00Z"), ClockIn::default())
        .unwrap();
    sim.clock_out(&anna, utc("2026-03-02T16:00:00Z")).unwrap();
    // The next day: clocked in, still going.
    let running = sim
        .clock_in(&anna, utc("2026-03-03T07:15:00Z"), ClockIn::default())
        .unwrap();
    let c = build(&sim, json!({}));
    let batch = read(&c, days(2, 3), &[]).await;
    let secs = |k: &str| entry(&batch, k).duration_seconds;
    assert_eq!(secs(&a.id), Some(4 * 3600), "until the break");
    assert_eq!(secs(&b.id), Some(2 * 3600 + 1800), "until the switch");
    assert_eq!(secs(&c2.id), Some(2 * 3600));
    assert_eq!(entry(&batch, &a.id).description, "Sprint work");
    let r = entry(&batch, &running.id);
    assert_eq!(r.begin, utc("2026-03-03T07:15:00Z"));
    assert!(r.running && r.end.is_none() && r.duration_seconds.is_none());
    assert_eq!(batch.entries.len(), 4, "the break is no entry");
    assert_eq!(
        r.user.as_ref().and_then(|u| u.email.as_deref()),
        Some("anna.becker@helpdesk.example")
    );
}

#[tokio::test]
async fn an_out_without_an_in_ends_nothing_and_auto_out_is_said() {
    let (sim, anna, ben) = two_people().await;
    sim.clock_out(&ben, utc("2026-03-02T09:00:00Z")).unwrap();
    let a = sim
        .clock_in(&anna, utc("2026-03-02T08:00:00Z"), ClockIn::default())
        .unwrap();
    sim.auto_out(&anna, utc("2026-03-02T19:00:00Z")).unwrap();
    let c = build(&sim, json!({}));
    let batch = read(&c, days(2, 2), &[]).await;
    assert_eq!(batch.entries.len(), 1);
    let e = entry(&batch, &a.id);
    assert_eq!(e.duration_seconds, Some(11 * 3600));
    assert!(e.description.contains("AutoOut"), "{}", e.description);
    assert!(
        batch
            .notes
            .iter()
            .any(|n| n.contains("1 clock-outs without a clock-in")),
        "{:?}",
        batch.notes
    );
}

#[tokio::test]
async fn a_session_across_midnight_belongs_to_its_clock_in_and_the_window_is_utc() {
    let (sim, anna, ben) = two_people().await;
    // Ben (UTC) works 22:00–02:00: the clock-out belongs to the 2nd.
    let night = sim
        .clock_in(&ben, utc("2026-03-02T22:00:00Z"), ClockIn::default())
        .unwrap();
    let out = sim.clock_out(&ben, utc("2026-03-03T02:00:00Z")).unwrap();
    assert_eq!(
        out.belongs_to_date,
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
    );
    // Anna (Berlin) clocks in at 00:30 on the 3rd local time: 23:30 UTC on the 2nd.
    let early = sim
        .clock_in(&anna, utc("2026-03-02T23:30:00Z"), ClockIn::default())
        .unwrap();
    assert_eq!(
        early.belongs_to_date,
        NaiveDate::from_ymd_opt(2026, 3, 3).unwrap()
    );
    sim.clock_out(&anna, utc("2026-03-03T03:30:00Z")).unwrap();
    let c = build(&sim, json!({}));
    let on_2nd = read(&c, days(2, 2), &[]).await;
    assert_eq!(entry(&on_2nd, &night.id).duration_seconds, Some(4 * 3600));
    assert_eq!(entry(&on_2nd, &early.id).duration_seconds, Some(4 * 3600));
    let on_3rd = read(&c, days(3, 3), &[]).await;
    assert!(on_3rd.entries.is_empty());
    assert!(on_3rd.known_keys.contains(&night.id) && on_3rd.known_keys.contains(&early.id));
}

#[tokio::test]
async fn a_session_that_ends_beyond_the_read_is_completed_through_its_chain() {
    let (sim, _, ben) = two_people().await;
    let start = sim
        .clock_in(&ben, utc("2026-03-02T08:00:00Z"), ClockIn::default())
        .unwrap();
    let out = sim.clock_out(&ben, utc("2026-03-05T08:00:00Z")).unwrap();
    // Jibble filed the clock-out under a later day than the read covers.
    sim.edit_punch(&out.id, |p| {
        p.belongs_to_date = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap()
    })
    .unwrap();
    let c = build(&sim, json!({}));
    let batch = read(&c, days(2, 2), &[]).await;
    let e = entry(&batch, &start.id);
    assert!(!e.running, "{e:?}");
    assert_eq!(e.duration_seconds, Some(3 * 86_400));
}

#[tokio::test]
async fn a_person_the_workspace_does_not_list_is_read_without_an_email_and_named_in_notes() {
    let (sim, _, _) = two_people().await;
    let stranger = "5eed0000-0000-4000-8000-00000000abcd";
    let p = sim
        .add_punch(NewPunch::new(
            stranger,
            PunchType::In,
            utc("2026-03-02T08:00:00Z"),
        ))
        .unwrap();
    sim.add_punch(NewPunch::new(
        stranger,
        PunchType::Out,
        utc("2026-03-02T12:00:00Z"),
    ))
    .unwrap();
    let c = build(&sim, json!({}));
    let batch = read(&c, days(2, 2), &[]).await;
    let e = entry(&batch, &p.id);
    assert_eq!(e.user.as_ref().map(|u| u.key.as_str()), Some(stranger));
    assert_eq!(e.user.as_ref().and_then(|u| u.email.clone()), None);
    assert!(
        batch.notes.iter().any(|n| n.contains(stranger)),
        "{:?}",
        batch.notes
    );
}

#[tokio::test]
async fn rate_limits_server_errors_and_dropped_answers_are_retried_and_nothing_is_lost() {
    let sim = sim(Seed::Small).await;
    let clean = read(&build(&sim, json!({"page_size": 100})), days(1, 31), &[]).await;
    let waits = Waits::default();
    let f = sim.faults();
    f.fail_next("POST /connect/token", 1, Fault::InternalError);
    f.fail_next(
        "GET /v1/People",
        1,
        Fault::TooManyRequests {
            retry_after_secs: 3,
        },
    );
    f.fail_next(
        "GET /v1/TimeEntries",
        1,
        Fault::TooManyRequestsWithoutRetryAfter,
    );
    f.fail_next("GET /v1/TimeEntries", 1, Fault::InternalError);
    f.fail_next("GET /v1/TimeEntries", 1, Fault::DropConnection);
    f.fail_next("GET /v1/TimeEntries", 1, Fault::MalformedJson);
    let c = build_with(&sim, &sim.token, json!({"page_size": 100}), &waits);
    let faulty = c
        .fetch(&SourceQuery {
            window: days(1, 31),
            tickets: None,
            linked_tickets: vec![],
            linked_keys: vec![],
            memory: None,
        })
        .await;
    // A malformed answer is not retried by the transport: the run fails and the next
    // reads everything.
    let faulty = match faulty {
        Ok(b) => b,
        Err(e) => {
            assert_eq!(
                e.class(),
                timebridge_connectors::ErrorClass::Protocol,
                "{e}"
            );
            read(
                &build_with(&sim, &sim.token, json!({"page_size": 100}), &waits),
                days(1, 31),
                &[],
            )
            .await
        }
    };
    assert_eq!(sim.faults().pending(), 0);
    assert_eq!(keys(&faulty), keys(&clean));
    assert!(
        waits.recorded().contains(&Duration::from_secs(3)),
        "{:?}",
        waits.recorded()
    );
}

#[tokio::test]
async fn the_catalogs_list_people_activities_and_projects() {
    let sim = sim(Seed::Small).await;
    let c = build(&sim, json!({}));
    let people = c.catalog("people").await.unwrap();
    assert_eq!(people.len(), sim.people().len());
    assert!(people.iter().all(|p| p.extra["email"].is_string()));
    assert_eq!(
        c.catalog("activities").await.unwrap().len(),
        sim.activities().len()
    );
    assert_eq!(
        c.catalog("projects").await.unwrap().len(),
        sim.projects().len()
    );
    assert!(c.catalog("tasks").await.is_err());
    let report = c.test().await;
    assert!(report.ok, "{report:?}");
}

#[tokio::test]
async fn fractions_of_a_second_are_cut_so_that_entries_keep_whole_seconds() {
    let (sim, anna, _) = two_people().await;
    let a = sim
        .clock_in(&anna, utc("2026-03-02T07:59:59.730Z"), ClockIn::default())
        .unwrap();
    sim.clock_out(&anna, utc("2026-03-02T16:00:00.250Z"))
        .unwrap();
    let batch = read(&build(&sim, json!({})), days(2, 2), &[]).await;
    let e = entry(&batch, &a.id);
    assert_eq!(e.begin, utc("2026-03-02T07:59:59Z"));
    assert_eq!(e.end, Some(utc("2026-03-02T16:00:00Z")));
    assert_eq!(e.duration_seconds, Some(8 * 3600 + 1));
}
