import { describe, expect, it } from 'vitest';
import { formToOptions, mirrorAvailability, optionsToForm } from './pipelineOptions';

const helpdesk = { kind: 'helpdesk', label: 'Helpdesk', features: ['webhook'], catalogs: ['types'] };
const tracker = { kind: 'tracker', label: 'Tracker', features: ['create_projects'], catalogs: ['projects', 'clients'] };
const flat = { kind: 'flat', label: 'Flat', features: ['create_projects'], catalogs: ['projects'] };
const books = { kind: 'books', label: 'Books', features: [] };

describe('pipeline options form', () => {
  it('takes the server defaults for options an older pipeline lacks', () => {
    expect(optionsToForm({ default_project: null, default_activity: '1', unmapped_user: 'conflict' })).toEqual({
      default_project: null,
      default_activity: '1',
      unmapped_user: 'conflict',
      match_by_name: false,
      include_running: false,
      mirror_enabled: false,
      mirror_client_key: '',
    });
    expect(optionsToForm(undefined).unmapped_user).toBe('conflict');
  });
  it('round-trips every option', () => {
    const stored = {
      default_project: '3',
      default_activity: null,
      unmapped_user: 'token_user' as const,
      match_by_name: true,
      include_running: true,
      mirror_projects: { enabled: true, client_key: '12' },
    };
    expect(formToOptions(optionsToForm(stored), true)).toEqual(stored);
  });
  it('sends a blank client key as null and never enables mirroring for a source that cannot', () => {
    const f = { ...optionsToForm(undefined), mirror_enabled: true, mirror_client_key: '  ' };
    expect(formToOptions(f, true).mirror_projects).toEqual({ enabled: true, client_key: null });
    expect(formToOptions(f, false).mirror_projects).toEqual({ enabled: false, client_key: null });
  });
});

describe('mirroring target projects into the source', () => {
  it('needs the create_projects feature and says why in the kinds’ words', () => {
    const no = mirrorAvailability(helpdesk, books);
    expect(no.available).toBe(false);
    expect(no.why).toBe('Helpdesk cannot create projects through its API, so the Books projects cannot be mirrored into it.');
    expect(mirrorAvailability(undefined, books).available).toBe(false);
    expect(mirrorAvailability(tracker, books)).toEqual({ available: true, why: null, clientCatalog: 'clients' });
    expect(mirrorAvailability(flat, books).clientCatalog).toBeUndefined();
  });
});
