//! One test world: the simulators of a connector pair, started with a seed, and the
//! connectors, pipeline and seed mappings that fit them, as plain data ([`Plan`]).
//!
//! Every caller that needs "a source, a target, a pipeline and mappings that make the
//! seed sync" starts a [`World`] and configures its plan its own way:
//! [`configure_store`] writes it straight through `timebridge_store` (the demo, the
//! benchmarks, the crash-safety tests), [`configure_api`] sends it through the HTTP API
//! (the API tests, which must go through the API). A caller changes the plan (names,
//! pipeline settings, dropped mappings) before configuring it; what is left is the same
//! world everywhere.
//!
//! A connector issue adds its pair: one [`Pair`] variant, one [`Sims`] variant, and a
//! file under `pairs/` that starts the pair's simulators and writes its plan.

#![warn(missing_docs)]

mod drivers;
mod pairs;

pub use drivers::{ClockifyWorkspace, SourceDriver, TargetDriver, TargetRecord};

use std::collections::BTreeMap;
use std::future::Future;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use timebridge_sim::{
    ClockifySim, GoogleCalendarSim, JibbleSim, KimaiSim, OdooSim, SimError, SimOptions,
    TimetrackerSim, ZammadSim,
};
use timebridge_store::{
    ConnectorUpdate, MappingFilter, MappingInput, MappingKind, NewConnector, PipelineInput, Secret,
    Store,
};

/// The webhook secret of a world's source connector, unless the caller sets its own.
pub const WEBHOOK_SECRET: &str = "timebridge-world-webhook-secret";

/// A source system and a target system with simulators for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pair {
    /// Zammad time accountings into Kimai timesheets.
    ZammadKimai,
    /// Zammad time accountings into Odoo timesheets (`account.analytic.line`).
    ZammadOdoo,
    /// Zammad time accountings into TimeTracker time entries.
    ZammadTimetracker,
    /// TimeTracker time entries into Kimai timesheets.
    TimetrackerKimai,
    /// TimeTracker time entries (running timers included) into Odoo attendances.
    TimetrackerOdoo,
    /// A contractor's Clockify workspace into the agency's, with mirrored projects.
    ClockifyClockify,
    /// Zammad time accountings into the agency's Clockify workspace.
    ZammadClockify,
    /// The agency's Clockify entries into Kimai timesheets.
    ClockifyKimai,
    /// Jibble clock events (paired into intervals, clock-ins still going included) into
    /// Odoo attendances.
    JibbleOdoo,
    /// A person's Google Calendar events into TimeTracker time entries.
    GoogleCalendarTimetracker,
    /// A person's Google Calendar events into Kimai timesheets.
    GoogleCalendarKimai,
}

