//! The Zammad source connector against the Zammad simulator: both read modes with full
//! pagination, deletions and type-only edits, the unit factor and placements, lookups
//! once per fetch, retries and `Retry-After`, the connector test and the catalogs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use secrecy::SecretString;
use serde_json::{Value, json};
use timebridge_connectors::http::RetryPolicy;
use timebridge_connectors::zammad::ZammadConnector;
use timebridge_connectors::{
    Connector, ConnectorConfig, ConnectorContext, SourceConnector, SourceQuery, SourceScope,
    registry,
};
use timebridge_core::entry::{Entry, Window};
use timebridge_sim::zammad::NewAccounting;
use timebridge_sim::{Fault, Seed, SimOptions, ZammadSim};

fn march() -> Window {
    Window {
        from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
    }
}

fn query() -> SourceQuery {
    SourceQuery {
        window: march(),
        tickets: None,
        linked_tickets: vec![],
        linked_keys: vec![],
        memory: None,
    }
}

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
}

async fn sim(seed: Seed) -> ZammadSim {
    ZammadSim::start(SimOptions::with_seed(seed)).await.unwrap()
}

fn connector_for(url: &str, token: &str, settings: Value, waits: &Waits) -> ZammadConnector {
    let kind = registry::find("zammad").unwrap();
    let settings = registry::normalize_settings(&kind, &settings).unwrap();
    ZammadConnector::new(
        ConnectorConfig {
            id: 1,
            name: "zammad-test".into(),
            base_url: url.into(),
            api_token: SecretString::from(token.to_owned()),
            settings,
            secrets: BTreeMap::new(),
        },
        &waits.context(),
    )
    .unwrap()
}

fn connector(sim: &ZammadSim) -> ZammadConnector {
    connector_for(&sim.url, &sim.token, json!({}), &Waits::default())
}

/// Every entry has its ticket's title and, where it has an organization, its name.
fn assert_named(entries: &[Entry]) {
    for e in entries {
        assert!(
            !e.ticket.as_ref().unwrap().title.is_empty(),
            "{}: no ticket title",
            e.key
        );
        if let Some(c) = &e.customer {
            assert!(
                c.name.is_some(),
                "{}: organization {} unnamed",
                e.key,
                c.key
            );
        }
    }
}

fn keys(entries: &[Entry]) -> BTreeSet<String> {
    entries.iter().map(|e| e.key.clone()).collect()
}

/// The accountings whose (end-placed, minute-floored) begin lies in March, computed from
/// the simulator's state independently of the connector.
fn expected_in_march(sim: &ZammadSim) -> BTreeSet<String> {
    let w = march();
    sim.accountings()
        .into_iter()
        .filter(|a| {
            let minutes: f64 = a.time_unit.parse().unwrap();
            let end =
                chrono::DateTime::from_timestamp(a.created_at.timestamp().div_euclid(60) * 60, 0)
                    .unwrap();
            let begin = end - chrono::Duration::seconds(((minutes * 60.0).round() as i64).max(0));
            w.contains(begin)
        })
        .map(|a| a.id.to_string())
        .collect()
}

fn add_many(sim: &ZammadSim, n: usize) {
    let ticket = sim.tickets()[0].id;
    let agent = sim.users().into_iter().find(|u| u.id != 1).unwrap().id;
    sim.clock().set("2026-03-20T10:00:00Z".parse().unwrap());
    for i in 0..n {
        sim.clock().advance(chrono::Duration::minutes(1));
        sim.add_accounting(NewAccounting::new(
            ticket,
            &format!("{}.0", 1 + i % 30),
            agent,
        ))
        .unwrap();
    }
}

#[tokio::test]
async fn reads_every_page_of_the_global_endpoint() {
    let sim = sim(Seed::Small).await;
    add_many(&sim, 1600);
    let z = connector(&sim);
    let batch = z.fetch(&query()).await.unwrap();
    assert_eq!(batch.scope, SourceScope::Everything);
    assert_eq!(keys(&batch.entries), expected_in_march(&sim));
    assert!(sim.log().count("GET /api/v1/time_accountings") >= 4);
    // Everything read outside the window is known, not deleted.
    let total = sim.accounting_count();
    assert_eq!(batch.entries.len() + batch.known_keys.len(), total);
}

