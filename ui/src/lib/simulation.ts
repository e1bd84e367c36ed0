/**
 * The rule simulator's answer (`POST /api/pipelines/{id}/simulate`) as rows of a before/after
 * table: each changed entry with the fields it would be written with on either side, the
 * fields that differ marked, and the summary's counts in a fixed order.
 */
import { displayValue } from './diff';
import { formatDateTime, formatDuration } from './format';

/** What the helpers need of an entry (the contract's "Entry (normalized)"). */
export interface SimEntry {
  key?: string;
  ticket?: { number: string; title: string } | null;
  customer?: { key: string; name?: string | null } | null;
  project?: { key: string; name?: string | null } | null;
  activity?: { key: string; name?: string | null } | null;
  user?: { key: string; email?: string | null; name?: string | null } | null;
  begin?: string | null;
  end?: string | null;
  duration_seconds?: number | null;
  description?: string | null;
  billable?: boolean | null;
  tags?: string[] | null;
}

export interface SimSide {
  outcome: string;
  target?: SimEntry | Record<string, unknown> | null;
  reason?: string | null;
}

export interface SimChange {
  source_key: string;
  source?: SimEntry | Record<string, unknown> | null;
  before: SimSide;
  after: SimSide;
}

/** The fields of a written entry a person compares, in display order. */
export const SIM_FIELDS = ['customer', 'project', 'activity', 'user', 'begin', 'end', 'duration_seconds', 'billable', 'description', 'tags'] as const;
export type SimField = (typeof SIM_FIELDS)[number];

export const SIM_FIELD_LABELS: Record<SimField, string> = {
  customer: 'Customer',
  project: 'Project',
  activity: 'Activity',
  user: 'User',
  begin: 'Begin',
  end: 'End',
  duration_seconds: 'Duration',
  billable: 'Billable',
  description: 'Description',
  tags: 'Tags',
};

export interface FieldCell {
  field: SimField;
  label: string;
  /** In words; null when that side writes nothing (a conflict or a skip). */
  before: string | null;
  after: string | null;
  changed: boolean;
}

export interface SimRow {
  key: string;
  /** The ticket, else the description, else `Entry <key>`. */
  title: string;
  /** Who and when, from the source entry ('' when the entry is gone from the source). */
  detail: string;
  before: { outcome: string; reason: string | null };
  after: { outcome: string; reason: string | null };
  outcomeChanged: boolean;
  reasonChanged: boolean;
  /** Fields written on either side; `changed` marks those that differ. */
  fields: FieldCell[];
}

function entryOf(v: unknown): SimEntry | null {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as SimEntry) : null;
}

/** The value compared: keys of referenced items, tags as a sorted set, absent as null. */
function comparable(field: SimField, e: SimEntry): unknown {
  const v = e[field];
  if (v === undefined || v === null) return null;
  if (field === 'tags' && Array.isArray(v)) return [...v].map(String).sort();
  if (typeof v === 'object' && !Array.isArray(v) && 'key' in v) return (v as { key: unknown }).key;
  if ((field === 'begin' || field === 'end') && typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? v : t;
  }
  return v;
}

/** A field's value in words (`timeZone` for tests; the browser's zone otherwise). */
export function fieldText(field: SimField, e: SimEntry, timeZone?: string): string {
  const v = e[field];
  if (v === undefined || v === null) return '—';
  switch (field) {
    case 'begin':
    case 'end':
      return formatDateTime(String(v), timeZone);
    case 'duration_seconds':
      return formatDuration(Number(v));
    case 'billable':
      return v ? 'yes' : 'no';
    case 'user': {
      const u = v as NonNullable<SimEntry['user']>;
      return u.name || u.email || u.key;
    }
    case 'tags':
      return (v as string[]).length ? (v as string[]).join(', ') : '—';
    default:
      if (typeof v === 'object' && v && 'key' in v) {
        const k = v as { key: string; name?: string | null };
        return k.name || k.key;
      }
      return displayValue(v);
  }
}

/**
 * Field cells of one change: every field either side writes; `changed` marks those that differ
 * when both sides write an entry (when one side writes nothing, the outcome is the change).
 */
export function fieldCells(before: SimSide, after: SimSide, timeZone?: string): FieldCell[] {
  const b = entryOf(before.target);
  const a = entryOf(after.target);
  if (!b && !a) return [];
  const out: FieldCell[] = [];
  for (const field of SIM_FIELDS) {
    const bv = b ? comparable(field, b) : undefined;
    const av = a ? comparable(field, a) : undefined;
    // a field neither side has says nothing
    if ((bv === null || bv === undefined) && (av === null || av === undefined)) continue;
    out.push({
      field,
      label: SIM_FIELD_LABELS[field],
      before: b ? fieldText(field, b, timeZone) : null,
      after: a ? fieldText(field, a, timeZone) : null,
      // a side that writes nothing has no fields to compare: the outcome says it all
      changed: !!b && !!a && JSON.stringify(bv ?? null) !== JSON.stringify(av ?? null),
    });
  }
  return out;
}

function titleOf(key: string, e: SimEntry | null): string {
  if (e?.ticket) return `#${e.ticket.number} ${e.ticket.title}`;
  if (e?.description) return e.description;
  return `Entry ${key}`;
}

function detailOf(e: SimEntry | null, timeZone?: string): string {
  if (!e) return 'no longer in the source';
  const parts = [e.user?.name || e.user?.email || e.user?.key, e.begin ? formatDateTime(e.begin, timeZone) : null];
  if (typeof e.duration_seconds === 'number') parts.push(formatDuration(e.duration_seconds));
  return parts.filter(Boolean).join(' · ');
}

/** The table's rows, in the answer's (plan) order. */
export function simulationRows(changes: readonly SimChange[], timeZone?: string): SimRow[] {
  return changes.map((c) => {
    const src = entryOf(c.source);
    const before = { outcome: c.before.outcome, reason: c.before.reason ?? null };
    const after = { outcome: c.after.outcome, reason: c.after.reason ?? null };
    return {
      key: c.source_key,
      title: titleOf(c.source_key, src),
      detail: detailOf(src, timeZone),
      before,
      after,
      outcomeChanged: before.outcome !== after.outcome,
      reasonChanged: before.reason !== after.reason,
      fields: fieldCells(c.before, c.after, timeZone),
    };
  });
}

/** Outcomes in the order the sync pages show them; unknown ones after, by name. */
const OUTCOME_ORDER = ['create', 'update', 'in_sync', 'skip', 'conflict', 'error'];

/** `by_outcome` of the summary as a list in a fixed order, zero counts left out. */
export function outcomeCounts(byOutcome: Record<string, number> | null | undefined): { outcome: string; count: number }[] {
  const list = Object.entries(byOutcome ?? {})
    .filter(([, n]) => typeof n === 'number' && n > 0)
    .map(([outcome, count]) => ({ outcome, count }));
  const rank = (o: string) => {
    const i = OUTCOME_ORDER.indexOf(o);
    return i < 0 ? OUTCOME_ORDER.length : i;
  };
  return list.sort((x, y) => rank(x.outcome) - rank(y.outcome) || x.outcome.localeCompare(y.outcome));
}
