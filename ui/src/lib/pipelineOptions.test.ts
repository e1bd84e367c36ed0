import { describe, expect, it } from 'vitest';
import { formToOptions, mirrorAvailability, optionsToForm, toggleNotify, validSummaryTime } from './pipelineOptions';

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
      notify: {},
      daily_summary_at: '',
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
      notify: [{ connector_id: 7, events: ['run_failed' as const, 'daily_summary' as const] }],
      daily_summary_at: '07:30',
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
  it('picks notifiers and their events, and drops a notifier without events', () => {
    let n = toggleNotify({}, 7, 'daily_summary', true);
    n = toggleNotify(n, 7, 'run_failed', true);
    n = toggleNotify(n, 7, 'run_failed', true);
    expect(n).toEqual({ 7: ['run_failed', 'daily_summary'] });
    n = toggleNotify(n, 9, 'conflicts_raised', true);
    n = toggleNotify(n, 7, 'run_failed', false);
    n = toggleNotify(n, 7, 'daily_summary', false);
    const f = { ...optionsToForm(undefined), notify: n, daily_summary_at: ' ' };
    const out = formToOptions(f, false);
    expect(out.notify).toEqual([{ connector_id: 9, events: ['conflicts_raised'] }]);
    expect(out.daily_summary_at).toBeNull();
  });
  it('accepts only HH:MM summary times', () => {
    for (const t of ['', '00:00', '08:00', '23:59']) expect(validSummaryTime(t)).toBe(true);
    for (const t of ['8:00', '24:00', '08:60', 'noon', '08:00:00']) expect(validSummaryTime(t)).toBe(false);
  });
});
