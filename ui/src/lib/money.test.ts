import { describe, expect, it } from 'vitest';
import { formatMoney, monthLabel, monthOf } from './money';

describe('formatMoney', () => {
  it('writes amounts in their currency, to the cent', () => {
    expect(formatMoney(581.26, 'EUR')).toBe('€581.26');
    expect(formatMoney(1234.5, 'USD')).toBe('US$1,234.50');
  });
  it('writes amounts without a currency as plain numbers and a missing amount as a dash', () => {
    expect(formatMoney(80, null)).toBe('80.00');
    expect(formatMoney(null, 'EUR')).toBe('—');
  });
  it('keeps a code Intl does not know', () => {
    expect(formatMoney(10, 'not-a-code')).toBe('10.00 not-a-code');
  });
});

describe('months', () => {
  it('names the month of a date and reads YYYY-MM', () => {
    expect(monthOf(new Date(2026, 2, 31, 12))).toBe('2026-03');
    expect(monthLabel('2026-03')).toBe('March 2026');
    expect(monthLabel('soon')).toBe('soon');
  });
});
