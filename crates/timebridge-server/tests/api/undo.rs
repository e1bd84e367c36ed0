//! Undoing a run (`POST /api/sync/runs/{id}/undo`) through the Zammad → Kimai test world:
//! a dry run changes nothing; the undo deletes what the run created and writes back what
//! it updated, only where Kimai still holds what the run wrote; a changed entry becomes a
//! conflict; the undone entries are not written again until they change in Zammad.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timebridge_sim::Seed;

use crate::api_test;
use crate::common::{TestApp, error_code};
use crate::sync_e2e::{Env, marked, outcomes, setup, sync};

async fn undo(app: &TestApp, env: &Env, run: i64, dry_run: bool) -> (StatusCode, Value) {
    app.send_json(
        Method::POST,
        &format!("/api/sync/runs/{run}/undo?wait=true"),
        &env.token,
        &json!({ "dry_run": dry_run }),
    )
    .await
}

fn id(run: &Value) -> i64 {
    run["id"].as_i64().unwrap()
}

/// The Kimai timesheet that carries the marker of `key`.
fn sheet_of(env: &Env, key: &str) -> timebridge_sim::kimai::Timesheet {
    env.kimai
        .timesheets()
        .into_iter()
        .find(|t| {
            t.description
                .as_deref()
                .is_some_and(|d| d.ends_with(&format!("[tb-zammad-{key}]")))
        })
        .unwrap()
}