/// The running simulators of a world, by pair.
#[derive(Debug)]
pub enum Sims {
    /// [`Pair::ZammadKimai`].
    ZammadKimai {
        /// The source.
        zammad: ZammadSim,
        /// The target.
        kimai: KimaiSim,
    },
    /// [`Pair::ZammadOdoo`].
    ZammadOdoo {
        /// The source.
        zammad: ZammadSim,
        /// The target.
        odoo: OdooSim,
    },
    /// [`Pair::ZammadTimetracker`].
    ZammadTimetracker {
        /// The source.
        zammad: ZammadSim,
        /// The target.
        timetracker: TimetrackerSim,
    },
    /// [`Pair::TimetrackerKimai`].
    TimetrackerKimai {
        /// The source.
        timetracker: TimetrackerSim,
        /// The target.
        kimai: KimaiSim,
    },
    /// [`Pair::TimetrackerOdoo`].
    TimetrackerOdoo {
        /// The source.
        timetracker: TimetrackerSim,
        /// The target.
        odoo: OdooSim,
    },
    /// [`Pair::ClockifyClockify`]: one simulator, two workspaces.
    ClockifyClockify {
        /// The simulator serving both workspaces.
        clockify: ClockifySim,
        /// The source: the contractor's workspace.
        contractor: ClockifyWorkspace,
        /// The target: the agency's workspace.
        agency: ClockifyWorkspace,
    },
    /// [`Pair::ZammadClockify`].
    ZammadClockify {
        /// The source.
        zammad: ZammadSim,
        /// The target's simulator.
        clockify: ClockifySim,
        /// The target: the agency's workspace.
        agency: ClockifyWorkspace,
    },
    /// [`Pair::ClockifyKimai`].
    ClockifyKimai {
        /// The source's simulator.
        clockify: ClockifySim,
        /// The target.
        kimai: KimaiSim,
        /// The source: the agency's workspace.
        agency: ClockifyWorkspace,
    },
    /// [`Pair::JibbleOdoo`].
    JibbleOdoo {
        /// The source.
        jibble: JibbleSim,
        /// The target.
        odoo: OdooSim,
    },
    /// [`Pair::GoogleCalendarTimetracker`].
    GoogleCalendarTimetracker {
        /// The source.
        google: GoogleCalendarSim,
        /// The target.
        timetracker: TimetrackerSim,
    },
    /// [`Pair::GoogleCalendarKimai`].
    GoogleCalendarKimai {
        /// The source.
        google: GoogleCalendarSim,
        /// The target.
        kimai: KimaiSim,
    },
}

/// The simulators of a pair, started with one seed, and the plan that fits them.
#[derive(Debug)]
pub struct World {
    /// Which pair.
    pub pair: Pair,
    /// The running simulators.
    pub sims: Sims,
    /// Connectors, pipeline and seed mappings; change it before configuring.
    pub plan: Plan,
}

/// A connector as the API takes it: `settings` include secret settings (e.g. the webhook
/// secret), which [`configure_store`] splits out and stores encrypted like the server.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorDef {
    /// The registry kind (`zammad`, `kimai`, …).
    pub kind: String,
    /// Display name (the store path finds an existing connector by it).
    pub name: String,
    /// The simulator's URL.
    pub base_url: String,
    /// The simulator's API token.
    pub api_token: String,
    /// Settings per the kind's schema, secrets included.
    pub settings: Value,
}

/// The pipeline between the two connectors.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineDef {
    /// Display name (the store path finds an existing pipeline by it).
    pub name: String,
    /// Whether the pipeline is enabled.
    pub enabled: bool,
    /// Whether it runs on its schedule.
    pub schedule_enabled: bool,
    /// The schedule's interval.
    pub interval_minutes: i32,
    /// How many days a run reads.
    pub window_days: i32,
    /// Pipeline options as the API takes them (`{}`: the defaults).
    pub options: Value,
}

/// One mapping rule of the seed.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingDef {
    /// What it maps.
    pub kind: MappingKind,
    /// The source's key.
    pub source_key: String,
    /// The source record's name.
    pub source_label: Option<String>,
    /// The target's key.
    pub target_key: String,
}

/// What a world configures: plain data, the same for the store and the API path.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The source connector.
    pub source: ConnectorDef,
    /// The target connector.
    pub target: ConnectorDef,
    /// The pipeline.
    pub pipeline: PipelineDef,
    /// The mappings that fit the seed (agents and users match by e-mail without rules).
    pub mappings: Vec<MappingDef>,
}

/// The ids a configured plan got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Configured {
    /// The source connector.
    pub source_connector: i64,
    /// The target connector.
    pub target_connector: i64,
    /// The pipeline.
    pub pipeline: i64,
}

