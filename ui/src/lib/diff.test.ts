import { describe, expect, it } from 'vitest';
import { computeDiff, diffFieldSet, displayFieldValue, displayValue, isFieldDifferent } from './diff';

describe('diff highlighting', () => {
  it('marks listed fields and their parents', () => {
    const s = diffFieldSet([{ field: 'duration_seconds', source: 3600, target: 1800 }, { field: 'user.email' }]);
    expect(isFieldDifferent(s, 'duration_seconds')).toBe(true);
    expect(isFieldDifferent(s, 'user')).toBe(true);
    expect(isFieldDifferent(s, 'user.email')).toBe(true);
    expect(isFieldDifferent(s, 'begin')).toBe(false);
    expect(isFieldDifferent(s, 'description')).toBe(false);
  });
  it('a parent diff marks children', () => {
    const s = diffFieldSet([{ field: 'project' }]);
    expect(isFieldDifferent(s, 'project.name')).toBe(true);
  });
  it('tolerates empty and malformed input', () => {
    expect(diffFieldSet(null).size).toBe(0);
    expect(diffFieldSet([{ field: 5 as unknown as string }]).size).toBe(0);
  });
  it('displays values', () => {
    expect(displayValue(null)).toBe('—');
    expect(displayValue({ key: '3', name: 'Support' })).toBe('Support');
    expect(displayValue(['a', 'b'])).toBe('a, b');
    expect(displayValue(false)).toBe('false');
    expect(displayValue('')).toBe('""');
  });
  it('computes a fallback diff by key and ignoring tag order', () => {
    const d = computeDiff(
      { duration_seconds: 60, project: { key: '1', name: 'A' }, tags: ['x', 'y'], description: 'a' },
      { duration_seconds: 120, project: { key: '1', name: 'A renamed' }, tags: ['y', 'x'], description: 'a' },
      ['duration_seconds', 'project', 'tags', 'description'],
    );
    expect(d.map((x) => x.field)).toEqual(['duration_seconds']);
  });
});

describe('diffs of running entries', () => {
  it('names running, a missing end and a missing duration', () => {
    expect(displayFieldValue('running', true)).toBe('running');
    expect(displayFieldValue('running', false)).toBe('ended');
    expect(displayFieldValue('end', null)).toBe('none yet (running)');
    expect(displayFieldValue('duration_seconds', null)).toBe('none yet (running)');
    expect(displayFieldValue('duration_seconds', 3600)).toBe('3600');
    expect(displayFieldValue('description', null)).toBe('—');
  });
});
