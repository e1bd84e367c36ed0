import { describe, expect, it } from 'vitest';
import { formatDate, formatDateTime, formatDuration, humanize, localInputToRfc3339, utcDateDaysAgo } from './format';

describe('formatDateTime', () => {
  it('names the zone and converts into it', () => {
    expect(formatDateTime('2026-11-23T13:05:00Z', 'Europe/Berlin')).toBe('23 Nov 2026, 14:05 (Europe/Berlin)');
    expect(formatDateTime('2026-07-01T13:05:00Z', 'Europe/Berlin')).toBe('1 Jul 2026, 15:05 (Europe/Berlin)');
    expect(formatDateTime('2026-11-23T13:05:00Z', 'UTC')).toBe('23 Nov 2026, 13:05 (UTC)');
  });
  it('handles offsets, day changes and seconds', () => {
    expect(formatDateTime('2026-03-01T23:30:15+00:00', 'Asia/Tokyo', { seconds: true })).toBe('2 Mar 2026, 08:30:15 (Asia/Tokyo)');
    expect(formatDateTime('2026-03-01T09:30:00-05:00', 'America/New_York')).toBe('1 Mar 2026, 09:30 (America/New_York)');
  });
  it('uses 24-hour midnight as 00', () => {
    expect(formatDateTime('2026-01-01T00:00:00Z', 'UTC')).toBe('1 Jan 2026, 00:00 (UTC)');
  });
  it('falls back to UTC for an unknown zone', () => {
    expect(formatDateTime('2026-11-23T13:05:00Z', 'Mars/Olympus')).toBe('23 Nov 2026, 13:05 (UTC)');
  });
  it('returns a dash for empty and the input for garbage', () => {
    expect(formatDateTime(null)).toBe('—');
    expect(formatDateTime('')).toBe('—');
    expect(formatDateTime('not a date', 'UTC')).toBe('not a date');
  });
});

describe('formatDuration', () => {
  it('formats h:mm', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(59)).toBe('0:00');
    expect(formatDuration(60)).toBe('0:01');
    expect(formatDuration(5400)).toBe('1:30');
    expect(formatDuration(36000 + 540)).toBe('10:09');
    expect(formatDuration(100 * 3600)).toBe('100:00');
  });
  it('keeps negative corrections', () => {
    expect(formatDuration(-1800)).toBe('-0:30');
  });
  it('dash for missing', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});

describe('misc', () => {
  it('formats dates without zone shift', () => {
    expect(formatDate('2026-11-23')).toBe('23 Nov 2026');
    expect(formatDate(null)).toBe('—');
  });
  it('humanizes codes', () => {
    expect(humanize('duplicate_in_target')).toBe('Duplicate in target');
    expect(humanize('keep_target')).toBe('Keep target');
  });
  it('converts datetime-local input', () => {
    expect(localInputToRfc3339('')).toBeUndefined();
    expect(localInputToRfc3339('2026-11-23T10:00')).toMatch(/^2026-11-2\dT\d\d:00:00\.000Z$/);
  });
  it('computes UTC days ago', () => {
    expect(utcDateDaysAgo(1, new Date('2026-03-01T05:00:00Z'))).toBe('2026-02-28');
  });
});
