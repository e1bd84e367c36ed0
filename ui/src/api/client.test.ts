import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, buildQuery, extractFieldErrors, parseRetryAfter, request } from './client';
import { entriesPerDay, fillDays, niceMax } from '@/lib/chart';
import { runSequential } from '@/lib/bulk';

describe('api client helpers', () => {
  it('extracts field errors in several shapes', () => {
    expect(extractFieldErrors({ field: 'base_url' }, 'must be a URL')).toEqual({ base_url: 'must be a URL' });
    expect(extractFieldErrors({ fields: { name: 'required', x: ['a', 'b'] } })).toEqual({ name: 'required', x: 'a; b' });
    expect(extractFieldErrors({ window_days: 'must be positive', count: 3 })).toEqual({ window_days: 'must be positive' });
    expect(extractFieldErrors(undefined)).toEqual({});
  });
  it('parses Retry-After', () => {
    expect(parseRetryAfter('30')).toBe(30);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('garbage')).toBeNull();
  });
  it('builds queries without empty values', () => {
    expect(buildQuery({ a: 1, b: '', c: undefined, d: null, e: 'x y' })).toBe('?a=1&e=x+y');
    expect(buildQuery({})).toBe('');
  });
  it('field errors only for 400/422', () => {
    expect(new ApiError(409, 'c', 'm', { run_id: '5' }).fieldErrors).toEqual({});
    expect(new ApiError(422, 'c', 'm', { field: 'kind' }).fieldErrors).toEqual({ kind: 'm' });
  });
});

describe('request', () => {
  afterEach(() => vi.unstubAllGlobals());
  it('turns the error shape into ApiError with Retry-After', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'Too many attempts', details: {} } }), { status: 429, headers: { 'Retry-After': '42' } })),
    );
    const err = await request('POST', '/api/auth/login', { body: {}, skipAuthRedirect: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    expect((err as ApiError).retryAfter).toBe(42);
    expect((err as ApiError).code).toBe('rate_limited');
  });
  it('sends JSON with same-origin credentials and handles 204', async () => {
    const f = vi.fn(async () => new Response(null, { status: 204 }));
    vi.stubGlobal('fetch', f);
    await expect(request('POST', '/api/auth/logout', { body: { a: 1 }, skipAuthRedirect: true })).resolves.toBeUndefined();
    const calls = f.mock.calls as unknown as [string, RequestInit][];
    const init = calls[0]![1];
    expect(init.credentials).toBe('same-origin');
    expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });
});

describe('chart helpers', () => {
  it('fills missing days', () => {
    const d = fillDays([{ date: '2026-11-22', value: 60 }], 3, new Date('2026-11-23T10:00:00Z'));
    expect(d).toEqual([
      { date: '2026-11-21', value: 0 },
      { date: '2026-11-22', value: 60 },
      { date: '2026-11-23', value: 0 },
    ]);
  });
  it('nice maxima', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(3600 * 3)).toBe(20000);
  });
});

describe('fallback and bulk helpers', () => {
  it('counts entries written per day, ignoring dry runs', () => {
    const s = { created: 2, updated: 1 };
    expect(
      entriesPerDay([
        { dry_run: false, started_at: '2026-11-22T23:30:00Z', stats: s },
        { dry_run: true, started_at: '2026-11-22T10:00:00Z', stats: s },
        { dry_run: false, started_at: null, stats: s },
      ]),
    ).toEqual([{ date: '2026-11-22', value: 3 }]);
  });
  it('runs sequentially, collecting per-item errors and progress', async () => {
    const order: number[] = [];
    const progress: number[] = [];
    const res = await runSequential(
      [1, 2, 3],
      async (id) => {
        order.push(id);
        if (id === 2) throw new Error('already resolved');
      },
      (done) => progress.push(done),
    );
    expect(order).toEqual([1, 2, 3]);
    expect(progress).toEqual([1, 2, 3]);
    expect(res.ok).toEqual([1, 3]);
    expect(res.failed).toEqual([{ id: 2, error: 'already resolved' }]);
  });
  it('stops when asked', async () => {
    let n = 0;
    const res = await runSequential([1, 2, 3], async () => void n++, undefined, () => n >= 1);
    expect(res.ok).toEqual([1]);
  });
});