impl World {
    /// Starts the simulators of `pair` with `opts` (seed, token, latency, clock) and
    /// writes the plan that fits their data.
    pub async fn start(pair: Pair, opts: SimOptions) -> Result<World, SimError> {
        let (sims, plan) = match pair {
            Pair::ZammadKimai => pairs::zammad_kimai::start(opts).await?,
            Pair::ZammadOdoo => pairs::zammad_odoo::start(opts).await?,
            Pair::ZammadTimetracker => pairs::zammad_timetracker::start(opts).await?,
            Pair::TimetrackerKimai => pairs::timetracker_kimai::start(opts).await?,
            Pair::TimetrackerOdoo => pairs::timetracker_odoo::start(opts).await?,
            Pair::ClockifyClockify => pairs::clockify_clockify::start(opts).await?,
            Pair::ZammadClockify => pairs::zammad_clockify::start(opts).await?,
            Pair::ClockifyKimai => pairs::clockify_kimai::start(opts).await?,
            Pair::JibbleOdoo => pairs::jibble_odoo::start(opts).await?,
            Pair::GoogleCalendarTimetracker => {
                pairs::google_calendar_timetracker::start(opts).await?
            }
            Pair::GoogleCalendarKimai => pairs::google_calendar_kimai::start(opts).await?,
        };
        Ok(World { pair, sims, plan })
    }

    /// The Zammad simulator; panics in a world without one.
    pub fn zammad(&self) -> &ZammadSim {
        match &self.sims {
            Sims::ZammadKimai { zammad, .. }
            | Sims::ZammadOdoo { zammad, .. }
            | Sims::ZammadTimetracker { zammad, .. }
            | Sims::ZammadClockify { zammad, .. } => zammad,
            _ => panic!("a {:?} world has no Zammad", self.pair),
        }
    }

    /// The Kimai simulator; panics in a world without one.
    pub fn kimai(&self) -> &KimaiSim {
        match &self.sims {
            Sims::ZammadKimai { kimai, .. }
            | Sims::TimetrackerKimai { kimai, .. }
            | Sims::ClockifyKimai { kimai, .. }
            | Sims::GoogleCalendarKimai { kimai, .. } => kimai,
            _ => panic!("a {:?} world has no Kimai", self.pair),
        }
    }

    /// The Odoo simulator; panics in a world without one.
    pub fn odoo(&self) -> &OdooSim {
        match &self.sims {
            Sims::ZammadOdoo { odoo, .. }
            | Sims::TimetrackerOdoo { odoo, .. }
            | Sims::JibbleOdoo { odoo, .. } => odoo,
            _ => panic!("a {:?} world has no Odoo", self.pair),
        }
    }

    /// The TimeTracker simulator; panics in a world without one.
    pub fn timetracker(&self) -> &TimetrackerSim {
        match &self.sims {
            Sims::ZammadTimetracker { timetracker, .. }
            | Sims::TimetrackerKimai { timetracker, .. }
            | Sims::TimetrackerOdoo { timetracker, .. }
            | Sims::GoogleCalendarTimetracker { timetracker, .. } => timetracker,
            _ => panic!("a {:?} world has no TimeTracker", self.pair),
        }
    }

    /// The Google Calendar simulator; panics in a world without one.
    pub fn google(&self) -> &GoogleCalendarSim {
        match &self.sims {
            Sims::GoogleCalendarTimetracker { google, .. }
            | Sims::GoogleCalendarKimai { google, .. } => google,
            _ => panic!("a {:?} world has no Google Calendar", self.pair),
        }
    }

    /// The Clockify simulator; panics in a world without one.
    pub fn clockify(&self) -> &ClockifySim {
        match &self.sims {
            Sims::ClockifyClockify { clockify, .. }
            | Sims::ZammadClockify { clockify, .. }
            | Sims::ClockifyKimai { clockify, .. } => clockify,
            _ => panic!("a {:?} world has no Clockify", self.pair),
        }
    }

    /// The Jibble simulator; panics in a world without one.
    pub fn jibble(&self) -> &JibbleSim {
        match &self.sims {
            Sims::JibbleOdoo { jibble, .. } => jibble,
            _ => panic!("a {:?} world has no Jibble", self.pair),
        }
    }

