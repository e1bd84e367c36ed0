/** The pipeline form's options section ↔ the API's `options` (pure, so it is unit-tested). */
import type { NotificationEvent, PipelineOptions, PipelineOptionsInput, Rounding, RoundingKeep, RoundingMode, UnmappedUser } from '@/api/types';
import { clientCatalog, hasFeature, kindLabel, type KindLike } from './kinds';

export interface OptionsForm {
  default_project: string | null;
  default_activity: string | null;
  unmapped_user: UnmappedUser;
  match_by_name: boolean;
  include_running: boolean;
  mirror_enabled: boolean;
  /** Free text; empty means none. */
  mirror_client_key: string;
  /** Events per notifier connector id; a notifier with no event is not notified. */
  notify: Record<number, NotificationEvent[]>;
  /** `HH:MM`; empty means the settings' default time. */
  daily_summary_at: string;
  rounding: RoundingForm;
}

/** A step as typed: a number in seconds or minutes (the form offers both). */
export interface StepForm {
  mode: RoundingMode;
  step: string;
  unit: 'seconds' | 'minutes';
  keep: RoundingKeep;
}

/** One rounding rule as edited; `null` customer/project: any. */
export interface RoundingRuleForm extends StepForm {
  customer: string | null;
  project: string | null;
}

/** `options.rounding` as edited: the pipeline's default and its rules, #1 first. */
export interface RoundingForm extends StepForm {
  rules: RoundingRuleForm[];
}

export const ROUNDING_MODES: { mode: RoundingMode; label: string }[] = [
  { mode: 'exact', label: 'Exact (no rounding)' },
  { mode: 'up', label: 'Up' },
  { mode: 'down', label: 'Down' },
  { mode: 'nearest', label: 'Nearest' },
];

/** The largest step the server accepts: one day. */
export const MAX_STEP_SECONDS = 86_400;

function stepToForm(mode: RoundingMode | undefined, seconds: number | undefined, keep: RoundingKeep | undefined): StepForm {
  const s = seconds ?? 60;
  const minutes = s % 60 === 0;
  return { mode: mode ?? 'exact', step: String(minutes ? s / 60 : s), unit: minutes ? 'minutes' : 'seconds', keep: keep ?? 'begin' };
}

/** The step in seconds, or `null` when it is not a whole number of seconds from 1 to 86400. */
export function stepSeconds(f: Pick<StepForm, 'step' | 'unit'>): number | null {
  const text = f.step.trim();
  if (!/^\d+(\.\d+)?$/.test(text)) return null;
  const seconds = Number(text) * (f.unit === 'minutes' ? 60 : 1);
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_STEP_SECONDS ? seconds : null;
}

/** The form's state for a stored policy (absent: exact). */
export function roundingToForm(r: Partial<Rounding> | null | undefined): RoundingForm {
  return {
    ...stepToForm(r?.mode, r?.step_seconds, r?.keep),
    rules: (r?.rules ?? []).map((rule) => ({ customer: rule.customer ?? null, project: rule.project ?? null, ...stepToForm(rule.mode, rule.step_seconds, rule.keep) })),
  };
}

/** The policy of a request; call [`roundingErrors`] first (an invalid step is sent as 0, which the server refuses). */
export function formToRounding(f: RoundingForm): Rounding {
  return {
    mode: f.mode,
    step_seconds: stepSeconds(f) ?? 0,
    keep: f.keep,
    rules: f.rules.map((r) => ({ customer: r.customer, project: r.project, mode: r.mode, step_seconds: stepSeconds(r) ?? 0, keep: r.keep })),
  };
}

/** Errors by the server's field names (`options.rounding.rules[0].step_seconds`). */
export function roundingErrors(f: RoundingForm): Record<string, string | undefined> {
  const msg = `Step must be a whole number of seconds from 1 to ${MAX_STEP_SECONDS} (one day)`;
  const out: Record<string, string | undefined> = {};
  if (f.mode !== 'exact' && stepSeconds(f) === null) out['options.rounding.step_seconds'] = msg;
  f.rules.forEach((r, i) => {
    if (r.mode !== 'exact' && stepSeconds(r) === null) out[`options.rounding.rules[${i}].step_seconds`] = msg;
  });
  return out;
}

/** A new rule: any customer and project, up to 15 minutes, the begin kept. */
export function newRoundingRule(): RoundingRuleForm {
  return { customer: null, project: null, mode: 'up', step: '15', unit: 'minutes', keep: 'begin' };
}

