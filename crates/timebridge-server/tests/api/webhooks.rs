//! The generic webhook route `/api/webhook/{kind}/{connector_id}` (and `/api/webhook/{kind}`
//! for the only connector of a kind): every kind with the webhook feature is served by it,
//! kinds and connectors that do not match are 404, and repeats are not processed twice.
//! The v1 Zammad tests (`sync_e2e`, `hostile`) run against the same route.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use timebridge_sim::Seed;
use timebridge_sim::zammad::NewAccounting;

use crate::api_test;
use crate::common::{TestApp, error_code, into_json};
use crate::sync_e2e::{WEBHOOK_SECRET, marked, setup, sync};

/// Posts `body` to `path`, signed Zammad-style with `secret` when given.
async fn post(
    app: &TestApp,
    path: &str,
    body: &[u8],
    secret: Option<&str>,
    delivery: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = secret {
        req = req.header(
            "x-hub-signature",
            timebridge_sim::webhook::signature(s, body),
        );
    }
    if let Some(d) = delivery {
        req = req.header("x-zammad-delivery", d);
    }
    into_json(req.send().await.unwrap()).await
}

api_test!(async fn the_generic_route_brings_an_accounting_in_like_the_v1_route(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let before = env.kimai.timesheet_count();
    let ticket = env.zammad.tickets().into_iter().find(|t| t.organization_id.is_some()).unwrap();
    let agent = env
        .zammad
        .users()
        .into_iter()
        .find(|u| env.kimai.user_by_email(&u.email).is_some() && u.id != 1)
        .unwrap();
    env.zammad.clock().set("2026-03-31T12:00:00Z".parse().unwrap());
    let mut new = NewAccounting::new(ticket.id, "25.0", agent.id);
    new.type_id = Some(env.zammad.types()[0].id);
    let acc = env.zammad.add_accounting(new).unwrap();
    let body = json!({"ticket": {"id": ticket.id}, "article": {}}).to_string();
    // The kind's only connector, without its id in the path.
    let (status, ack) =
        post(app, "/api/webhook/zammad", body.as_bytes(), Some(WEBHOOK_SECRET), Some("g-1")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    assert_eq!(ack["accepted"], true);
    assert_eq!(ack["ticket_id"], json!(ticket.id));
    assert_eq!(ack["record_ids"], json!([ticket.id]));
    app.clock.advance(chrono::Duration::seconds(3));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !marked(&env.kimai).contains_key(&acc.id.to_string()) {
        assert!(tokio::time::Instant::now() < deadline, "the webhook's run did not write the entry");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(env.kimai.timesheet_count(), before + 1);
    // The run was scoped to the ticket the payload named.
    let (_, history) = app.get_json("/api/sync/history", &env.token).await;
    let run = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["trigger"] == "webhook")
        .cloned()
        .unwrap_or_else(|| panic!("no webhook run: {history}"));
    assert_eq!(run["ticket_ids"], json!([ticket.id]), "{run}");
    let received = app.audit(&env.token, "webhook_received").await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["details"]["kind"], "zammad");
    assert_eq!(received[0]["details"]["ticket_id"], json!(ticket.id));
    assert_eq!(received[0]["details"]["delivery_id"], "g-1");
});