    /// The world's source system, for the pair scenarios.
    pub fn source(&self) -> &dyn SourceDriver {
        match &self.sims {
            Sims::ZammadKimai { zammad, .. }
            | Sims::ZammadOdoo { zammad, .. }
            | Sims::ZammadTimetracker { zammad, .. }
            | Sims::ZammadClockify { zammad, .. } => zammad,
            Sims::TimetrackerKimai { timetracker, .. }
            | Sims::TimetrackerOdoo { timetracker, .. } => timetracker,
            Sims::ClockifyClockify { contractor, .. } => contractor,
            Sims::ClockifyKimai { agency, .. } => agency,
            Sims::JibbleOdoo { jibble, .. } => jibble,
            Sims::GoogleCalendarTimetracker { google, .. }
            | Sims::GoogleCalendarKimai { google, .. } => &**google,
        }
    }

    /// The world's target system, for the pair scenarios.
    pub fn target(&self) -> &dyn TargetDriver {
        match &self.sims {
            Sims::ZammadKimai { kimai, .. }
            | Sims::TimetrackerKimai { kimai, .. }
            | Sims::ClockifyKimai { kimai, .. }
            | Sims::GoogleCalendarKimai { kimai, .. } => kimai,
            Sims::ZammadOdoo { odoo, .. }
            | Sims::TimetrackerOdoo { odoo, .. }
            | Sims::JibbleOdoo { odoo, .. } => odoo,
            Sims::ZammadTimetracker { timetracker, .. }
            | Sims::GoogleCalendarTimetracker { timetracker, .. } => timetracker,
            Sims::ClockifyClockify { agency, .. } | Sims::ZammadClockify { agency, .. } => agency,
        }
    }

    /// The simulators of a Zammad → Kimai world, owned; panics for other pairs.
    pub fn into_zammad_kimai(self) -> (ZammadSim, KimaiSim) {
        match self.sims {
            Sims::ZammadKimai { zammad, kimai } => (zammad, kimai),
            _ => panic!("not a Zammad → Kimai world"),
        }
    }
}

impl ConnectorDef {
    /// The body of `POST /api/connectors` (without `api_token` where the kind takes none,
    /// e.g. an OAuth kind, whose `api_token` is empty).
    pub fn api_body(&self) -> Value {
        let mut body = json!({"kind": self.kind, "name": self.name, "base_url": self.base_url,
               "settings": self.settings});
        if !self.api_token.is_empty() {
            body["api_token"] = json!(self.api_token);
        }
        body
    }

    /// Settings validated and completed by the kind's registry entry, split into plain
    /// settings and secret settings, as the server's connector routes do.
    fn split(&self) -> anyhow::Result<(Value, BTreeMap<String, Secret>)> {
        let kind = timebridge_connectors::registry::find(&self.kind)
            .with_context(|| format!("unknown connector kind {:?}", self.kind))?;
        let split = timebridge_connectors::registry::split_settings(&kind, &self.settings)
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.kind))?;
        let secrets = split
            .secrets
            .into_iter()
            .map(|(name, text)| (name, Secret::new(text)))
            .collect();
        Ok((split.plain, secrets))
    }
}

impl PipelineDef {
    /// The body of `POST /api/pipelines`.
    pub fn api_body(&self, source: i64, target: i64) -> Value {
        let mut body = json!({"name": self.name, "source_connector_id": source,
            "target_connector_id": target, "enabled": self.enabled,
            "window_days": self.window_days,
            "schedule": {"enabled": self.schedule_enabled,
                         "interval_minutes": self.interval_minutes}});
        if self.options.as_object().is_some_and(|o| !o.is_empty()) {
            body["options"] = self.options.clone();
        }
        body
    }
}

impl MappingDef {
    /// The body of `POST /api/mappings`.
    pub fn api_body(&self, pipeline: i64) -> Value {
        let mut body = json!({"pipeline_id": pipeline, "kind": self.kind.as_str(),
            "source_key": self.source_key, "target_key": self.target_key});
        if let Some(label) = &self.source_label {
            body["source_label"] = json!(label);
        }
        body
    }
}

