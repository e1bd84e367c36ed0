/** Pure logic of the mappings editor: drafts, e-mail matching and the save plan. */

export interface MappingLike {
  id: number;
  source_key: string;
  target_key: string;
  target_label?: string;
  billable?: boolean | null;
}

export interface Draft {
  target_key: string | null;
  billable: boolean | null;
}

export type Drafts = Record<string, Draft>;

export function draftsFrom(mappings: MappingLike[]): Drafts {
  const d: Drafts = {};
  for (const m of mappings) d[m.source_key] = { target_key: m.target_key, billable: m.billable ?? null };
  return d;
}

export type MappingOp =
  | { op: 'create'; source_key: string; target_key: string; billable: boolean | null }
  | { op: 'update'; id: number; source_key: string; target_key: string; billable: boolean | null }
  | { op: 'delete'; id: number; source_key: string };

/** Compare drafts with stored mappings and return the minimal list of API calls. */
export function planMappingChanges(existing: MappingLike[], drafts: Drafts): MappingOp[] {
  const byKey = new Map(existing.map((m) => [m.source_key, m]));
  const ops: MappingOp[] = [];
  const keys = new Set([...byKey.keys(), ...Object.keys(drafts)]);
  for (const key of [...keys].sort()) {
    const m = byKey.get(key);
    const d = drafts[key];
    if (!d) continue; // untouched
    if (!d.target_key) {
      if (m) ops.push({ op: 'delete', id: m.id, source_key: key });
      continue;
    }
    if (!m) ops.push({ op: 'create', source_key: key, target_key: d.target_key, billable: d.billable });
    else if (m.target_key !== d.target_key || (m.billable ?? null) !== d.billable)
      ops.push({ op: 'update', id: m.id, source_key: key, target_key: d.target_key, billable: d.billable });
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
