//! The Kimai simulator checked against shared/docs/external-apis.md with plain HTTP.

use chrono::{TimeZone, Utc};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::kimai::{NewTimesheet, Permissions};
use timebridge_sim::{Fault, KimaiSim, Seed, SimOptions};

async fn sim(seed: Seed) -> KimaiSim {
    KimaiSim::start(SimOptions::with_seed(seed)).await.unwrap()
}

fn get(sim: &KimaiSim, path: &str) -> reqwest::RequestBuilder {
    Client::new()
        .get(format!("{}{}", sim.url, path))
        .bearer_auth(&sim.token)
}

async fn post(sim: &KimaiSim, path: &str, body: Value) -> Response {
    Client::new()
        .post(format!("{}{}", sim.url, path))
        .bearer_auth(&sim.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn patch(sim: &KimaiSim, path: &str, body: Value) -> Response {
    Client::new()
        .patch(format!("{}{}", sim.url, path))
        .bearer_auth(&sim.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Kimai user id of the seeded agent living in `tz`.
fn user_in(sim: &KimaiSim, tz: chrono_tz::Tz) -> u64 {
    sim.users()
        .into_iter()
        .find(|u| u.timezone == tz && u.id != 1)
        .unwrap()
        .id
}

fn entry(project: u64, activity: u64, begin: &str, end: &str) -> Value {
    json!({"project": project, "activity": activity, "begin": begin, "end": end})
}

#[tokio::test]
async fn missing_credentials_get_401_json_and_a_bad_token_gets_401_with_www_authenticate() {
    let sim = sim(Seed::Tiny).await;
    let r = Client::new()
        .get(format!("{}/api/ping", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"message": "Unauthorized", "code": 401}));

    let r = Client::new()
        .get(format!("{}/api/ping", sim.url))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let www = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(www.starts_with("Bearer error=\"invalid_token\""), "{www}");
    assert!(r.bytes().await.unwrap().is_empty());

    let r = get(&sim, "/api/version").send().await.unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["version"], "2.66.0");
    assert_eq!(body["versionId"], 26600);
}

#[tokio::test]
async fn create_answers_200_with_the_entity_and_delete_answers_204() {
    let sim = sim(Seed::Tiny).await;
    let r = post(
        &sim,
        "/api/timesheets",
        entry(1, 1, "2026-03-02T08:00:00", "2026-03-02T09:00:00"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let id = body["id"].as_u64().unwrap();
    for key in [
        "id",
        "begin",
        "end",
        "duration",
        "description",
        "rate",
        "internalRate",
        "activity",
        "project",
        "user",
        "tags",
        "metaFields",
        "exported",
        "billable",
        "break",
    ] {
        assert!(body.get(key).is_some(), "missing {key} in {body}");
    }
    assert_eq!(body["description"], Value::Null);
    assert_eq!(body["duration"], 3600);

    let r = get(&sim, &format!("/api/timesheets/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = Client::new()
        .delete(format!("{}/api/timesheets/{id}", sim.url))
        .bearer_auth(&sim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = get(&sim, &format!("/api/timesheets/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"code": 404, "message": "Not Found"})
    );
}

#[tokio::test]
async fn an_unknown_field_such_as_duration_is_rejected_as_extra_field() {
    let sim = sim(Seed::Tiny).await;
    let mut body = entry(1, 1, "2026-03-02T08:00:00", "2026-03-02T09:00:00");
    body["duration"] = json!(3600);
    let r = post(&sim, "/api/timesheets", body).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "Validation Failed");
    assert_eq!(
        body["errors"]["errors"][0],
        "This form should not contain extra fields."
    );
    assert_eq!(sim.timesheet_count(), 0);
}

#[tokio::test]
async fn snake_case_keys_are_converted_and_unknown_tags_are_dropped_silently() {
    let sim = sim(Seed::Tiny).await;
    let tags_before = sim.tag_count();
    let mut body = entry(1, 1, "2026-03-02T08:00:00", "2026-03-02T09:00:00");
    body["tags"] = json!("zammad, nosuchtag,urgent");
    body["fixed_rate"] = json!(10.5);
    let r = post(&sim, "/api/timesheets", body).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["tags"], json!(["zammad", "urgent"]));
    assert_eq!(v["fixedRate"], 10.5);
    assert_eq!(v["rate"], 10.5);
    assert_eq!(sim.tag_count(), tags_before);

    let r = post(
        &sim,
        "/api/tags",
        json!({"name": "nosuchtag", "visible": true}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let tag: Value = r.json().await.unwrap();
    assert_eq!(tag["name"], "nosuchtag");
    let found: Value = get(&sim, "/api/tags/find?name=nosuch")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found[0]["name"], "nosuchtag");
    let mut body = entry(1, 1, "2026-03-02T10:00:00", "2026-03-02T11:00:00");
    body["tags"] = json!(["nosuchtag"]);
    let v: Value = post(&sim, "/api/timesheets", body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["tags"], json!(["nosuchtag"]));
}

fn child_errors(body: &Value, field: &str) -> Vec<String> {
    body["errors"]["children"][field]["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| e.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn validation_errors_have_kimais_shape_and_messages() {
    let sim = sim(Seed::Small).await;
    let r = post(
        &sim,
        "/api/timesheets",
        json!({"begin": "2026-03-02T08:00:00", "end": "2026-03-02T07:00:00"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["code"], 400);
    assert_eq!(b["message"], "Validation Failed");
    assert_eq!(
        child_errors(&b, "project"),
        ["A project needs to be selected."]
    );
    assert_eq!(
        child_errors(&b, "activity"),
        ["An activity needs to be selected."]
    );
    assert_eq!(
        child_errors(&b, "end"),
        ["End date must not be earlier then start date."]
    );

    let b: Value = post(
        &sim,
        "/api/timesheets",
        entry(999, 1, "2026-03-02T08:00:00", "2026-03-02T09:00:00"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        child_errors(&b, "project"),
        ["The selected choice is invalid."]
    );

    // Activity "Project work" belongs to project 1; used with project 3.
    let project_work = sim
        .activities()
        .into_iter()
        .find(|a| a.project == Some(1))
        .unwrap()
        .id;
    let b: Value = post(
        &sim,
        "/api/timesheets",
        entry(
            3,
            project_work,
            "2026-03-02T08:00:00",
            "2026-03-02T09:00:00",
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        child_errors(&b, "project"),
        ["Project mismatch, project specific activity and timesheet project are different."]
    );

    // Project 2 has globalActivities = false; activity 1 is global.
    let b: Value = post(
        &sim,
        "/api/timesheets",
        entry(2, 1, "2026-03-02T08:00:00", "2026-03-02T09:00:00"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        child_errors(&b, "activity"),
        ["Global activities are forbidden for the selected project."]
    );

    // Project 3 started on 2025-03-01 (a year before the generated month).
    let b: Value = post(
        &sim,
        "/api/timesheets",
        entry(3, 1, "2024-03-02T08:00:00", "2024-03-02T09:00:00"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        child_errors(&b, "begin"),
        ["The project has not started at that time."]
    );
}

#[tokio::test]
async fn malformed_list_parameters_get_400_bad_request() {
    let sim = sim(Seed::Tiny).await;
    for query in [
        "user=current",
        "user=abc",
        "users[]=x",
        "project=p1",
        "page=first",
        "size=-1",
        "tags[]=nosuchtag",
        "orderBy=duration",
        "order=desc",
        "begin=2026-03-01",
        "begin=2026-03-01T00:00",
        "end=2026-03-01T00:00:00Z",
        "exported=yes",
        "active=2",
        "billable=true",
        "full=yes",
        "modified_after=2026-03-01",
    ] {
        let r = get(&sim, &format!("/api/timesheets?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"code": 400, "message": "Bad Request"}),
            "{query}"
        );
    }
    for query in [
        "user=all",
        "user=1",
        "full=true",
        "full=0",
        "order=ASC",
        "tags[]=zammad",
    ] {
        let r = get(&sim, &format!("/api/timesheets?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{query}");
    }
}

async fn fill(sim: &KimaiSim, n: u32) {
    let user = user_in(sim, chrono_tz::Europe::Berlin);
    for i in 0..n {
        let begin = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
            + chrono::Duration::hours(i64::from(i));
        sim.insert_timesheet(NewTimesheet {
            user,
            project: 1,
            activity: 1,
            begin,
            end: Some(begin + chrono::Duration::minutes(30)),
            description: Some(format!("entry {i}")),
            tags: vec![],
            exported: false,
            billable: None,
        })
        .unwrap();
    }
}

#[tokio::test]
async fn paging_headers_are_set_and_a_page_past_the_last_is_404() {
    let sim = sim(Seed::Tiny).await;
    let r = get(&sim, "/api/timesheets?user=all").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-total-pages"], "1");
    assert_eq!(r.headers()["x-total-count"], "0");
    fill(&sim, 12).await;
    let r = get(&sim, "/api/timesheets?user=all&size=5&page=3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-page"], "3");
    assert_eq!(r.headers()["x-total-count"], "12");
    assert_eq!(r.headers()["x-total-pages"], "3");
    assert_eq!(r.headers()["x-per-page"], "5");
    let items: Vec<Value> = r.json().await.unwrap();
    assert_eq!(items.len(), 2);
    // Default order: begin DESC, so the last page holds the earliest entries.
    assert_eq!(items[1]["description"], "entry 0");
    let r = get(&sim, "/api/timesheets?user=all&size=5&page=4")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = get(&sim, "/api/timesheets?user=all&size=5000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-per-page"], "500");
}

#[tokio::test]
async fn the_end_filter_applies_to_the_entrys_begin_in_the_callers_zone() {
    let sim = sim(Seed::Tiny).await;
    fill(&sim, 3).await; // begins 08:00Z, 09:00Z, 10:00Z on 2026-03-02 (Berlin +0100)
    // end = 10:30 Berlin = 09:30Z: keeps the entry that begins 09:00Z although it ends 09:30Z+.
    let items: Vec<Value> = get(
        &sim,
        "/api/timesheets?user=all&end=2026-03-02T10:30:00&orderBy=id&order=ASC",
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let ids: Vec<u64> = items.iter().map(|i| i["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2]);
    let items: Vec<Value> = get(&sim, "/api/timesheets?user=all&begin=2026-03-02T10:00:00")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items.len(), 2);
}

#[tokio::test]
async fn post_reads_wall_times_in_the_callers_zone_and_patch_in_the_entrys_zone() {
    let sim = sim(Seed::Small).await;
    let ny = user_in(&sim, chrono_tz::America::New_York);
    // 2026-03-10: New York already on EDT (-0400, since 8 March), Berlin still CET (+0100).
    let mut body = entry(1, 1, "2026-03-10T09:00:00", "2026-03-10T10:00:00");
    body["user"] = json!(ny);
    let r = post(&sim, "/api/timesheets", body).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    // Read in the caller's (Berlin) zone and rendered with the caller's offset.
    assert_eq!(v["begin"], "2026-03-10T09:00:00+0100");
    let id = v["id"].as_u64().unwrap();
    let stored = sim.timesheet(id).unwrap();
    assert_eq!(
        stored.begin,
        Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap()
    );
    assert_eq!(stored.timezone, chrono_tz::America::New_York);
    // Later reads use the entry user's zone.
    let v: Value = get(&sim, &format!("/api/timesheets/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["begin"], "2026-03-10T04:00:00-0400");
    assert_eq!(v["end"], "2026-03-10T05:00:00-0400");
    // PATCH reads in the entry's (New York) zone.
    let r = patch(
        &sim,
        &format!("/api/timesheets/{id}"),
        json!({"begin": "2026-03-10T05:00:00", "end": "2026-03-10T06:30:00"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["begin"], "2026-03-10T05:00:00-0400");
    assert_eq!(v["duration"], 5400);
    assert_eq!(
        sim.timesheet(id).unwrap().begin,
        Utc.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).unwrap()
    );
}

#[tokio::test]
async fn a_berlin_entry_across_the_european_dst_change_renders_both_offsets() {
    let sim = sim(Seed::Small).await;
    let berlin = user_in(&sim, chrono_tz::Europe::Berlin);
    let mut body = entry(1, 1, "2026-03-28T23:00:00", "2026-03-29T04:00:00");
    body["user"] = json!(berlin);
    let v: Value = post(&sim, "/api/timesheets", body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["begin"], "2026-03-28T23:00:00+0100");
    assert_eq!(v["end"], "2026-03-29T04:00:00+0200");
    assert_eq!(v["duration"], 4 * 3600);
    // 02:30 does not exist on 29 March in Berlin: PHP moves it forward by the gap.
    let mut body = entry(1, 1, "2026-03-29T02:30:00", "2026-03-29T05:00:00");
    body["user"] = json!(berlin);
    let v: Value = post(&sim, "/api/timesheets", body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["begin"], "2026-03-29T03:30:00+0200");
}

#[tokio::test]
async fn begin_is_rounded_down_and_end_up_to_the_minute() {
    let sim = sim(Seed::Tiny).await;
    let v: Value = post(
        &sim,
        "/api/timesheets",
        entry(1, 1, "2026-03-02T08:00:40", "2026-03-02T09:00:10"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["begin"], "2026-03-02T08:00:00+0100");
    assert_eq!(v["end"], "2026-03-02T09:01:00+0100");
    assert_eq!(v["duration"], 3660);
}

#[tokio::test]
async fn exported_and_lockdown_entries_are_locked_for_the_api_user() {
    let sim = sim(Seed::Tiny).await;
    fill(&sim, 2).await;
    sim.set_exported(1, true).unwrap();
    let r = patch(&sim, "/api/timesheets/1", json!({"description": "x"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"code": 403, "message": "Forbidden"})
    );
    let r = Client::new()
        .delete(format!("{}/api/timesheets/1", sim.url))
        .bearer_auth(&sim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let mut perms = Permissions::api();
    perms.edit_exported = true;
    sim.set_permissions(sim.api_user().id, perms).unwrap();
    let r = patch(&sim, "/api/timesheets/1", json!({"description": "x"})).await;
    assert_eq!(r.status(), StatusCode::OK);

    sim.set_lockdown(Some(Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap()));
    let r = patch(&sim, "/api/timesheets/2", json!({"description": "y"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_plain_user_token_cannot_list_other_users_or_create_for_them() {
    let sim = sim(Seed::Tiny).await;
    let berlin = user_in(&sim, chrono_tz::Europe::Berlin);
    sim.add_token("plain", berlin).unwrap();
    let client = Client::new();
    let r = client
        .get(format!("{}/api/timesheets?user=all", sim.url))
        .bearer_auth("plain")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client
        .get(format!("{}/api/timesheets?user={berlin}", sim.url))
        .bearer_auth("plain")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = entry(1, 1, "2026-03-02T08:00:00", "2026-03-02T09:00:00");
    body["user"] = json!(1);
    let r = client
        .post(format!("{}/api/timesheets", sim.url))
        .bearer_auth("plain")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn modified_after_term_and_full_filter_and_expand_as_documented() {
    let sim = sim(Seed::Tiny).await;
    fill(&sim, 3).await;
    sim.clock().advance(chrono::Duration::hours(1));
    sim.edit_timesheet(2, |t| t.description = Some("fixed printer TB-42".into()))
        .unwrap();
    let after = (sim.clock().now() - chrono::Duration::minutes(1)).format("%Y-%m-%dT%H:%M:%S");
    let items: Vec<Value> = get(
        &sim,
        &format!("/api/timesheets?user=all&modified_after={after}"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], 2);
    let items: Vec<Value> = get(&sim, "/api/timesheets?user=all&term=printer%20tb-42")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    let items: Vec<Value> = get(&sim, "/api/timesheets?user=all&term=entry%20!printer")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items.len(), 2);
    let items: Vec<Value> = get(&sim, "/api/timesheets?user=all&full=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(items[0]["project"]["customer"]["name"].is_string());
    assert!(items[0]["activity"]["name"].is_string());
    assert!(items[0]["user"]["username"].is_string());
}

#[tokio::test]
async fn a_repeated_id_on_the_next_page_can_be_injected() {
    let sim = sim(Seed::Tiny).await;
    fill(&sim, 4).await;
    sim.faults()
        .fail_next("GET /api/timesheets", 1, Fault::RepeatPreviousPageId);
    let p1: Vec<Value> = get(&sim, "/api/timesheets?user=all&size=2&page=1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let p2: Vec<Value> = get(&sim, "/api/timesheets?user=all&size=2&page=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The fault was consumed by page 1 (no previous page there): page 2 is clean.
    assert_eq!(p1.len() + p2.len(), 4);
    sim.faults()
        .fail_next("GET /api/timesheets", 1, Fault::RepeatPreviousPageId);
    let p2: Vec<Value> = get(&sim, "/api/timesheets?user=all&size=2&page=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p2.len(), 3);
    assert_eq!(p2[0]["id"], p1[1]["id"]);
}

#[tokio::test]
async fn billable_is_computed_from_the_activity_unless_given() {
    let sim = sim(Seed::Small).await;
    let internal = sim
        .activities()
        .into_iter()
        .find(|a| a.name == "Internal")
        .unwrap()
        .id;
    let v: Value = post(
        &sim,
        "/api/timesheets",
        entry(1, internal, "2026-03-02T08:00:00", "2026-03-02T09:00:00"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["billable"], false);
    let mut body = entry(1, internal, "2026-03-02T10:00:00", "2026-03-02T11:00:00");
    body["billable"] = json!(true);
    let v: Value = post(&sim, "/api/timesheets", body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["billable"], true);
}

#[tokio::test]
async fn projects_outside_their_dates_are_listed_only_with_ignore_dates() {
    let sim = sim(Seed::Small).await;
    let names =
        |v: Vec<Value>| -> Vec<u64> { v.iter().map(|p| p["id"].as_u64().unwrap()).collect() };
    let now: Vec<Value> = get(&sim, "/api/projects")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!names(now).contains(&4), "project 4 ended mid-month");
    let all: Vec<Value> = get(&sim, "/api/projects?ignoreDates=1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(names(all).contains(&4));
    // Project 2 has no global activities: only its own are offered.
    let acts: Vec<Value> = get(&sim, "/api/activities?project=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!acts.is_empty());
    assert!(acts.iter().all(|a| a["project"] == 2));
    let acts: Vec<Value> = get(&sim, "/api/activities?project=1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(acts.iter().any(|a| a["project"].is_null()));
    assert!(acts.iter().any(|a| a["project"] == 1));
}

#[tokio::test]
async fn meta_fields_can_be_patched_only_when_configured() {
    let sim = sim(Seed::Tiny).await;
    fill(&sim, 1).await;
    let r = patch(
        &sim,
        "/api/timesheets/1/meta",
        json!({"name": "zammad_id", "value": "7"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    sim.configure_meta_field("zammad_id");
    let r = patch(
        &sim,
        "/api/timesheets/1/meta",
        json!({"name": "zammad_id", "value": "7"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["metaFields"],
        json!([{"name": "zammad_id", "value": "7"}])
    );
    let items: Vec<Value> = get(&sim, "/api/timesheets?user=all&term=zammad_id:7")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
}

#[tokio::test]
async fn users_me_reports_the_api_users_timezone() {
    let sim = sim(Seed::Tiny).await;
    let me: Value = get(&sim, "/api/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["timezone"], "Europe/Berlin");
    let ny = user_in(&sim, chrono_tz::America::New_York);
    sim.set_api_user(ny).unwrap();
    let me: Value = get(&sim, "/api/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["timezone"], "America/New_York");
}

#[tokio::test]
async fn a_begin_with_an_offset_is_read_as_wall_time_like_kimai_does() {
    let sim = sim(Seed::Tiny).await;
    let v: Value = post(
        &sim,
        "/api/timesheets",
        entry(1, 1, "2026-03-02T08:00:00+05:00", "2026-03-02T09:00:00Z"),
    )
    .await
    .json()
    .await
    .unwrap();
    // The offsets are ignored: the wall times are read in the caller's zone (Berlin).
    assert_eq!(v["begin"], "2026-03-02T08:00:00+0100");
    assert_eq!(v["end"], "2026-03-02T09:00:00+0100");
}

#[tokio::test]
async fn in_punch_mode_a_plain_user_cannot_send_begin_and_end() {
    let sim = sim(Seed::Tiny).await;
    let berlin = user_in(&sim, chrono_tz::Europe::Berlin);
    sim.add_token("plain", berlin).unwrap();
    sim.set_tracking_mode("punch");
    let cfg: Value = get(&sim, "/api/config/timesheet")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cfg["trackingMode"], "punch");
    let r = Client::new()
        .post(format!("{}/api/timesheets", sim.url))
        .bearer_auth("plain")
        .json(&entry(1, 1, "2026-03-02T08:00:00", "2026-03-02T09:00:00"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = Client::new()
        .get(format!("{}/api/users", sim.url))
        .bearer_auth("plain")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn rate_fields_are_absent_without_the_rate_permission() {
    let sim = sim(Seed::Tiny).await;
    let mut perms = Permissions::api();
    perms.view_rate = false;
    perms.edit_rate = false;
    sim.set_permissions(1, perms).unwrap();
    let v: Value = post(
        &sim,
        "/api/timesheets",
        entry(1, 1, "2026-03-02T08:00:00", "2026-03-02T09:00:00"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(v.get("rate").is_none() && v.get("internalRate").is_none());
    let mut body = entry(1, 1, "2026-03-02T10:00:00", "2026-03-02T11:00:00");
    body["hourlyRate"] = json!(50);
    let r = post(&sim, "/api/timesheets", body).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn garbage_input_is_answered_with_400_and_the_simulator_keeps_working() {
    let sim = sim(Seed::Tiny).await;
    let r = post(
        &sim,
        "/api/timesheets",
        entry(1, 1, "2026-03-02T08:0éé:00", "2026-03-02T09:00:00"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let b: Value = r.json().await.unwrap();
    assert_eq!(
        child_errors(&b, "begin"),
        ["This value is not a valid datetime."]
    );
    let r = Client::new()
        .post(format!("{}/api/timesheets", sim.url))
        .bearer_auth(&sim.token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = get(&sim, "/api/timesheets?page=99999999999999999999999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = get(&sim, "/api/timesheets?page=9999999999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = get(&sim, "/api/ping").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_entry_without_end_stays_running_and_stops_the_previous_running_one() {
    let sim = sim(Seed::Tiny).await;
    let r = post(
        &sim,
        "/api/timesheets",
        json!({"project": 1, "activity": 1, "begin": "2026-03-31T08:00:00"}),
    )
    .await;
    let first: Value = r.json().await.unwrap();
    assert_eq!(first["end"], Value::Null);
    assert_eq!(first["duration"], Value::Null);
    let active: Vec<Value> = get(&sim, "/api/timesheets?active=1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
    post(
        &sim,
        "/api/timesheets",
        json!({"project": 1, "activity": 1, "begin": "2026-03-31T09:00:00"}),
    )
    .await;
    let stopped = sim.timesheet(first["id"].as_u64().unwrap()).unwrap();
    assert_eq!(stopped.end, Some(sim.clock().now()));
}