/// Configures `plan` straight through the store, secrets encrypted by the store's cipher
/// like the server does. Connectors and the pipeline are found by name and updated if
/// they exist (the demo restarts its simulators on new ports); mappings are created only
/// when the pipeline has none yet, so that a user's edits survive.
pub async fn configure_store(
    store: &Store,
    plan: &Plan,
    now: DateTime<Utc>,
) -> anyhow::Result<Configured> {
    let existing = store.all_connectors().await?;
    let mut ids = Vec::new();
    for def in [&plan.source, &plan.target] {
        let (settings, secrets) = def.split()?;
        let id = match existing.iter().find(|c| c.name == def.name) {
            Some(c) => {
                store
                    .update_connector(
                        c.id,
                        ConnectorUpdate {
                            base_url: Some(def.base_url.clone()),
                            api_token: Some(Secret::new(def.api_token.clone())),
                            settings: Some(settings),
                            secret_settings: secrets,
                            ..Default::default()
                        },
                    )
                    .await?;
                c.id
            }
            None => {
                store
                    .create_connector(NewConnector {
                        kind: def.kind.clone(),
                        name: def.name.clone(),
                        base_url: def.base_url.clone(),
                        api_token: Some(Secret::new(def.api_token.clone())),
                        settings,
                        secret_settings: secrets,
                    })
                    .await?
                    .id
            }
        };
        ids.push(id);
    }
    let p = &plan.pipeline;
    let input = PipelineInput {
        name: p.name.clone(),
        source_connector_id: ids[0],
        target_connector_id: ids[1],
        enabled: p.enabled,
        schedule_enabled: p.schedule_enabled,
        interval_minutes: p.interval_minutes,
        window_days: p.window_days,
        options: p.options.clone(),
    };
    let pipelines = store.all_pipelines().await?;
    let pipeline = match pipelines.iter().find(|x| x.name == p.name) {
        Some(x) => store.update_pipeline(x.id, input, now).await?.id,
        None => store.create_pipeline(input, now).await?.id,
    };
    let filter = MappingFilter {
        pipeline_id: Some(pipeline),
        kind: None,
    };
    let (mappings, _) = store.list_mappings(&filter, 1, 0).await?;
    if mappings.is_empty() {
        for m in &plan.mappings {
            store
                .create_mapping(MappingInput {
                    pipeline_id: pipeline,
                    kind: m.kind,
                    source_key: m.source_key.clone(),
                    source_label: m.source_label.clone(),
                    target_key: Some(m.target_key.clone()),
                    target_label: None,
                    billable: None,
                    sync: true,
                })
                .await?;
        }
    }
    Ok(Configured {
        source_connector: ids[0],
        target_connector: ids[1],
        pipeline,
    })
}

/// The HTTP API as [`configure_api`] needs it: POST a JSON body (authenticated) and answer
/// the created resource, or an error for any status but 201.
pub trait Api {
    /// Posts `body` to `path` (e.g. `/api/connectors`).
    fn post(&self, path: &str, body: Value) -> impl Future<Output = anyhow::Result<Value>>;
}

/// Configures `plan` through the HTTP API, as an admin would: the connectors, the
/// pipeline, then the mappings.
pub async fn configure_api(api: &impl Api, plan: &Plan) -> anyhow::Result<Configured> {
    let id = |v: &Value, what: &str| {
        v["id"]
            .as_i64()
            .with_context(|| format!("the created {what} has no id: {v}"))
    };
    let source = id(
        &api.post("/api/connectors", plan.source.api_body()).await?,
        "connector",
    )?;
    let target = id(
        &api.post("/api/connectors", plan.target.api_body()).await?,
        "connector",
    )?;
    let pipeline = id(
        &api.post("/api/pipelines", plan.pipeline.api_body(source, target))
            .await?,
        "pipeline",
    )?;
    for m in &plan.mappings {
        api.post("/api/mappings", m.api_body(pipeline)).await?;
    }
    Ok(Configured {
        source_connector: source,
        target_connector: target,
        pipeline,
    })
}
