import { describe, expect, it } from 'vitest';
import { skipExplained } from './entry';
import {
  canUndo,
  describeUndoPreview,
  outcomeFilters,
  runStatKeys,
  runStatLabel,
  triggerLabel,
  undoConfirmLabel,
  undoSummary,
  whyNotUndoable,
} from './undo';

const finished = { trigger: 'manual', dry_run: false, status: 'succeeded', undone_by: null };

describe('whether a run can be undone', () => {
  it('offers the undo for a finished real run that is not undone, whatever its outcome', () => {
    expect(canUndo(finished)).toBe(true);
    expect(canUndo({ ...finished, status: 'partial', trigger: 'schedule' })).toBe(true);
    expect(canUndo({ ...finished, status: 'failed', trigger: 'resolution', undone_by: undefined })).toBe(true);
  });
  it('does not offer it for a dry run, a run still going, an undo or a run already undone, and says which', () => {
    expect(whyNotUndoable({ ...finished, dry_run: true })).toBe('dry_run');
    expect(whyNotUndoable({ ...finished, status: 'queued' })).toBe('not_finished');
    expect(whyNotUndoable({ ...finished, status: 'running' })).toBe('not_finished');
    expect(whyNotUndoable({ ...finished, trigger: 'undo' })).toBe('undo');
    expect(whyNotUndoable({ ...finished, undone_by: 12 })).toBe('undone');
    expect(canUndo({ ...finished, undone_by: 12 })).toBe(false);
  });
});

describe('the summary of an undo’s dry run', () => {
  const items = (...outcomes: string[]) => outcomes.map((outcome) => ({ outcome }));
  it('counts what would be deleted, written back and left as a conflict', () => {
    const s = undoSummary(items('delete', 'delete', 'restore', 'conflict', 'skip', 'delete', 'error'));
    expect(s).toEqual({ deleted: 3, restored: 1, conflicts: 1, skipped: 1, errors: 1, takenBack: 4 });
    expect(describeUndoPreview(s)).toBe('Undoing would delete 3 entries, write back 1 and leave 1 conflict (changed since the run wrote them).');
    expect(undoConfirmLabel(s)).toBe('Undo 4 entries');
  });
  it('speaks of one entry in the singular and leaves out conflicts when there are none', () => {
    const s = undoSummary(items('delete'));
    expect(describeUndoPreview(s)).toBe('Undoing would delete 1 entry, write back 0.');
    expect(undoConfirmLabel(s)).toBe('Undo 1 entry');
  });
  it('says when there is nothing to take back', () => {
    const s = undoSummary(items('skip'));
    expect(s.takenBack).toBe(0);
    expect(describeUndoPreview(s)).toMatch(/^Nothing to take back/);
  });
});

describe('labels of undo runs and their items', () => {
  it('names the undo trigger', () => {
    expect(triggerLabel('undo')).toBe('Undo');
    expect(triggerLabel('manual')).toBe('Manual');
  });
  it('shows what an undo run deleted and wrote back instead of what it created', () => {
    const zero = { fetched: 4, in_sync: 0, created: 0, updated: 0, skipped: 0, conflicts: 1, errors: 0, deleted: 2, restored: 1 };
    expect(runStatKeys({ trigger: 'undo', stats: zero })).toEqual(['fetched', 'deleted', 'restored', 'conflicts', 'skipped', 'errors']);
    expect(runStatKeys({ trigger: 'manual', stats: { ...zero, deleted: 0, restored: 0 } })).not.toContain('deleted');
    expect(runStatLabel('undo', 'fetched')).toBe('Entries of the run');
    expect(runStatLabel('undo', 'deleted')).toBe('Deleted');
    expect(runStatLabel('manual', 'in_sync')).toBe('In sync');
  });
  it('offers the undo outcomes as filters for undo runs, and for other runs only when their items have them', () => {
    expect(outcomeFilters(true, {})).toEqual(['delete', 'restore', 'conflict', 'skip', 'error']);
    expect(outcomeFilters(false, { create: 2 })).toEqual(['in_sync', 'create', 'update', 'skip', 'conflict', 'error']);
    expect(outcomeFilters(false, { restore: 1 })).toContain('restore');
  });
  it('marks skips of undone entries by their reason, and only those', () => {
    expect(skipExplained({ outcome: 'skip', skip_reason: 'undone' })?.label).toBe('Undone — written again when the source changes');
    expect(skipExplained({ outcome: 'skip', skip_reason: 'undone' })?.variant).toBe('warning');
    expect(skipExplained({ outcome: 'conflict', skip_reason: 'undone' })).toBeNull();
    // "not undone: …" items of an undo run carry no reason: a plain message.
    expect(skipExplained({ outcome: 'skip', skip_reason: null })).toBeNull();
    expect(skipExplained({ outcome: 'skip', skip_reason: 'still_running' })?.label).toBe('Still running');
  });
});
