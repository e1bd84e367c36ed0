/**
 * Pure logic of the conflicts page grouped by cause (issue #18): words for causes and
 * suggestions, the picker's options (suggestions first), the fix body sent to preview and
 * apply, the preview's summary and the progress of the run that applies a fix.
 */
import { formatDuration } from './format';
import { dimensionLabel, kindLabel, type Dimension, type KindLike } from './kinds';

export type CauseKind = 'user' | 'activity' | 'project' | 'target_rule' | 'entry';
export type SuggestionWhy = 'same_email' | 'same_name' | 'similar_name';
export type DefaultOption = 'default_activity' | 'default_project';
export type PreviewOutcome = 'create' | 'update' | 'in_sync' | 'skip' | 'conflict';

/** What the helpers need of a group (so tests can pass plain objects). */
export interface GroupLike {
  cause: { kind: CauseKind; key: string; label: string };
  fix: {
    kind: 'mapping' | 'target' | 'decide';
    mapping_kind?: Dimension | null;
    source_key?: string | null;
    source_label?: string | null;
    default_option?: DefaultOption | null;
  };
  allowed_actions: readonly string[];
}

/** "Zammad agent" for a missing user mapping, "Kimai rule" for a refusal, "Entry" for a one-off. */
export function causeKindLabel(kind: CauseKind, source: KindLike | undefined, target: KindLike | undefined): string {
  if (kind === 'target_rule') return `${kindLabel(target, 'Target')} rule`;
  if (kind === 'entry') return 'Entry';
  return dimensionLabel(source, kind);
}

/** Sum of durations as `h:mm`. */
export function formatHours(seconds: number | null | undefined): string {
  return formatDuration(seconds ?? 0);
}

/** "Acme GmbH, Globex AG and 2 more"; empty when none. */
export function customersText(customers: readonly { name?: string | null; key: string }[], max = 3): string {
  const names = customers.map((c) => c.name || c.key);
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

const WHY: Record<SuggestionWhy, string> = { same_email: 'same e-mail', same_name: 'same name', similar_name: 'similar name' };
export function suggestionWhy(why: string): string {
  return WHY[why as SuggestionWhy] ?? why.replace(/_/g, ' ');
}

export interface PickerOption {
  value: string;
  label: string;
  hint?: string;
}
interface CatalogItemLike {
  key: string;
  label: string;
  extra?: Record<string, unknown>;
}

/** Options of a target catalog as the mappings page shows them: the label, the e-mail (or `#key`) as hint. */
export function catalogOptions(items: readonly CatalogItemLike[]): PickerOption[] {
  return items.map((t) => ({ value: t.key, label: t.label, hint: typeof t.extra?.email === 'string' ? t.extra.email : `#${t.key}` }));
}

/**
 * The picker's options with the suggestions on top (in the server's order, their reason as the
 * hint), then the rest of the catalog; a suggestion the catalog lacks is still offered.
 */
export function pickerOptions(
  items: readonly CatalogItemLike[],
  suggestions: readonly { target_key: string; target_label: string; why: string }[],
): PickerOption[] {
  const all = catalogOptions(items);
  const byKey = new Map(all.map((o) => [o.value, o]));
  const seen = new Set<string>();
  const top: PickerOption[] = [];
  for (const s of suggestions) {
    if (seen.has(s.target_key)) continue;
    seen.add(s.target_key);
    const o = byKey.get(s.target_key);
    top.push({ value: s.target_key, label: o?.label ?? s.target_label, hint: `suggested: ${suggestionWhy(s.why)}` });
  }
  return [...top, ...all.filter((o) => !seen.has(o.value))];
}

export type FixChoice =
  | { mode: 'mapping'; target_key: string | null; target_label?: string | null; billable?: boolean | null }
  | { mode: 'default'; target_key: string | null }
  | { mode: 'retry' };

export type GroupFixBody =
  | { mapping: { kind: Dimension; source_key: string; source_label?: string; target_key: string; target_label?: string; billable?: boolean | null } }
  | { default: { option: DefaultOption; target_key: string } }
  | { retry: true };

/**
 * The `fix` of preview/apply for a choice on a group, or null while the choice is incomplete or
 * does not fit the group (no target picked, a default on a group without a default option, a
 * retry of a group whose cause is not in the target).
 */
export function buildFix(g: GroupLike, choice: FixChoice): GroupFixBody | null {
  if (choice.mode === 'retry') return g.fix.kind === 'target' ? { retry: true } : null;
  if (g.fix.kind !== 'mapping' || !choice.target_key) return null;
  if (choice.mode === 'default') return g.fix.default_option ? { default: { option: g.fix.default_option, target_key: choice.target_key } } : null;
  const kind = g.fix.mapping_kind;
  const source = g.fix.source_key;
  if (!kind || !source) return null;
  return {
    mapping: {
      kind,
      source_key: source,
      ...(g.fix.source_label ? { source_label: g.fix.source_label } : {}),
      target_key: choice.target_key,
      ...(choice.target_label ? { target_label: choice.target_label } : {}),
      // billable applies to activity and project mappings only
      ...(kind !== 'user' && choice.billable !== undefined && choice.billable !== null ? { billable: choice.billable } : {}),
    },
  };
}

/** A stable key of a fix: a preview belongs to the fix it was made for. */
export function fixKey(fix: GroupFixBody | null): string {
  if (!fix) return '';
  const sort = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]))
      : v;
  return JSON.stringify(sort(fix));
}

