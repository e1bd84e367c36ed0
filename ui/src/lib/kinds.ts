/**
 * Words for connector kinds, taken from `GET /api/connectors/kinds` only: the UI never names a
 * concrete system in code. "Zammad type → Kimai activity" comes from the kinds' `label` and
 * `dimensions`; the mapping pickers' catalogs from `dimension_catalogs`; webhook URLs from
 * `webhook.path`.
 */

/** The three mapping dimensions of the hub (the `kind` of a mapping). */
export type Dimension = 'activity' | 'project' | 'user';
export const DIMENSIONS: readonly Dimension[] = ['activity', 'project', 'user'];

export type Role = 'source' | 'target' | 'notifier';

/** What the helpers need of a `ConnectorKind` (so tests can pass plain objects). */
export interface KindLike {
  kind: string;
  label?: string;
  roles?: readonly string[];
  dimensions?: Partial<Record<Dimension, string | null>>;
  dimension_catalogs?: Partial<Record<Dimension, string | null>>;
  secret_settings?: readonly string[];
  webhook?: { path: string; signature: string } | null;
}

export function findKind<K extends KindLike>(kinds: readonly K[] | undefined, kind: string | undefined): K | undefined {
  return kind === undefined ? undefined : kinds?.find((k) => k.kind === kind);
}

/** The system's name for people (`Zammad`); the kind itself when the registry does not know it. */
export function kindLabel(kind: KindLike | undefined, fallback = 'Unknown'): string {
  return kind?.label || kind?.kind || fallback;
}

/** The label of the kind named `kind` in `kinds`, else `kind` itself (a kind the server no longer has). */
export function labelOfKind(kinds: readonly KindLike[] | undefined, kind: string): string {
  return findKind(kinds, kind)?.label || kind;
}

/** The kind's own word for a dimension (Zammad: `type` for activity); `null` if it has none. */
export function dimensionWord(kind: KindLike | undefined, dim: Dimension): string | null {
  if (!kind) return dim;
  if (!kind.dimensions) return dim;
  const w = kind.dimensions[dim];
  return w === undefined ? dim : w;
}

/** "Zammad type", "Kimai activity": the kind's label and its word for the dimension. */
export function dimensionLabel(kind: KindLike | undefined, dim: Dimension): string {
  return `${kindLabel(kind)} ${dimensionWord(kind, dim) ?? dim}`;
}

/** "Zammad type → Kimai activity". */
export function mappingTitle(source: KindLike | undefined, target: KindLike | undefined, dim: Dimension): string {
  return `${dimensionLabel(source, dim)} → ${dimensionLabel(target, dim)}`;
}

/** The dimensions a pipeline from `source` into `target` can map: both kinds have a word for them. */
export function mappableDimensions(source: KindLike | undefined, target: KindLike | undefined): Dimension[] {
  return DIMENSIONS.filter((d) => dimensionWord(source, d) !== null && dimensionWord(target, d) !== null);
}

/** The catalog that lists a dimension's items for the kind (Zammad activity: `types`), if any. */
export function dimensionCatalog(kind: KindLike | undefined, dim: Dimension): string | undefined {
  return kind?.dimension_catalogs?.[dim] ?? undefined;
}

export function hasRole(kind: KindLike | undefined, role: Role): boolean {
  return !!kind?.roles?.includes(role);
}

/** Connectors whose kind has `role` (a notifier-only kind is neither source nor target). */
export function connectorsWithRole<C extends { kind: string }>(connectors: readonly C[], kinds: readonly KindLike[], role: Role): C[] {
  return connectors.filter((c) => hasRole(findKind(kinds, c.kind), role));
}

/** Labels of the kinds that have `role`, e.g. `["Zammad"]` for sources. */
export function labelsWithRole(kinds: readonly KindLike[], role: Role): string[] {
  return kinds.filter((k) => hasRole(k, role)).map((k) => kindLabel(k));
}

/** "a", "a and b", "a, b and c". */
export function listWords(words: readonly string[], conj = 'and'): string {
  if (words.length <= 1) return words[0] ?? '';
  return `${words.slice(0, -1).join(', ')} ${conj} ${words[words.length - 1]}`;
}

/** English plural of a dimension word: type → types, activity → activities, person → people. */
export function plural(word: string): string {
  if (/person$/i.test(word)) return word.replace(/person$/i, (m) => (m[0] === 'P' ? 'People' : 'people'));
  if (/[^aeiou]y$/i.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(word)) return `${word}es`;
  return `${word}s`;
}

/** "an organization", "a type". */
export function withArticle(phrase: string): string {
  return `${/^[aeiou]/i.test(phrase) ? 'an' : 'a'} ${phrase}`;
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The webhook URL of one connector: `origin` + the kind's `webhook.path` with the id filled in. */
export function webhookUrl(origin: string, kind: KindLike | undefined, connectorId: number | string): string | null {
  const path = kind?.webhook?.path;
  if (!path) return null;
  return `${origin.replace(/\/+$/, '')}${path.replace('{connector_id}', String(connectorId))}`;
}

/** Whether the kind declares `feature` (`GET /api/connectors/kinds` → `features`). */
export function hasFeature(kind: { features?: readonly string[] } | undefined, feature: string): boolean {
  return !!kind?.features?.includes(feature);
}

/** The catalog of the kind that lists its clients (customers), if it has one: where mirrored projects go. */
export function clientCatalog(kind: { catalogs?: readonly string[] } | undefined): string | undefined {
  return kind?.catalogs?.find((c) => /^(clients|customers)$/i.test(c));
}
