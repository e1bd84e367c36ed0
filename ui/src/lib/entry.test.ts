import { describe, expect, it } from 'vitest';
import { formatEntryDuration, formatEntryEnd, isRunning, ruleLabel, skipExplained } from './entry';

const done = { begin: '2026-11-23T13:00:00Z', end: '2026-11-23T14:30:00Z', duration_seconds: 5400, running: false };
const running = { begin: '2026-11-23T13:00:00Z', end: null, duration_seconds: null, running: true };

describe('running entries', () => {
  it('knows a running entry by its flag, or by having neither end nor duration', () => {
    expect(isRunning(done)).toBe(false);
    expect(isRunning(running)).toBe(true);
    expect(isRunning({ begin: '2026-11-23T13:00:00Z', end: null, duration_seconds: null })).toBe(true);
    expect(isRunning({ begin: '2026-11-23T13:00:00Z', end: '2026-11-23T14:00:00Z', duration_seconds: 3600 })).toBe(false);
    expect(isRunning(null)).toBe(false);
  });
  it('formats the end', () => {
    expect(formatEntryEnd(done, 'UTC')).toBe('23 Nov 2026, 14:30 (UTC)');
    expect(formatEntryEnd(running, 'UTC')).toBe('running');
    expect(formatEntryEnd({ begin: null, end: null, running: false }, 'UTC')).toBe('—');
  });
  it('formats the duration, with the time so far when asked', () => {
    expect(formatEntryDuration(done)).toBe('1:30');
    expect(formatEntryDuration(running)).toBe('running');
    expect(formatEntryDuration(running, new Date('2026-11-23T14:05:00Z'))).toBe('running, 1:05 so far');
    // a clock behind the begin says nothing about the time so far
    expect(formatEntryDuration(running, new Date('2026-11-23T12:00:00Z'))).toBe('running');
    expect(formatEntryDuration({ duration_seconds: -1800, running: false, end: '2026-11-23T13:00:00Z' })).toBe('-0:30');
  });
});

describe('skip messages and rules', () => {
  it('explains the known skip messages of run items', () => {
    expect(skipExplained({ outcome: 'skip', skip_reason: 'still_running' })?.label).toBe('Still running');
    expect(skipExplained({ outcome: 'skip', skip_reason: 'user_excluded' })?.label).toBe('User excluded');
    expect(skipExplained({ outcome: 'skip', skip_reason: 'user_excluded' })?.hint).toMatch(/excluded from sync/);
    expect(skipExplained({ outcome: 'create', skip_reason: 'still_running' })).toBeNull();
    expect(skipExplained({ outcome: 'skip' })).toBeNull();
    expect(skipExplained({ outcome: 'skip', skip_reason: null })).toBeNull();
  });
  it('labels explanation rules', () => {
    expect(ruleLabel('name_match')).toBe('matched by name');
    expect(ruleLabel('excluded')).toBe('excluded from sync');
    expect(ruleLabel('email_match')).toBe('matched by e-mail');
    expect(ruleLabel('rounding')).toBe('pipeline rounding');
    expect(ruleLabel('something_new')).toBe('something new');
    expect(ruleLabel(undefined)).toBe('');
  });
});
