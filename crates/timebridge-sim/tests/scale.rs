//! Month-scale smoke run (about 3 s): a whole month pages through on both sides. It
//! asserts behaviour only, never timing (`--nocapture` prints the times it took).

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use reqwest::Client;
use serde_json::Value;
use timebridge_sim::kimai::NewTimesheet;
use timebridge_sim::{KimaiSim, Seed, SimOptions, ZammadSim};

#[tokio::test]
async fn a_month_of_data_can_be_paged_through_on_both_sides() {
    let t = Instant::now();
    let z = ZammadSim::start(SimOptions::with_seed(Seed::Month))
        .await
        .unwrap();
    let k = KimaiSim::start(SimOptions::with_seed(Seed::Month))
        .await
        .unwrap();
    println!("start both: {:?}", t.elapsed());
    let client = Client::new();

    let t = Instant::now();
    let mut n = 0;
    for page in 1.. {
        let list: Vec<Value> = client
            .get(format!(
                "{}/api/v1/time_accountings?page={page}&per_page=500",
                z.url
            ))
            .header("Authorization", format!("Token token={}", z.token))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        n += list.len();
        if list.len() < 500 {
            break;
        }
    }
    assert_eq!(n, z.accounting_count());
    println!("zammad: {n} accountings paged in {:?}", t.elapsed());

    let users: Vec<u64> = k.users().iter().map(|u| u.id).collect();
    let t = Instant::now();
    let base = Utc.with_ymd_and_hms(2026, 3, 2, 7, 0, 0).unwrap();
    for i in 0..n as i64 {
        let begin = base + Duration::minutes(i % 20_000);
        k.insert_timesheet(NewTimesheet {
            user: users[i as usize % users.len()],
            project: 1,
            activity: 1,
            begin,
            end: Some(begin + Duration::minutes(15)),
            description: Some(format!("ZAMMAD-{i}")),
            tags: vec![],
            exported: false,
            billable: None,
        })
        .unwrap();
    }
    println!("kimai: inserted {n} in {:?}", t.elapsed());
    let t = Instant::now();
    let mut seen = 0;
    for page in 1.. {
        let r = client
            .get(format!(
                "{}/api/timesheets?user=all&size=500&page={page}",
                k.url
            ))
            .bearer_auth(&k.token)
            .send()
            .await
            .unwrap();
        let pages: usize = r.headers()["x-total-pages"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let list: Vec<Value> = r.json().await.unwrap();
        seen += list.len();
        if page >= pages {
            break;
        }
    }
    assert_eq!(seen, n);
    println!("kimai: {seen} timesheets paged in {:?}", t.elapsed());
}
