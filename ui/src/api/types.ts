import type { components } from './schema';

/**
 * Names the UI uses for the server's schemas (`openapi.json` is the server's own document,
 * fetched from `/api/openapi.json`; `npm run gen:api` regenerates `schema.d.ts`).
 *
 * Where the server's document is looser than the contract (`docs/api.md`) — plain strings
 * for enums, untyped objects for entries and diffs — the contract's shape is added here.
 */
type S = components['schemas'];
export type ErrorResponse = S['ErrorResponse'];
export type LoginRequest = S['LoginRequest'];
export type LoginResponse = S['LoginResponse'];
export type Me = S['Me'];
export type Health = S['Health'];
export type ConnectorKind = S['ConnectorKind'];
export type Connector = S['Connector'];
export type ConnectorCreate = S['ConnectorCreate'];
export type ConnectorUpdate = S['ConnectorUpdate'];
/** `{ok, message, details}`; on failure `details.failed_step` and `details.error_class`. */
export type ConnectorTestResult = S['TestResult'];
export type CatalogItem = S['CatalogEntry'];
export type Catalog = S['Catalog'];
export type Pipeline = S['Pipeline'];
export type PipelineInput = S['PipelineInput'];
export type PipelineOptions = S['PipelineOptions'];
/** `options` of a pipeline request; omitted options keep their values (update) or take defaults. */
export type PipelineOptionsInput = S['OptionsInput'];
export type NotificationEvent = S['NotificationEvent'];
export type NotifyTarget = S['NotifyTarget'];
export type UnmappedUser = S['UnmappedUser'];
export type MirrorProjects = S['MirrorProjects'];
/** `options.rounding`: a default and rules by target customer/project (first match wins). */
export type Rounding = S['Rounding'];
export type RoundingRule = S['RoundingRule'];
export type RoundingMode = S['RoundingMode'];
export type RoundingKeep = S['RoundingKeep'];
/** What rounding added to a run item's entry (`rule` null: the pipeline's default). */
export type AppliedRounding = S['AppliedRounding'];
export type PipelineWarning = S['PipelineWarning'];
/** What a connector kind can do beyond its roles (`features` of `GET /api/connectors/kinds`). */
export type Feature = S['Feature'];
export type MappingKind = S['MappingKind'];
export type Mapping = S['Mapping'];
export type MappingInput = S['MappingInput'];
export type RunStatus = S['RunStatus'];
export type RunTrigger = S['RunTrigger'];
export type RunOutcome = S['ItemOutcome'];
export type ConflictStatus = S['ConflictStatus'];
export type ConflictOrigin = S['ConflictOrigin'];
export type Run = S['Run'];
export type RunStats = S['RunStats'];
export type RunItem = S['RunItem'];
/** Why a `skip` item was left alone by rule: `still_running`, `user_excluded`, `undone`. */
export type SkipReason = S['SkipReason'];
export type RunDetail = S['RunDetail'];
export type ManualSyncRequest = S['ManualSync'];
/** 202 answer of `POST /api/sync/manual`. */
export type ManualSyncQueued = S['Queued'];
export type SyncStatus = S['SyncStatus'];
export type SyncProgress = S['Progress'];
export type Settings = S['Settings'];
export type GdprPurgeResult = S['PurgeResult'];
export type AuditEvent = S['AuditEvent'];
export type AuditAction = S['AuditAction'];

export type ConflictReason = S['ConflictReason'];
export type ResolveAction = S['Action'];
export type ResolveRequest = Omit<S['ResolveInput'], 'action'> & { action: ResolveAction };

export type KeyName = {
  key: string;
  name?: string | null;
};
/** A normalized entry (contract: "Entry (normalized)"); the server documents it as an object. */
export type Entry = {
  system: string;
  key: string;
  ticket?: { id: number | string; number: string; title: string; url?: string | null } | null;
  customer?: KeyName | null;
  project?: KeyName | null;
  activity?: KeyName | null;
  user?: { key: string; email?: string | null; name?: string | null } | null;
  begin: string;
  /** `null` while the entry is running. */
  end: string | null;
  /** `null` while the entry is running. */
  duration_seconds: number | null;
  description?: string | null;
  billable?: boolean | null;
  tags?: string[];
  /** A timer still going [false]: then `end` and `duration_seconds` are null. */
  running?: boolean;
};
export type DiffField = {
  field: string;
  source: unknown;
  target: unknown;
};
/** Conflict.explanation: `{"steps":[{field, rule, mapping_id, text}]}`. */
export type ExplanationStep = {
  field?: string;
  rule?: string;
  mapping_id?: number | null;
  text?: string;
};
export type Conflict = Omit<S['Conflict'], 'source' | 'target' | 'diff' | 'allowed_actions'> & {
  source?: Entry | null;
  target?: Entry | null;
  diff: DiffField[];
  allowed_actions: ResolveAction[];
};

