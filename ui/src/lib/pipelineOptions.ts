/** The pipeline form's options section ↔ the API's `options` (pure, so it is unit-tested). */
import type { PipelineOptions, PipelineOptionsInput, UnmappedUser } from '@/api/types';
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
