/**
 * Running entries (a timer still going): `"running": true`, `"end": null`,
 * `"duration_seconds": null`. Helpers so that every entry view shows them the same way.
 */
import { formatDateTime, formatDuration } from './format';
import type { SkipReason } from '@/api/types';

/** What the helpers need of an entry (so tests can pass plain objects). */
export interface EntryTimes {
  begin?: string | null;
  end?: string | null;
  duration_seconds?: number | null;
  running?: boolean | null;
}

/** Whether the entry is running: flagged so, or (older servers) neither an end nor a duration. */
export function isRunning(e: EntryTimes | null | undefined): boolean {
  if (!e) return false;
  if (typeof e.running === 'boolean') return e.running;
  return (e.end === null || e.end === undefined) && (e.duration_seconds === null || e.duration_seconds === undefined) && !!e.begin;
}

/** The end of an entry, or `running` when it has none yet. */
export function formatEntryEnd(e: EntryTimes, timeZone?: string, opts: { seconds?: boolean } = {}): string {
  if (e.end) return formatDateTime(e.end, timeZone, opts);
  return isRunning(e) ? 'running' : '—';
}

/**
 * `h:mm`, or for a running entry `running` — with the time so far (`running, 1:05 so far`)
 * when `now` is given.
 */
export function formatEntryDuration(e: EntryTimes, now?: Date): string {
  if (e.duration_seconds !== null && e.duration_seconds !== undefined && !isRunning(e)) return formatDuration(e.duration_seconds);
  if (!isRunning(e)) return formatDuration(e.duration_seconds);
  if (now && e.begin) {
    const begin = new Date(e.begin).getTime();
    if (!Number.isNaN(begin) && now.getTime() >= begin) return `running, ${formatDuration((now.getTime() - begin) / 1000)} so far`;
  }
  return 'running';
}

/** Why the server left an entry alone (`skip_reason` of a `skip` item), explained for people. */
export const SKIP_REASONS: Record<SkipReason, { label: string; hint: string; variant: 'info' | 'default' | 'warning' }> = {
  still_running: {
    label: 'Still running',
    hint: 'The entry is still running; it is synced once it ends (or turn on “Carry running entries” for the pipeline).',
    variant: 'info',
  },
  user_excluded: {
    label: 'User excluded',
    hint: 'The person is excluded from sync on the mappings page; their entries are never written.',
    variant: 'default',
  },
  undone: {
    label: 'Undone — written again when the source changes',
    hint: 'An undo took this entry back; syncs leave it alone until it changes in the source, then write it again.',
    variant: 'warning',
  },
};

/** The explanation of a `skip` item's reason (`skip_reason`); else null. */
export function skipExplained(item: { outcome: string; skip_reason?: SkipReason | null }): (typeof SKIP_REASONS)[SkipReason] | null {
  if (item.outcome !== 'skip' || !item.skip_reason) return null;
  return SKIP_REASONS[item.skip_reason] ?? null;
}

/** Words for the rule of an explanation step (`name_match` → `matched by name`). */
const RULE_LABELS: Record<string, string> = {
  mapping: 'mapping',
  pipeline_default: 'pipeline default',
  email_match: 'matched by e-mail',
  name_match: 'matched by name',
  excluded: 'excluded from sync',
  token_user: 'token user',
  source: 'from the source',
  target_default: 'target default',
  unmapped: 'unmapped',
  rounding: 'pipeline rounding',
};

export function ruleLabel(rule: string | null | undefined): string {
  if (!rule) return '';
  return RULE_LABELS[rule] ?? rule.replace(/_/g, ' ');
}