/** The actions a whole group can be resolved with (`skip`, `keep_target`), in that order, as the group allows. */
export function groupResolveActions(allowed: readonly string[]): ('skip' | 'keep_target')[] {
  return (['skip', 'keep_target'] as const).filter((a) => allowed.includes(a));
}

/** The preview's counts: its outcomes and `not_found` (entries the source no longer has in the window). */
export type SummaryKey = PreviewOutcome | 'not_found';
const OUTCOME_WORDS: Record<SummaryKey, string> = {
  create: 'to create',
  update: 'to update',
  in_sync: 'already in sync',
  skip: 'to skip',
  conflict: 'still in conflict',
  not_found: 'no longer in the source',
};
const OUTCOME_ORDER: SummaryKey[] = ['create', 'update', 'in_sync', 'skip', 'conflict', 'not_found'];

/** The preview's counts in words, non-zero ones only: `[["create", 3, "to create"], …]`. */
export function previewSummary(summary: Partial<Record<string, number>>): { outcome: SummaryKey; count: number; words: string }[] {
  return OUTCOME_ORDER.filter((o) => (summary[o] ?? 0) > 0).map((o) => ({ outcome: o, count: summary[o] ?? 0, words: OUTCOME_WORDS[o] }));
}

/**
 * What applying the previewed fix would achieve: `clears` (no entry left in conflict), `partly`
 * (some entries stay conflicts), `nothing` (every entry stays a conflict: applying would not help).
 */
export function previewVerdict(summary: Partial<Record<string, number>>): 'clears' | 'partly' | 'nothing' {
  const conflicts = summary.conflict ?? 0;
  const total = OUTCOME_ORDER.reduce((n, o) => n + (summary[o] ?? 0), 0);
  if (conflicts === 0) return 'clears';
  return conflicts >= total ? 'nothing' : 'partly';
}

interface RunLike {
  id: number;
  status: string;
  stats: { fetched: number; in_sync: number; created: number; updated: number; skipped: number; conflicts: number; errors: number };
  progress?: { phase: string; done: number; total: number } | null;
}

export function runFinished(status: string): boolean {
  return status !== 'queued' && status !== 'running';
}

/** Percent done of a run (from its progress while writing, else from its counts). */
export function runPercent(run: RunLike): number {
  if (runFinished(run.status)) return 100;
  const p = run.progress;
  if (p && p.total > 0) return Math.min(100, Math.round((p.done / p.total) * 100));
  const s = run.stats;
  const done = s.in_sync + s.created + s.updated + s.skipped + s.conflicts + s.errors;
  return s.fetched > 0 ? Math.min(100, Math.round((done / s.fetched) * 100)) : 0;
}

/** The line shown once the run that applied a fix has finished. */
export function appliedMessage(run: RunLike, what: string): { ok: boolean; text: string } {
  const s = run.stats;
  const parts = [
    s.created && `${s.created} created`,
    s.updated && `${s.updated} updated`,
    s.in_sync && `${s.in_sync} already in sync`,
    s.skipped && `${s.skipped} skipped`,
    s.conflicts && `${s.conflicts} still in conflict`,
    s.errors && `${s.errors} failed`,
  ].filter(Boolean);
  const ok = run.status === 'succeeded' && s.errors === 0;
  const verb = run.status === 'failed' ? 'failed fixing' : ok ? 'fixed' : 'partly fixed';
  return { ok, text: `Run #${run.id} ${verb} ${what}${parts.length ? `: ${parts.join(', ')}` : ''}.` };
}
