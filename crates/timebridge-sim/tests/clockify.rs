//! The Clockify simulator against external-apis-v2.md §1: auth exclusivity, bare arrays
//! with `Last-Page`, 400 code 501 for unknown ids, the window quirk, creates for another
//! user, locked entries, rates in cents, 429 without `Retry-After`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use timebridge_sim::{ClockifySim, Fault, Seed, SimOptions};

async fn sim(seed: Seed) -> ClockifySim {
    ClockifySim::start(SimOptions::with_seed(seed))
        .await
        .unwrap()
}

fn get(sim: &ClockifySim, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .get(format!("{}{path}", sim.api_url()))
        .header("X-Api-Key", &sim.token)
}

async fn body(r: reqwest::Response) -> (StatusCode, Option<String>, Value) {
    let status = r.status();
    let last = r
        .headers()
        .get("last-page")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, last, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn exactly_one_auth_header_is_accepted() {
    let s = sim(Seed::Tiny).await;
    let url = format!("{}/user", s.api_url());
    let c = reqwest::Client::new();
    let both = c
        .get(&url)
        .header("X-Api-Key", &s.token)
        .header("X-Addon-Token", "jwt");
    let (status, _, b) = body(both.send().await.unwrap()).await;
    assert_eq!(
        (status, b["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!(1000))
    );
    let bearer = c.get(&url).bearer_auth(&s.token);
    let (_, _, b) = body(bearer.send().await.unwrap()).await;
    assert_eq!(b["code"], json!(1000));
    let (_, _, b) = body(
        c.get(&url)
            .header("X-Api-Key", "nope")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(b["code"], json!(4003));
    let (_, _, b) = body(
        c.get(&url)
            .header("X-Addon-Token", "bad")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(b["code"], json!(4017));
    s.add_addon_token("addon-jwt", &s.agency_admin);
    let ok = c.get(&url).header("X-Addon-Token", "addon-jwt");
    let (status, _, b) = body(ok.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b["id"], json!(s.agency_admin));
}

#[tokio::test]
async fn lists_are_bare_arrays_that_end_on_the_last_page_header() {
    let s = sim(Seed::Small).await;
    let agent = &s.members(&s.agency_workspace)[1];
    let path = format!(
        "/workspaces/{}/user/{}/time-entries",
        s.agency_workspace, agent.id
    );
    let total = s
        .entries(&s.agency_workspace)
        .iter()
        .filter(|e| e.user == agent.id)
        .count();
    let mut seen = 0;
    for page in 1.. {
        let r = get(&s, &path)
            .query(&[("page", page.to_string()), ("page-size", "10".into())])
            .send()
            .await
            .unwrap();
        let (status, last, b) = body(r).await;
        assert_eq!(status, StatusCode::OK);
        seen += b.as_array().unwrap().len();
        if last.as_deref() == Some("true") {
            break;
        }
        assert_eq!(last.as_deref(), Some("false"));
    }
    assert_eq!(seen, total);
    let (_, last, b) = body(
        get(&s, &path)
            .query(&[("page", "999")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((last.as_deref(), b), (Some("true"), json!([])));
}

#[tokio::test]
async fn an_unknown_entry_answers_400_with_code_501_never_404() {
    let s = sim(Seed::Tiny).await;
    let path = format!(
        "/workspaces/{}/time-entries/650000000000000000000000",
        s.agency_workspace
    );
    let (status, _, b) = body(get(&s, &path).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["code"], json!(501));
    assert_eq!(
        b["message"],
        json!("Time entry doesn't belong to Workspace")
    );
}

#[tokio::test]
async fn the_window_quirk_reads_bounds_as_the_owners_wall_clock() {
    let s = sim(Seed::Empty).await;
    let ws = s.agency_workspace.clone();
    let e = s
        .add_entry(timebridge_sim::clockify::NewEntry {
            workspace: ws.clone(),
            user: s.agency_admin.clone(),
            project: None,
            task: None,
            description: "late".into(),
            start: "2026-03-09T23:30:00Z".parse().unwrap(),
            end: Some("2026-03-10T00:30:00Z".parse().unwrap()),
            billable: false,
        })
        .unwrap();
    let path = format!("/workspaces/{ws}/user/{}/time-entries", s.agency_admin);
    let window = [
        ("start", "2026-03-10T00:00:00Z"),
        ("end", "2026-03-11T00:00:00Z"),
    ];
    let (_, _, literal) = body(get(&s, &path).query(&window).send().await.unwrap()).await;
    assert_eq!(literal, json!([]));
    // Berlin is UTC+1 in March: the window starts at 09T23:00Z and holds the entry.
    s.set_window_quirk(true);
    let (_, _, quirk) = body(get(&s, &path).query(&window).send().await.unwrap()).await;
    assert_eq!(quirk[0]["id"], json!(e.id));
    assert_eq!(quirk[0]["timeInterval"]["duration"], json!("PT1H"));
}

#[tokio::test]
async fn an_admin_creates_for_another_user_and_rates_are_in_cents() {
    let s = sim(Seed::Tiny).await;
    let ws = s.agency_workspace.clone();
    let project = s
        .projects(&ws)
        .into_iter()
        .find(|p| p.hourly_rate.is_some())
        .unwrap();
    let url = format!(
        "{}/workspaces/{ws}/user/{}/time-entries",
        s.api_url(),
        s.contractor_at_agency
    );
    let r = reqwest::Client::new()
        .post(&url)
        .header("X-Api-Key", &s.token)
        .json(
            &json!({"start": "2026-03-02T08:00:00Z", "end": "2026-03-02T09:00:00Z",
                      "projectId": project.id, "description": "x"}),
        )
        .send()
        .await
        .unwrap();
    let (status, _, b) = body(r).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(b["userId"], json!(s.contractor_at_agency));
    assert_eq!(b["hourlyRate"]["amount"], json!(9500));
    // The contractor's key is no admin of the agency workspace.
    let r = reqwest::Client::new()
        .post(format!("{}/workspaces/{ws}/time-entries", s.api_url()))
        .header("X-Api-Key", &s.contractor_token)
        .json(&json!({"start": "2026-03-02T08:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_locked_entry_refuses_changes_and_429_may_come_without_retry_after() {
    let s = sim(Seed::Tiny).await;
    let ws = s.agency_workspace.clone();
    let e = s.entries(&ws).remove(0);
    s.set_locked(&e.id, true).unwrap();
    let url = format!("{}/workspaces/{ws}/time-entries/{}", s.api_url(), e.id);
    let r = reqwest::Client::new()
        .delete(&url)
        .header("X-Api-Key", &s.token)
        .send()
        .await
        .unwrap();
    let (status, _, b) = body(r).await;
    assert_eq!(
        (status, b["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(501))
    );
    assert!(s.entry(&e.id).is_some());
    s.faults()
        .fail_next("*", 1, Fault::TooManyRequestsWithoutRetryAfter);
    let r = get(&s, "/user").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn a_duplicate_project_name_is_refused_under_the_same_client() {
    let s = sim(Seed::Tiny).await;
    let ws = s.contractor_workspace.clone();
    let existing = s.projects(&ws).remove(0);
    let r = reqwest::Client::new()
        .post(format!("{}/workspaces/{ws}/projects", s.api_url()))
        .header("X-Api-Key", &s.contractor_token)
        .json(&json!({"name": existing.name.to_uppercase(), "clientId": existing.client}))
        .send()
        .await
        .unwrap();
    let (status, _, b) = body(r).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(b["message"], json!("Project with this name already exists"));
}

#[tokio::test]
async fn routes_are_logged_by_their_template() {
    let s = sim(Seed::Tiny).await;
    get(&s, "/user").send().await.unwrap();
    let path = format!("/workspaces/{}/projects", s.agency_workspace);
    get(&s, &path).send().await.unwrap();
    let routes: Vec<String> = s.log().entries().into_iter().map(|r| r.route).collect();
    assert_eq!(
        routes,
        vec![
            "GET /api/v1/user".to_owned(),
            "GET /api/v1/workspaces/{ws}/projects".to_owned()
        ]
    );
}
