import { describe, expect, it } from 'vitest';
import {
  appliedMessage, buildFix, catalogOptions, causeKindLabel, customersText, fixKey, formatHours, groupResolveActions,
  pickerOptions, previewSummary, previewVerdict, runFinished, runPercent, suggestionWhy, type GroupLike,
} from './groups';

const zammad = { kind: 'zammad', label: 'Zammad', dimensions: { activity: 'type', project: 'organization', user: 'agent' } };
const kimai = { kind: 'kimai', label: 'Kimai', dimensions: { activity: 'activity', project: 'project', user: 'user' } };

const userGroup: GroupLike = {
  cause: { kind: 'user', key: '5', label: 'Chris Meyer' },
  fix: { kind: 'mapping', mapping_kind: 'user', source_key: '5', source_label: 'Chris Meyer', default_option: null },
  allowed_actions: ['create', 'skip'],
};
const projectGroup: GroupLike = {
  cause: { kind: 'project', key: '11', label: 'Globex AG' },
  fix: { kind: 'mapping', mapping_kind: 'project', source_key: '11', source_label: 'Globex AG', default_option: 'default_project' },
  allowed_actions: ['create', 'skip'],
};
const targetGroup: GroupLike = {
  cause: { kind: 'target_rule', key: 'project_closed:3', label: 'Project “Internal” is closed' },
  fix: { kind: 'target', mapping_kind: null, source_key: null, source_label: null, default_option: null },
  allowed_actions: ['create', 'skip', 'keep_target'],
};
const run = (o: object = {}) => ({
  id: 12,
  status: 'succeeded',
  stats: { fetched: 4, in_sync: 0, created: 3, updated: 0, skipped: 0, conflicts: 0, errors: 0 },
  ...o,
});

describe('causes in the kinds’ own words', () => {
  it('names a missing mapping by the source kind’s dimension word and a refusal by the target', () => {
    expect(causeKindLabel('user', zammad, kimai)).toBe('Zammad agent');
    expect(causeKindLabel('activity', zammad, kimai)).toBe('Zammad type');
    expect(causeKindLabel('target_rule', zammad, kimai)).toBe('Kimai rule');
    expect(causeKindLabel('entry', zammad, kimai)).toBe('Entry');
    expect(causeKindLabel('target_rule', zammad, undefined)).toBe('Target rule');
  });
  it('formats hours as h:mm and lists a few customers', () => {
    expect(formatHours(5400 + 1800)).toBe('2:00');
    expect(formatHours(0)).toBe('0:00');
    expect(formatHours(null)).toBe('0:00');
    expect(customersText([])).toBe('');
    expect(customersText([{ key: '1', name: 'Acme' }, { key: '2', name: '' }, { key: '3', name: null }])).toBe('Acme, 2, 3');
    const many = ['A', 'B', 'C', 'D', 'E'].map((n) => ({ key: n, name: n }));
    expect(customersText(many)).toBe('A, B, C and 2 more');
  });
  it('says why a target item is suggested', () => {
    expect(suggestionWhy('same_email')).toBe('same e-mail');
    expect(suggestionWhy('similar_name')).toBe('similar name');
    expect(suggestionWhy('new_rule')).toBe('new rule');
  });
});

describe('the picker', () => {
  const users = [
    { key: '1', label: 'anna', extra: { email: 'anna@example.com' } },
    { key: '4', label: 'chris', extra: {} },
    { key: '3', label: 'admin' },
  ];
  it('shows catalog items like the mappings page does', () => {
    expect(catalogOptions(users)).toEqual([
      { value: '1', label: 'anna', hint: 'anna@example.com' },
      { value: '4', label: 'chris', hint: '#4' },
      { value: '3', label: 'admin', hint: '#3' },
    ]);
  });
  it('puts the suggestions on top, once each, and keeps one the catalog lacks', () => {
    const opts = pickerOptions(users, [
      { target_key: '4', target_label: 'chris', why: 'similar_name' },
      { target_key: '9', target_label: 'c.meyer', why: 'same_email' },
      { target_key: '4', target_label: 'chris', why: 'same_name' },
    ]);
    expect(opts.map((o) => [o.value, o.hint])).toEqual([
      ['4', 'suggested: similar name'],
      ['9', 'suggested: same e-mail'],
      ['1', 'anna@example.com'],
      ['3', '#3'],
    ]);
    expect(opts[1]?.label).toBe('c.meyer');
  });
  it('is the plain catalog without suggestions', () => {
    expect(pickerOptions(users, [])).toEqual(catalogOptions(users));
  });
});