export interface Page<T> {
  items: T[];
  total: number;
}

/** Every conflict reason, in the contract's order; keyed by the generated type, so a new
 * reason on the server fails the typecheck until it is listed here. */
const REASONS: Record<ConflictReason, true> = {
  target_modified: true,
  duplicate_in_target: true,
  unmapped_activity: true,
  unmapped_project: true,
  unmapped_user: true,
  locked: true,
  source_deleted: true,
  target_deleted: true,
  negative_duration: true,
  target_rejected: true,
};
export const CONFLICT_REASONS = Object.keys(REASONS) as ConflictReason[];

/** Every item outcome; keyed by the generated type, so a new outcome fails the typecheck until listed. */
const OUTCOMES: Record<RunOutcome, true> = { in_sync: true, create: true, update: true, skip: true, conflict: true, error: true, delete: true, restore: true };
export const RUN_OUTCOMES = Object.keys(OUTCOMES) as RunOutcome[];
/** Outcomes of undo runs only: offered as filters where a run has them. */
export const UNDO_OUTCOMES: RunOutcome[] = ['delete', 'restore'];

// ---- conflict groups (issue #18): conflicts grouped by their cause, fixed in place.
export type CauseKind = S['CauseKind'];
/** What a group's conflicts have in common: a source item without a mapping, a target rule, or one entry. */
export type GroupCause = S['Cause'];
/** `mapping`: pick a target item (or set a pipeline default); `target`: change the target, then retry; `decide`: one-off. */
export type FixKind = S['FixKind'];
export type DefaultOption = S['DefaultOption'];
/** The server documents `mapping_kind` as a string; the contract's values are the mapping kinds. */
export type GroupFixHint = Omit<S['GroupFix'], 'mapping_kind'> & { mapping_kind?: MappingKind | null };
export type ConflictGroup = Omit<S['ConflictGroup'], 'examples' | 'fix'> & {
  /** Up to three, newest first. */
  examples: Conflict[];
  fix: GroupFixHint;
};
export type SuggestionWhy = S['SuggestionWhy'];
export type GroupSuggestion = S['Suggestion'];
/** Body `fix` of preview and apply: exactly one of the three. */
export type GroupFix =
  | { mapping: Omit<S['FixMapping'], 'kind'> & { kind: MappingKind } }
  | { default: S['FixDefault'] }
  | { retry: true };
/** A preview item's outcome (the server documents it as a string). */
export type PreviewOutcome = Extract<RunOutcome, 'create' | 'update' | 'in_sync' | 'skip' | 'conflict'>;
export type GroupPreviewItem = Omit<S['PreviewItem'], 'outcome' | 'entry'> & { outcome: PreviewOutcome; entry?: Entry | null };
export type GroupPreview = Omit<S['Preview'], 'items'> & { items: GroupPreviewItem[] };
/** 202 answer of `POST /api/conflicts/groups/apply`. */
export type GroupApplied = S['Applied'];
export type GroupAction = Extract<ResolveAction, 'skip' | 'keep_target'>;
export type GroupResolved = S['GroupResolved'];

/** Drift (synced entries edited or deleted in the target) per day: `GET /api/conflicts/drift`. */
export type DriftSeries = S['DriftSeries'];

// ---- rule simulator: `POST /api/pipelines/{id}/simulate`
/** Body of the simulator: proposed mappings (a new one, or `{id, delete: true}`) and option changes. */
export type SimulateRequest = S['SimulateInput'];
/** One side of a change; the server documents the outcome as a string and the entry as an object. */
export type SimulatedSide = Omit<S['SimulatedSide'], 'outcome' | 'target'> & { outcome: RunOutcome; target?: Entry | null };
export type SimulatedChange = Omit<S['SimulatedChange'], 'source' | 'before' | 'after'> & { source?: Entry | null; before: SimulatedSide; after: SimulatedSide };
export type Simulation = Omit<S['Simulation'], 'changes'> & { changes: SimulatedChange[] };
/** `GET /api/reports/money-at-risk`: source time of a month not (correctly) in the target, priced. */
export type MoneyAtRisk = S['MoneyAtRisk'];
export type MoneyRow = S['MoneyRow'];
