/** The pipeline form's options section ↔ the API's `options` (pure, so it is unit-tested). */
import type { NotificationEvent, PipelineOptions, PipelineOptionsInput, UnmappedUser } from '@/api/types';
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
}

/** The events a pipeline can notify about, in the order the form shows them. */
export const NOTIFY_EVENTS: { event: NotificationEvent; label: string }[] = [
  { event: 'run_failed', label: 'Run failed' },
  { event: 'run_partial', label: 'Run partly failed' },
  { event: 'conflicts_raised', label: 'New conflicts' },
  { event: 'daily_summary', label: 'Daily summary' },
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
