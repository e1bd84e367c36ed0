/**
 * Undoing a run (`POST /api/sync/runs/{id}/undo`): whether a run can be undone, what a dry
 * run of the undo says it would do, and how undo runs and their items are labelled.
 */

/** What the helpers need of a run (so tests can pass plain objects). */
export interface UndoableRun {
  trigger: string;
  dry_run: boolean;
  status: string;
  /** The undo run that took this run back (absent or null when none). */
  undone_by?: number | null;
}

/** Why a run cannot be undone; `null` when it can. */
export type NotUndoable = 'undo' | 'dry_run' | 'not_finished' | 'undone';

/** Whether the undo button is offered for a run: finished, real, not an undo itself, not undone yet. */
export function whyNotUndoable(run: UndoableRun): NotUndoable | null {
  if (run.trigger === 'undo') return 'undo';
  if (run.dry_run) return 'dry_run';
  if (run.status === 'queued' || run.status === 'running') return 'not_finished';
  if (run.undone_by !== null && run.undone_by !== undefined) return 'undone';
  return null;
}

export function canUndo(run: UndoableRun): boolean {
  return whyNotUndoable(run) === null;
}

/** What an undo run (or its dry run) did or would do, counted from its items. */
export interface UndoSummary {
  /** Entries the run created that are deleted. */
  deleted: number;
  /** Entries the run updated that are written back to what they were before. */
  restored: number;
  /** Entries changed since the run wrote them: left alone, each a conflict. */
  conflicts: number;
  skipped: number;
  errors: number;
  /** Entries that are taken back: deleted + restored. */
  takenBack: number;
}

export function undoSummary(items: ReadonlyArray<{ outcome: string }>): UndoSummary {
  const n = (o: string) => items.filter((i) => i.outcome === o).length;
  const deleted = n('delete');
  const restored = n('restore');
  return { deleted, restored, conflicts: n('conflict'), skipped: n('skip'), errors: n('error'), takenBack: deleted + restored };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The preview's sentence: `would delete 3 entries, write back 1 and leave 2 conflicts`. */
export function describeUndoPreview(s: UndoSummary): string {
  if (s.takenBack === 0 && s.conflicts === 0) return 'Nothing to take back: the run wrote nothing that is still there.';
  const parts = [`would delete ${plural(s.deleted, 'entry', 'entries')}`, `write back ${s.restored}`];
  const last = s.conflicts > 0 ? ` and leave ${plural(s.conflicts, 'conflict')} (changed since the run wrote them)` : '';
  return `Undoing ${parts.join(', ')}${last}.`;
}

/** The confirm button's label: `Undo 4 entries`. */
export function undoConfirmLabel(s: UndoSummary): string {
  return `Undo ${plural(s.takenBack, 'entry', 'entries')}`;
}

/** A run's trigger for people: `undo` → `Undo`, `resolution` → `Resolution`. */
export function triggerLabel(trigger: string): string {
  if (!trigger) return '—';
  return trigger.charAt(0).toUpperCase() + trigger.slice(1).replace(/_/g, ' ');
}

/**
 * The counts a run's page shows, in order: undo runs show what they deleted and wrote back
 * (they create and update nothing); other runs show `deleted`/`restored` only when not zero.
 */
export function runStatKeys(run: { trigger: string; stats: Record<string, number | undefined> }): string[] {
  if (run.trigger === 'undo') return ['fetched', 'deleted', 'restored', 'conflicts', 'skipped', 'errors'];
  const keys = ['fetched', 'in_sync', 'created', 'updated', 'skipped', 'conflicts', 'errors'];
  for (const k of ['deleted', 'restored']) if ((run.stats[k] ?? 0) > 0) keys.push(k);
  return keys;
}

/** Words for a count of a run's page (`fetched` of an undo run: the entries it looked at). */
export function runStatLabel(trigger: string, key: string): string {
  if (trigger === 'undo' && key === 'fetched') return 'Entries of the run';
  if (key === 'restored') return 'Restored (written back)';
  const s = key.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The outcome filters of a sync run's items, in order. */
const SYNC_FILTERS = ['in_sync', 'create', 'update', 'skip', 'conflict', 'error'];
/** The outcome filters of an undo run's items, in order. */
const UNDO_FILTERS = ['delete', 'restore', 'conflict', 'skip', 'error'];

/**
 * Which outcome filters to offer over a run's items: an undo run's own outcomes for an undo
 * (or its dry run), a sync's for other runs — plus any outcome the items have beyond those.
 */
export function outcomeFilters(undo: boolean, counts: Record<string, number>): string[] {
  const base = undo ? UNDO_FILTERS : SYNC_FILTERS;
  const extra = Object.keys(counts).filter((o) => !base.includes(o) && (counts[o] ?? 0) > 0);
  return [...base, ...extra.sort()];
}