#[tokio::test]
async fn per_ticket_reads_find_the_same_entries_without_admin_rights() {
    let sim = sim(Seed::Small).await;
    let global = connector(&sim).fetch(&query()).await.unwrap();
    sim.set_admin(false);
    let z = connector(&sim);
    let batch = z.fetch(&query()).await.unwrap();
    assert!(matches!(batch.scope, SourceScope::Tickets { .. }));
    assert_eq!(keys(&batch.entries), keys(&global.entries));
    assert!(
        batch.notes.iter().any(|n| n.contains("per ticket")),
        "{:?}",
        batch.notes
    );
    let report = z.test().await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.details["mode"], "per_ticket");
    assert!(report.message.contains("warning"), "{}", report.message);
}

#[tokio::test]
async fn a_deleted_accounting_is_gone_from_the_next_read() {
    let sim = sim(Seed::Tiny).await;
    let z = connector(&sim);
    let before = z.fetch(&query()).await.unwrap();
    let victim: u64 = before.entries[0].key.parse().unwrap();
    sim.delete_accounting(victim).unwrap();
    let after = z.fetch(&query()).await.unwrap();
    assert!(!keys(&after.entries).contains(&victim.to_string()));
    assert!(!after.known_keys.contains(&victim.to_string()));
    assert_eq!(after.entries.len(), before.entries.len() - 1);
}

#[tokio::test]
async fn a_type_only_edit_is_seen_in_per_ticket_mode_through_the_linked_tickets() {
    let sim = sim(Seed::Tiny).await;
    sim.set_admin(false);
    let z = connector(&sim);
    let before = z.fetch(&query()).await.unwrap();
    let e = before
        .entries
        .iter()
        .find(|e| e.activity.is_some())
        .unwrap()
        .clone();
    let ticket = e.ticket.as_ref().unwrap().id;
    let other = sim
        .types()
        .into_iter()
        .find(|t| t.id.to_string() != e.activity.as_ref().unwrap().key)
        .unwrap();
    // Nothing on the ticket changes and it falls out of the search window.
    sim.set_accounting_type(e.key.parse().unwrap(), Some(other.id))
        .unwrap();
    let later = SourceQuery {
        window: Window {
            from: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
        },
        tickets: None,
        linked_tickets: vec![ticket],
        linked_keys: vec![e.key.clone()],
        memory: None,
    };
    let batch = z.fetch(&later).await.unwrap();
    let SourceScope::Tickets { ticket_ids } = &batch.scope else {
        panic!("per-ticket scope expected")
    };
    assert!(ticket_ids.contains(&ticket));
    // Outside that one-day window the entry is known (so not deleted) …
    assert!(
        batch.known_keys.contains(&e.key) || keys(&batch.entries).contains(&e.key),
        "the linked ticket was not read"
    );
    // … and read over March it carries the new type.
    let again = z
        .fetch(&SourceQuery {
            linked_tickets: vec![ticket],
            ..query()
        })
        .await
        .unwrap();
    let now = again.entries.iter().find(|x| x.key == e.key).unwrap();
    assert_eq!(now.activity.as_ref().unwrap().key, other.id.to_string());
    assert_eq!(
        now.activity.as_ref().unwrap().name.as_deref(),
        Some(other.name.as_str())
    );
}

#[tokio::test]
async fn entries_are_normalised_with_signs_factor_and_names() {
    let sim = sim(Seed::Tiny).await;
    let z = connector_for(
        &sim.url,
        &sim.token,
        json!({"time_unit_minutes": 15.0}),
        &Waits::default(),
    );
    let batch = z.fetch(&query()).await.unwrap();
    let by_key: BTreeMap<String, &Entry> =
        batch.entries.iter().map(|e| (e.key.clone(), e)).collect();
    let mut saw_negative = false;
    let mut saw_zero = false;
    for a in sim.accountings() {
        let Some(e) = by_key.get(&a.id.to_string()) else {
            continue;
        };
        let units: f64 = a.time_unit.parse().unwrap();
        assert_eq!(
            e.duration_seconds,
            Some((units * 15.0 * 60.0).round() as i64),
            "{}",
            a.id
        );
        assert!(!e.running, "Zammad has no running entries");
        let (end, duration) = (e.end.unwrap(), e.duration_seconds.unwrap());
        saw_negative |= duration < 0;
        saw_zero |= duration == 0;
        // End at the booking minute, UTC, whole minutes.
        assert_eq!(end.timestamp() % 60, 0);
        assert_eq!(end.timestamp() / 60, a.created_at.timestamp() / 60);
        assert!(e.begin <= end);
        let ticket = sim.ticket(a.ticket_id).unwrap();
        let t = e.ticket.as_ref().unwrap();
        assert_eq!(t.number, ticket.number);
        assert_eq!(t.title, ticket.title);
        assert!(
            t.url
                .as_deref()
                .unwrap()
                .ends_with(&format!("#ticket/zoom/{}", ticket.id))
        );
        let agent = sim
            .users()
            .into_iter()
            .find(|u| u.id == a.created_by_id)
            .unwrap();
        assert_eq!(
            e.user.as_ref().unwrap().email.as_deref(),
            Some(agent.email.as_str())
        );
        assert_eq!(
            e.customer.as_ref().map(|c| c.key.clone()),
            ticket.organization_id.map(|o| o.to_string())
        );
        assert_eq!(
            e.activity.as_ref().map(|x| x.key.clone()),
            a.type_id.map(|t| t.to_string())
        );
        assert_eq!(e.system, "zammad");
    }
    assert!(
        saw_negative && saw_zero,
        "corrections are kept with their sign"
    );
}

