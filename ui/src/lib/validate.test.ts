import { describe, expect, it } from 'vitest';
import { email, hasErrors, httpUrl, mergeErrors, positiveInt, positiveNumber, required, validateWindow } from './validate';

describe('form validation', () => {
  it('required', () => {
    expect(required('', 'Name')).toBe('Name is required');
    expect(required('   ', 'Name')).toBe('Name is required');
    expect(required(undefined)).toBeDefined();
    expect(required('x')).toBeUndefined();
    expect(required(0)).toBeUndefined();
  });
  it('URL', () => {
    expect(httpUrl('https://zammad.example.com')).toBeUndefined();
    expect(httpUrl('http://127.0.0.1:3000/')).toBeUndefined();
    expect(httpUrl('zammad.example.com')).toBeDefined();
    expect(httpUrl('ftp://x.org')).toBe('Must start with http:// or https://');
    expect(httpUrl('')).toBeUndefined();
  });
  it('positive integers', () => {
    expect(positiveInt('30')).toBeUndefined();
    expect(positiveInt(1)).toBeUndefined();
    expect(positiveInt('0')).toBeDefined();
    expect(positiveInt('-3')).toBeDefined();
    expect(positiveInt('1.5')).toBeDefined();
    expect(positiveInt('abc')).toBeDefined();
    expect(positiveInt('', 'Window')).toBe('Window is required');
  });
  it('positive numbers', () => {
    expect(positiveNumber('0.5')).toBeUndefined();
    expect(positiveNumber('0')).toBeDefined();
  });
  it('email', () => {
    expect(email('a@b.de')).toBeUndefined();
    expect(email('a@b')).toBeDefined();
    expect(email('')).toBeDefined();
  });
  it('error helpers', () => {
    expect(hasErrors({ a: undefined, b: '' })).toBe(false);
    expect(hasErrors({ a: 'x' })).toBe(true);
    expect(mergeErrors({ a: 'client' }, { a: 'server', b: 'y' })).toEqual({ a: 'server', b: 'y' });
  });
  it('sync window', () => {
    expect(validateWindow('', '')).toEqual({});
    expect(validateWindow('2026-11-02', '2026-11-01').to).toBeDefined();
    expect(validateWindow('2026-11-01', '2026-11-01').to).toBeUndefined();
  });
});
