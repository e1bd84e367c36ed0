/** Helpers for showing source/target entries side by side with differences highlighted. */

export interface DiffField {
  field: string;
  source?: unknown;
  target?: unknown;
}

/** Set of differing field paths from the conflict's `diff` (also marks parent paths: `user.email` → `user`). */
export function diffFieldSet(diff: readonly DiffField[] | null | undefined): Set<string> {
  const set = new Set<string>();
  for (const d of diff ?? []) {
    if (!d || typeof d.field !== 'string') continue;
    set.add(d.field);
    const parts = d.field.split('.');
    for (let i = 1; i < parts.length; i++) set.add(parts.slice(0, i).join('.'));
  }
  return set;
}

/** Is `field` (e.g. `duration_seconds`, `user`, `project.name`) listed as differing? */
export function isFieldDifferent(set: Set<string>, field: string): boolean {
  if (set.has(field)) return true;
  // a diff on "project" marks "project.name" too
  const parts = field.split('.');
  for (let i = 1; i < parts.length; i++) if (set.has(parts.slice(0, i).join('.'))) return true;
  return false;
}

/** Stable display of any diff value. */
export function displayValue(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v === '' ? '""' : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(displayValue).join(', ');
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.name === 'string') return o.name;
    if (typeof o.label === 'string') return o.label;
    return JSON.stringify(v);
  }
  return String(v);
}

/** Compare two values structurally, used as a fallback when the server's diff is empty. */
export function computeDiff(
  source: Record<string, unknown> | null | undefined,
  target: Record<string, unknown> | null | undefined,
  fields: readonly string[],
): DiffField[] {
  if (!source || !target) return [];
  const out: DiffField[] = [];
  for (const f of fields) {
    const a = source[f];
    const b = target[f];
    if (JSON.stringify(normalize(a)) !== JSON.stringify(normalize(b))) out.push({ field: f, source: a, target: b });
  }
  return out;
}

function normalize(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if ('key' in o) return o.key;
  }
  if (Array.isArray(v)) return [...v].map(String).sort();
  return v ?? null;
}

/**
 * A diff value in words for its field: `running` true/false → `running` / `ended`; a null
 * `end` or `duration_seconds` (a running entry has neither) → `none yet (running)`.
 */
export function displayFieldValue(field: string, v: unknown): string {
  if (field === 'running' && typeof v === 'boolean') return v ? 'running' : 'ended';
  if ((field === 'end' || field === 'duration_seconds') && (v === null || v === undefined)) return 'none yet (running)';
  return displayValue(v);
}
