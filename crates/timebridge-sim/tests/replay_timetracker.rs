//! Replays every exchange recorded against a real DRYTRIX TimeTracker 5.10
//! (`tests/fixtures/real/timetracker-5.10/`, format in `tests/fixtures/real/README.md`)
//! against the simulator and checks status, the kept headers and the body.
//!
//! The recordings were made in one server run, file after file; the replay sends them in
//! the same order to one simulator, so ids line up by themselves. What the run did between
//! recorded exchanges is prepared through the control handle: the users and tokens the
//! README names, and the project "Internal" (id 2) that `master-data.json` lists without
//! recording its creation. `offsets-postgresql.json` and `before-initial-setup.json` come
//! from other instances and get their own simulator.
//!
//! Normalisation, and only this:
//! - Values the server takes from its own clock (`created_at`, `updated_at`, `timestamp`,
//!   and a timer's `start_time`/`end_time`) must be naive ISO datetimes (or null where the
//!   recording has null); their digits are not compared.
//! - Lists and maps the README says were trimmed (the note names them) must start with the
//!   recorded items (keys); everything else must be equal, numbers including whether they
//!   are integers or floats.
//! - `set-cookie` values are masked in the recordings: only its presence is compared.
//! - `rate-limit.json`'s first exchange is the summary of a loop (no body): the replay
//!   runs the loop from the top of a clock minute and checks that its first refusal is
//!   request #101; the next two exchanges are that loop's #100 and #101.
//!
//! No exchange is skipped.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use timebridge_sim::timetracker::{Backend, NewUser, RateLimit, Role};
use timebridge_sim::{Seed, SimOptions, TimetrackerSim};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real/timetracker-5.10")
}

fn load(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join(file)).unwrap();
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

fn token(name: &str) -> String {
    format!("tt_replay{name:_<24}")
}

/// The recording run's clock: the first exchange's server time (07:41:49 Berlin).
fn run_start() -> DateTime<Utc> {
    "2026-12-02T06:41:49Z".parse().unwrap()
}

async fn start(now: DateTime<Utc>) -> TimetrackerSim {
    TimetrackerSim::start(SimOptions {
        seed: Seed::Empty,
        token: token("main"),
        now: Some(now),
        ..SimOptions::default()
    })
    .await
    .unwrap()
}

/// The users and tokens the README names.
fn prepare_users_and_tokens(sim: &TimetrackerSim) {
    let agent = sim.add_user(NewUser {
        username: "agent".into(),
        email: Some("agent@example.com".into()),
        full_name: Some("Agent Smith".into()),
        role: Role::User,
    });
    assert_eq!(agent.id, 2);
    let rw = [
        "read:time_entries",
        "write:time_entries",
        "read:projects",
        "write:projects",
        "read:clients",
        "write:clients",
        "read:tasks",
        "write:tasks",
    ];
    sim.add_token(&token("rw"), 1, &rw).unwrap();
    sim.add_token(&token("ro"), 1, &["read:time_entries"])
        .unwrap();
    sim.add_token(&token("admin_all"), 1, &["admin:all"])
        .unwrap();
    sim.add_token(&token("readstar"), 1, &["read:*"]).unwrap();
    sim.add_token(
        &token("agent"),
        2,
        &["read:time_entries", "write:time_entries", "read:projects"],
    )
    .unwrap();
    sim.add_token(&token("rl"), 1, &["read:time_entries"])
        .unwrap();
    sim.add_token(&token("revoked"), 1, &["read:time_entries"])
        .unwrap();
    sim.revoke_token(&token("revoked")).unwrap();
    sim.add_token(&token("expired"), 1, &["read:time_entries"])
        .unwrap();
    sim.expire_token(&token("expired"), run_start() - chrono::Duration::days(1))
        .unwrap();
}

fn substitute(text: &str) -> String {
    let mut out = text.to_owned();
    while let Some(start) = out.find("<token:") {
        let end = start + out[start..].find('>').unwrap();
        let name = out[start + 7..end].to_owned();
        out.replace_range(start..=end, &token(&name));
    }
    out
}

/// An HTTP client that, like the recorder, does not follow redirects.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn send(sim: &TimetrackerSim, exchange: &Value) -> Answer {
    let req = &exchange["request"];
    let method: reqwest::Method = req["method"].as_str().unwrap().parse().unwrap();
    let url = format!("{}{}", sim.url, req["path"].as_str().unwrap());
    let mut headers = HeaderMap::new();
    for (k, v) in req["headers"].as_object().unwrap() {
        headers.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(&substitute(v.as_str().unwrap())).unwrap(),
        );
    }
    let mut builder = client().request(method, url).headers(headers);
    match &req["body"] {
        Value::Null => {}
        Value::String(raw) => builder = builder.body(raw.clone()),
        json => builder = builder.body(serde_json::to_vec(json).unwrap()),
    }
    let resp = builder.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

