//! What a run (or a conflict resolution) of one pipeline works with: its live source and
//! target connectors, its mapping rules and the target's directory.

use std::sync::Arc;

use timebridge_connectors::{Connector, ConnectorError, SourceConnector, TargetConnector};
use timebridge_core::fingerprint::Fingerprint;
use timebridge_core::mapping::{
    MappingRule, MappingRules, PipelineOptions, Resolver, TargetDirectory, TargetSettings,
};
use timebridge_core::plan::LinkRecord;
use timebridge_core::rounding::AppliedRounding;
use timebridge_store::{LinkRow, MappingFilter, Pipeline, StoreError};

use super::env::SyncEnv;

/// Why a run (or a resolution) could not proceed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Remote(#[from] ConnectorError),
    #[error("{0}")]
    Config(String),
}

/// Why no pipeline could be chosen for a request that may omit it.
#[derive(Debug, thiserror::Error)]
pub enum PipelineChoiceError {
    #[error("no pipeline {0}")]
    NotFound(i64),
    #[error("there is no pipeline yet; create one first")]
    NoPipeline,
    #[error("more than one pipeline exists; say which one")]
    Ambiguous,
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// The pipeline a request means: the given one (which must exist) or the only one.
pub async fn choose_pipeline(
    store: &timebridge_store::Store,
    pipeline_id: Option<i64>,
) -> Result<Pipeline, PipelineChoiceError> {
    match pipeline_id {
        Some(id) => store.get_pipeline(id).await.map_err(|e| match e {
            StoreError::NotFound => PipelineChoiceError::NotFound(id),
            other => other.into(),
        }),
        None => {
            let (list, total) = store.list_pipelines(2, 0).await?;
            match (total, list.into_iter().next()) {
                (1, Some(p)) => Ok(p),
                (0, _) => Err(PipelineChoiceError::NoPipeline),
                _ => Err(PipelineChoiceError::Ambiguous),
            }
        }
    }
}

/// Proposed changes to a pipeline's rules, applied in memory only (previews, the rule
/// simulator).
#[derive(Debug, Clone, Default)]
pub struct RuleChanges {
    /// Mappings to add; each replaces a stored one of the same kind and source key.
    pub add: Vec<MappingRule>,
    /// Ids of stored mappings to leave out.
    pub remove: Vec<i64>,
    /// Options replacing the stored ones.
    pub options: Option<PipelineOptions>,
}

/// A pipeline ready to run.
pub struct PipelineContext {
    pub pipeline: Pipeline,
    source: Arc<dyn Connector>,
    target: Arc<dyn Connector>,
    /// The source connector's kind; names the link markers.
    pub source_system: &'static str,
    pub rules: MappingRules,
    /// The stored rules as listed.
    rule_list: Vec<MappingRule>,
    project_rule: timebridge_core::mapping::ProjectRule,
    pub directory: TargetDirectory,
    pub settings: TargetSettings,
    /// Set when the target failed in a way that will fail every further write (a revoked
    /// token, an unreachable host, repeated server errors): the run stops writing and
    /// leaves the rest to the next run instead of hammering a broken remote.
    halted: std::sync::Mutex<Halt>,
}

#[derive(Debug, Default)]
struct Halt {
    reason: Option<String>,
    transient_failures: u32,
}

/// Transient write failures (timeouts, 5xx, broken connections) after which a run stops
/// writing.
const TRANSIENT_FAILURES_TO_HALT: u32 = 10;

impl std::fmt::Debug for PipelineContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineContext")
            .field("pipeline", &self.pipeline.id)
            .field("source_system", &self.source_system)
            .finish_non_exhaustive()
    }
}

impl PipelineContext {
    /// Loads the pipeline, builds its connectors and reads the target's directory.
    pub async fn load(state: &SyncEnv, pipeline_id: i64) -> Result<Self, SyncError> {
        let pipeline = state.store.get_pipeline(pipeline_id).await?;
        let source = instance(state, pipeline.source_connector_id)
            .await
            .map_err(|e| SyncError::Config(format!("source connector: {e}")))?;
        let target = instance(state, pipeline.target_connector_id)
            .await
            .map_err(|e| SyncError::Config(format!("target connector: {e}")))?;
        if source.as_source().is_none() {
            return Err(SyncError::Config(format!(
                "the {} connector cannot be a source",
                source.kind()
            )));
        }
        let Some(t) = target.as_target() else {
            return Err(SyncError::Config(format!(
                "the {} connector cannot be a target",
                target.kind()
            )));
        };
        let settings = t.target_settings();
        let directory = t.directory().await?;
        let filter = MappingFilter {
            pipeline_id: Some(pipeline_id),
            kind: None,
        };
        let mut mappings = Vec::new();
        loop {
            let (page, total) = state
                .store
                .list_mappings(&filter, 500, mappings.len() as u64)
                .await?;
            let empty = page.is_empty();
            mappings.extend(page);
            if empty || mappings.len() as u64 >= total {
                break;
            }
        }
        let options: PipelineOptions =
            serde_json::from_value(pipeline.options.clone()).unwrap_or_default();
        let rule_list: Vec<MappingRule> = mappings
            .into_iter()
            .map(|m| MappingRule {
                id: m.id,
                kind: m.kind.into(),
                source_key: m.source_key,
                source_label: m.source_label,
                target_key: m.target_key,
                target_label: m.target_label,
                billable: m.billable,
                sync: m.sync,
            })
            .collect();
        let project_rule = source
            .as_source()
            .map(|s| s.project_rule())
            .unwrap_or_default();
        let rules = MappingRules::new(options, rule_list.clone())
            .map_err(|e| SyncError::Config(e.to_string()))?
            .with_project_rule(project_rule);
        let source_system = source.kind();
        Ok(PipelineContext {
            pipeline,
            source,
            target,
            source_system,
            rules,
            rule_list,
            project_rule,
            directory,
            settings,
            halted: Default::default(),
        })
    }