/** `0:15` or `0:07:30`, as the explanations write durations. */
export function clock(seconds: number): string {
  const s = Math.abs(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const sign = seconds < 0 ? '-' : '';
  return `${sign}${h}:${String(m).padStart(2, '0')}${sec ? `:${String(sec).padStart(2, '0')}` : ''}`;
}

/** A run item's rounding in words: `+0:07:30 by rule #2`. */
export function describeApplied(a: { seconds: number; rule?: number | null }): string {
  const by = a.rule ? `rule #${a.rule}` : 'the pipeline’s rounding';
  return `${a.seconds >= 0 ? '+' : ''}${clock(a.seconds)} by ${by}`;
}

/** The events a pipeline can notify about, in the order the form shows them. */
export const NOTIFY_EVENTS: { event: NotificationEvent; label: string }[] = [
  { event: 'run_failed', label: 'Run failed' },
  { event: 'run_partial', label: 'Run partly failed' },
  { event: 'conflicts_raised', label: 'New conflicts' },
  { event: 'daily_summary', label: 'Daily summary' },
  { event: 'drift_detected', label: 'Drift (synced entries changed in the target)' },
];

/** Turns `event` on or off for notifier `connectorId`. */
export function toggleNotify(
  notify: Record<number, NotificationEvent[]>,
  connectorId: number,
  event: NotificationEvent,
  on: boolean,
): Record<number, NotificationEvent[]> {
  const current = notify[connectorId] ?? [];
  const next = on ? [...new Set([...current, event])] : current.filter((e) => e !== event);
  return { ...notify, [connectorId]: NOTIFY_EVENTS.map((e) => e.event).filter((e) => next.includes(e)) };
}

/** `HH:MM` from 00:00 to 23:59, or empty (the settings' default). */
export function validSummaryTime(t: string): boolean {
  return t.trim() === '' || /^([01]\d|2[0-3]):[0-5]\d$/.test(t.trim());
}

/** The form's state for a stored pipeline's options (the server's defaults where absent). */
export function optionsToForm(o: Partial<PipelineOptions> | null | undefined): OptionsForm {
  return {
    default_project: o?.default_project ?? null,
    default_activity: o?.default_activity ?? null,
    unmapped_user: o?.unmapped_user ?? 'conflict',
    match_by_name: o?.match_by_name ?? false,
    include_running: o?.include_running ?? false,
    mirror_enabled: o?.mirror_projects?.enabled ?? false,
    mirror_client_key: o?.mirror_projects?.client_key ?? '',
    notify: Object.fromEntries((o?.notify ?? []).map((n) => [n.connector_id, [...n.events]])),
    daily_summary_at: o?.daily_summary_at ?? '',
    rounding: roundingToForm(o?.rounding),
  };
}

/**
 * The `options` of a request. Mirroring is sent as enabled only when the source can create
 * projects (`canMirror`); a blank client key is `null`.
 */
export function formToOptions(f: OptionsForm, canMirror: boolean): PipelineOptionsInput {
  const client = f.mirror_client_key.trim();
  return {
    default_project: f.default_project,
    default_activity: f.default_activity,
    unmapped_user: f.unmapped_user,
    match_by_name: f.match_by_name,
    include_running: f.include_running,
    mirror_projects: { enabled: canMirror && f.mirror_enabled, client_key: client === '' ? null : client },
    notify: Object.entries(f.notify)
      .filter(([, events]) => events.length > 0)
      .map(([id, events]) => ({ connector_id: Number(id), events: [...events] })),
    daily_summary_at: f.daily_summary_at.trim() === '' ? null : f.daily_summary_at.trim(),
    rounding: formToRounding(f.rounding),
  };
}

/** The kind with the feature's name. */
export type MirrorKind = KindLike & { features?: readonly string[]; catalogs?: readonly string[] };

/**
 * Whether a pipeline from `source` can mirror the target's projects into it, and if not, why
 * (in the kinds' own words): the source kind needs the `create_projects` feature.
 */
export function mirrorAvailability(source: MirrorKind | undefined, target: MirrorKind | undefined): { available: boolean; why: string | null; clientCatalog: string | undefined } {
  if (!source) return { available: false, why: 'Choose a source connector first.', clientCatalog: undefined };
  if (!hasFeature(source, 'create_projects'))
    return {
      available: false,
      why: `${kindLabel(source)} cannot create projects through its API, so the ${target ? `${kindLabel(target)} ` : 'target’s '}projects cannot be mirrored into it.`,
      clientCatalog: undefined,
    };
  return { available: true, why: null, clientCatalog: clientCatalog(source) };
}

/** The options that change how entries are mapped and planned (what the rule simulator can preview). */
export const PLANNING_OPTIONS = ['default_project', 'default_activity', 'unmapped_user', 'match_by_name', 'include_running', 'rounding'] as const;

/**
 * The planning options of `next` that differ from `stored` (both as a request sends them), for
 * `POST /api/pipelines/{id}/simulate`'s `options`; empty when none differs.
 */
export function changedPlanningOptions(stored: PipelineOptionsInput, next: PipelineOptionsInput): Partial<PipelineOptionsInput> {
  const out: Record<string, unknown> = {};
  for (const k of PLANNING_OPTIONS) {
    if (JSON.stringify(stored[k] ?? null) !== JSON.stringify(next[k] ?? null)) out[k] = next[k] ?? null;
  }
  return out as Partial<PipelineOptionsInput>;
}
