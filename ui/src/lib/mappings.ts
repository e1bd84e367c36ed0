/** Pure logic of the mappings editor: drafts, e-mail matching and the save plan. */

export interface MappingLike {
  id: number;
  source_key: string;
  /** Null only on an excluded person's mapping (`sync: false`). */
  target_key?: string | null;
  target_label?: string | null;
  billable?: boolean | null;
  /** `false`: a `user` mapping that excludes the person from sync [true]. */
  sync?: boolean;
}

export interface Draft {
  target_key: string | null;
  billable: boolean | null;
  /** `false` excludes the person from sync (user mappings only); optional, true when absent. */
  sync?: boolean;
}

/** Whether a draft (or mapping) excludes its person from sync. */
export function isExcluded(d: { sync?: boolean } | undefined): boolean {
  return d?.sync === false;
}

export type Drafts = Record<string, Draft>;

export function draftsFrom(mappings: MappingLike[]): Drafts {
  const d: Drafts = {};
  for (const m of mappings) d[m.source_key] = { target_key: m.target_key ?? null, billable: m.billable ?? null, sync: m.sync ?? true };
  return d;
}

export type MappingOp =
  | { op: 'create'; source_key: string; target_key: string | null; billable: boolean | null; sync: boolean }
  | { op: 'update'; id: number; source_key: string; target_key: string | null; billable: boolean | null; sync: boolean }
  | { op: 'delete'; id: number; source_key: string };

/**
 * Compare drafts with stored mappings and return the minimal list of API calls. A draft with
 * `sync: false` (an excluded person) is stored even without a target; any other draft without
 * a target deletes its mapping.
 */
export function planMappingChanges(existing: MappingLike[], drafts: Drafts): MappingOp[] {
  const byKey = new Map(existing.map((m) => [m.source_key, m]));
  const ops: MappingOp[] = [];
  const keys = new Set([...byKey.keys(), ...Object.keys(drafts)]);
  for (const key of [...keys].sort()) {
    const m = byKey.get(key);
    const d = drafts[key];
    if (!d) continue; // untouched
    const sync = d.sync ?? true;
    if (!d.target_key && sync) {
      if (m) ops.push({ op: 'delete', id: m.id, source_key: key });
      continue;
    }
    const target = d.target_key || null;
    if (!m) ops.push({ op: 'create', source_key: key, target_key: target, billable: d.billable, sync });
    else if ((m.target_key ?? null) !== target || (m.billable ?? null) !== d.billable || (m.sync ?? true) !== sync)
      ops.push({ op: 'update', id: m.id, source_key: key, target_key: target, billable: d.billable, sync });
  }
  return ops;
}

export function normEmail(v: unknown): string | null {
  return typeof v === 'string' && v.includes('@') ? v.trim().toLowerCase() : null;
}

/** Map of e-mail → target key for target items carrying `extra.email`. */
export function emailIndex(items: { key: string; extra?: Record<string, unknown> }[]): Map<string, string> {
  const idx = new Map<string, string>();
  for (const it of items) {
    const e = normEmail(it.extra?.email);
    if (e && !idx.has(e)) idx.set(e, it.key);
  }
  return idx;
}

export function billableToString(b: boolean | null): 'true' | 'false' | 'inherit' {
  return b === null ? 'inherit' : b ? 'true' : 'false';
}
export function billableFromString(s: string): boolean | null {
  return s === 'true' ? true : s === 'false' ? false : null;
}

/** The body of `POST /api/mappings` (and `PUT`) for a create or update of the save plan. */
export interface MappingBody {
  pipeline_id: number;
  kind: 'activity' | 'project' | 'user';
  source_key: string;
  source_label: string;
  target_key: string | null;
  target_label: string | null;
  billable: boolean | null;
  sync: boolean;
}

/**
 * The request body of a create or update: labels from the catalogs (`sourceLabel`,
 * `targetLabel`), `billable` only on activity and project mappings and `sync: false` only on
 * a user mapping (the others always sync).
 */
export function mappingBody(
  op: Extract<MappingOp, { op: 'create' | 'update' }>,
  ctx: { pipelineId: number; kind: MappingBody['kind']; sourceLabel: (key: string) => string; targetLabel: (key: string | null) => string | null },
): MappingBody {
  const user = ctx.kind === 'user';
  return {
    pipeline_id: ctx.pipelineId,
    kind: ctx.kind,
    source_key: op.source_key,
    source_label: ctx.sourceLabel(op.source_key),
    target_key: op.target_key,
    target_label: ctx.targetLabel(op.target_key),
    billable: user ? null : op.billable,
    sync: user ? op.sync : true,
  };
}

/** A proposed mapping of the rule simulator: a new body (replacing a stored one of the same kind and source key) or a stored one left out. */
export type ProposedMapping = MappingBody | { id: number; delete: true };

/** The save plan as the rule simulator's `mappings` (`POST /api/pipelines/{id}/simulate`). */
export function proposedMappings(ops: readonly MappingOp[], bodyOf: (op: Extract<MappingOp, { op: 'create' | 'update' }>) => MappingBody): ProposedMapping[] {
  return ops.map((op) => (op.op === 'delete' ? { id: op.id, delete: true as const } : bodyOf(op)));
}