    /// [`Self::load`] with proposed rule changes in force (a preview: nothing is stored).
    pub async fn load_with(
        state: &SyncEnv,
        pipeline_id: i64,
        changes: &RuleChanges,
    ) -> Result<Self, SyncError> {
        let mut ctx = Self::load(state, pipeline_id).await?;
        ctx.rules = ctx.rules_with(changes)?;
        Ok(ctx)
    }

    /// The stored rules with `changes` applied (previews, the rule simulator): the same
    /// target directory, nothing reloaded.
    pub fn rules_with(&self, changes: &RuleChanges) -> Result<MappingRules, SyncError> {
        let mut rules = self.rule_list.clone();
        rules.retain(|r| !changes.remove.contains(&r.id));
        for add in &changes.add {
            rules.retain(|r| !(r.kind == add.kind && r.source_key == add.source_key));
            rules.push(add.clone());
        }
        let options = changes
            .options
            .clone()
            .unwrap_or_else(|| self.rules.options.clone());
        Ok(MappingRules::new(options, rules)
            .map_err(|e| SyncError::Config(e.to_string()))?
            .with_project_rule(self.project_rule))
    }

    /// Why writing stopped, if it did.
    pub fn halted(&self) -> Option<String> {
        self.halted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reason
            .clone()
    }

    /// Records a failed write that was not about the entry; decides whether to stop.
    pub fn note_write_failure(&self, error: &ConnectorError) {
        use timebridge_connectors::ErrorClass as C;
        let mut h = self.halted.lock().unwrap_or_else(|e| e.into_inner());
        if h.reason.is_some() {
            return;
        }
        match error.class() {
            C::Unauthorized
            | C::Forbidden
            | C::Unreachable
            | C::Tls
            | C::Config
            | C::RateLimited => {
                h.reason = Some(error.to_string());
            }
            _ => {
                h.transient_failures += 1;
                if h.transient_failures >= TRANSIENT_FAILURES_TO_HALT {
                    h.reason = Some(format!(
                        "{} writes failed (last: {error})",
                        h.transient_failures
                    ));
                }
            }
        }
    }

    /// The source role.
    pub fn source(&self) -> &dyn SourceConnector {
        self.source.as_source().expect("checked in load")
    }

    /// The target role.
    pub fn target(&self) -> &dyn TargetConnector {
        self.target.as_target().expect("checked in load")
    }

    /// The mapping resolver.
    pub fn resolver(&self) -> Resolver<'_> {
        Resolver {
            rules: &self.rules,
            directory: &self.directory,
            settings: &self.settings,
        }
    }
}

/// The live instance of connector `id`: from the environment's factory if it has one
/// for it, else through the registry.
async fn instance(state: &SyncEnv, id: i64) -> Result<Arc<dyn Connector>, crate::error::ApiError> {
    if let Some(c) = state.instances.as_ref().and_then(|f| f.instance(id)) {
        return Ok(c);
    }
    crate::remote::instance(state, id).await
}

/// A stored link as the planner reads it.
pub fn to_record(row: &LinkRow) -> LinkRecord {
    LinkRecord {
        source_key: row.source_key.clone(),
        target_id: row.target_id.clone(),
        desired_fingerprint: row.desired_fingerprint.map(Fingerprint::from_i64),
        target_fingerprint: row.target_fingerprint.map(Fingerprint::from_i64),
        memory: row
            .memory
            .clone()
            .and_then(|m| serde_json::from_value(m).ok()),
    }
}

/// A planner link record as stored, with the ticket it belongs to and what rounding
/// added to the entry it was written with.
pub fn to_row(
    rec: &LinkRecord,
    ticket_id: Option<i64>,
    rounding: Option<AppliedRounding>,
) -> LinkRow {
    LinkRow {
        source_key: rec.source_key.clone(),
        target_id: rec.target_id.clone(),
        desired_fingerprint: rec.desired_fingerprint.map(Fingerprint::as_i64),
        target_fingerprint: rec.target_fingerprint.map(Fingerprint::as_i64),
        memory: rec
            .memory
            .map(|m| serde_json::to_value(m).unwrap_or_default()),
        ticket_id,
        rounded_seconds: rounding.map(|r| r.seconds),
        rounding_rule: rounding.and_then(|r| r.rule).map(|n| n as i32),
    }
}
