//! Project mirroring (`mirror_projects`) driven through the engine's `SyncEnv`, on SQLite
//! and PostgreSQL. No real source kind can create projects yet, so the source is an
//! in-process fake with the `ProjectCreator` capability and the target an in-process fake
//! whose directory lists the target's active projects; the connectors are handed to the
//! engine through the environment's connector factory.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use timebridge_connectors::{
    CatalogItem, Connector, ConnectorError, ConnectorResult, Marker, ProjectCreator, SourceBatch,
    SourceConnector, SourceQuery, SourceScope, TargetConnector, TestReport,
};
use timebridge_core::entry::{Entry, Window};
use timebridge_core::mapping::{TargetDirectory, TargetProject, TargetSettings};
use timebridge_core::mirror::CatalogProject;
use timebridge_core::plan::TargetItem;
use timebridge_server::ManualClock;
use timebridge_server::sync::worker::{lease, run_claimed};
use timebridge_server::sync::{ConnectorFactory, SyncEnv, execute};
use timebridge_store::{AuditFilter, NewConnector, NewRun, PipelineInput, Run, Store, db_test};

fn t0() -> DateTime<Utc> {
    "2026-03-01T09:30:00Z".parse().unwrap()
}

/// What the fake source does on its next create.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum OnCreate {
    #[default]
    Create,
    /// Refuses cleanly (nothing created).
    Refuse,
    /// Creates the project, then times out (outcome unknown to the caller).
    CreateThenTimeOut,
    /// Creates the project, then never answers (the run is dropped meanwhile: a crash).
    CreateThenHang,
}

#[derive(Debug, Default)]
struct SourceState {
    projects: Vec<CatalogProject>,
    /// Every create call: (name, client key).
    creates: Vec<(String, Option<String>)>,
    on_create: OnCreate,
}

/// A source connector that can create projects.
#[derive(Debug, Default)]
struct FakeSource {
    state: Mutex<SourceState>,
    created: tokio::sync::Notify,
}

impl FakeSource {
    fn with_projects(names: &[&str]) -> Arc<Self> {
        let me = FakeSource::default();
        me.state.lock().unwrap().projects = names
            .iter()
            .enumerate()
            .map(|(i, n)| CatalogProject {
                key: format!("s{i}"),
                name: (*n).into(),
                active: i % 2 == 0,
            })
            .collect();
        Arc::new(me)
    }

    fn creates(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().creates.clone()
    }

    fn names(&self) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.projects.iter().map(|p| p.name.clone()).collect()
    }

    fn on_create(&self, what: OnCreate) {
        self.state.lock().unwrap().on_create = what;
    }
}

#[async_trait]
impl Connector for FakeSource {
    fn kind(&self) -> &'static str {
        "fakesource"
    }
    async fn test(&self) -> TestReport {
        TestReport {
            ok: true,
            message: "fake".into(),
            details: json!({}),
        }
    }
    async fn catalog(&self, _what: &str) -> ConnectorResult<Vec<CatalogItem>> {
        Ok(Vec::new())
    }
    fn as_source(&self) -> Option<&dyn SourceConnector> {
        Some(self)
    }
}

#[async_trait]
impl SourceConnector for FakeSource {
    async fn fetch(&self, _query: &SourceQuery) -> ConnectorResult<SourceBatch> {
        Ok(SourceBatch {
            entries: Vec::new(),
            known_keys: Default::default(),
            scope: SourceScope::Everything,
            notes: Vec::new(),
            memory: None,
        })
    }
    fn as_project_creator(&self) -> Option<&dyn ProjectCreator> {
        Some(self)
    }
}

#[async_trait]
impl ProjectCreator for FakeSource {
    async fn projects(&self) -> ConnectorResult<Vec<CatalogProject>> {
        Ok(self.state.lock().unwrap().projects.clone())
    }

    async fn create_project(
        &self,
        name: &str,
        client_key: Option<&str>,
    ) -> ConnectorResult<CatalogProject> {
        let (on_create, created) = {
            let mut s = self.state.lock().unwrap();
            s.creates
                .push((name.to_owned(), client_key.map(str::to_owned)));
            let on_create = std::mem::take(&mut s.on_create);
            if on_create == OnCreate::Refuse {
                return Err(ConnectorError::Forbidden {
                    message: "no permission to create projects".into(),
                });
            }
            let p = CatalogProject {
                key: format!("new-{}", s.projects.len()),
                name: name.to_owned(),
                active: true,
            };
            s.projects.push(p.clone());
            (on_create, p)
        };
        match on_create {
            OnCreate::CreateThenTimeOut => Err(ConnectorError::Timeout {
                host: "source".into(),
                seconds: 30,
            }),
            OnCreate::CreateThenHang => {
                self.created.notify_one();
                std::future::pending().await
            }
            _ => Ok(created),
        }
    }
}