describe('the fix sent to preview and apply', () => {
  it('maps the group’s source item to the picked target', () => {
    expect(buildFix(userGroup, { mode: 'mapping', target_key: '4', target_label: 'chris' })).toEqual({
      mapping: { kind: 'user', source_key: '5', source_label: 'Chris Meyer', target_key: '4', target_label: 'chris' },
    });
  });
  it('carries billable for project and activity mappings only', () => {
    expect(buildFix(projectGroup, { mode: 'mapping', target_key: '2', billable: false })).toEqual({
      mapping: { kind: 'project', source_key: '11', source_label: 'Globex AG', target_key: '2', billable: false },
    });
    expect(buildFix(userGroup, { mode: 'mapping', target_key: '4', billable: true })).toEqual({
      mapping: { kind: 'user', source_key: '5', source_label: 'Chris Meyer', target_key: '4' },
    });
  });
  it('sets the pipeline default only where the group offers one', () => {
    expect(buildFix(projectGroup, { mode: 'default', target_key: '3' })).toEqual({ default: { option: 'default_project', target_key: '3' } });
    expect(buildFix(userGroup, { mode: 'default', target_key: '3' })).toBeNull();
  });
  it('needs a target, and retries only a target group', () => {
    expect(buildFix(userGroup, { mode: 'mapping', target_key: null })).toBeNull();
    expect(buildFix(userGroup, { mode: 'mapping', target_key: '' })).toBeNull();
    expect(buildFix(targetGroup, { mode: 'retry' })).toEqual({ retry: true });
    expect(buildFix(userGroup, { mode: 'retry' })).toBeNull();
    expect(buildFix(targetGroup, { mode: 'mapping', target_key: '1' })).toBeNull();
  });
  it('keys a fix independently of property order', () => {
    const a = buildFix(userGroup, { mode: 'mapping', target_key: '4', target_label: 'chris' });
    const b = { mapping: { target_label: 'chris', target_key: '4', source_label: 'Chris Meyer', source_key: '5', kind: 'user' as const } };
    expect(fixKey(a)).toBe(fixKey(b));
    expect(fixKey(a)).not.toBe(fixKey(buildFix(userGroup, { mode: 'mapping', target_key: '1' })));
    expect(fixKey(null)).toBe('');
  });
  it('offers skip and keep target for a whole group as allowed', () => {
    expect(groupResolveActions(['create', 'skip'])).toEqual(['skip']);
    expect(groupResolveActions(['keep_target', 'update', 'skip'])).toEqual(['skip', 'keep_target']);
    expect(groupResolveActions(['create'])).toEqual([]);
  });
});

describe('the preview', () => {
  it('sums up the non-zero outcomes in order', () => {
    expect(previewSummary({ conflict: 1, create: 3, update: 0, in_sync: 0, skip: 0 })).toEqual([
      { outcome: 'create', count: 3, words: 'to create' },
      { outcome: 'conflict', count: 1, words: 'still in conflict' },
    ]);
    expect(previewSummary({})).toEqual([]);
    expect(previewSummary({ create: 1, not_found: 2 }).map((x) => x.words)).toEqual(['to create', 'no longer in the source']);
  });
  it('tells whether applying clears the group', () => {
    expect(previewVerdict({ create: 3, conflict: 0 })).toBe('clears');
    expect(previewVerdict({ create: 3, conflict: 1 })).toBe('partly');
    expect(previewVerdict({ conflict: 2 })).toBe('nothing');
    expect(previewVerdict({})).toBe('clears');
  });
});

describe('the run that applies a fix', () => {
  it('knows when it has finished', () => {
    expect(runFinished('queued')).toBe(false);
    expect(runFinished('running')).toBe(false);
    expect(runFinished('succeeded')).toBe(true);
    expect(runFinished('partial')).toBe(true);
    expect(runFinished('failed')).toBe(true);
  });
  it('reports progress from the writing phase, else from its counts', () => {
    expect(runPercent(run({ status: 'running', progress: { phase: 'writing', done: 1, total: 4 } }))).toBe(25);
    expect(runPercent(run({ status: 'running', progress: { phase: 'reading_source', done: 0, total: 0 }, stats: { ...run().stats, created: 2 } }))).toBe(50);
    expect(runPercent(run({ status: 'queued', stats: { ...run().stats, fetched: 0, created: 0 } }))).toBe(0);
    expect(runPercent(run())).toBe(100);
  });
  it('names the run and what it wrote', () => {
    expect(appliedMessage(run(), '“Chris Meyer”')).toEqual({ ok: true, text: 'Run #12 fixed “Chris Meyer”: 3 created.' });
    expect(appliedMessage(run({ status: 'partial', stats: { ...run().stats, created: 2, conflicts: 1 } }), '“Chris Meyer”')).toEqual({
      ok: false,
      text: 'Run #12 partly fixed “Chris Meyer”: 2 created, 1 still in conflict.',
    });
    expect(appliedMessage(run({ status: 'failed', stats: { ...run().stats, created: 0 } }), 'the group').text).toBe('Run #12 failed fixing the group.');
  });
});
