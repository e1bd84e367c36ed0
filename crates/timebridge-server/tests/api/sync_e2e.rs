//! End to end against the simulators: a configured pipeline syncs a month, a second run
//! writes nothing, edits on either side propagate or become conflicts, conflicts are
//! resolved from the API, webhooks bring new accountings in, and injected faults never
//! leave a duplicate or a lost entry.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::kimai::NewTimesheet;
use timebridge_sim::zammad::NewAccounting;
use timebridge_sim::{Fault, KimaiSim, Seed, SimOptions, ZammadSim};
use timebridge_world::{Pair, World};

use crate::api_test;
use crate::common::{TestApp, error_code};

pub(crate) use timebridge_world::WEBHOOK_SECRET;

/// The simulators' "now": their data lies in March 2026.
fn sim_now() -> DateTime<Utc> {
    "2026-04-01T06:00:00Z".parse().unwrap()
}

pub(crate) struct Env {
    pub token: String,
    pub zammad: ZammadSim,
    pub kimai: KimaiSim,
    pub zammad_id: i64,
    pub pipeline: i64,
}

/// The Zammad → Kimai test world (`timebridge_world`), configured through the API: both
/// simulators, a Zammad and a Kimai connector, a pipeline, and mappings for every type (to
/// the global activity of the same name) and organization (to the project of the same
/// id); agents map by e-mail.
pub(crate) async fn setup(app: &TestApp, seed: Seed) -> Env {
    setup_with(app, SimOptions::with_seed(seed)).await
}

/// [`setup`] with the simulators started from `opts`.
pub(crate) async fn setup_with(app: &TestApp, opts: SimOptions) -> Env {
    app.clock.set(sim_now());
    let token = app.login().await;
    let world = World::start(Pair::ZammadKimai, opts).await.unwrap();
    let ids = timebridge_world::configure_api(&app.api(&token), &world.plan)
        .await
        .unwrap();
    let (zammad, kimai) = world.into_zammad_kimai();
    Env {
        token,
        zammad,
        kimai,
        zammad_id: ids.source_connector,
        pipeline: ids.pipeline,
    }
}

