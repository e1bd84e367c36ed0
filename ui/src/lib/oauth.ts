/**
 * The OAuth connect flow as the connector page shows it, from `GET /api/connectors/kinds`
 * only: a kind with the `oauth` feature connects through its system's consent page
 * (`/api/connectors/{id}/oauth/start`); the settings its schema marks `readOnly` are what
 * the flow stores (the refresh token), answered as `has_<name>`.
 */
import { href } from '@/api/client';
import { hasSecret } from './schemaForm';

type Json = Record<string, unknown>;

/** What the helpers need of a `ConnectorKind`. */
export interface OAuthKindLike {
  label?: string;
  kind: string;
  features?: readonly string[];
  settings_schema?: unknown;
}

export interface OAuthState {
  /** The kind connects through OAuth. */
  supported: boolean;
  /** The flow has stored its grant (every setting it sets is set). */
  connected: boolean;
  /** Where the "Connect" button goes; `null` before the connector is saved. */
  startUrl: string | null;
  /** "Connect with Google Calendar". */
  buttonLabel: string;
}

/** The settings a connect flow sets: the schema's `readOnly` properties. */
export function flowSettings(kind: OAuthKindLike | undefined): string[] {
  const props = ((kind?.settings_schema as Json | undefined)?.properties ?? {}) as Record<string, Json>;
  return Object.entries(props)
    .filter(([, p]) => p?.readOnly === true)
    .map(([name]) => name);
}

export function oauthState(kind: OAuthKindLike | undefined, connector?: { id: number } & Json): OAuthState {
  const supported = !!kind?.features?.includes('oauth');
  const names = flowSettings(kind);
  const settings = (connector?.settings ?? null) as Json | null;
  const connected = supported && !!connector && names.length > 0 && names.every((n) => hasSecret(n, settings, connector));
  const label = kind?.label || kind?.kind || 'the provider';
  return {
    supported,
    connected,
    startUrl: supported && connector ? href('/api/connectors/{id}/oauth/start', { params: { id: connector.id } }) : null,
    buttonLabel: `${connected ? 'Connect again with' : 'Connect with'} ${label}`,
  };
}
