import { describe, expect, it } from 'vitest';
import { flowSettings, oauthState } from './oauth';

// Shaped like the server's `GET /api/connectors/kinds` item of an OAuth kind.
const calendar = {
  kind: 'google_calendar',
  label: 'Google Calendar',
  features: ['oauth', 'webhook'],
  settings_schema: {
    type: 'object',
    properties: {
      client_id: { type: 'string' },
      client_secret: { type: 'string', writeOnly: true },
      refresh_token: { type: 'string', writeOnly: true, readOnly: true },
    },
  },
};
const kimai = { kind: 'kimai', label: 'Kimai', features: [], settings_schema: { properties: {} } };

describe('oauthState', () => {
  it('finds the settings the connect flow sets', () => {
    expect(flowSettings(calendar)).toEqual(['refresh_token']);
    expect(flowSettings(kimai)).toEqual([]);
  });

  it('offers to connect a saved connector that has no grant yet', () => {
    const s = oauthState(calendar, { id: 4, settings: { client_id: 'x', has_client_secret: true, has_refresh_token: false } });
    expect(s).toEqual({
      supported: true,
      connected: false,
      startUrl: '/api/connectors/4/oauth/start',
      buttonLabel: 'Connect with Google Calendar',
    });
  });

  it('says connected once the refresh token is stored', () => {
    const s = oauthState(calendar, { id: 4, settings: {}, has_refresh_token: true });
    expect(s.connected).toBe(true);
    expect(s.buttonLabel).toBe('Connect again with Google Calendar');
  });

  it('has no button before the connector is saved, nor for kinds without OAuth', () => {
    expect(oauthState(calendar).startUrl).toBeNull();
    const k = oauthState(kimai, { id: 1, settings: {} });
    expect(k.supported).toBe(false);
    expect(k.startUrl).toBeNull();
  });
});