#[tokio::test]
async fn begin_placement_starts_the_entry_at_the_booking_minute() {
    let sim = sim(Seed::Tiny).await;
    let z = connector_for(
        &sim.url,
        &sim.token,
        json!({"time_placement": "begin_at_created"}),
        &Waits::default(),
    );
    let batch = z.fetch(&query()).await.unwrap();
    for e in &batch.entries {
        let a = sim.accounting(e.key.parse().unwrap()).unwrap();
        assert_eq!(e.begin.timestamp() / 60, a.created_at.timestamp() / 60);
        assert_eq!(e.begin.timestamp() % 60, 0);
        assert_eq!(
            (e.end.unwrap() - e.begin).num_seconds(),
            e.duration_seconds.unwrap().max(0)
        );
    }
}

#[tokio::test]
async fn names_are_looked_up_once_per_fetch() {
    let sim = sim(Seed::Small).await;
    let z = connector(&sim);
    let batch = z.fetch(&query()).await.unwrap();
    let agents: BTreeSet<&str> = batch
        .entries
        .iter()
        .map(|e| e.user.as_ref().unwrap().key.as_str())
        .collect();
    let orgs: BTreeSet<&str> = batch
        .entries
        .iter()
        .filter_map(|e| e.customer.as_ref().map(|c| c.key.as_str()))
        .collect();
    let log = sim.log();
    assert_eq!(log.count("GET /api/v1/time_accounting/types"), 1);
    assert_eq!(log.count("GET /api/v1/users/{id}"), agents.len());
    // Organizations come with the ticket search's pages (its assets) or are looked up.
    assert!(log.count("GET /api/v1/organizations/{id}") <= orgs.len());
    assert_named(&batch.entries);
    let tickets: BTreeSet<i64> = batch
        .entries
        .iter()
        .map(|e| e.ticket.as_ref().unwrap().id)
        .collect();
    let ticket_reads =
        log.count("GET /api/v1/tickets/{id}") + log.count("GET /api/v1/tickets/search");
    assert!(
        ticket_reads <= tickets.len(),
        "{ticket_reads} reads for {} tickets",
        tickets.len()
    );
    assert!(batch.entries.len() > 3 * (agents.len() + orgs.len()));
}

#[tokio::test]
async fn many_tickets_are_found_by_a_search_read_several_pages_at_a_time() {
    let sim = sim(Seed::Month).await;
    let z = connector(&sim);
    let batch = z.fetch(&query()).await.unwrap();
    let tickets: BTreeSet<i64> = batch
        .entries
        .iter()
        .map(|e| e.ticket.as_ref().unwrap().id)
        .collect();
    let log = sim.log();
    let pages = log.count("GET /api/v1/tickets/search");
    assert!(
        pages > 2,
        "{pages} search pages for {} tickets",
        tickets.len()
    );
    // Every ticket and organization was on a page: none looked up by id.
    assert_eq!(log.count("GET /api/v1/tickets/{id}"), 0);
    assert_eq!(log.count("GET /api/v1/organizations/{id}"), 0);
    assert_named(&batch.entries);
}