/// What a recording's note says was trimmed.
struct Trimmed {
    lists: HashSet<String>,
    maps: HashSet<String>,
}

fn trimmed(note: &str) -> Trimmed {
    let mut lists = HashSet::new();
    let marker = "lists trimmed to the first 3 items: ";
    let mut rest = note;
    while let Some(i) = rest.find(marker) {
        let after = &rest[i + marker.len()..];
        let end = after.find(']').unwrap_or(after.len());
        for name in after[..end].split(',') {
            lists.insert(name.trim().to_owned());
        }
        rest = &after[end..];
    }
    // Also "[enabled_modules trimmed to …]" and "[endpoints map trimmed …]".
    let mut maps = HashSet::new();
    let words: Vec<&str> = note.split_whitespace().collect();
    for pair in words.windows(3) {
        let name = pair[0].trim_start_matches('[');
        if pair[1] == "trimmed" {
            lists.insert(name.to_owned());
        } else if pair[1] == "map" && pair[2] == "trimmed" {
            maps.insert(name.to_owned());
        }
    }
    Trimmed { lists, maps }
}

fn is_naive_iso(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok() && !s.ends_with('Z')
}

struct Cmp<'a> {
    trimmed: &'a Trimmed,
    clock_keys: &'a [&'a str],
    diffs: Vec<String>,
}

impl Cmp<'_> {
    fn value(&mut self, path: &str, key: &str, rec: &Value, act: &Value) {
        if self.clock_keys.contains(&key) {
            let ok = match rec {
                Value::Null => act.is_null(),
                _ => is_naive_iso(act),
            };
            if !ok {
                self.diffs
                    .push(format!("{path}: server clock value {act} (recorded {rec})"));
            }
            return;
        }
        match (rec, act) {
            (Value::Object(r), Value::Object(a)) => {
                let subset = self.trimmed.maps.contains(key);
                let rk: Vec<&String> = r.keys().collect();
                let ak: Vec<&String> = a.keys().collect();
                if !subset && rk != ak {
                    let missing: Vec<_> = rk.iter().filter(|k| !a.contains_key(**k)).collect();
                    let extra: Vec<_> = ak.iter().filter(|k| !r.contains_key(**k)).collect();
                    self.diffs.push(format!(
                        "{path}: keys differ, missing {missing:?}, extra {extra:?}"
                    ));
                }
                for (k, rv) in r {
                    match a.get(k) {
                        Some(av) => self.value(&format!("{path}.{k}"), k, rv, av),
                        None if subset => self.diffs.push(format!("{path}.{k}: missing")),
                        None => {}
                    }
                }
            }
            (Value::Array(r), Value::Array(a)) => {
                let ok_len = if self.trimmed.lists.contains(key) {
                    a.len() >= r.len()
                } else {
                    a.len() == r.len()
                };
                if !ok_len {
                    self.diffs
                        .push(format!("{path}: {} items (recorded {})", a.len(), r.len()));
                }
                for (i, (rv, av)) in r.iter().zip(a).enumerate() {
                    self.value(&format!("{path}[{i}]"), key, rv, av);
                }
            }
            (Value::Number(r), Value::Number(a)) => {
                if r.is_f64() != a.is_f64() || r.as_f64() != a.as_f64() {
                    self.diffs.push(format!("{path}: {a} (recorded {r})"));
                }
            }
            (r, a) => {
                if r != a {
                    self.diffs.push(format!("{path}: {a} (recorded {r})"));
                }
            }
        }
    }
}

const CLOCK: [&str; 3] = ["created_at", "updated_at", "timestamp"];
const TIMER_CLOCK: [&str; 5] = [
    "created_at",
    "updated_at",
    "timestamp",
    "start_time",
    "end_time",
];

/// Differences between the recorded response and the simulator's answer.
fn compare(exchange: &Value, answer: &Answer) -> Vec<String> {
    let rec = &exchange["response"];
    let mut diffs = Vec::new();
    let status = rec["status"].as_u64().unwrap() as u16;
    if status != answer.status {
        diffs.push(format!("status {} (recorded {status})", answer.status));
    }
    for (name, value) in rec["headers"].as_object().unwrap() {
        let actual = answer
            .headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok());
        let expected = value.as_str().unwrap();
        let same = match name.as_str() {
            "set-cookie" => actual.is_some(),
            "content-type" => {
                let media = |s: &str| s.split(';').next().unwrap_or("").trim().to_owned();
                actual.map(media) == Some(media(expected))
            }
            _ => actual == Some(expected),
        };
        if !same {
            diffs.push(format!("header {name}: {actual:?} (recorded {expected:?})"));
        }
    }
    let trimmed = trimmed(exchange["note"].as_str().unwrap_or(""));
    let path = exchange["request"]["path"].as_str().unwrap();
    let clock_keys: &[&str] = if path.contains("/timer/") {
        &TIMER_CLOCK
    } else {
        &CLOCK
    };
    let mut cmp = Cmp {
        trimmed: &trimmed,
        clock_keys,
        diffs,
    };
    cmp.value("body", "", &rec["body"], &answer.body);
    cmp.diffs
}