/// A target that has projects and no entries.
#[derive(Debug)]
struct FakeTarget {
    projects: Vec<(String, String)>,
}

#[async_trait]
impl Connector for FakeTarget {
    fn kind(&self) -> &'static str {
        "faketarget"
    }
    async fn test(&self) -> TestReport {
        TestReport {
            ok: true,
            message: "fake".into(),
            details: json!({}),
        }
    }
    async fn catalog(&self, _what: &str) -> ConnectorResult<Vec<CatalogItem>> {
        Ok(Vec::new())
    }
    fn as_target(&self) -> Option<&dyn TargetConnector> {
        Some(self)
    }
}

#[async_trait]
impl TargetConnector for FakeTarget {
    fn target_settings(&self) -> TargetSettings {
        TargetSettings::default()
    }
    async fn directory(&self) -> ConnectorResult<TargetDirectory> {
        let projects = self.projects.iter().map(|(k, n)| TargetProject {
            key: k.clone(),
            name: Some(n.clone()),
            customer: None,
        });
        Ok(TargetDirectory::new([], projects, [], None))
    }
    async fn fetch(&self, _w: &Window, _s: &str) -> ConnectorResult<Vec<TargetItem>> {
        Ok(Vec::new())
    }
    async fn fetch_by_ids(&self, _ids: &[String], _s: &str) -> ConnectorResult<Vec<TargetItem>> {
        Ok(Vec::new())
    }
    async fn find_marked(&self, _m: &Marker, _d: &Entry) -> ConnectorResult<Vec<TargetItem>> {
        Ok(Vec::new())
    }
    async fn create(&self, _m: &Marker, _d: &Entry) -> ConnectorResult<TargetItem> {
        Err(ConnectorError::Config("no entries expected".into()))
    }
    async fn update(&self, _id: &str, _m: &Marker, _d: &Entry) -> ConnectorResult<TargetItem> {
        Err(ConnectorError::Config("no entries expected".into()))
    }
    async fn delete(&self, _id: &str) -> ConnectorResult<()> {
        Err(ConnectorError::Config("no entries expected".into()))
    }
}

struct Factory {
    source_id: i64,
    target_id: i64,
    source: Arc<FakeSource>,
    target: Arc<FakeTarget>,
}

impl ConnectorFactory for Factory {
    fn instance(&self, id: i64) -> Option<Arc<dyn Connector>> {
        if id == self.source_id {
            Some(self.source.clone())
        } else if id == self.target_id {
            Some(self.target.clone())
        } else {
            None
        }
    }
}

/// A pipeline with mirroring on (client `c-9`) from `source` to a target with `target`
/// projects, and the environment that runs it.
struct World {
    env: SyncEnv,
    clock: ManualClock,
    pipeline_id: i64,
    source: Arc<FakeSource>,
}

async fn world(store: Store, source: Arc<FakeSource>, target: &[&str]) -> World {
    let on = json!({"mirror_projects": {"enabled": true, "client_key": "c-9"}});
    world_with(store, source, target, on).await
}

async fn world_with(
    store: Store,
    source: Arc<FakeSource>,
    target: &[&str],
    options: Value,
) -> World {
    let c = |kind: &str| NewConnector {
        kind: kind.into(),
        name: kind.into(),
        base_url: "http://127.0.0.1:9".into(),
        api_token: None,
        settings: json!({}),
        secret_settings: Default::default(),
    };
    let s = store.create_connector(c("zammad")).await.unwrap();
    let t = store.create_connector(c("kimai")).await.unwrap();
    let pipeline = store
        .create_pipeline(
            PipelineInput {
                name: "mirror".into(),
                source_connector_id: s.id,
                target_connector_id: t.id,
                enabled: true,
                schedule_enabled: false,
                interval_minutes: 60,
                window_days: 7,
                options,
            },
            t0(),
        )
        .await
        .unwrap();
    let target = Arc::new(FakeTarget {
        projects: target
            .iter()
            .enumerate()
            .map(|(i, n)| ((i + 1).to_string(), (*n).to_owned()))
            .collect(),
    });
    let clock = ManualClock::new(t0());
    let env = SyncEnv::new(store, Arc::new(clock.clone())).with_instances(Arc::new(Factory {
        source_id: s.id,
        target_id: t.id,
        source: source.clone(),
        target,
    }));
    World {
        env,
        clock,
        pipeline_id: pipeline.id,
        source,
    }
}

impl World {
    async fn queue(&self, dry_run: bool) -> Run {
        let now = self.clock.now_utc();
        let queued = self
            .env
            .store
            .enqueue_run(
                NewRun {
                    pipeline_id: self.pipeline_id,
                    trigger: timebridge_store::RunTrigger::Schedule,
                    dry_run,
                    window_from: NaiveDate::from_ymd_opt(2026, 2, 23).unwrap(),
                    window_to: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                    ticket_ids: None,
                    run_after: now,
                    scope: None,
                    undo_of: None,
                },
                now,
            )
            .await
            .unwrap();
        self.claim(queued.id).await
    }

