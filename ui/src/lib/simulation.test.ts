import { describe, expect, it } from 'vitest';
import { fieldCells, outcomeCounts, simulationRows, type SimChange } from './simulation';

const source = {
  key: 'ta-7',
  ticket: { number: '20041', title: 'Printer offline' },
  user: { key: '5', email: 'chris@example.com', name: 'Chris Meyer' },
  begin: '2026-03-02T09:00:00Z',
  end: '2026-03-02T09:30:00Z',
  duration_seconds: 1800,
};
const written = {
  customer: { key: '1', name: 'Acme GmbH' },
  project: { key: '1', name: 'Acme — Support' },
  activity: { key: '1', name: 'Support' },
  user: { key: '4', name: 'chris' },
  begin: '2026-03-02T09:00:00Z',
  end: '2026-03-02T09:30:00Z',
  duration_seconds: 1800,
  description: '#20041 Printer offline',
  billable: true,
  tags: ['billable'],
};

describe('rule simulator rows', () => {
  it('shows a conflict that a mapping turns into a create with the fields it would write, none marked', () => {
    const change: SimChange = {
      source_key: 'ta-7',
      source,
      before: { outcome: 'conflict', target: null, reason: 'unmapped_user' },
      after: { outcome: 'create', target: written, reason: null },
    };
    const [row] = simulationRows([change], 'UTC');
    expect(row!.title).toBe('#20041 Printer offline');
    expect(row!.detail).toBe('Chris Meyer · 2 Mar 2026, 09:00 (UTC) · 0:30');
    expect(row!.before).toEqual({ outcome: 'conflict', reason: 'unmapped_user' });
    expect(row!.after).toEqual({ outcome: 'create', reason: null });
    expect(row!.outcomeChanged).toBe(true);
    expect(row!.reasonChanged).toBe(true);
    const user = row!.fields.find((f) => f.field === 'user')!;
    expect(user).toMatchObject({ before: null, after: 'chris', changed: false });
    expect(row!.fields.every((f) => !f.changed && f.before === null)).toBe(true);
    expect(row!.fields.map((f) => f.field)).toEqual(['customer', 'project', 'activity', 'user', 'begin', 'end', 'duration_seconds', 'billable', 'description', 'tags']);
  });

  it('marks only the fields that differ between two written entries', () => {
    const cells = fieldCells(
      { outcome: 'in_sync', target: written },
      { outcome: 'update', target: { ...written, activity: { key: '2', name: 'Field service' }, billable: false, tags: ['billable'], end: '2026-03-02T09:45:00Z', duration_seconds: 2700 } },
      'UTC',
    );
    const changed = cells.filter((c) => c.changed).map((c) => c.field);
    expect(changed).toEqual(['activity', 'end', 'duration_seconds', 'billable']);
    expect(cells.find((c) => c.field === 'activity')).toMatchObject({ before: 'Support', after: 'Field service' });
    expect(cells.find((c) => c.field === 'duration_seconds')).toMatchObject({ before: '0:30', after: '0:45' });
    expect(cells.find((c) => c.field === 'billable')).toMatchObject({ before: 'yes', after: 'no' });
  });

  it('compares referenced items by key, tags as a set and times as instants', () => {
    const cells = fieldCells(
      { outcome: 'in_sync', target: { ...written, project: { key: '1', name: 'old name' }, tags: ['a', 'b'], begin: '2026-03-02T10:00:00+01:00' } },
      { outcome: 'update', target: { ...written, project: { key: '1', name: 'new name' }, tags: ['b', 'a'] } },
      'UTC',
    );
    expect(cells.filter((c) => c.changed)).toEqual([]);
  });

  it('leaves out fields neither side writes and has no fields when neither side writes', () => {
    const cells = fieldCells({ outcome: 'create', target: { user: { key: '1' }, description: null } }, { outcome: 'create', target: { user: { key: '2' } } });
    expect(cells.map((c) => c.field)).toEqual(['user']);
    expect(fieldCells({ outcome: 'conflict', reason: 'unmapped_user' }, { outcome: 'skip', target: null })).toEqual([]);
  });

  it('names an entry without ticket by its description or key, and one gone from the source', () => {
    const rows = simulationRows([
      { source_key: 'k1', source: { description: 'Call with Acme' }, before: { outcome: 'create' }, after: { outcome: 'skip' } },
      { source_key: 'k2', source: null, before: { outcome: 'conflict', reason: 'source_deleted' }, after: { outcome: 'conflict', reason: 'target_deleted' } },
    ]);
    expect(rows.map((r) => r.title)).toEqual(['Call with Acme', 'Entry k2']);
    expect(rows[1]!.detail).toBe('no longer in the source');
    expect(rows[1]!.outcomeChanged).toBe(false);
    expect(rows[1]!.reasonChanged).toBe(true);
  });

  it('counts outcomes in the order of the sync pages and leaves zero counts out', () => {
    expect(outcomeCounts({ conflict: 2, create: 5, skip: 0, in_sync: 1, weird: 1 })).toEqual([
      { outcome: 'create', count: 5 },
      { outcome: 'in_sync', count: 1 },
      { outcome: 'conflict', count: 2 },
      { outcome: 'weird', count: 1 },
    ]);
    expect(outcomeCounts(undefined)).toEqual([]);
  });
});