/// Replays `exchanges` in order, running `before(index)` first; returns the failures.
async fn replay(
    sim: &TimetrackerSim,
    file: &str,
    exchanges: &[Value],
    mut before: impl FnMut(usize),
) -> Vec<String> {
    let mut failures = Vec::new();
    for (i, x) in exchanges.iter().enumerate() {
        before(i);
        let answer = send(sim, x).await;
        let diffs = compare(x, &answer);
        if !diffs.is_empty() {
            failures.push(format!(
                "{file} #{i} {:?}:\n    {}\n    answer: {}",
                x["name"].as_str().unwrap(),
                diffs.join("\n    "),
                answer.body
            ));
        }
    }
    failures
}

fn report(failures: &[String], replayed: usize) {
    assert!(
        failures.is_empty(),
        "{} of {replayed} recorded exchanges differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_main_instance_answers_every_recorded_exchange_alike() {
    let sim = start(run_start()).await;
    prepare_users_and_tokens(&sim);
    let mut failures = Vec::new();
    let mut replayed = 0;
    for file in [
        "auth-and-info.json",
        "master-data.json",
        "time-entries-create.json",
        "offsets-sqlite.json",
        "time-entries-list.json",
        "time-entries-get-update-delete.json",
    ] {
        let exchanges = load(file);
        replayed += exchanges.len();
        let ctl = sim.control();
        let is_master = file == "master-data.json";
        failures.extend(
            replay(&sim, file, &exchanges, |i| {
                // Created during the recording run without being recorded: project 2.
                if is_master && i == 5 {
                    let internal = ctl.add_project("Internal", Some(1), true, None);
                    assert_eq!(internal.id, 2);
                }
            })
            .await,
        );
    }

    // rate-limit.json: a loop from the top of a clock minute (its 101st request came
    // 6.7 s in), then another token in the same minute.
    let exchanges = load("rate-limit.json");
    replayed += exchanges.len();
    sim.set_rate_limit(Some(RateLimit::server_default()));
    sim.clock().set("2026-12-02T06:50:06.700Z".parse().unwrap());
    let mut answers = Vec::new();
    let mut first_refused = None;
    for n in 1..=101 {
        let a = send(&sim, &exchanges[1]).await;
        if a.status != 200 && first_refused.is_none() {
            first_refused = Some((n, a.status));
        }
        answers.push(a);
    }
    if first_refused
        != Some((
            101,
            exchanges[0]["response"]["status"].as_u64().unwrap() as u16,
        ))
    {
        failures.push(format!(
            "rate-limit.json #0: the loop's first refusal is {first_refused:?}, recorded: #101 with 429"
        ));
    }
    for (i, answer) in [(1, &answers[99]), (2, &answers[100])] {
        let diffs = compare(&exchanges[i], answer);
        if !diffs.is_empty() {
            failures.push(format!("rate-limit.json #{i}: {}", diffs.join("; ")));
        }
    }
    failures.extend(replay(&sim, "rate-limit.json", &exchanges[3..], |_| {}).await);
    report(&failures, replayed);
}

#[tokio::test]
async fn a_postgresql_instance_converts_offsets_to_its_session_zone() {
    let sim = start("2026-12-02T06:43:58Z".parse().unwrap()).await;
    sim.set_backend(Backend::Postgres {
        session_tz: chrono_tz::UTC,
    });
    sim.add_token(
        &token("rw"),
        1,
        &["read:time_entries", "write:time_entries"],
    )
    .unwrap();
    let client = sim.add_client("ACME GmbH");
    sim.add_project("Support", Some(client.id), true, None);
    let exchanges = load("offsets-postgresql.json");
    let failures = replay(&sim, "offsets-postgresql.json", &exchanges, |_| {}).await;
    report(&failures, exchanges.len());
}

#[tokio::test]
async fn a_fresh_install_redirects_every_route_but_info_to_the_setup() {
    let sim = start(run_start()).await;
    sim.set_setup_required(true);
    sim.add_token(&token("rw"), 1, &["admin:all"]).unwrap();
    let exchanges = load("before-initial-setup.json");
    let failures = replay(&sim, "before-initial-setup.json", &exchanges, |_| {}).await;
    report(&failures, exchanges.len());
}

#[test]
fn every_recording_file_is_replayed() {
    let replayed: BTreeMap<&str, ()> = [
        "auth-and-info.json",
        "before-initial-setup.json",
        "master-data.json",
        "offsets-postgresql.json",
        "offsets-sqlite.json",
        "rate-limit.json",
        "time-entries-create.json",
        "time-entries-get-update-delete.json",
        "time-entries-list.json",
    ]
    .into_iter()
    .map(|f| (f, ()))
    .collect();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            replayed.contains_key(name.as_str()),
            "{name} is not replayed"
        );
    }
}