fn items_by_key(run: &Value) -> HashMap<String, Value> {
    run["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["source_key"].as_str().unwrap().to_owned(), i.clone()))
        .collect()
}

api_test!(async fn undoing_runs_takes_back_only_what_is_still_as_written_and_does_not_write_it_again(app) {
    let env = setup(app, Seed::Tiny).await;
    let first = sync(app, &env, false).await;
    let created: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["outcome"] == "create")
        .map(|i| i["source_key"].as_str().unwrap().to_owned())
        .collect();
    assert!(created.len() >= 3, "{first}");
    let written = marked(&env.kimai);

    // A dry run says what would be taken back and changes nothing.
    let (status, dry) = undo(app, &env, id(&first), true).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["trigger"], "undo");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["undo_of"], id(&first));
    assert_eq!(dry["stats"]["deleted"], created.len(), "{dry}");
    assert_eq!(marked(&env.kimai), written);
    assert_eq!(env.kimai.log().count("DELETE /api/timesheets/{id}"), 0);
    let (_, detail) = app.get_json(&format!("/api/sync/runs/{}", id(&first)), &env.token).await;
    assert!(detail["undone_by"].is_null(), "a dry run is not an undo: {detail}");

    // A second run updates one entry (its Zammad type changed); a person edits another in
    // Kimai.
    let (updated_key, edited_key) = (created[0].clone(), created[1].clone());
    let accounting = env.zammad.accountings().into_iter().find(|a| a.id.to_string() == updated_key).unwrap();
    let other_type = env.zammad.types().into_iter().find(|t| Some(t.id) != accounting.type_id).unwrap();
    let before_update = sheet_of(&env, &updated_key);
    env.zammad.set_accounting_type(accounting.id, Some(other_type.id)).unwrap();
    let edited = sheet_of(&env, &edited_key);
    env.kimai
        .edit_timesheet(edited.id, |t| t.description = Some(format!("{} (fixed by Anna)", t.description.clone().unwrap())))
        .unwrap();
    let second = sync(app, &env, false).await;
    assert_eq!(outcomes(&second).get("update"), Some(&1), "{second}");
    assert_ne!(sheet_of(&env, &updated_key).activity, before_update.activity);

    // Undo the second run: the update is written back.
    let (status, undo_second) = undo(app, &env, id(&second), false).await;
    assert_eq!(status, StatusCode::OK, "{undo_second}");
    assert_eq!(undo_second["status"], "succeeded", "{undo_second}");
    assert_eq!(undo_second["stats"]["restored"], 1, "{undo_second}");
    assert_eq!(items_by_key(&undo_second)[&updated_key]["outcome"], "restore");
    let restored = sheet_of(&env, &updated_key);
    assert_eq!(restored.id, before_update.id);
    assert_eq!(restored.activity, before_update.activity);
    assert_eq!(restored.description, before_update.description);

    // Undo the first run: every entry it created is deleted but the one Anna edited,
    // which becomes a conflict and stays as she left it.
    let (status, undo_first) = undo(app, &env, id(&first), false).await;
    assert_eq!(status, StatusCode::OK, "{undo_first}");
    assert_eq!(undo_first["stats"]["deleted"], created.len() - 1, "{undo_first}");
    assert_eq!(undo_first["stats"]["conflicts"], 1, "{undo_first}");
    let items = items_by_key(&undo_first);
    assert_eq!(items[&edited_key]["outcome"], "conflict");
    assert_eq!(items[&edited_key]["reason"], "target_modified");
    assert_eq!(env.kimai.log().count("DELETE /api/timesheets/{id}"), created.len() - 1);
    let left = marked(&env.kimai);
    assert_eq!(left.len(), written.len() - (created.len() - 1), "{left:?}");
    assert!(env.kimai.timesheet(edited.id).unwrap().description.unwrap().contains("fixed by Anna"));
    let (_, detail) = app.get_json(&format!("/api/sync/runs/{}", id(&first)), &env.token).await;
    assert_eq!(detail["undone_by"], id(&undo_first), "{detail}");
    let deleted = app.audit(&env.token, "entry_deleted").await;
    assert_eq!(deleted.iter().filter(|e| e["details"]["undo_of"] == id(&first)).count(), created.len() - 1);

    // Once is enough.
    let (status, again) = undo(app, &env, id(&first), false).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(error_code(&again), "already_undone");
    assert_eq!(again["error"]["details"]["undo_run_id"], id(&undo_first), "{again}");

    // The next sync does not write the undone entries again, and says why.
    let posts = env.kimai.log().count("POST /api/timesheets");
    let quiet = sync(app, &env, false).await;
    assert_eq!(quiet["stats"]["created"], 0, "{quiet}");
    assert_eq!(env.kimai.log().count("POST /api/timesheets"), posts);
    let items = items_by_key(&quiet);
    let undone_key = &created[2];
    assert_eq!(items[undone_key]["outcome"], "skip");
    assert_eq!(items[undone_key]["skip_reason"], "undone", "{}", items[undone_key]);

    // Until it changes in Zammad: then it is written again, once.
    let accounting = env.zammad.accountings().into_iter().find(|a| &a.id.to_string() == undone_key).unwrap();
    let other_type = env.zammad.types().into_iter().find(|t| Some(t.id) != accounting.type_id).unwrap();
    env.zammad.set_accounting_type(accounting.id, Some(other_type.id)).unwrap();
    let after_change = sync(app, &env, false).await;
    assert_eq!(items_by_key(&after_change)[undone_key]["outcome"], "create", "{after_change}");
    assert_eq!(after_change["stats"]["created"], 1, "{after_change}");
    assert_eq!(marked(&env.kimai).get(undone_key.as_str()), Some(&1));
});

api_test!(async fn only_a_finished_real_run_can_be_undone(app) {
    let env = setup(app, Seed::Tiny).await;
    let (status, body) = undo(app, &env, 9999, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let dry = sync(app, &env, true).await;
    let (status, body) = undo(app, &env, id(&dry), false).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "not_undoable");
    let real = sync(app, &env, false).await;
    let (status, body) = app
        .send_json(Method::POST, &format!("/api/sync/runs/{}/undo", id(&real)), &env.token, &json!({"dry": true}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Without a body: a real undo, queued (202).
    let res = app
        .authed(Method::POST, &format!("/api/sync/runs/{}/undo", id(&real)), &env.token)
        .send()
        .await
        .unwrap();
    let (status, queued) = crate::common::into_json(res).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let undo_run = queued["run_id"].as_i64().unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, r) = app.get_json(&format!("/api/sync/runs/{undo_run}"), &env.token).await;
        if !r["finished_at"].is_null() {
            assert_eq!(r["status"], "succeeded", "{r}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the undo run did not finish: {r}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, body) = undo(app, &env, undo_run, false).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "not_undoable");
});
