import { describe, expect, it } from 'vitest';
import { changedPlanningOptions, clock, describeApplied, formToOptions, formToRounding, mirrorAvailability, newRoundingRule, optionsToForm, roundingErrors, roundingToForm, stepSeconds, toggleNotify, validSummaryTime } from './pipelineOptions';

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
      rounding: { mode: 'exact', step: '1', unit: 'minutes', keep: 'begin', rules: [] },
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
      rounding: {
        mode: 'nearest' as const,
        step_seconds: 90,
        keep: 'end' as const,
        rules: [{ customer: '4', project: null, mode: 'up' as const, step_seconds: 900, keep: 'begin' as const }],
      },
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

describe('rounding policy form', () => {
  it('shows steps in minutes when they are whole minutes, else in seconds', () => {
    const f = roundingToForm({ mode: 'up', step_seconds: 900, keep: 'begin', rules: [{ customer: null, project: '7', mode: 'down', step_seconds: 45, keep: 'end' }] });
    expect([f.step, f.unit]).toEqual(['15', 'minutes']);
    expect([f.rules[0]?.step, f.rules[0]?.unit]).toEqual(['45', 'seconds']);
    expect(formToRounding(f).rules?.[0]).toEqual({ customer: null, project: '7', mode: 'down', step_seconds: 45, keep: 'end' });
  });
  it('accepts steps from one second to one day and names the field of each bad one as the server does', () => {
    expect(stepSeconds({ step: '1', unit: 'seconds' })).toBe(1);
    expect(stepSeconds({ step: '1440', unit: 'minutes' })).toBe(86_400);
    expect(stepSeconds({ step: '0.5', unit: 'minutes' })).toBe(30);
    expect(stepSeconds({ step: '1441', unit: 'minutes' })).toBeNull();
    expect(stepSeconds({ step: '0', unit: 'seconds' })).toBeNull();
    expect(stepSeconds({ step: '1.5', unit: 'seconds' })).toBeNull();
    expect(stepSeconds({ step: 'abc', unit: 'minutes' })).toBeNull();
    const f = { ...roundingToForm(undefined), mode: 'up' as const, step: '', rules: [newRoundingRule(), { ...newRoundingRule(), step: '-1' }, { ...newRoundingRule(), mode: 'exact' as const, step: '' }] };
    expect(Object.keys(roundingErrors(f))).toEqual(['options.rounding.step_seconds', 'options.rounding.rules[1].step_seconds']);
    expect(roundingErrors(roundingToForm(undefined))).toEqual({});
  });
  it('writes durations and what rounding added as the explanations do', () => {
    expect(clock(450)).toBe('0:07:30');
    expect(clock(900)).toBe('0:15');
    expect(clock(-3600)).toBe('-1:00');
    expect(describeApplied({ seconds: 450, rule: 2 })).toBe('+0:07:30 by rule #2');
    expect(describeApplied({ seconds: -120, rule: null })).toBe('-0:02 by the pipeline’s rounding');
  });
});

describe('planning options changed for the rule simulator', () => {
  const stored = formToOptions(optionsToForm({ default_project: '3', match_by_name: false }), false);
  it('lists only the planning options that differ, with their new values', () => {
    const f = optionsToForm({ default_project: '3', match_by_name: false });
    f.match_by_name = true;
    f.default_project = null;
    f.rounding = { ...f.rounding, mode: 'up' };
    f.daily_summary_at = '09:00'; // not a planning option
    const changed = changedPlanningOptions(stored, formToOptions(f, false));
    expect(Object.keys(changed).sort()).toEqual(['default_project', 'match_by_name', 'rounding']);
    expect(changed.default_project).toBeNull();
    expect(changed.match_by_name).toBe(true);
    expect(changed.rounding?.mode).toBe('up');
  });
  it('is empty when the form is the stored options', () => {
    expect(changedPlanningOptions(stored, formToOptions(optionsToForm({ default_project: '3' }), false))).toEqual({});
  });
});
