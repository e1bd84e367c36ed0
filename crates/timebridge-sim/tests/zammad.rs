//! The Zammad simulator checked against shared/docs/external-apis.md with plain HTTP.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use hmac::{Hmac, Mac};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha1::Sha1;
use timebridge_sim::zammad::NewAccounting;
use timebridge_sim::{Seed, SimOptions, ZammadSim};

async fn sim(seed: Seed) -> ZammadSim {
    ZammadSim::start(SimOptions::with_seed(seed)).await.unwrap()
}

async fn get(sim: &ZammadSim, path: &str) -> reqwest::Response {
    Client::new()
        .get(format!("{}{}", sim.url, path))
        .header("Authorization", format!("Token token={}", sim.token))
        .send()
        .await
        .unwrap()
}

async fn get_json(sim: &ZammadSim, path: &str) -> Value {
    let r = get(sim, path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn no_credentials_get_403_and_a_bad_token_gets_401_and_bearer_works() {
    let sim = sim(Seed::Tiny).await;
    let r = Client::new()
        .get(format!("{}/api/v1/users/me", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "Authentication required"})
    );
    let r = Client::new()
        .get(format!("{}/api/v1/users/me", sim.url))
        .header("Authorization", "Token token=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "Can't find User for Token");
    assert!(b["error_human"].is_string());
    let r = Client::new()
        .get(format!("{}/api/v1/users/me", sim.url))
        .bearer_auth(&sim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&sim, "/api/v1/tickets/99999").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let b: Value = r.json().await.unwrap();
    assert!(b["error"].is_string() && b["error_human"].is_string());
}

#[tokio::test]
async fn accountings_carry_time_unit_as_a_string_and_millisecond_utc_timestamps() {
    let sim = sim(Seed::Tiny).await;
    let list = get_json(&sim, "/api/v1/time_accountings").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 12);
    for a in list {
        assert!(a["time_unit"].is_string(), "{a}");
        let created = a["created_at"].as_str().unwrap();
        assert_eq!(created.len(), 24, "{created}");
        assert!(created.ends_with('Z') && created.as_bytes()[19] == b'.');
        for key in [
            "id",
            "ticket_id",
            "ticket_article_id",
            "type_id",
            "created_by_id",
            "updated_at",
        ] {
            assert!(a.get(key).is_some(), "{key}");
        }
    }
    assert!(
        list.iter()
            .any(|a| a["time_unit"].as_str().unwrap().starts_with('-'))
    );
    assert!(list.iter().any(|a| a["time_unit"] == "0.0"));
    let types = get_json(&sim, "/api/v1/time_accounting/types").await;
    assert_eq!(types[0]["name"], "Remote support");
}

#[tokio::test]
async fn a_short_page_means_the_end_and_per_page_is_capped_at_500() {
    let sim = sim(Seed::Small).await;
    let total = sim.accounting_count();
    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let list = get_json(
            &sim,
            &format!("/api/v1/time_accountings?page={page}&per_page=100"),
        )
        .await;
        let list = list.as_array().unwrap().clone();
        seen.extend(list.iter().map(|a| a["id"].as_u64().unwrap()));
        if list.len() < 100 {
            break;
        }
        page += 1;
    }
    assert_eq!(seen.len(), total);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    let r = get(&sim, "/api/v1/time_accountings?per_page=100").await;
    assert!(r.headers().get("x-total-count").is_none());
    let desc = get_json(&sim, "/api/v1/time_accountings?per_page=3&order_by=DESC").await;
    assert_eq!(desc[0]["id"].as_u64().unwrap() as usize, total);
    // More than 500 entries: a request for 1000 still gets 500.
    for _ in 0..(501 - total.min(501)) {
        sim.add_accounting(NewAccounting::new(1, "15.0", 2))
            .unwrap();
    }
    let list = get_json(&sim, "/api/v1/time_accountings?per_page=1000").await;
    assert_eq!(list.as_array().unwrap().len(), 500);
    let one_ticket = get_json(&sim, "/api/v1/tickets/1/time_accountings").await;
    assert!(
        one_ticket
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["ticket_id"] == 1)
    );
}

