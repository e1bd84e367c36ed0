//! Pure domain of timebridge: the normalised entry model, mapping rules and the
//! reconciliation planner. Nothing in this crate performs I/O or reads the clock.
//!
//! - [`entry`]: the normalised [`Entry`] every connector reads into and writes from.
//! - [`mapping`]: source references → target references, with an [`Explanation`] per field.
//! - [`rounding`]: the pipeline's rounding policy, applied to the desired entry after mapping.
//! - [`plan`](mod@plan): the pure planner, [`plan()`] → [`Plan`] of decisions and conflicts.
//! - [`mirror`]: which target projects to create in the source (`mirror_projects`).
//! - [`undo`]: undoing a run, decided per entry (delete, restore, settle or blocked).
//! - [`notify`]: notification events and the message every notifier renders.
//! - [`fingerprint`](mod@fingerprint): stable fingerprints stored in the link state.
//! - [`testing`]: deterministic builders and [`testing::synthetic_input`] for benchmarks.

pub mod entry;
mod fasthash;
pub mod fingerprint;
pub mod mapping;
pub mod mirror;
pub mod notify;
pub mod plan;
pub mod rates;
pub mod rounding;
pub mod suggest;
pub mod testing;
pub mod undo;

pub use entry::{Entry, NamedRef, TicketRef, UserRef, Window};
pub use fingerprint::{Fingerprint, fingerprint};
pub use mapping::{
    BillableDefaults, Explanation, ExplanationStep, MappingError, MappingKind, MappingResult,
    MappingRule, MappingRules, MirrorProjects, Need, PipelineOptions, ProjectBillable, ProjectRule,
    ProjectRules, Refusal, RefusalRule, Resolver, RuleSource, TargetDirectory, TargetProject,
    TargetRules, TargetSettings, TargetUser, UnmappedReason, UnmappedUserPolicy,
};
pub use plan::{
    Action, Cause, CauseKind, ConflictOrigin, ConflictReason, ConflictView, Decision, FieldDiff,
    LinkRecord, LinkRefresh, Memory, Outcome, OutcomeKind, Plan, PlanInput, PlanStats,
    PlannedConflict, SkipReason, SourceItem, TargetItem, kept_target_memory, link_after_write,
    plan, skip_memory,
};
pub use rounding::{AppliedRounding, Rounding, RoundingKeep, RoundingMode, RoundingRule};