#[tokio::test]
async fn a_search_that_does_not_count_its_matches_is_read_page_by_page_to_the_end() {
    let sim = sim(Seed::Month).await;
    let counted = connector(&sim).fetch(&query()).await.unwrap();
    let pages = sim.log().count("GET /api/v1/tickets/search");
    sim.set_search_uncounted(true);
    sim.log().clear();
    let batch = connector(&sim).fetch(&query()).await.unwrap();
    assert_eq!(sim.log().count("GET /api/v1/tickets/search"), pages);
    assert_eq!(sim.log().count("GET /api/v1/tickets/{id}"), 0);
    assert_named(&batch.entries);
    assert_eq!(by_key(batch.entries), by_key(counted.entries));
}

#[tokio::test]
async fn a_ticket_scoped_read_reads_only_those_tickets() {
    let sim = sim(Seed::Small).await;
    let z = connector(&sim);
    let ticket = sim.accountings()[0].ticket_id;
    let batch = z
        .fetch(&SourceQuery {
            tickets: Some(vec![ticket as i64]),
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(
        batch.scope,
        SourceScope::Tickets {
            ticket_ids: vec![ticket as i64]
        }
    );
    assert!(
        batch
            .entries
            .iter()
            .all(|e| e.ticket.as_ref().unwrap().id == ticket as i64)
    );
    assert_eq!(sim.log().count("GET /api/v1/time_accountings"), 0);
}

#[tokio::test]
async fn failed_page_reads_are_retried_and_retry_after_is_honoured() {
    let sim = sim(Seed::Small).await;
    add_many(&sim, 600);
    let waits = Waits::default();
    let z = connector_for(&sim.url, &sim.token, json!({}), &waits);
    sim.faults()
        .fail_next("GET /api/v1/time_accountings", 1, Fault::InternalError);
    sim.faults()
        .fail_next("GET /api/v1/time_accountings", 1, Fault::DropConnection);
    sim.faults().fail_next(
        "GET /api/v1/time_accountings",
        1,
        Fault::TooManyRequests {
            retry_after_secs: 4,
        },
    );
    let batch = z.fetch(&query()).await.unwrap();
    assert_eq!(keys(&batch.entries), expected_in_march(&sim));
    let waited = waits.0.lock().unwrap().clone();
    assert_eq!(waited.len(), 3, "{waited:?}");
    assert!(waited.contains(&Duration::from_secs(4)), "{waited:?}");
}

#[tokio::test]
async fn the_test_names_a_wrong_token_and_an_unreachable_host() {
    let sim = sim(Seed::Tiny).await;
    let ok = connector(&sim).test().await;
    assert!(ok.ok, "{ok:?}");
    assert_eq!(ok.details["mode"], "global");
    let bad = connector_for(&sim.url, "not-the-token", json!({}), &Waits::default())
        .test()
        .await;
    assert!(!bad.ok);
    assert_eq!(bad.details["error_class"], "unauthorized");
    assert!(!bad.message.contains("not-the-token"));
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", free.local_addr().unwrap().port());
    drop(free);
    let down = connector_for(&url, "t", json!({}), &Waits::default())
        .test()
        .await;
    assert!(!down.ok);
    assert_eq!(down.details["error_class"], "unreachable");
}

#[tokio::test]
async fn catalogs_list_types_organizations_and_agents() {
    let sim = sim(Seed::Small).await;
    let z = connector(&sim);
    assert_eq!(z.catalog("types").await.unwrap().len(), sim.types().len());
    assert_eq!(
        z.catalog("organizations").await.unwrap().len(),
        sim.organizations().len()
    );
    let agents = z.catalog("agents").await.unwrap();
    assert!(!agents.is_empty());
    assert!(agents.iter().all(|a| a.extra["email"].is_string()));
    assert!(z.catalog("moons").await.is_err());
}

/// A Zammad holding two years of earlier bookings (24 × 500 accountings) before Small's
/// month of March 2026.
async fn sim_with_history() -> ZammadSim {
    ZammadSim::start(SimOptions {
        zammad_history: Some(timebridge_sim::History {
            months: 24,
            accountings_per_month: 500,
        }),
        ..SimOptions::with_seed(Seed::Small)
    })
    .await
    .unwrap()
}

/// Pages of 500 the global list holds.
fn pages_of(sim: &ZammadSim) -> usize {
    sim.accounting_count() / 500 + 1
}

#[tokio::test]
async fn years_of_history_are_not_read_only_the_pages_down_to_the_window() {
    let sim = sim_with_history().await;
    let oldest = sim.accountings()[0].id.to_string();
    let newest = sim.accountings().last().unwrap().id.to_string();
    let z = connector(&sim);
    let batch = z
        .fetch(&SourceQuery {
            linked_keys: vec![oldest.clone(), newest.clone()],
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(keys(&batch.entries), expected_in_march(&sim));
    let read = sim.log().count("GET /api/v1/time_accountings");
    // Small's month is one page, the slack before the window at most two more; the
    // history holds 24 more.
    assert!(read <= 3, "{read} pages read of {}", pages_of(&sim));
    assert!(pages_of(&sim) > 20);
    // The old linked key was not reached: neither listed nor judged deleted.
    let SourceScope::Recent { unread } = &batch.scope else {
        panic!("{:?}", batch.scope);
    };
    assert!(unread.contains(&oldest), "{unread:?}");
    assert!(!unread.contains(&newest));
    assert!(
        batch.notes.iter().any(|n| n.contains("newest first")),
        "{:?}",
        batch.notes
    );
}

#[tokio::test]
async fn read_all_accountings_reads_the_whole_history() {
    let sim = sim_with_history().await;
    let z = connector_for(
        &sim.url,
        &sim.token,
        json!({"read_all_accountings": true}),
        &Waits::default(),
    );
    let batch = z.fetch(&query()).await.unwrap();
    assert_eq!(batch.scope, SourceScope::Everything);
    assert_eq!(keys(&batch.entries), expected_in_march(&sim));
    assert_eq!(
        sim.log().count("GET /api/v1/time_accountings"),
        pages_of(&sim)
    );
    assert_eq!(
        batch.entries.len() + batch.known_keys.len(),
        sim.accounting_count()
    );
}

#[tokio::test]
async fn a_server_that_ignores_the_order_is_read_to_the_end() {
    let sim = sim_with_history().await;
    sim.set_order_ignored(true);
    let z = connector(&sim);
    let batch = z.fetch(&query()).await.unwrap();
    assert_eq!(batch.scope, SourceScope::Everything);
    assert_eq!(keys(&batch.entries), expected_in_march(&sim));
    assert_eq!(
        batch.entries.len() + batch.known_keys.len(),
        sim.accounting_count()
    );
}

#[tokio::test]
async fn a_deleted_accounting_of_the_window_is_gone_from_a_newest_first_read() {
    let sim = sim_with_history().await;
    let z = connector(&sim);
    let before = z.fetch(&query()).await.unwrap();
    let victim = before.entries[0].key.clone();
    sim.delete_accounting(victim.parse().unwrap()).unwrap();
    let after = z
        .fetch(&SourceQuery {
            linked_keys: vec![victim.clone()],
            ..query()
        })
        .await
        .unwrap();
    assert!(!keys(&after.entries).contains(&victim));
    assert!(!after.known_keys.contains(&victim));
    // Reached by the read, so judged: absent means deleted.
    let SourceScope::Recent { unread } = &after.scope else {
        panic!("{:?}", after.scope);
    };
    assert!(!unread.contains(&victim));
}

/// The month's query, with what an earlier read left to remember.
fn remembering(memory: Option<Value>) -> SourceQuery {
    SourceQuery { memory, ..query() }
}

fn by_key(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    entries
}

/// The lookups by id a read made (tickets, agents, organizations).
fn lookups_by_id(sim: &ZammadSim) -> usize {
    let log = sim.log();
    log.count("GET /api/v1/tickets/{id}")
        + log.count("GET /api/v1/users/{id}")
        + log.count("GET /api/v1/organizations/{id}")
}

#[tokio::test]
async fn a_read_with_the_last_reads_memory_looks_nothing_up_again_and_still_sees_renames() {
    let sim = sim(Seed::Small).await;
    let z = connector(&sim);
    let first = z.fetch(&query()).await.unwrap();
    assert!(lookups_by_id(&sim) > 0);
    let memory = first.memory.clone().expect("a read leaves a memory");

    // Nothing changed: the same entries, no lookup by id, one search per kind.
    sim.log().clear();
    let again = z.fetch(&remembering(Some(memory))).await.unwrap();
    assert_eq!(by_key(again.entries.clone()), by_key(first.entries.clone()));
    assert_eq!(lookups_by_id(&sim), 0);
    for route in [
        "GET /api/v1/tickets/search",
        "GET /api/v1/users/search",
        "GET /api/v1/organizations/search",
    ] {
        assert_eq!(sim.log().count(route), 1, "{route}");
    }

    // An agent, a ticket and an organization renamed in Zammad: the next read shows the
    // new names, exactly as a read without memory does.
    let e = first.entries.iter().find(|e| e.customer.is_some()).unwrap();
    let agent: u64 = e.user.as_ref().unwrap().key.parse().unwrap();
    let ticket = e.ticket.as_ref().unwrap().id as u64;
    let org: u64 = e.customer.as_ref().unwrap().key.parse().unwrap();
    sim.rename_user(agent, "Renamed", "Agent").unwrap();
    sim.set_user_email(agent, "renamed.agent@example.com")
        .unwrap();
    sim.set_ticket_title(ticket, "A new title").unwrap();
    sim.rename_organization(org, "Renamed Org").unwrap();
    let renamed = z.fetch(&remembering(again.memory.clone())).await.unwrap();
    let fresh = z.fetch(&query()).await.unwrap();
    assert_eq!(by_key(renamed.entries.clone()), by_key(fresh.entries));
    let same = renamed.entries.iter().find(|x| x.key == e.key).unwrap();
    let user = same.user.as_ref().unwrap();
    assert_eq!(user.name.as_deref(), Some("Renamed Agent"));
    assert_eq!(user.email.as_deref(), Some("renamed.agent@example.com"));
    assert_eq!(same.ticket.as_ref().unwrap().title, "A new title");
    assert_eq!(
        same.customer.as_ref().unwrap().name.as_deref(),
        Some("Renamed Org")
    );
}

#[tokio::test]
async fn a_memory_of_another_zammad_is_not_used() {
    let sim = sim(Seed::Small).await;
    let z = connector(&sim);
    let first = z.fetch(&query()).await.unwrap();
    let mut memory = first.memory.clone().unwrap();
    memory["base_url"] = json!("https://another-zammad.example");
    sim.log().clear();
    let again = z.fetch(&remembering(Some(memory))).await.unwrap();
    assert_eq!(by_key(again.entries), by_key(first.entries));
    assert_eq!(sim.log().count("GET /api/v1/users/search"), 0);
    assert!(sim.log().count("GET /api/v1/users/{id}") > 0);
}

#[tokio::test]
async fn a_zammad_that_refuses_the_search_for_changed_agents_gets_them_looked_up() {
    let sim = sim(Seed::Small).await;
    let waits = Waits::default();
    let z = connector_for(&sim.url, &sim.token, json!({}), &waits);
    let first = z.fetch(&query()).await.unwrap();
    let agents: BTreeSet<String> = first
        .entries
        .iter()
        .map(|e| e.user.as_ref().unwrap().key.clone())
        .collect();
    let agent: u64 = agents.iter().next().unwrap().parse().unwrap();
    sim.rename_user(agent, "Renamed", "Agent").unwrap();
    sim.faults()
        .fail_next("GET /api/v1/users/search", 100, Fault::InternalError);
    sim.log().clear();
    let again = z.fetch(&remembering(first.memory.clone())).await.unwrap();
    assert_eq!(sim.log().count("GET /api/v1/users/{id}"), agents.len());
    let renamed = again
        .entries
        .iter()
        .find(|e| e.user.as_ref().unwrap().key == agent.to_string())
        .unwrap();
    assert_eq!(
        renamed.user.as_ref().unwrap().name.as_deref(),
        Some("Renamed Agent")
    );
    assert!(
        again
            .notes
            .iter()
            .any(|n| n.contains("which agents changed")),
        "{:?}",
        again.notes
    );
}

#[tokio::test]
async fn a_read_of_some_tickets_keeps_what_was_remembered_of_the_others() {
    let sim = sim(Seed::Small).await;
    let z = connector(&sim);
    let first = z.fetch(&query()).await.unwrap();
    let memory = first.memory.clone().unwrap();
    let remembered = |m: &Value| -> BTreeSet<String> {
        m["tickets"].as_object().unwrap().keys().cloned().collect()
    };
    let before = remembered(&memory);
    assert!(before.len() > 1);
    let one: i64 = before.iter().next().unwrap().parse().unwrap();
    let webhook = z
        .fetch(&SourceQuery {
            tickets: Some(vec![one]),
            ..remembering(Some(memory))
        })
        .await
        .unwrap();
    // The webhook's run needed one ticket; the memory still holds every other one, so the
    // next scheduled run looks none of them up again.
    assert_eq!(remembered(webhook.memory.as_ref().unwrap()), before);
    sim.log().clear();
    let next = z.fetch(&remembering(webhook.memory)).await.unwrap();
    assert_eq!(by_key(next.entries), by_key(first.entries));
    assert_eq!(lookups_by_id(&sim), 0);
}
