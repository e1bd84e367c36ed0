//! Inputs and outputs of the planner. Decisions reference input rows by index so a plan
//! of a million entries costs a few machine words per entry; [`Plan::conflict_view`]
//! builds the owned, serialisable conflict the API stores and shows.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::entry::{Entry, Window};
use crate::fingerprint::Fingerprint;
use crate::mapping::MappingResult;

/// One source entry in the window with its mapping result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceItem {
    /// The source entry as normalised by the source connector (source-side references).
    pub entry: Entry,
    /// What the mapping rules made of it.
    pub mapping: MappingResult,
}

impl SourceItem {
    /// The desired target-side entry, when mapped.
    pub fn desired(&self) -> Option<&Entry> {
        self.mapping.entry()
    }
}

/// One target entry as read from the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetItem {
    /// The target's id of the entry.
    pub target_id: String,
    /// The source key named by the entry's link marker, if it carries one.
    pub link_key: Option<String>,
    /// Exported or in a locked period: the target will refuse changes.
    pub locked: bool,
    /// Normalised fields with target-side references; the connector strips the link
    /// marker from `description`.
    pub entry: Entry,
}

/// A remembered resolution that changes what later plans decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Memory {
    /// The user chose `skip`; the entry stays quiet until the raw source entry's
    /// fingerprint differs from this one.
    Skipped { source_fingerprint: Fingerprint },
    /// The user chose `keep_target` on `source_deleted`; quiet while the target entry's
    /// fingerprint equals this one.
    KeptTarget { target_fingerprint: Fingerprint },
    /// A person undid the run (`run_id`) that wrote this entry: it stays as the undo left
    /// it (deleted, or written back) until the raw source entry's fingerprint differs from
    /// this one.
    Undone {
        source_fingerprint: Fingerprint,
        run_id: i64,
    },
}

/// What the link state stores per source key of one pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub source_key: String,
    /// The target entry written for (or adopted by) this source entry; `None` when the
    /// record only carries a memory (e.g. a skipped entry that was never written).
    pub target_id: Option<String>,
    /// Fingerprint of the desired entry we last wrote (what the source said then).
    pub desired_fingerprint: Option<Fingerprint>,
    /// Fingerprint of the target entry as the target returned it after our last write,
    /// so the target's own normalisation (rounding, tag order, computed billable) never
    /// looks like a human edit.
    pub target_fingerprint: Option<Fingerprint>,
    pub memory: Option<Memory>,
}

/// Everything the planner looks at for one pipeline and window.
#[derive(Debug, Clone)]
pub struct PlanInput {
    /// The window being synced; deleted-source conflicts are raised only for target
    /// entries that begin inside it, so each window raises its own.
    pub window: Window,
    /// Source entries in the window. A key listed twice is planned once (last row wins).
    pub sources: Vec<SourceItem>,
    /// Target entries in the window, plus any linked entry the caller fetched by id because
    /// it was not in the window read. **A linked target id absent from this list is treated
    /// as deleted in the target** (`target_deleted`).
    pub targets: Vec<TargetItem>,
    /// The stored link state of the pipeline (any subset is fine; records of keys outside
    /// the window are ignored unless the source entry was deleted).
    pub links: Vec<LinkRecord>,
    /// Keys that still exist in the source outside `sources` (e.g. outside the window).
    /// A linked or marked key that is neither here nor in `sources` is deleted in the source.
    pub known_source_keys: HashSet<String>,
    /// The pipeline option `include_running`: write running source entries (as running)
    /// instead of leaving them alone until they end.
    pub include_running: bool,
    /// Source keys whose refusal predicted from the target's master data is not believed:
    /// a person fixed the target and asked to retry, so they are written (the target has
    /// the last word).
    pub retry_refused: HashSet<String>,
}