    async fn claim(&self, id: i64) -> Run {
        let now = self.clock.now_utc();
        self.env
            .store
            .claim_run(id, "worker", now, now + lease())
            .await
            .unwrap()
            .expect("the run is claimed")
    }

    /// Queues, claims and executes a run through the worker; returns it as stored.
    async fn run(&self, dry_run: bool) -> Run {
        let run = self.queue(dry_run).await;
        run_claimed(&self.env, "worker", run).await.unwrap()
    }

    async fn audits(&self) -> Vec<Value> {
        let filter = AuditFilter {
            action: Some(timebridge_store::AuditAction::ProjectMirrored),
            ..Default::default()
        };
        let (events, _) = self.env.store.list_audit(&filter, 100, 0).await.unwrap();
        events.into_iter().map(|e| e.details).collect()
    }
}

trait Now {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl Now for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        timebridge_server::Clock::now(self)
    }
}

fn mirrored(run: &Run) -> Vec<(String, Option<String>)> {
    run.mirrored_projects
        .iter()
        .map(|p| (p.name.clone(), p.source_key.clone()))
        .collect()
}

fn pair(name: &str, key: Option<&str>) -> (String, Option<String>) {
    (name.to_owned(), key.map(str::to_owned))
}

fn count(names: &[String], name: &str) -> usize {
    names.iter().filter(|n| n.as_str() == name).count()
}

db_test!(
    async fn a_real_run_creates_each_missing_project_once_then_none(s: Store) {
        let store = s;
        let w = world(
            store,
            FakeSource::with_projects(&["Website"]),
            &["Website", "Support", "Hosting"],
        )
        .await;
        let first = w.run(false).await;
        assert_eq!(
            first.status,
            timebridge_store::RunStatus::Succeeded,
            "{:?}",
            first.error
        );
        assert_eq!(
            w.source.creates(),
            [pair("Support", Some("c-9")), pair("Hosting", Some("c-9"))]
        );
        assert_eq!(
            mirrored(&first),
            [
                pair("Support", Some("new-1")),
                pair("Hosting", Some("new-2"))
            ]
        );
        let audits = w.audits().await;
        assert_eq!(audits.len(), 2);
        assert!(audits.iter().all(|a| a["recovered"] == json!(false)));
        assert!(
            audits
                .iter()
                .any(|a| a["name"] == "Support" && a["source_key"] == "new-1")
        );
        assert!(
            w.env
                .store
                .pending_mirror_intents(w.pipeline_id)
                .await
                .unwrap()
                .is_empty()
        );

        let second = w.run(false).await;
        assert_eq!(second.status, timebridge_store::RunStatus::Succeeded);
        assert_eq!(
            w.source.creates().len(),
            2,
            "the second run creates nothing"
        );
        assert!(mirrored(&second).is_empty());
        assert_eq!(w.audits().await.len(), 2);
    }
);

