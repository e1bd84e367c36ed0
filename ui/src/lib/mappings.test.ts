import { describe, expect, it } from 'vitest';
import { billableFromString, billableToString, draftsFrom, emailIndex, isExcluded, mappingBody, planMappingChanges, proposedMappings } from './mappings';

describe('mapping save plan', () => {
  const existing = [
    { id: 1, source_key: 'a', target_key: '10', billable: null },
    { id: 2, source_key: 'b', target_key: '20', billable: true },
    { id: 3, source_key: 'c', target_key: '30', billable: false },
  ];
  it('no changes → no ops', () => {
    expect(planMappingChanges(existing, draftsFrom(existing))).toEqual([]);
  });
  it('creates, updates and deletes', () => {
    const d = draftsFrom(existing);
    d.a = { target_key: '11', billable: null };
    d.b = { target_key: '20', billable: null };
    d.c = { target_key: null, billable: false };
    d.z = { target_key: '99', billable: true };
    d.y = { target_key: null, billable: null };
    expect(planMappingChanges(existing, d)).toEqual([
      { op: 'update', id: 1, source_key: 'a', target_key: '11', billable: null, sync: true },
      { op: 'update', id: 2, source_key: 'b', target_key: '20', billable: null, sync: true },
      { op: 'delete', id: 3, source_key: 'c' },
      { op: 'create', source_key: 'z', target_key: '99', billable: true, sync: true },
    ]);
  });
  it('stores an excluded person without a target, and includes them again', () => {
    const users = [
      { id: 7, source_key: 'u1', target_key: '1', billable: null, sync: true },
      { id: 8, source_key: 'u2', target_key: null, target_label: null, billable: null, sync: false },
    ];
    const d = draftsFrom(users);
    expect(d.u2).toEqual({ target_key: null, billable: null, sync: false });
    expect(isExcluded(d.u2)).toBe(true);
    expect(planMappingChanges(users, d)).toEqual([]);
    d.u1 = { ...d.u1!, sync: false };
    d.u3 = { target_key: null, billable: null, sync: false };
    d.u2 = { ...d.u2!, sync: true };
    expect(planMappingChanges(users, d)).toEqual([
      { op: 'update', id: 7, source_key: 'u1', target_key: '1', billable: null, sync: false },
      // included again without a target: nothing left to store
      { op: 'delete', id: 8, source_key: 'u2' },
      { op: 'create', source_key: 'u3', target_key: null, billable: null, sync: false },
    ]);
  });
  it('indexes e-mails case-insensitively', () => {
    const idx = emailIndex([{ key: '1', extra: { email: 'Anna@Example.com ' } }, { key: '2', extra: {} }, { key: '3', extra: { email: 'anna@example.com' } }]);
    expect(idx.get('anna@example.com')).toBe('1');
    expect(idx.size).toBe(1);
  });
  it('billable tri-state', () => {
    expect(billableToString(null)).toBe('inherit');
    expect(billableFromString('false')).toBe(false);
    expect(billableFromString('inherit')).toBeNull();
  });
});

describe('mapping bodies and proposals for the rule simulator', () => {
  const ctx = (kind: 'activity' | 'user') => ({
    pipelineId: 7,
    kind,
    sourceLabel: (k: string) => `src ${k}`,
    targetLabel: (k: string | null) => (k === null ? null : `tgt ${k}`),
  });
  it('builds the same body the save sends: billable only off user mappings, sync only on them', () => {
    expect(mappingBody({ op: 'create', source_key: 'a', target_key: '1', billable: true, sync: false }, ctx('activity'))).toEqual({
      pipeline_id: 7, kind: 'activity', source_key: 'a', source_label: 'src a', target_key: '1', target_label: 'tgt 1', billable: true, sync: true,
    });
    expect(mappingBody({ op: 'update', id: 3, source_key: 'u', target_key: null, billable: true, sync: false }, ctx('user'))).toEqual({
      pipeline_id: 7, kind: 'user', source_key: 'u', source_label: 'src u', target_key: null, target_label: null, billable: null, sync: false,
    });
  });
  it('turns the save plan into proposals: deletes leave the stored mapping out', () => {
    const existing = [{ id: 1, source_key: 'a', target_key: '10', billable: null }, { id: 2, source_key: 'b', target_key: '20', billable: null }];
    const d = draftsFrom(existing);
    d.a = { target_key: null, billable: null };
    d.b = { target_key: '21', billable: false };
    d.c = { target_key: '30', billable: null };
    const c = ctx('activity');
    expect(proposedMappings(planMappingChanges(existing, d), (op) => mappingBody(op, c))).toEqual([
      { id: 1, delete: true },
      { pipeline_id: 7, kind: 'activity', source_key: 'b', source_label: 'src b', target_key: '21', target_label: 'tgt 21', billable: false, sync: true },
      { pipeline_id: 7, kind: 'activity', source_key: 'c', source_label: 'src c', target_key: '30', target_label: 'tgt 30', billable: null, sync: true },
    ]);
  });
});