api_test!(async fn an_unknown_kind_is_404(app) {
    for path in ["/api/webhook/nosuchkind/1", "/api/webhook/nosuchkind"] {
        let (status, body) = post(app, path, br#"{"ticket":{"id":1}}"#, Some("whatever-secret"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(error_code(&body), "not_found", "{path}");
    }
});

api_test!(async fn a_kind_without_the_webhook_feature_is_404(app) {
    let token = app.login().await;
    let (_, kimai) = app.create_connector_pair(&token).await;
    for path in [format!("/api/webhook/kimai/{kimai}"), "/api/webhook/kimai".to_owned()] {
        let (status, body) = post(app, &path, br#"{"ticket":{"id":1}}"#, Some("whatever-secret"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(error_code(&body), "not_found", "{path}");
    }
    assert!(app.audit(&token, "webhook_rejected").await.is_empty());
});

api_test!(async fn a_connector_id_of_another_kind_is_404(app) {
    let token = app.login().await;
    let (_, kimai) = app.create_connector_pair(&token).await;
    let path = format!("/api/webhook/zammad/{kimai}");
    let (status, body) = post(app, &path, br#"{"ticket":{"id":1}}"#, Some("whatever-secret"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_code(&body), "not_found");
    // A connector id that does not exist at all is 404 too.
    let (status, body) = post(app, "/api/webhook/zammad/999999", b"{}", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_code(&body), "not_found");
});

api_test!(async fn a_repeated_delivery_on_the_generic_route_is_acknowledged_with_accepted_false(app) {
    let token = app.login().await;
    let zammad = app
        .create_connector(
            &token,
            json!({"kind": "zammad", "name": "Z", "base_url": "http://127.0.0.1:9",
                   "api_token": "t", "settings": {"webhook_secret": WEBHOOK_SECRET}}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/webhook/zammad/{zammad}");
    let body = br#"{"ticket":{"id":12}}"#;
    let (status, first) = post(app, &path, body, Some(WEBHOOK_SECRET), Some("repeat-me")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["accepted"], true);
    for path in [path.as_str(), "/api/webhook/zammad"] {
        let (status, again) = post(app, path, body, Some(WEBHOOK_SECRET), Some("repeat-me")).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{path}: {again}");
        assert_eq!(again["accepted"], false, "{path}");
        assert_eq!(again["ticket_id"], 12, "{path}");
    }
    // Recorded once (the flusher writes within moments).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.audit(&token, "webhook_received").await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the call was not recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.audit(&token, "webhook_received").await.len(), 1);
});

api_test!(async fn a_clockify_delivery_with_the_webhook_token_brings_the_entry_over(app) {
    use timebridge_world::{Pair, World};
    let token = app.login().await;
    let world = World::start(Pair::ClockifyClockify, timebridge_sim::SimOptions::with_seed(Seed::Tiny))
        .await
        .unwrap();
    let ids = timebridge_world::configure_api(&app.api(&token), &world.plan).await.unwrap();
    let sim = world.clockify();
    let ws = sim.contractor_workspace.clone();
    let project = sim.projects(&ws).into_iter().find(|p| p.client.is_some()).unwrap();
    // Inside the pipeline's window, which ends at the app's "now".
    let at = crate::common::start_time() - chrono::Duration::hours(20);
    let entry = sim
        .add_entry(timebridge_sim::clockify::NewEntry {
            workspace: ws,
            user: sim.contractor.clone(),
            project: Some(project.id),
            task: None,
            description: "Booked after the last sync".into(),
            start: at,
            end: Some(at + chrono::Duration::minutes(45)),
            billable: true,
        })
        .unwrap();
    let url = app.url(&format!("/api/webhook/clockify/{}", ids.source_connector));
    let refused = sim.deliver_webhook(&url, "not-the-token", "NEW_TIME_ENTRY", &entry.id).await;
    assert_eq!(refused.unwrap(), 401);
    let accepted = sim.deliver_webhook(&url, WEBHOOK_SECRET, "NEW_TIME_ENTRY", &entry.id).await;
    assert_eq!(accepted.unwrap(), 202);
    app.clock.advance(chrono::Duration::seconds(3));
    let marker = format!("[tb-clockify-{}]", entry.id);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let copies = sim
            .entries(&sim.agency_workspace)
            .into_iter()
            .filter(|e| e.description.contains(&marker))
            .count();
        if copies == 1 {
            break;
        }
        assert_eq!(copies, 0, "written twice");
        assert!(tokio::time::Instant::now() < deadline, "the webhook's run did not write the entry");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = app.audit(&token, "webhook_received").await;
    assert_eq!(received[0]["details"]["kind"], "clockify");
});

api_test!(async fn a_jibble_clock_in_relayed_by_a_signed_webhook_opens_an_attendance(app) {
    use timebridge_world::{Pair, World};
    let token = app.login().await;
    let world = World::start(Pair::JibbleOdoo, timebridge_sim::SimOptions::with_seed(Seed::Tiny))
        .await
        .unwrap();
    let ids = timebridge_world::configure_api(&app.api(&token), &world.plan).await.unwrap();
    let (jibble, odoo) = (world.jibble(), world.odoo());
    let (person, employee) = jibble
        .people()
        .into_iter()
        .find_map(|p| {
            let e = odoo.employee_by_email(p.email.as_deref()?)?;
            Some((p, e))
        })
        .unwrap();
    // Inside the pipeline's window, which ends at the app's "now".
    let at = crate::common::start_time() - chrono::Duration::hours(20);
    // Nothing after it: the clock-in is still going.
    for later in jibble.punches().into_iter().filter(|p| p.person_id == person.id && p.time >= at) {
        jibble.archive(&later.id).unwrap();
    }
    let punch = jibble
        .clock_in(&person.id, at, timebridge_sim::jibble::ClockIn::default())
        .unwrap();
    let url = app.url(&format!("/api/webhook/jibble/{}", ids.source_connector));
    let refused = jibble.relay_webhook(&url, "not-the-secret", "timeEntry.created", &punch).await;
    assert_eq!(refused.unwrap(), 401);
    let accepted = jibble.relay_webhook(&url, WEBHOOK_SECRET, "timeEntry.created", &punch).await;
    assert_eq!(accepted.unwrap(), 202);
    app.clock.advance(chrono::Duration::seconds(3));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let open: Vec<_> = odoo
            .attendances()
            .into_iter()
            .filter(|a| a.employee_id == employee.id && a.check_in == at.naive_utc())
            .collect();
        if open.len() == 1 {
            assert_eq!(open[0].check_out, None, "an open attendance");
            break;
        }
        assert!(open.is_empty(), "written twice");
        assert!(tokio::time::Instant::now() < deadline, "the webhook's run did not open the attendance");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = app.audit(&token, "webhook_received").await;
    assert_eq!(received[0]["details"]["kind"], "jibble");
    assert_eq!(received[0]["details"]["event"], "timeEntry.created");
});