db_test!(
    async fn a_dry_run_lists_the_projects_it_would_create_and_creates_none(store: Store) {
        let w = world(
            store,
            FakeSource::with_projects(&[]),
            &["Support", "Hosting"],
        )
        .await;
        let run = w.run(true).await;
        assert_eq!(
            run.status,
            timebridge_store::RunStatus::Succeeded,
            "{:?}",
            run.error
        );
        assert_eq!(
            mirrored(&run),
            [pair("Support", None), pair("Hosting", None)]
        );
        assert!(w.source.creates().is_empty());
        assert!(w.source.names().is_empty());
        assert!(w.audits().await.is_empty());
        assert!(
            w.env
                .store
                .pending_mirror_intents(w.pipeline_id)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

db_test!(
    async fn a_crash_after_a_create_never_leads_to_a_second_project(s: Store) {
        let store = s;
        let w = world(
            store,
            FakeSource::with_projects(&[]),
            &["Support", "Hosting"],
        )
        .await;
        w.source.on_create(OnCreate::CreateThenHang);
        let run = w.queue(false).await;
        // The create happens in the source; the run is dropped before it learns the
        // project's key: nothing after the create is recorded (a crash).
        tokio::select! {
            _ = execute(&w.env, &run) => panic!("the run should hang after the create"),
            () = w.source.created.notified() => {}
        }
        assert_eq!(w.source.names(), ["Support"]);
        assert_eq!(
            w.env
                .store
                .pending_mirror_intents(w.pipeline_id)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(w.audits().await.is_empty());

        // The crashed run's lease expires; it is queued again and taken up.
        w.clock.advance(lease() + Duration::minutes(1));
        w.env
            .store
            .requeue_expired_runs(w.clock.now_utc())
            .await
            .unwrap();
        let again = w.claim(run.id).await;
        let finished = run_claimed(&w.env, "worker", again).await.unwrap();
        assert_eq!(
            finished.status,
            timebridge_store::RunStatus::Succeeded,
            "{:?}",
            finished.error
        );
        let names = w.source.names();
        assert_eq!(count(&names, "Support"), 1, "{names:?}");
        assert_eq!(count(&names, "Hosting"), 1, "{names:?}");
        assert_eq!(
            mirrored(&finished),
            [
                pair("Support", Some("new-0")),
                pair("Hosting", Some("new-1"))
            ]
        );
        let audits = w.audits().await;
        let support: Vec<&Value> = audits.iter().filter(|a| a["name"] == "Support").collect();
        assert_eq!(support.len(), 1, "audited once: {audits:?}");
        assert_eq!(support[0]["recovered"], json!(true));
        assert!(
            w.env
                .store
                .pending_mirror_intents(w.pipeline_id)
                .await
                .unwrap()
                .is_empty()
        );

        let third = w.run(false).await;
        assert!(mirrored(&third).is_empty());
        assert_eq!(w.source.creates().len(), 2);
    }
);

db_test!(
    async fn a_create_that_timed_out_but_happened_is_adopted_by_the_next_run(store: Store) {
        let w = world(store, FakeSource::with_projects(&[]), &["Support"]).await;
        w.source.on_create(OnCreate::CreateThenTimeOut);
        let first = w.run(false).await;
        assert_eq!(first.status, timebridge_store::RunStatus::Partial);
        assert!(
            first.error.as_deref().unwrap().contains("Support"),
            "{:?}",
            first.error
        );
        assert!(mirrored(&first).is_empty());
        // The outcome was unknown: the intent stays for the next run to settle.
        assert_eq!(
            w.env
                .store
                .pending_mirror_intents(w.pipeline_id)
                .await
                .unwrap()
                .len(),
            1
        );

        let second = w.run(false).await;
        assert_eq!(
            second.status,
            timebridge_store::RunStatus::Succeeded,
            "{:?}",
            second.error
        );
        assert_eq!(w.source.creates().len(), 1, "not created a second time");
        assert_eq!(mirrored(&second), [pair("Support", Some("new-0"))]);
        assert_eq!(w.audits().await.len(), 1);
    }
);

db_test!(
    async fn names_differing_only_in_case_or_spacing_are_not_mirrored(store: Store) {
        // The source's "old project" is inactive: it still counts as present.
        let source = FakeSource::with_projects(&["acme support", "  Old Project  "]);
        let w = world(
            store,
            source,
            &["ACME Support ", "old project", " Website", "WEBSITE"],
        )
        .await;
        let run = w.run(false).await;
        assert_eq!(
            run.status,
            timebridge_store::RunStatus::Succeeded,
            "{:?}",
            run.error
        );
        assert_eq!(w.source.creates(), [pair("Website", Some("c-9"))]);
        assert_eq!(mirrored(&run), [pair("Website", Some("new-2"))]);
    }
);

db_test!(
    async fn a_failed_create_is_on_the_run_and_retried_by_the_next_run(store: Store) {
        let w = world(
            store,
            FakeSource::with_projects(&[]),
            &["Support", "Hosting"],
        )
        .await;
        w.source.on_create(OnCreate::Refuse);
        let first = w.run(false).await;
        assert_eq!(first.status, timebridge_store::RunStatus::Partial);
        let error = first.error.clone().unwrap();
        assert!(
            error.contains("could not create project \"Support\""),
            "{error}"
        );
        assert!(error.contains("no permission"), "{error}");
        // The other project and the entries' sync went on.
        assert_eq!(mirrored(&first), [pair("Hosting", Some("new-0"))]);
        assert_eq!(w.source.names(), ["Hosting"]);
        assert!(
            w.env
                .store
                .pending_mirror_intents(w.pipeline_id)
                .await
                .unwrap()
                .is_empty()
        );

        let second = w.run(false).await;
        assert_eq!(
            second.status,
            timebridge_store::RunStatus::Succeeded,
            "{:?}",
            second.error
        );
        assert_eq!(mirrored(&second), [pair("Support", Some("new-1"))]);
        assert_eq!(w.source.names(), ["Hosting", "Support"]);
    }
);

db_test!(
    async fn a_pipeline_without_mirroring_leaves_the_source_alone(store: Store) {
        let w = world_with(
            store,
            FakeSource::with_projects(&[]),
            &["Support"],
            json!({}),
        )
        .await;
        let run = w.run(false).await;
        assert_eq!(run.status, timebridge_store::RunStatus::Succeeded);
        assert!(w.source.creates().is_empty());
        assert!(mirrored(&run).is_empty());
    }
);