#[tokio::test]
async fn the_global_accounting_list_is_admin_only() {
    let sim = sim(Seed::Tiny).await;
    sim.set_admin(false);
    let r = get(&sim, "/api/v1/time_accountings").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = get(&sim, "/api/v1/tickets/1/time_accountings").await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn changing_only_the_type_does_not_touch_the_tickets_updated_at() {
    let sim = sim(Seed::Tiny).await;
    let acc = sim.accountings()[0].clone();
    let before = sim.ticket(acc.ticket_id).unwrap().updated_at;
    sim.clock().advance(chrono::Duration::hours(2));
    let changed = sim.set_accounting_type(acc.id, Some(3)).unwrap();
    assert_eq!(changed.type_id, Some(3));
    assert_eq!(sim.ticket(acc.ticket_id).unwrap().updated_at, before);
    let recent = get_json(&sim, "/api/v1/tickets/search?query=updated_at:>now-1h").await;
    assert_eq!(recent["tickets_count"], 0);

    sim.clock().advance(chrono::Duration::hours(2));
    sim.add_accounting(NewAccounting::new(acc.ticket_id, "30", 2))
        .unwrap();
    let t = sim.ticket(acc.ticket_id).unwrap();
    assert_eq!(t.updated_at, sim.clock().now());
    let recent = get_json(&sim, "/api/v1/tickets/search?query=updated_at:>now-1h").await;
    assert_eq!(recent["tickets"], json!([acc.ticket_id]));
    assert!(recent["assets"]["Ticket"][acc.ticket_id.to_string()].is_object());
    let expanded = get_json(
        &sim,
        "/api/v1/tickets/search?query=updated_at:>now-1h&expand=true",
    )
    .await;
    assert_eq!(expanded[0]["id"], acc.ticket_id);

    sim.clock().advance(chrono::Duration::hours(2));
    sim.delete_accounting(acc.id).unwrap();
    assert_eq!(
        sim.ticket(acc.ticket_id).unwrap().updated_at,
        sim.clock().now()
    );
    assert!(sim.accounting(acc.id).is_none());
}

#[tokio::test]
async fn ticket_search_understands_ids_and_date_ranges() {
    let sim = sim(Seed::Small).await;
    let r = get_json(&sim, "/api/v1/tickets/search?query=id:3").await;
    assert_eq!(r["tickets"], json!([3]));
    let all = get_json(&sim, "/api/v1/tickets/search?query=*&per_page=500").await;
    let total = all["tickets_count"].as_u64().unwrap() as usize;
    assert_eq!(total, sim.tickets().len());
    assert_eq!(all["tickets"].as_array().unwrap().len(), total.min(200));
    let default_page = get_json(&sim, "/api/v1/tickets/search?query=*").await;
    assert_eq!(
        default_page["tickets"].as_array().unwrap().len(),
        total.min(50)
    );
    let march = get_json(
        &sim,
        "/api/v1/tickets/search?query=updated_at:[2026-03-01%20TO%202026-03-31]&per_page=200",
    )
    .await;
    assert!(march["tickets_count"].as_u64().unwrap() > 0);
    let none = get_json(
        &sim,
        "/api/v1/tickets/search?query=updated_at:[2020-01-01%20TO%202020-01-31]",
    )
    .await;
    assert_eq!(none["tickets_count"], 0);
    let t = get_json(&sim, "/api/v1/tickets/1").await;
    assert!(t["number"].as_str().unwrap().starts_with("310"));
    let org = get_json(
        &sim,
        &format!("/api/v1/organizations/{}", t["organization_id"]),
    )
    .await;
    assert!(org["domain"].as_str().unwrap().ends_with(".example"));
    let agent = get_json(&sim, "/api/v1/users/2").await;
    let found = get_json(
        &sim,
        &format!(
            "/api/v1/users/search?query={}",
            agent["email"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(found[0]["id"], 2);
}

type Captured = Arc<Mutex<Option<(HeaderMap, Bytes)>>>;

#[tokio::test]
async fn a_webhook_is_signed_with_hmac_sha1_of_the_raw_body() {
    let sim = sim(Seed::Tiny).await;
    let captured: Captured = Arc::default();
    let c = captured.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let c = c.clone();
            async move {
                *c.lock().unwrap() = Some((headers, body));
                AxumStatus::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let delivery = sim
        .send_webhook(
            &format!("http://{addr}/hook"),
            Some("s3cret"),
            1,
            "timebridge",
        )
        .await
        .unwrap();
    assert_eq!(delivery.status, 202);
    let (headers, body) = captured.lock().unwrap().clone().unwrap();
    let mut mac = Hmac::<Sha1>::new_from_slice(b"s3cret").unwrap();
    mac.update(&body);
    let expected = format!("sha1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["x-hub-signature"], expected.as_str());
    assert_eq!(headers["user-agent"], "Zammad User Agent");
    assert_eq!(headers["x-zammad-trigger"], "timebridge");
    assert_eq!(headers["x-zammad-delivery"], delivery.delivery_id.as_str());
    assert_eq!(headers["content-type"], "application/json");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["ticket"]["id"], 1);
    assert!(v["article"].is_object());

    let unsigned = sim
        .send_webhook(&format!("http://{addr}/hook"), None, 1, "timebridge")
        .await
        .unwrap();
    assert_ne!(unsigned.delivery_id, delivery.delivery_id);
    let (headers, _) = captured.lock().unwrap().clone().unwrap();
    assert!(headers.get("x-hub-signature").is_none());
}

#[tokio::test]
async fn expanded_accountings_name_their_ticket_type_and_agent() {
    let sim = sim(Seed::Tiny).await;
    let list = get_json(
        &sim,
        "/api/v1/time_accountings?expand=true&sort_by=created_at&order_by=desc",
    )
    .await;
    let list = list.as_array().unwrap();
    assert!(
        list.iter()
            .all(|a| a["ticket"].is_string() && a["created_by"].is_string())
    );
    let created: Vec<&str> = list
        .iter()
        .map(|a| a["created_at"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]));
    let r = get(&sim, "/api/v1/time_accountings?sort_by=nonsense").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_failed_webhook_is_retried_with_the_same_delivery_id() {
    let sim = sim(Seed::Tiny).await;
    let calls = Arc::new(Mutex::new(Vec::<String>::new()));
    let c = calls.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap| {
            let c = c.clone();
            async move {
                let mut c = c.lock().unwrap();
                c.push(headers["x-zammad-delivery"].to_str().unwrap().to_owned());
                if c.len() < 3 {
                    AxumStatus::SERVICE_UNAVAILABLE
                } else {
                    AxumStatus::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let tries = sim
        .send_webhook_with_retries(
            &format!("http://{addr}/hook"),
            Some("k"),
            1,
            "t",
            std::time::Duration::from_millis(5),
        )
        .await
        .unwrap();
    let statuses: Vec<u16> = tries.iter().map(|t| t.status).collect();
    assert_eq!(statuses, [503, 503, 200]);
    let ids = calls.lock().unwrap().clone();
    assert!(ids.iter().all(|id| *id == ids[0]));
}

#[tokio::test]
async fn the_monthly_report_has_no_accounting_ids() {
    let sim = sim(Seed::Tiny).await;
    let rows = get_json(&sim, "/api/v1/time_accounting/log/by_activity/2026/3").await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), sim.accounting_count());
    assert!(
        rows.iter()
            .all(|r| r.get("id").is_none() && r["time_unit"].is_string())
    );
}

#[tokio::test]
async fn both_simulators_start_together_with_corresponding_data() {
    let (z, k) = timebridge_sim::start_both(SimOptions::with_seed(Seed::Tiny))
        .await
        .unwrap();
    assert_ne!(z.url, k.url);
    let agent = z.users().into_iter().find(|u| u.id == 2).unwrap();
    assert!(k.user_by_email(&agent.email).is_some());
}

#[tokio::test]
async fn absurd_paging_and_date_math_do_not_break_the_simulator() {
    let sim = sim(Seed::Tiny).await;
    let list = get_json(
        &sim,
        "/api/v1/time_accountings?page=18446744073709551615&per_page=500",
    )
    .await;
    assert_eq!(list, json!([]));
    let r = get(
        &sim,
        "/api/v1/tickets/search?query=updated_at:>now-999999999999999y",
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    get_json(&sim, "/api/v1/users/me").await;
}

/// `moment` as a query-safe UTC timestamp, e.g. `2026-04-01T07:00:00Z`.
fn iso(moment: chrono::DateTime<chrono::Utc>) -> String {
    moment.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn ids(list: &Value) -> Vec<u64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn users_search_by_updated_at_returns_exactly_the_users_renamed_after_a_moment() {
    let sim = sim(Seed::Tiny).await;
    sim.clock().advance(chrono::Duration::hours(1));
    sim.rename_user(2, "Before", "Moment").unwrap();
    sim.clock().advance(chrono::Duration::hours(1));
    let moment = sim.clock().now();
    let query = format!("/api/v1/users/search?query=updated_at:>={}", iso(moment));
    assert_eq!(ids(&get_json(&sim, &query).await), Vec::<u64>::new());

    sim.clock().advance(chrono::Duration::minutes(5));
    let renamed = sim.rename_user(5, "Renée", "Nouveau").unwrap();
    assert_eq!(renamed.updated_at, sim.clock().now());
    sim.clock().advance(chrono::Duration::minutes(5));
    let moved = sim.set_user_email(3, "moved@elsewhere.example").unwrap();
    assert_eq!(moved.email, "moved@elsewhere.example");

    let found = get_json(&sim, &query).await;
    assert_eq!(ids(&found), [3, 5]);
    assert_eq!(found[1]["firstname"], "Renée");
    assert_eq!(found[1]["lastname"], "Nouveau");
    assert_eq!(found[0]["email"], "moved@elsewhere.example");
    let newest_first = get_json(&sim, &format!("{query}&sort_by=updated_at&order_by=desc")).await;
    assert_eq!(ids(&newest_first), [3, 5]);
    let oldest_first = get_json(&sim, &format!("{query}&sort_by=updated_at")).await;
    assert_eq!(ids(&oldest_first), [5, 3]);
    let recent = get_json(&sim, "/api/v1/users/search?query=updated_at:>now-1h").await;
    assert_eq!(ids(&recent), [3, 5]);
    let combined = get_json(
        &sim,
        &format!("{query}%20AND%20email:moved@elsewhere.example"),
    )
    .await;
    assert_eq!(ids(&combined), [3]);
    let paged = get_json(&sim, &format!("{query}&per_page=1&page=2")).await;
    assert_eq!(ids(&paged), [5]);
    assert!(sim.rename_user(999, "No", "One").is_err());
    // Plain text and email: queries keep matching as before.
    let by_text = get_json(&sim, "/api/v1/users/search?query=email:MOVED@elsewhere").await;
    assert_eq!(ids(&by_text), [3]);
    let everyone = get_json(&sim, "/api/v1/users/search?query=*").await;
    assert_eq!(ids(&everyone).len(), sim.users().len());
}

#[tokio::test]
async fn organizations_search_by_updated_at_returns_exactly_the_renamed_organization() {
    let sim = sim(Seed::Tiny).await;
    assert!(sim.organizations().len() >= 2);
    sim.clock().advance(chrono::Duration::hours(1));
    let moment = sim.clock().now();
    let query = format!(
        "/api/v1/organizations/search?query=updated_at:>={}",
        iso(moment)
    );
    assert_eq!(get_json(&sim, &query).await, json!([]));

    sim.clock().advance(chrono::Duration::minutes(1));
    let renamed = sim.rename_organization(2, "Renamed Corp").unwrap();
    assert_eq!(renamed.updated_at, sim.clock().now());
    let found = get_json(&sim, &query).await;
    assert_eq!(ids(&found), [2]);
    assert_eq!(found[0]["name"], "Renamed Corp");
    assert_eq!(found[0]["updated_at"], "2026-04-01T07:01:00.000Z");
    let all = get_json(&sim, "/api/v1/organizations/search?query=*").await;
    assert_eq!(ids(&all).len(), sim.organizations().len());
    assert!(ids(&all).windows(2).all(|w| w[0] < w[1]));
    let by_name = get_json(&sim, "/api/v1/organizations/search?query=renamed").await;
    assert_eq!(ids(&by_name), [2]);
    assert!(sim.rename_organization(999, "Nobody").is_err());
    let r = get(
        &sim,
        "/api/v1/organizations/search?query=updated_at:>=yesterday",
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_ticket_whose_title_was_set_is_found_by_updated_at_and_shows_the_new_title() {
    let sim = sim(Seed::Tiny).await;
    sim.clock().advance(chrono::Duration::days(1));
    let moment = sim.clock().now();
    let query = format!("/api/v1/tickets/search?query=updated_at:>={}", iso(moment));
    assert_eq!(get_json(&sim, &query).await["tickets_count"], 0);

    sim.clock().advance(chrono::Duration::minutes(1));
    let t = sim.set_ticket_title(2, "Printer on fire").unwrap();
    assert_eq!(t.updated_at, sim.clock().now());
    let found = get_json(&sim, &query).await;
    assert_eq!(found["tickets"], json!([2]));
    assert_eq!(found["assets"]["Ticket"]["2"]["title"], "Printer on fire");
    assert!(sim.set_ticket_title(999, "Nothing").is_err());
}

#[tokio::test]
async fn users_search_with_an_invalid_date_condition_answers_422() {
    let sim = sim(Seed::Tiny).await;
    for query in [
        "updated_at:>=not-a-date",
        "created_at:[2026-01-01%20TO%20someday]",
        "email:a@b.example%20AND%20updated_at:<yesterday",
    ] {
        let r = get(&sim, &format!("/api/v1/users/search?query={query}")).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"], "Invalid search query");
    }
}