impl PlanInput {
    /// An empty input for `window`, to fill field by field.
    pub fn new(window: Window) -> Self {
        PlanInput {
            window,
            sources: Vec::new(),
            targets: Vec::new(),
            links: Vec::new(),
            known_source_keys: HashSet::new(),
            include_running: false,
            retry_refused: HashSet::new(),
        }
    }
}

/// Who raised a conflict: the planner (from what both sides hold, including refusals it
/// predicted from the target's master data, which are judged afresh each run) or the
/// target itself by refusing a write (kept until the entry changes or a person retries).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ConflictOrigin {
    #[default]
    Planner,
    Target,
}

impl ConflictOrigin {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictOrigin::Planner => "planner",
            ConflictOrigin::Target => "target",
        }
    }

    /// Parses a stored name; anything unknown is the planner (the column's default).
    pub fn from_stored(s: &str) -> Self {
        match s {
            "target" => ConflictOrigin::Target,
            _ => ConflictOrigin::Planner,
        }
    }
}

/// A conflict reason of the API contract.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ConflictReason {
    TargetModified,
    DuplicateInTarget,
    UnmappedActivity,
    UnmappedProject,
    UnmappedUser,
    Locked,
    SourceDeleted,
    TargetDeleted,
    NegativeDuration,
    /// Raised by the executor when the target refuses a write; the planner never raises it.
    TargetRejected,
}

impl ConflictReason {
    /// The reason named `name` (its stored and serialised name), if there is one.
    pub fn parse(name: &str) -> Option<ConflictReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Every reason, in contract order.
    pub const ALL: [ConflictReason; 10] = [
        ConflictReason::TargetModified,
        ConflictReason::DuplicateInTarget,
        ConflictReason::UnmappedActivity,
        ConflictReason::UnmappedProject,
        ConflictReason::UnmappedUser,
        ConflictReason::Locked,
        ConflictReason::SourceDeleted,
        ConflictReason::TargetDeleted,
        ConflictReason::NegativeDuration,
        ConflictReason::TargetRejected,
    ];

    /// The contract's snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictReason::TargetModified => "target_modified",
            ConflictReason::DuplicateInTarget => "duplicate_in_target",
            ConflictReason::UnmappedActivity => "unmapped_activity",
            ConflictReason::UnmappedProject => "unmapped_project",
            ConflictReason::UnmappedUser => "unmapped_user",
            ConflictReason::Locked => "locked",
            ConflictReason::SourceDeleted => "source_deleted",
            ConflictReason::TargetDeleted => "target_deleted",
            ConflictReason::NegativeDuration => "negative_duration",
            ConflictReason::TargetRejected => "target_rejected",
        }
    }

    /// The resolution actions the contract allows for this reason (its table, verbatim).
    pub fn allowed_actions(self) -> &'static [Action] {
        use Action::*;
        match self {
            ConflictReason::TargetModified => &[Update, KeepTarget, Skip],
            ConflictReason::DuplicateInTarget => &[Link, Create, Skip],
            ConflictReason::UnmappedActivity
            | ConflictReason::UnmappedProject
            | ConflictReason::UnmappedUser => &[Create, Skip],
            ConflictReason::Locked => &[KeepTarget, Skip],
            ConflictReason::SourceDeleted => &[DeleteTarget, KeepTarget],
            ConflictReason::TargetDeleted => &[Create, Skip],
            ConflictReason::NegativeDuration => &[Skip],
            ConflictReason::TargetRejected => &[Create, Skip],
        }
    }
}

impl From<crate::mapping::UnmappedReason> for ConflictReason {
    fn from(r: crate::mapping::UnmappedReason) -> Self {
        use crate::mapping::UnmappedReason as U;
        match r {
            U::UnmappedActivity => ConflictReason::UnmappedActivity,
            U::UnmappedProject => ConflictReason::UnmappedProject,
            U::UnmappedUser => ConflictReason::UnmappedUser,
        }
    }
}

/// A conflict resolution action of the API contract.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Skip,
    KeepTarget,
    Link,
    DeleteTarget,
}

