//! Money at risk (`GET /api/reports/money-at-risk`) through the test world: before a sync
//! every source entry of the month is at risk, priced exactly as the target then prices
//! the timesheets it is given; after it only the conflicts remain; a target without rates
//! (and without customers) answers time without amounts; nothing is written.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::{Seed, SimOptions};
use timebridge_world::{Pair, World};

use crate::api_test;
use crate::common::{TestApp, error_code};

async fn start(app: &TestApp, token: &str, pair: Pair) -> (World, i64) {
    let world = World::start(pair, SimOptions::with_seed(Seed::Tiny))
        .await
        .unwrap();
    let ids = timebridge_world::configure_api(&app.api(token), &world.plan)
        .await
        .unwrap();
    (world, ids.pipeline)
}

async fn sync(app: &TestApp, token: &str, pipeline: i64, dry_run: bool) -> Value {
    let (status, run) = app
        .send_json(
            Method::POST,
            "/api/sync/manual?wait=true",
            token,
            &json!({"pipeline_id": pipeline, "from": "2026-03-01", "to": "2026-03-31", "dry_run": dry_run}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    run
}

async fn report(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = app
        .get_json(&format!("/api/reports/money-at-risk?{query}"), token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn rows(report: &Value) -> &Vec<Value> {
    report["rows"].as_array().unwrap()
}

fn cents(v: &Value) -> i64 {
    (v.as_f64().unwrap() * 100.0).round() as i64
}

api_test!(async fn before_a_sync_every_entry_of_the_month_is_at_risk_and_priced_as_kimai_prices_it(app) {
    app.clock.set("2026-04-01T06:00:00Z".parse().unwrap());
    let token = app.login().await;
    let (world, pipeline) = start(app, &token, Pair::ZammadKimai).await;
    let kimai = world.kimai();
    let posts = kimai.log().count("POST /api/timesheets");

    let before = report(app, &token, &format!("pipeline_id={pipeline}&month=2026-03")).await;
    assert_eq!(before["month"], "2026-03");
    assert_eq!(before["timezone"], "UTC");
    assert_eq!(before["currency"], "EUR", "{before}");
    assert_eq!(before["pipelines"][0]["priced"], true);
    assert_eq!(kimai.log().count("POST /api/timesheets"), posts, "the report writes nothing");

    // The same entries a dry run of the month would write or raise.
    let dry = sync(app, &token, pipeline, true).await;
    let at_risk = dry["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| matches!(i["outcome"].as_str(), Some("create" | "update" | "conflict")))
        .count() as u64;
    assert!(at_risk > 0);
    assert_eq!(before["totals"]["entries"], at_risk, "{before}");
    assert!(before["totals"]["seconds_unsynced"].as_i64().unwrap() > 0);
    let sum: i64 = rows(&before).iter().filter_map(|r| r["amount"].as_f64()).map(|a| (a * 100.0).round() as i64).sum();
    assert_eq!(cents(&before["total"]), sum);

    sync(app, &token, pipeline, false).await;
    // Kimai priced each timesheet it was given with its own rates: for every customer
    // whose entries were all written, the report's amount is what Kimai now bills.
    let customer_of: HashMap<u64, u64> = kimai.projects().iter().map(|p| (p.id, p.customer)).collect();
    let mut billed: HashMap<String, (i64, i64)> = HashMap::new();
    for t in kimai.timesheets().iter().filter(|t| t.description.as_deref().is_some_and(|d| d.contains("[tb-zammad-"))) {
        let b = billed.entry(customer_of[&t.project].to_string()).or_default();
        b.0 += (t.rate * 100.0).round() as i64;
        b.1 += t.duration.unwrap_or(0);
    }
    let mut compared = 0;
    let (mut one_rate, mut mixed) = (0, 0);
    for row in rows(&before).iter().filter(|r| r["side"] == "target" && r["seconds_in_conflict"] == 0) {
        let key = row["customer"]["key"].as_str().unwrap();
        let (amount, seconds) = billed[key];
        assert_eq!(cents(&row["amount"]), amount, "{row}");
        assert_eq!(row["seconds_unsynced"].as_i64().unwrap(), seconds, "{row}");
        assert_eq!(row["currency"], "EUR");
        if row["rate"].is_null() { mixed += 1 } else { one_rate += 1 }
        compared += 1;
    }
    assert!(compared > 0, "{before}");
    // The seed prices one customer at one rate and another by activity and user: each
    // entry at its own rate, the row's rate then null.
    assert!(one_rate > 0 && mixed > 0, "{before}");

    // After the sync only the conflicts are at risk.
    let after = report(app, &token, &format!("pipeline_id={pipeline}&month=2026-03")).await;
    assert_eq!(after["totals"]["seconds_unsynced"], 0, "{after}");
    let (_, groups) = app.get_json(&format!("/api/conflicts/groups?pipeline_id={pipeline}"), &token).await;
    let conflict_seconds: i64 = groups["items"].as_array().unwrap().iter().map(|g| g["seconds"].as_i64().unwrap()).sum();
    assert_eq!(after["totals"]["seconds_in_conflict"].as_i64().unwrap(), conflict_seconds, "{after} {groups}");
    let refused: i64 = groups["items"].as_array().unwrap().iter()
        .filter(|g| g["reason"] == "target_rejected")
        .map(|g| g["seconds"].as_i64().unwrap()).sum();
    assert_eq!(after["totals"]["seconds_refused"].as_i64().unwrap(), refused);
    // Unmapped entries are counted under the source's customer, without a price.
    for row in rows(&after).iter().filter(|r| r["side"] == "source") {
        assert!(row["amount"].is_null() && row["rate"].is_null(), "{row}");
    }
    // Another month has nothing at risk.
    let feb = report(app, &token, &format!("pipeline_id={pipeline}&month=2025-06")).await;
    assert!(rows(&feb).is_empty(), "{feb}");
    assert!(feb["total"].is_null());
});

api_test!(async fn the_report_downloads_as_csv_and_refuses_a_bad_month_or_pipeline(app) {
    app.clock.set("2026-04-01T06:00:00Z".parse().unwrap());
    let token = app.login().await;
    let (_world, pipeline) = start(app, &token, Pair::ZammadKimai).await;
    let json = report(app, &token, &format!("pipeline_id={pipeline}&month=2026-03")).await;
    for req in [
        app.authed(Method::GET, &format!("/api/reports/money-at-risk?pipeline_id={pipeline}&month=2026-03&format=csv"), &token),
        app.authed(Method::GET, &format!("/api/reports/money-at-risk?pipeline_id={pipeline}&month=2026-03"), &token)
            .header("accept", "text/csv"),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(res.headers()["content-disposition"].to_str().unwrap().contains("money-at-risk-2026-03.csv"));
        let text = res.text().await.unwrap();
        let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
        assert!(lines[0].starts_with("pipeline_id,pipeline,side,customer_key,customer,"));
        assert_eq!(lines.len() - 1, rows(&json).len(), "{text}");
        let first = &rows(&json)[0];
        assert!(lines[1].ends_with(&format!(",EUR,{:.2}", first["amount"].as_f64().unwrap())), "{}", lines[1]);
    }
    // The current month (April by the clock) is the default.
    let current = report(app, &token, &format!("pipeline_id={pipeline}")).await;
    assert_eq!(current["month"], "2026-04");

    let (status, body) = app.get_json(&format!("/api/reports/money-at-risk?pipeline_id={pipeline}&month=2026-3"), &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app.get_json("/api/reports/money-at-risk?pipeline_id=999999", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_code(&body), "not_found");
    let res = app.client.get(app.url("/api/reports/money-at-risk")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
});

api_test!(async fn a_target_without_rates_or_customers_shows_time_without_amounts_among_all_pipelines(app) {
    app.clock.set("2026-04-01T06:00:00Z".parse().unwrap());
    let token = app.login().await;
    let (_kimai, with_rates) = start(app, &token, Pair::ZammadKimai).await;
    let (_odoo, attendance) = start(app, &token, Pair::JibbleOdoo).await;
    let all = report(app, &token, "month=2026-03").await;
    let pipelines = all["pipelines"].as_array().unwrap();
    assert_eq!(pipelines.len(), 2, "{all}");
    let priced: HashMap<i64, bool> = pipelines.iter().map(|p| (p["id"].as_i64().unwrap(), p["priced"].as_bool().unwrap())).collect();
    assert!(priced[&with_rates]);
    assert!(!priced[&attendance]);
    assert!(pipelines.iter().all(|p| p["error"].is_null()), "{all}");
    let odoo: Vec<&Value> = rows(&all).iter().filter(|r| r["pipeline_id"] == attendance).collect();
    // Attendances name no customer: one row, with the time and no price.
    assert_eq!(odoo.len(), 1, "{all}");
    assert!(odoo[0]["customer"]["key"].is_null());
    assert!(odoo[0]["amount"].is_null() && odoo[0]["rate"].is_null());
    assert!(odoo[0]["seconds_unsynced"].as_i64().unwrap() > 0);
    assert_eq!(odoo[0]["seconds_unpriced"].as_i64().unwrap(),
        odoo[0]["seconds_unsynced"].as_i64().unwrap() + odoo[0]["seconds_in_conflict"].as_i64().unwrap());
    // The total is Kimai's: the unpriced rows add time, not money.
    let kimai_total: i64 = rows(&all).iter().filter(|r| r["pipeline_id"] == with_rates).filter_map(|r| r["amount"].as_f64()).map(|a| (a * 100.0).round() as i64).sum();
    assert_eq!(cents(&all["total"]), kimai_total);
    let one = report(app, &token, &format!("pipeline_id={attendance}&month=2026-03")).await;
    assert!(one["total"].is_null() && one["currency"].is_null(), "{one}");
});