pub(crate) async fn map(
    app: &TestApp,
    token: &str,
    pipeline: i64,
    kind: &str,
    source: u64,
    target: u64,
) {
    let (status, body) = app
        .send_json(
            Method::POST,
            "/api/mappings",
            token,
            &json!({"pipeline_id": pipeline, "kind": kind, "source_key": source.to_string(),
                    "target_key": target.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Runs a manual sync of March and waits for it.
pub(crate) async fn sync(app: &TestApp, env: &Env, dry_run: bool) -> Value {
    let (status, run) = app
        .send_json(
            Method::POST,
            "/api/sync/manual?wait=true",
            &env.token,
            &json!({"pipeline_id": env.pipeline, "from": "2026-03-01", "to": "2026-03-31",
                    "dry_run": dry_run}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert!(
        ["succeeded", "partial"].contains(&run["status"].as_str().unwrap()),
        "{run}"
    );
    run
}

pub(crate) fn outcomes(run: &Value) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for i in run["items"].as_array().unwrap() {
        let key = match i["reason"].as_str() {
            Some(r) => format!("conflict:{r}"),
            None => i["outcome"].as_str().unwrap().to_owned(),
        };
        *out.entry(key).or_default() += 1;
    }
    out
}

/// Timesheets in Kimai carrying each marker, by source key.
pub(crate) fn marked(kimai: &KimaiSim) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for t in kimai.timesheets() {
        let d = t.description.unwrap_or_default();
        if let Some(start) = d.find("[tb-zammad-") {
            let key = d[start + 11..].trim_end_matches(']').to_owned();
            *out.entry(key).or_default() += 1;
        }
    }
    out
}

pub(crate) async fn open_conflicts(app: &TestApp, env: &Env, reason: &str) -> Vec<Value> {
    let (status, list) = app
        .get_json(
            &format!(
                "/api/conflicts?status=open&reason={reason}&pipeline_id={}&limit=500",
                env.pipeline
            ),
            &env.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().clone()
}

async fn resolve(app: &TestApp, env: &Env, id: i64, body: Value) -> (StatusCode, Value) {
    app.send_json(
        Method::POST,
        &format!("/api/conflicts/{id}/resolve"),
        &env.token,
        &body,
    )
    .await
}

api_test!(async fn a_month_syncs_once_and_a_second_run_writes_nothing(app) {
    let env = setup(app, Seed::Small).await;
    let first = sync(app, &env, false).await;
    let counts = outcomes(&first);
    let created = counts.get("create").copied().unwrap_or(0);
    assert!(created > 100, "{counts:?}");
    assert_eq!(first["stats"]["created"], created);
    // Zammad corrections are never written, but raised.
    assert!(counts.get("conflict:negative_duration").copied().unwrap_or(0) >= 2, "{counts:?}");
    // The agent without a Kimai user is raised, not booked on someone else.
    assert!(counts.contains_key("conflict:unmapped_user"), "{counts:?}");
    let marks = marked(&env.kimai);
    assert_eq!(marks.len(), created);
    assert!(marks.values().all(|n| *n == 1), "a source entry was written twice");
    // Every written entry has the source's exact instants and duration.
    let mut zones = std::collections::BTreeSet::new();
    let by_key: HashMap<String, _> = env
        .zammad
        .accountings()
        .into_iter()
        .map(|a| (a.id.to_string(), a))
        .collect();
    for t in env.kimai.timesheets() {
        let d = t.description.clone().unwrap_or_default();
        let key = d[d.find("[tb-zammad-").unwrap() + 11..].trim_end_matches(']').to_owned();
        let a = &by_key[&key];
        let minutes: f64 = a.time_unit.parse().unwrap();
        assert_eq!(t.duration, Some((minutes * 60.0).round() as i64), "{key}");
        assert!(d.starts_with('#'), "{d}");
        // The exact instants, whatever zone the Kimai user is in (Berlin, New York, UTC,
        // Kolkata) and across both March DST changes.
        let end = DateTime::from_timestamp(a.created_at.timestamp().div_euclid(60) * 60, 0).unwrap();
        assert_eq!(t.end, Some(end), "{key} ({})", t.timezone);
        assert_eq!(t.begin, end - chrono::Duration::seconds(t.duration.unwrap()), "{key}");
        zones.insert(t.timezone.name());
    }
    assert!(zones.len() >= 3, "{zones:?}");
    // Parts of a minute cannot be kept by Kimai: those are refused, never rounded.
    for i in first["items"].as_array().unwrap() {
        let a = &by_key[i["source_key"].as_str().unwrap()];
        let minutes: f64 = a.time_unit.parse().unwrap();
        if minutes > 0.0 && minutes.fract() != 0.0 {
            assert_eq!(i["outcome"], "conflict", "{i}");
        }
    }

    let posts = env.kimai.log().count("POST /api/timesheets");
    let lookups = || {
        let log = env.zammad.log();
        log.count("GET /api/v1/tickets/{id}")
            + log.count("GET /api/v1/users/{id}")
            + log.count("GET /api/v1/organizations/{id}")
    };
    let looked_up = lookups();
    assert!(looked_up > 0);
    let statements = app.state.store.statements_executed();
    let second = sync(app, &env, false).await;
    // The names the first run looked up were remembered (in the database, across runs):
    // the second asks Zammad only what changed since, and looks nothing up by id.
    assert_eq!(lookups(), looked_up, "the second run looked names up again");
    // The open conflicts it finds as they were are confirmed a group at a time, not read
    // and rewritten one by one (two statements each before the group commit).
    let conflicts = first["stats"]["conflicts"].as_u64().unwrap();
    let spent = app.state.store.statements_executed() - statements;
    assert!(conflicts >= 50, "{conflicts} conflicts are too few to tell");
    assert!(spent < conflicts, "{spent} statements for a re-sync with {conflicts} conflicts");
    assert_eq!(second["stats"]["created"], 0, "{}", second["stats"]);
    assert_eq!(second["stats"]["updated"], 0, "{}", second["stats"]);
    assert_eq!(second["stats"]["in_sync"], created, "{counts:?} then {:?}", outcomes(&second));
    assert_eq!(env.kimai.log().count("POST /api/timesheets"), posts);
    assert_eq!(env.kimai.log().count("PATCH /api/timesheets/{id}"), 0);
    // Conflicts are not raised twice.
    let (_, all) = app
        .get_json(&format!("/api/conflicts?status=all&pipeline_id={}", env.pipeline), &env.token)
        .await;
    assert_eq!(all["total"], first["stats"]["conflicts"]);
});

api_test!(async fn a_dry_run_reports_the_plan_and_writes_nothing(app) {
    let env = setup(app, Seed::Tiny).await;
    let run = sync(app, &env, true).await;
    assert_eq!(run["dry_run"], true);
    assert!(run["stats"]["created"].as_u64().unwrap() > 0, "{}", run["stats"]);
    assert_eq!(env.kimai.timesheet_count(), 0);
    let (_, conflicts) = app.get_json("/api/conflicts?status=all", &env.token).await;
    assert_eq!(conflicts["total"], 0);
});

api_test!(async fn a_source_edit_is_applied_and_a_human_edit_becomes_a_conflict(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let links = marked(&env.kimai);
    // Pick two synced accountings with a type.
    let mut synced: Vec<_> = env
        .zammad
        .accountings()
        .into_iter()
        .filter(|a| links.contains_key(&a.id.to_string()) && a.type_id.is_some())
        .collect();
    synced.sort_by_key(|a| a.id);
    let (edited, touched) = (synced[0].clone(), synced[1].clone());
    let other_type = env
        .zammad
        .types()
        .into_iter()
        .find(|t| Some(t.id) != edited.type_id)
        .unwrap();
    env.zammad
        .set_accounting_type(edited.id, Some(other_type.id))
        .unwrap();
    let sheet = env
        .kimai
        .timesheets()
        .into_iter()
        .find(|t| {
            t.description
                .as_deref()
                .is_some_and(|d| d.ends_with(&format!("[tb-zammad-{}]", touched.id)))
        })
        .unwrap();
    env.kimai
        .edit_timesheet(sheet.id, |t| t.description = Some(format!("{} (fixed by Anna)", t.description.clone().unwrap())))
        .unwrap();
    let run = sync(app, &env, false).await;
    let counts = outcomes(&run);
    assert_eq!(counts.get("update"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("conflict:target_modified"), Some(&1), "{counts:?}");
    // The human edit was not overwritten.
    let still = env.kimai.timesheet(sheet.id).unwrap();
    assert!(still.description.unwrap().contains("fixed by Anna"));

    let conflict = open_conflicts(app, &env, "target_modified").await.remove(0);
    assert_eq!(conflict["allowed_actions"], json!(["update", "keep_target", "skip"]));
    assert!(!conflict["diff"].as_array().unwrap().is_empty());
    let (status, body) = resolve(app, &env, conflict["id"].as_i64().unwrap(),
        json!({"action": "delete_target"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, resolved) = resolve(app, &env, conflict["id"].as_i64().unwrap(),
        json!({"action": "keep_target", "note": "Anna knows best"})).await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolution"]["action"], "keep_target");
    let (status, again) = resolve(app, &env, conflict["id"].as_i64().unwrap(),
        json!({"action": "keep_target"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(error_code(&again), "already_resolved");

    // Kept: the next run is quiet about it.
    let quiet = sync(app, &env, false).await;
    let counts = outcomes(&quiet);
    assert!(!counts.contains_key("conflict:target_modified"), "{counts:?}");
    assert_eq!(quiet["stats"]["updated"], 0);
});

api_test!(async fn deletions_on_either_side_are_raised_and_resolved(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let links = marked(&env.kimai);
    let mut synced: Vec<_> = env
        .zammad
        .accountings()
        .into_iter()
        .filter(|a| links.contains_key(&a.id.to_string()))
        .collect();
    synced.sort_by_key(|a| a.id);
    let gone_in_zammad = synced[0].id;
    let gone_in_kimai = synced[1].id;
    env.zammad.delete_accounting(gone_in_zammad).unwrap();
    let sheet = env
        .kimai
        .timesheets()
        .into_iter()
        .find(|t| t.description.as_deref().is_some_and(|d| d.ends_with(&format!("[tb-zammad-{gone_in_kimai}]"))))
        .unwrap();
    env.kimai.delete_timesheet(sheet.id).unwrap();
    let run = sync(app, &env, false).await;
    let counts = outcomes(&run);
    assert_eq!(counts.get("conflict:source_deleted"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("conflict:target_deleted"), Some(&1), "{counts:?}");
    assert_eq!(run["stats"]["created"], 0, "a deleted timesheet is not silently recreated");

    let deleted = open_conflicts(app, &env, "source_deleted").await.remove(0);
    let (status, body) = resolve(app, &env, deleted["id"].as_i64().unwrap(),
        json!({"action": "delete_target"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!marked(&env.kimai).contains_key(&gone_in_zammad.to_string()));

    let missing = open_conflicts(app, &env, "target_deleted").await.remove(0);
    let (status, body) = resolve(app, &env, missing["id"].as_i64().unwrap(),
        json!({"action": "create"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(marked(&env.kimai).get(&gone_in_kimai.to_string()), Some(&1));

    let after = sync(app, &env, false).await;
    let counts = outcomes(&after);
    assert!(!counts.contains_key("conflict:source_deleted"), "{counts:?}");
    assert!(!counts.contains_key("conflict:target_deleted"), "{counts:?}");
    assert_eq!(after["stats"]["created"], 0);
});

api_test!(async fn an_unmapped_user_is_closed_once_a_mapping_exists(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let conflicts = open_conflicts(app, &env, "unmapped_user").await;
    assert!(!conflicts.is_empty());
    let c = &conflicts[0];
    // Creating without a mapping is not possible yet.
    let (status, body) = resolve(app, &env, c["id"].as_i64().unwrap(), json!({"action": "create"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "not_possible");
    // Map the agent to the API user and sync: the conflicts close by themselves.
    let agent: u64 = c["source"]["user"]["key"].as_str().unwrap().parse().unwrap();
    map(app, &env.token, env.pipeline, "user", agent, 1).await;
    let run = sync(app, &env, false).await;
    assert!(run["stats"]["created"].as_u64().unwrap() >= conflicts.len() as u64);
    assert!(open_conflicts(app, &env, "unmapped_user").await.is_empty());
    let (_, closed) = app.get_json(&format!("/api/conflicts/{}", c["id"]), &env.token).await;
    assert_eq!(closed["status"], "resolved");
    assert_eq!(closed["resolution"]["action"], "auto_closed");
});

api_test!(async fn a_negative_correction_can_be_skipped_and_stays_quiet(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let negatives = open_conflicts(app, &env, "negative_duration").await;
    assert!(!negatives.is_empty());
    for c in &negatives {
        let (status, body) = resolve(app, &env, c["id"].as_i64().unwrap(), json!({"action": "skip"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let run = sync(app, &env, false).await;
    let counts = outcomes(&run);
    assert!(!counts.contains_key("conflict:negative_duration"), "{counts:?}");
    assert_eq!(counts.get("skip").copied().unwrap_or(0), negatives.len());
});

api_test!(async fn locked_entries_are_never_changed(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let links = marked(&env.kimai);
    let a = env
        .zammad
        .accountings()
        .into_iter()
        .filter(|a| links.contains_key(&a.id.to_string()) && a.type_id.is_some())
        .min_by_key(|a| a.id)
        .unwrap();
    let sheet = env
        .kimai
        .timesheets()
        .into_iter()
        .find(|t| t.description.as_deref().is_some_and(|d| d.ends_with(&format!("[tb-zammad-{}]", a.id))))
        .unwrap();
    env.kimai.set_exported(sheet.id, true).unwrap();
    let other = env.zammad.types().into_iter().find(|t| Some(t.id) != a.type_id).unwrap();
    env.zammad.set_accounting_type(a.id, Some(other.id)).unwrap();
    let run = sync(app, &env, false).await;
    assert_eq!(outcomes(&run).get("conflict:locked"), Some(&1), "{:?}", outcomes(&run));
    assert_eq!(env.kimai.timesheet(sheet.id).unwrap().activity, sheet.activity);
});

api_test!(async fn a_probable_duplicate_is_raised_and_can_be_linked(app) {
    let env = setup(app, Seed::Tiny).await;
    // Someone already typed one accounting into Kimai by hand.
    let dry = sync(app, &env, true).await;
    let first_create = dry["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["outcome"] == "create")
        .unwrap()["source_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let acc = env.zammad.accounting(first_create.parse().unwrap()).unwrap();
    let ticket = env.zammad.ticket(acc.ticket_id).unwrap();
    let email = &env.zammad.users().into_iter().find(|u| u.id == acc.created_by_id).unwrap().email;
    let user = env.kimai.user_by_email(email).unwrap();
    let minutes: f64 = acc.time_unit.parse().unwrap();
    let end = acc.created_at - chrono::Duration::seconds(i64::from(acc.created_at.timestamp() as i32 % 60));
    let begin = end - chrono::Duration::seconds((minutes * 60.0) as i64);
    let manual = env
        .kimai
        .insert_timesheet(NewTimesheet {
            user: user.id,
            project: ticket.organization_id.unwrap(),
            activity: env.kimai.activities().into_iter().find(|a| a.project.is_none()).unwrap().id,
            begin,
            end: Some(end),
            description: Some(format!("#{} typed by hand", ticket.number)),
            tags: vec![],
            exported: false,
            billable: None,
        })
        .unwrap();
    let run = sync(app, &env, false).await;
    assert_eq!(outcomes(&run).get("conflict:duplicate_in_target"), Some(&1), "{:?}", outcomes(&run));
    assert!(!marked(&env.kimai).contains_key(&first_create));
    let c = open_conflicts(app, &env, "duplicate_in_target").await.remove(0);
    let (status, body) = resolve(app, &env, c["id"].as_i64().unwrap(), json!({"action": "link"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = resolve(app, &env, c["id"].as_i64().unwrap(),
        json!({"action": "link", "target_id": manual.id})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = sync(app, &env, false).await;
    let counts = outcomes(&after);
    assert!(!counts.contains_key("conflict:duplicate_in_target"), "{counts:?}");
    assert_eq!(after["stats"]["created"], 0);
    assert_eq!(env.kimai.timesheets().iter().filter(|t| t.id == manual.id).count(), 1);
});

api_test!(async fn a_second_manual_run_while_one_is_queued_is_409_with_its_id(app) {
    let env = setup(app, Seed::Tiny).await;
    env.zammad.set_latency(Duration::from_millis(300));
    let (status, first) = app
        .send_json(Method::POST, "/api/sync/manual", &env.token,
            &json!({"pipeline_id": env.pipeline, "from": "2026-03-01", "to": "2026-03-31"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let (status, second) = app
        .send_json(Method::POST, "/api/sync/manual", &env.token, &json!({"pipeline_id": env.pipeline}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{second}");
    assert_eq!(second["error"]["details"]["run_id"], first["run_id"]);
    // The run finishes; its status and history say so.
    let id = first["run_id"].as_i64().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, run) = app.get_json(&format!("/api/sync/runs/{id}"), &env.token).await;
        if run["finished_at"].is_string() {
            assert_eq!(run["status"], "succeeded", "{run}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the run did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, status) = app.get_json("/api/sync/status", &env.token).await;
    assert_eq!(status["running"], false);
    assert_eq!(status["last_run"]["id"], id);
    let (_, history) = app.get_json("/api/sync/history", &env.token).await;
    assert_eq!(history["total"], 1);
});

api_test!(async fn a_signed_webhook_brings_a_new_accounting_into_kimai(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let before = env.kimai.timesheet_count();
    let ticket = env.zammad.tickets().into_iter().find(|t| t.organization_id.is_some()).unwrap();
    let typed = env.zammad.types()[0].id;
    let agent = env
        .zammad
        .users()
        .into_iter()
        .find(|u| env.kimai.user_by_email(&u.email).is_some() && u.id != 1)
        .unwrap();
    env.zammad.clock().set("2026-03-31T12:00:00Z".parse().unwrap());
    let mut new = NewAccounting::new(ticket.id, "25.0", agent.id);
    new.type_id = Some(typed);
    let acc = env.zammad.add_accounting(new).unwrap();
    let body = json!({"ticket": {"id": ticket.id, "number": ticket.number}, "article": {}}).to_string();
    let sig = timebridge_sim::webhook::signature(WEBHOOK_SECRET, body.as_bytes());
    let post = |sig: Option<String>, delivery: &str| {
        let mut req = app
            .client
            .post(app.url(&format!("/api/webhook/zammad/{}", env.zammad_id)))
            .header("content-type", "application/json")
            .header("x-zammad-delivery", delivery)
            .body(body.clone());
        if let Some(s) = sig {
            req = req.header("x-hub-signature", s);
        }
        req.send()
    };
    assert_eq!(post(None, "d-0").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(Some("sha1=0000".into()), "d-0").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let ok = post(Some(sig.clone()), "d-1").await.unwrap();
    assert_eq!(ok.status(), StatusCode::ACCEPTED);
    let repeat: Value = post(Some(sig.clone()), "d-1").await.unwrap().json().await.unwrap();
    assert_eq!(repeat["accepted"], false);
    // The debounce holds the run for two seconds of the app's clock.
    app.clock.advance(chrono::Duration::seconds(3));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !marked(&env.kimai).contains_key(&acc.id.to_string()) {
        assert!(tokio::time::Instant::now() < deadline, "the webhook's run did not write the entry");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(env.kimai.timesheet_count(), before + 1);
    let rejected = app.audit(&env.token, "webhook_rejected").await;
    assert_eq!(rejected.len(), 2);
    assert_eq!(app.audit(&env.token, "webhook_received").await.len(), 1);
});

api_test!(async fn injected_faults_end_with_every_entry_exactly_once(app) {
    let env = setup(app, Seed::Small).await;
    let clean = sync(app, &env, true).await;
    // What the plan writes, plus what it already knows Kimai would refuse.
    let expected = clean["stats"]["created"].as_u64().unwrap() as usize
        + outcomes(&clean).get("conflict:target_rejected").copied().unwrap_or(0);
    env.kimai.faults().set_rate("POST /api/timesheets", 0.15, Fault::InternalError);
    env.kimai.faults().set_rate("GET /api/timesheets", 0.1, Fault::InternalError);
    env.zammad.faults().set_rate("GET /api/v1/time_accountings", 0.2, Fault::InternalError);
    let mut runs = 0;
    loop {
        runs += 1;
        let (status, run) = app
            .send_json(Method::POST, "/api/sync/manual?wait=true", &env.token,
                &json!({"pipeline_id": env.pipeline, "from": "2026-03-01", "to": "2026-03-31"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{run}");
        if run["status"] == "succeeded" || runs >= 6 {
            break;
        }
    }
    env.kimai.faults().clear();
    env.zammad.faults().clear();
    let last = sync(app, &env, false).await;
    let marks = marked(&env.kimai);
    // Every entry the plan wanted to create is in Kimai exactly once, or refused by Kimai
    // (a project that has ended, a part of a minute) and raised.
    let refused = open_conflicts(app, &env, "target_rejected").await.len();
    assert_eq!(
        marks.len() + refused,
        expected,
        "after {runs} runs: {:?} / dry run {:?} / {:?}",
        outcomes(&last),
        outcomes(&clean),
        last["items"].as_array().unwrap().iter().filter(|i| i["reason"] == "target_rejected").map(|i| i["message"].clone()).take(5).collect::<Vec<_>>()
    );
    assert!(marks.values().all(|n| *n == 1), "a duplicate was written");
});

api_test!(async fn dropped_answers_to_creates_never_duplicate(app) {
    let env = setup(app, Seed::Tiny).await;
    let clean = sync(app, &env, true).await;
    let expected = clean["stats"]["created"].as_u64().unwrap() as usize
        + outcomes(&clean).get("conflict:target_rejected").copied().unwrap_or(0);
    // Every third create is written by Kimai but its answer is lost.
    env.kimai.faults().set_rate("POST /api/timesheets", 0.35, Fault::DropAfterHandling);
    sync(app, &env, false).await;
    env.kimai.faults().clear();
    sync(app, &env, false).await;
    let marks = marked(&env.kimai);
    let refused = open_conflicts(app, &env, "target_rejected").await.len();
    assert_eq!(marks.len() + refused, expected);
    assert!(marks.values().all(|n| *n == 1), "{marks:?}");
});

api_test!(async fn a_human_edit_can_be_overwritten_and_an_unmapped_project_is_raised(app) {
    let env = setup(app, Seed::Tiny).await;
    // One organization loses its project mapping: its entries are unmapped_project.
    let (_, maps) = app
        .get_json(&format!("/api/mappings?pipeline_id={}&kind=project", env.pipeline), &env.token)
        .await;
    let dropped = maps["items"][0].clone();
    let (status, _) = app
        .send_json(Method::DELETE, &format!("/api/mappings/{}", dropped["id"]), &env.token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let run = sync(app, &env, false).await;
    assert!(outcomes(&run).contains_key("conflict:unmapped_project"), "{:?}", outcomes(&run));
    let unmapped = open_conflicts(app, &env, "unmapped_project").await;
    assert!(unmapped.iter().all(|c| c["explanation"].is_object()), "{unmapped:?}");

    // A synced entry edited in Kimai, then overwritten from the source on request.
    let sheet = env
        .kimai
        .timesheets()
        .into_iter()
        .find(|t| t.description.as_deref().is_some_and(|d| d.contains("[tb-zammad-")))
        .unwrap();
    let original = sheet.description.clone().unwrap();
    env.kimai
        .edit_timesheet(sheet.id, |t| t.description = Some("changed by hand".into()))
        .unwrap();
    sync(app, &env, false).await;
    let c = open_conflicts(app, &env, "target_modified").await.remove(0);
    let diff = c["diff"].as_array().unwrap();
    assert!(diff.iter().any(|d| d["field"] == "description"), "{diff:?}");
    // A mapped entry's explanation is built again for its conflict: every field's rule.
    let steps = c["explanation"]["steps"].as_array().unwrap();
    for field in ["activity", "project", "user", "billable", "description"] {
        assert!(steps.iter().any(|s| s["field"] == field), "{field}: {steps:?}");
    }
    let (status, body) = resolve(app, &env, c["id"].as_i64().unwrap(), json!({"action": "update"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(env.kimai.timesheet(sheet.id).unwrap().description.unwrap(), original);
    let after = sync(app, &env, false).await;
    assert!(!outcomes(&after).contains_key("conflict:target_modified"));
    assert_eq!(after["stats"]["updated"], 0);
    let resolved = app.audit(&env.token, "conflict_resolved").await;
    assert!(resolved.iter().any(|e| e["details"]["action"] == "update"));
    assert!(!app.audit(&env.token, "entry_updated").await.is_empty());
});

api_test!(async fn a_pipeline_runs_on_its_schedule(app) {
    let env = setup(app, Seed::Tiny).await;
    let (status, _) = app
        .send_json(
            Method::PUT,
            &format!("/api/pipelines/{}", env.pipeline),
            &env.token,
            &json!({"name": "Helpdesk → Billing", "source_connector_id": env.zammad_id,
                    "target_connector_id": env.zammad_id + 1, "window_days": 31,
                    "schedule": {"enabled": true, "interval_minutes": 60}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The first scheduled run is due one interval after the pipeline was created.
    let (_, status) = app.get_json("/api/sync/status", &env.token).await;
    let next: DateTime<Utc> = status["next_run_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next, sim_now() + chrono::Duration::minutes(60), "{status}");
    let (_, history) = app.get_json("/api/sync/history", &env.token).await;
    assert_eq!(history["total"], 0, "{history}");
    app.clock.advance(chrono::Duration::minutes(61));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, history) = app.get_json("/api/sync/history", &env.token).await;
        if history["items"][0]["finished_at"].is_string() {
            assert_eq!(history["total"], 1);
            assert_eq!(history["items"][0]["trigger"], "schedule");
            assert_eq!(history["items"][0]["status"], "succeeded", "{history}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no scheduled run: {history}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(env.kimai.timesheet_count() > 0);
});

api_test!(async fn webhook_calls_are_checked_before_anything_is_queued(app) {
    let env = setup(app, Seed::Tiny).await;
    let url = app.url(&format!("/api/webhook/zammad/{}", env.zammad_id));
    let send = |body: Vec<u8>, sig: Option<String>| {
        let mut req = app.client.post(&url).header("content-type", "application/json").body(body);
        if let Some(s) = sig {
            req = req.header("x-hub-signature", s);
        }
        req.send()
    };
    let signed = |body: &[u8]| Some(timebridge_sim::webhook::signature(WEBHOOK_SECRET, body));
    let not_json = b"ticket=5".to_vec();
    let res = send(not_json.clone(), signed(&not_json)).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let no_ticket = br#"{"article":{}}"#.to_vec();
    let res = send(no_ticket.clone(), signed(&no_ticket)).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let big = vec![b' '; 1024 * 1024 + 10];
    let res = send(big.clone(), signed(&big)).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A connector without a secret never accepts calls, signed or not.
    let (status, _) = app
        .send_json(Method::PUT, &format!("/api/connectors/{}", env.zammad_id), &env.token,
            &json!({"name": "Zammad", "base_url": env.zammad.url,
                    "settings": {"webhook_secret": null}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let body = br#"{"ticket":{"id":1}}"#.to_vec();
    let res = send(body.clone(), signed(&body)).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (_, history) = app.get_json("/api/sync/history", &env.token).await;
    assert_eq!(history["total"], 0);
});

api_test!(async fn metrics_show_runs_entries_conflicts_remote_calls_and_webhooks(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    for needle in [
        &format!("timebridge_runs{{pipeline=\"{}\",status=\"succeeded\"}} 1", env.pipeline),
        &format!("timebridge_runs_total{{pipeline=\"{}\",status=\"succeeded\"}} 1", env.pipeline),
        "# TYPE timebridge_runs_total counter",
        "# TYPE timebridge_entries_total counter",
        "timebridge_entries_total{outcome=\"create\"}",
        "timebridge_database_up 1",
        &format!("timebridge_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION")),
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "timebridge_open_conflicts{reason=\"negative_duration\"}",
        "timebridge_queue_depth 0",
        "timebridge_remote_requests_total{connector=\"Kimai\",route=\"POST /api/timesheets\",status=\"200\"}",
        "timebridge_remote_request_duration_seconds_bucket{connector=\"Zammad\",route=\"GET /api/v1/time_accountings\",status=\"200\",le=\"+Inf\"}",
        "timebridge_webhook_events_total{result=\"accepted\"} 0",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    assert!(!text.contains(&env.kimai.token) && !text.contains(&env.zammad.token));
    // Counters count runs as they finish: retention deleting old runs lowers the kept
    // gauge, never the counter.
    let created: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("timebridge_entries_total{outcome=\"create\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(created > 0);
});

api_test!(async fn a_broken_target_stops_the_run_writing_and_the_next_run_finishes(app) {
    let env = setup(app, Seed::Small).await;
    env.kimai.faults().set_rate("POST /api/timesheets", 1.0, Fault::InternalError);
    let (status, run) = app
        .send_json(Method::POST, "/api/sync/manual?wait=true", &env.token,
            &json!({"pipeline_id": env.pipeline, "from": "2026-03-01", "to": "2026-03-31"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(run["status"], "partial", "{}", run["stats"]);
    let not_attempted = run["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["message"].as_str().is_some_and(|m| m.starts_with("not attempted")))
        .count();
    assert!(not_attempted > 50, "{not_attempted}");
    // Kimai was not hammered with every entry.
    assert!(env.kimai.log().count("POST /api/timesheets") < 100);
    assert_eq!(env.kimai.timesheet_count(), 0);
    env.kimai.faults().clear();
    let next = sync(app, &env, false).await;
    assert_eq!(next["status"], "succeeded", "{}", next["stats"]);
    assert!(next["stats"]["created"].as_u64().unwrap() > 100);
    assert!(marked(&env.kimai).values().all(|n| *n == 1));
});

api_test!(async fn a_person_can_be_exported_and_purged_without_breaking_the_sync(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let c = open_conflicts(app, &env, "unmapped_user").await.remove(0);
    let email = c["source"]["user"]["email"].as_str().unwrap().to_owned();
    let (status, export) = app
        .get_json(&format!("/api/gdpr/export?email={}", email.to_uppercase()), &env.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert!(!export["conflicts"].as_array().unwrap().is_empty());
    assert!(!export["entries"].as_array().unwrap().is_empty());
    assert!(!export["run_items"].as_array().unwrap().is_empty());
    // The agent's name and address as the Zammad connector remembers them between runs.
    let remembered = export["remembered"].as_array().unwrap();
    assert!(!remembered.is_empty(), "{export}");
    assert!(remembered.iter().all(|r| r["record"].to_string().to_lowercase().contains(&email.to_lowercase())));
    let (status, bad) = app.get_json("/api/gdpr/export?email=nobody", &env.token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");

    let (status, purged) = app
        .send_json(Method::POST, "/api/gdpr/purge", &env.token, &json!({"email": email}))
        .await;
    assert_eq!(status, StatusCode::OK, "{purged}");
    assert!(purged["deleted"]["conflicts"].as_u64().unwrap() >= 1, "{purged}");
    let (_, after) = app.get_json(&format!("/api/gdpr/export?email={email}"), &env.token).await;
    assert!(after["conflicts"].as_array().unwrap().is_empty(), "{after}");
    assert!(after["remembered"].as_array().unwrap().is_empty(), "{after}");
    let audit = app.audit(&env.token, "gdpr_purged").await;
    assert_eq!(audit.len(), 1);
    let (_, all_audit) = app.get_json("/api/audit?limit=500", &env.token).await;
    assert!(!all_audit.to_string().to_lowercase().contains(&email.to_lowercase()));
    // Links are untouched: the next run writes nothing.
    let run = sync(app, &env, false).await;
    assert_eq!(run["stats"]["created"], 0);
    assert_eq!(run["stats"]["updated"], 0);
});

api_test!(async fn retention_deletes_old_items_and_resolved_conflicts_but_never_links(app) {
    let env = setup(app, Seed::Tiny).await;
    sync(app, &env, false).await;
    let c = open_conflicts(app, &env, "negative_duration").await.remove(0);
    let (status, _) = resolve(app, &env, c["id"].as_i64().unwrap(), json!({"action": "skip"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .send_json(Method::PUT, "/api/settings", &env.token, &json!({"retention_days": 1}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Two days later the daily job purges what is older than a day.
    app.clock.advance(chrono::Duration::days(2));
    let token = app.login().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, resolved) = app.get_json("/api/conflicts?status=resolved", &token).await;
        if resolved["total"] == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "retention did not run");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, history) = app.get_json("/api/sync/history", &token).await;
    let run_id = history["items"][0]["id"].as_i64().unwrap();
    let (_, run) = app.get_json(&format!("/api/sync/runs/{run_id}"), &token).await;
    assert!(run["items"].as_array().unwrap().is_empty(), "{run}");
    assert_eq!(app.audit(&token, "retention_purged").await.len(), 1);
    // The open conflicts and the links survive: nothing is written again.
    let posts = env.kimai.log().count("POST /api/timesheets");
    let (status, again) = app
        .send_json(Method::POST, "/api/sync/manual?wait=true", &token,
            &json!({"pipeline_id": env.pipeline, "from": "2026-03-01", "to": "2026-03-31"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["stats"]["created"], 0, "{}", again["stats"]);
    assert_eq!(env.kimai.log().count("POST /api/timesheets"), posts);
    // The skipped entry stays skipped.
    assert!(outcomes(&again).get("skip").is_some_and(|n| *n >= 1), "{:?}", outcomes(&again));
});

api_test!(async fn simultaneous_manual_requests_queue_exactly_one_run(app) {
    let env = setup(app, Seed::Tiny).await;
    env.zammad.set_latency(Duration::from_millis(200));
    let body = json!({"pipeline_id": env.pipeline, "from": "2026-03-01", "to": "2026-03-31"});
    let requests =
        (0..6).map(|_| app.send_json(Method::POST, "/api/sync/manual", &env.token, &body));
    let answers = futures::future::join_all(requests).await;
    let accepted: Vec<_> = answers.iter().filter(|(s, _)| *s == StatusCode::ACCEPTED).collect();
    assert_eq!(accepted.len(), 1, "{answers:?}");
    let run_id = accepted[0].1["run_id"].clone();
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::ACCEPTED) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["details"]["run_id"], run_id);
    }
});

api_test!(async fn entries_kimai_would_refuse_are_raised_without_a_request_and_written_once_fixed(app) {
    let env = setup(app, Seed::Small).await;
    // Project 2 forbids the global activities the types map to; project 4 ends mid-month.
    let run = sync(app, &env, false).await;
    let conflicts = open_conflicts(app, &env, "target_rejected").await;
    let predicted: Vec<&Value> = conflicts
        .iter()
        .filter(|c| c["message"].as_str().unwrap().contains("nothing was sent"))
        .collect();
    assert!(
        predicted.iter().any(|c| c["message"].as_str().unwrap().contains("Global activities are forbidden")),
        "{conflicts:?}"
    );
    assert!(
        predicted.iter().any(|c| c["message"].as_str().unwrap().contains("finished at that time")),
        "{conflicts:?}"
    );
    // Only the writes Kimai could accept were sent (near a boundary Kimai itself decides).
    let posts = env.kimai.log().count("POST /api/timesheets");
    let created = run["stats"]["created"].as_u64().unwrap() as usize;
    // (The connector itself refuses entries with seconds, before any request.)
    let sent_and_refused: Vec<&str> = conflicts
        .iter()
        .map(|c| c["message"].as_str().unwrap())
        .filter(|m| !m.contains("nothing was sent") && !m.contains("cannot be written exactly"))
        .collect();
    // Who raised each is a field, not a matter of wording.
    for c in &conflicts {
        let by_target = c["message"].as_str().unwrap().starts_with("The target refused the");
        assert_eq!(c["origin"], if by_target { "target" } else { "planner" }, "{c}");
    }
    assert_eq!(posts, created + sent_and_refused.len(), "{:?} {sent_and_refused:?}", outcomes(&run));
    assert_eq!(env.kimai.timesheet_count(), created);

    // The admin allows global activities on project 2: the next run writes those entries
    // and closes their conflicts by itself (a few stay refused by the connector for their
    // seconds, now under that message).
    env.kimai.edit_project(2, |p| p.global_activities = true).unwrap();
    let again = sync(app, &env, false).await;
    let created = again["stats"]["created"].as_u64().unwrap() as usize;
    let left = open_conflicts(app, &env, "target_rejected").await;
    assert!(created > 0, "{:?}", outcomes(&again));
    assert_eq!(created + left.len(), conflicts.len(), "{:?}", outcomes(&again));
    assert!(left.iter().all(|c| !c["message"].as_str().unwrap().contains("Global activities")));
    assert!(marked(&env.kimai).values().all(|n| *n == 1), "a duplicate was written");
});

api_test!(async fn zammad_into_odoo_timesheets_writes_every_entry_once(app) {
    app.clock.set(sim_now());
    let token = app.login().await;
    let world = World::start(Pair::ZammadOdoo, SimOptions::with_seed(Seed::Small))
        .await
        .unwrap();
    let ids = timebridge_world::configure_api(&app.api(&token), &world.plan)
        .await
        .unwrap();
    let run = |dry: bool| {
        let body = json!({"pipeline_id": ids.pipeline, "from": "2026-03-01",
                          "to": "2026-03-31", "dry_run": dry});
        let token = token.clone();
        async move {
            let (status, run) = app
                .send_json(Method::POST, "/api/sync/manual?wait=true", &token, &body)
                .await;
            assert_eq!(status, StatusCode::OK, "{run}");
            run
        }
    };
    let odoo = world.odoo();
    let first = run(false).await;
    let counts = outcomes(&first);
    let created = counts.get("create").copied().unwrap_or(0);
    assert!(created > 100, "{counts:?} {first}");
    // Zammad corrections are raised, never written.
    assert!(counts.get("conflict:negative_duration").copied().unwrap_or(0) >= 2, "{counts:?}");
    let mut keys: Vec<String> = world
        .target()
        .records()
        .into_iter()
        .filter_map(|r| r.identity)
        .collect();
    assert_eq!(keys.len(), created);
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), created, "a source entry was written twice");
    // One request per written entry, plus the login and the master data read once.
    let requests = odoo.log().len();
    assert!(requests as f64 <= created as f64 * 1.05, "{requests} requests for {created}");
    let writes = world.target().write_requests();
    assert_eq!(writes, created);
    let second = run(false).await;
    assert_eq!(second["stats"]["created"], 0, "{}", second["stats"]);
    assert_eq!(second["stats"]["updated"], 0, "{}", second["stats"]);
    assert_eq!(second["stats"]["in_sync"], created, "{:?}", outcomes(&second));
    assert_eq!(world.target().write_requests(), writes);
});

api_test!(async fn a_linked_entry_older_than_a_newest_first_read_is_never_judged_deleted(app) {
    // Half a year of earlier bookings before Tiny's March: a run of March reads the
    // accountings newest first and stops long before January.
    let env = setup_with(app, SimOptions {
        zammad_history: Some(timebridge_sim::History { months: 6, accountings_per_month: 600 }),
        ..SimOptions::with_seed(Seed::Tiny)
    })
    .await;
    let (status, january) = app
        .send_json(
            Method::POST,
            "/api/sync/manual?wait=true",
            &env.token,
            &json!({"pipeline_id": env.pipeline, "from": "2026-01-01", "to": "2026-01-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{january}");
    assert!(january["stats"]["created"].as_u64().unwrap() > 100, "{january}");
    // Someone moves the oldest January timesheet into March.
    let links = marked(&env.kimai);
    let oldest = links.keys().map(|k| k.parse::<u64>().unwrap()).min().unwrap();
    let sheet = env
        .kimai
        .timesheets()
        .into_iter()
        .find(|t| t.description.as_deref().is_some_and(|d| d.ends_with(&format!("[tb-zammad-{oldest}]"))))
        .unwrap();
    let length = sheet.end.unwrap() - sheet.begin;
    env.kimai
        .edit_timesheet(sheet.id, |t| {
            t.begin = "2026-03-10T09:00:00Z".parse().unwrap();
            t.end = Some(t.begin + length);
        })
        .unwrap();
    env.zammad.log().clear();
    let march = sync(app, &env, false).await;
    // The read did not reach January: the moved entry's source is unread, not deleted.
    let pages = env.zammad.log().count("GET /api/v1/time_accountings");
    assert!(pages <= 2, "{pages} pages for March");
    let counts = outcomes(&march);
    assert!(!counts.contains_key("conflict:source_deleted"), "{counts:?}");
    assert!(open_conflicts(app, &env, "source_deleted").await.is_empty());
    assert_eq!(march["stats"]["deleted"].as_u64().unwrap_or(0), 0, "{march}");
    assert_eq!(marked(&env.kimai).get(&oldest.to_string()), Some(&1));
    // A deleted accounting of March is still noticed.
    let gone = env
        .zammad
        .accountings()
        .into_iter()
        .rev()
        .find(|a| marked(&env.kimai).contains_key(&a.id.to_string()))
        .unwrap()
        .id;
    env.zammad.delete_accounting(gone).unwrap();
    let again = sync(app, &env, false).await;
    assert_eq!(outcomes(&again).get("conflict:source_deleted"), Some(&1), "{again}");
});