impl Action {
    /// The contract's snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Skip => "skip",
            Action::KeepTarget => "keep_target",
            Action::Link => "link",
            Action::DeleteTarget => "delete_target",
        }
    }
}

/// One differing comparable field, values rendered as JSON for the side-by-side view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// `project`, `activity`, `user`, `begin`, `end`, `duration_seconds`, `description`,
    /// `billable` or `tags`.
    pub field: String,
    pub source: serde_json::Value,
    pub target: serde_json::Value,
}

/// A planned conflict, without copies of the entries (see [`Plan::conflict_view`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedConflict {
    pub reason: ConflictReason,
    pub message: String,
    /// Differences between the desired entry and the target entry, when both exist.
    pub diff: Vec<FieldDiff>,
    pub allowed_actions: &'static [Action],
}

/// The link state the executor should store without writing to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkRefresh {
    pub desired_fingerprint: Fingerprint,
    pub target_fingerprint: Fingerprint,
}

/// What to do for one source entry or orphaned link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to write. With `refresh`, store the link (adopting the target entry that
    /// carries our marker, or re-baselining after the target came to equal the source).
    InSync { refresh: Option<LinkRefresh> },
    /// Write the desired entry as a new target entry, then store the link.
    Create,
    /// Overwrite the linked target entry with the desired entry, then store the link.
    Update,
    /// A remembered `skip` / `keep_target` applies and nothing changed since.
    Skip,
    /// Left alone by rule, not by a remembered resolution (outcome `skip` with a message):
    /// nothing is written and no conflict is raised.
    Ignored(SkipReason),
    /// Boxed: conflicts are rare, and a small `Outcome` keeps a million decisions compact.
    Conflict(Box<PlannedConflict>),
}

/// Why an entry is left alone without a conflict ([`Outcome::Ignored`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The source entry is still running and the pipeline does not carry running entries.
    StillRunning,
    /// A `user` mapping with `sync: false` excludes the entry's person.
    UserExcluded,
    /// A person undid the run that wrote it ([`Memory::Undone`]) and the source entry has
    /// not changed since.
    Undone,
}

impl SkipReason {
    /// The run item's message, exactly as the contract words it.
    pub fn message(self) -> &'static str {
        match self {
            SkipReason::StillRunning => "still running",
            SkipReason::UserExcluded => "user excluded",
            SkipReason::Undone => "undone: written again when it changes in the source",
        }
    }

    /// Every reason, for lookups.
    pub const ALL: [SkipReason; 3] = [
        SkipReason::StillRunning,
        SkipReason::UserExcluded,
        SkipReason::Undone,
    ];

    /// The reason whose run item message this is (the message is how a run item stores
    /// it); `None` for any other message.
    pub fn from_message(message: &str) -> Option<SkipReason> {
        SkipReason::ALL.into_iter().find(|r| r.message() == message)
    }
}

/// The outcome kinds, for counting and the API's `outcome` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    InSync,
    Create,
    Update,
    Skip,
    Conflict,
}

impl Outcome {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::InSync { .. } => OutcomeKind::InSync,
            Outcome::Create => OutcomeKind::Create,
            Outcome::Update => OutcomeKind::Update,
            Outcome::Skip | Outcome::Ignored(_) => OutcomeKind::Skip,
            Outcome::Conflict(_) => OutcomeKind::Conflict,
        }
    }
}

/// One decision. Indices point into the [`PlanInput`] the plan was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Row in `PlanInput::sources`; `None` for a deleted source entry.
    pub source: Option<usize>,
    /// Row in `PlanInput::targets` this decision is about (the entry to update, the one
    /// in conflict, the one adopted).
    pub target: Option<usize>,
    /// Row in `PlanInput::links` for this source key, if any.
    pub link: Option<usize>,
    pub outcome: Outcome,
}

impl Decision {
    /// The source key this decision is about.
    pub fn source_key<'a>(&self, input: &'a PlanInput) -> &'a str {
        if let Some(s) = self.source {
            return &input.sources[s].entry.key;
        }
        if let Some(l) = self.link {
            return &input.links[l].source_key;
        }
        self.target
            .and_then(|t| input.targets[t].link_key.as_deref())
            .unwrap_or_default()
    }

    /// The target id this decision is about, if any.
    pub fn target_id<'a>(&self, input: &'a PlanInput) -> Option<&'a str> {
        self.target.map(|t| input.targets[t].target_id.as_str())
    }

    /// The entry to write for `Create` / `Update`.
    pub fn desired<'a>(&self, input: &'a PlanInput) -> Option<&'a Entry> {
        self.source.and_then(|s| input.sources[s].desired())
    }
}

/// Counts per outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanStats {
    pub in_sync: usize,
    pub create: usize,
    pub update: usize,
    pub skip: usize,
    pub conflicts: usize,
}

/// The result of planning: decisions in a stable order (sources in input order, then
/// orphaned links in link order, then marked target entries of deleted sources in target
/// order).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub decisions: Vec<Decision>,
}

/// An owned conflict as the API stores and shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictView {
    pub source_key: String,
    pub target_id: Option<String>,
    pub reason: ConflictReason,
    /// Raised by the planner or refused by the target.
    #[serde(default)]
    pub origin: ConflictOrigin,
    pub message: String,
    /// The desired entry when mapped, else the raw source entry; `None` if deleted.
    pub source: Option<Entry>,
    pub target: Option<Entry>,
    pub diff: Vec<FieldDiff>,
    pub allowed_actions: Vec<Action>,
    /// What one decision would settle for every conflict of the same cause.
    pub cause: super::Cause,
}

impl Plan {
    /// Counts per outcome.
    pub fn stats(&self) -> PlanStats {
        let mut s = PlanStats::default();
        for d in &self.decisions {
            match d.outcome.kind() {
                OutcomeKind::InSync => s.in_sync += 1,
                OutcomeKind::Create => s.create += 1,
                OutcomeKind::Update => s.update += 1,
                OutcomeKind::Skip => s.skip += 1,
                OutcomeKind::Conflict => s.conflicts += 1,
            }
        }
        s
    }

    /// The conflicts' owned views, in plan order.
    pub fn conflicts<'a>(
        &'a self,
        input: &'a PlanInput,
    ) -> impl Iterator<Item = ConflictView> + 'a {
        self.decisions
            .iter()
            .filter_map(|d| conflict_view(d, input))
    }

    /// The owned view of decision `index` if it is a conflict.
    pub fn conflict_view(&self, input: &PlanInput, index: usize) -> Option<ConflictView> {
        self.decisions
            .get(index)
            .and_then(|d| conflict_view(d, input))
    }
}

fn conflict_view(d: &Decision, input: &PlanInput) -> Option<ConflictView> {
    let Outcome::Conflict(c) = &d.outcome else {
        return None;
    };
    let source = d.source.map(|s| {
        let item = &input.sources[s];
        item.desired().unwrap_or(&item.entry).clone()
    });
    let refusal = d.source.and_then(|s| match &input.sources[s].mapping {
        MappingResult::Mapped {
            refusal: Some(r), ..
        } => Some(&r.rule),
        _ => None,
    });
    let key = d.source_key(input);
    let cause = super::Cause::of(
        c.reason,
        ConflictOrigin::Planner,
        key,
        source.as_ref(),
        refusal,
    );
    Some(ConflictView {
        source_key: d.source_key(input).to_owned(),
        target_id: d.target_id(input).map(str::to_owned),
        reason: c.reason,
        origin: ConflictOrigin::Planner,
        message: c.message.clone(),
        source,
        target: d.target.map(|t| input.targets[t].entry.clone()),
        diff: c.diff.clone(),
        allowed_actions: c.allowed_actions.to_vec(),
        cause,
    })
}
