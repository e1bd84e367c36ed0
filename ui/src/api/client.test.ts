import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, buildQuery, extractFieldErrors, fillPath, href, onRateLimited, onUnauthorized, parseRetryAfter } from './client';
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

type Call = [string, RequestInit];
const calls = (f: ReturnType<typeof vi.fn>) => f.mock.calls as unknown as Call[];
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

describe('the api client', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    onUnauthorized(() => {});
    onRateLimited(() => {});
  });
  it('turns the error shape into ApiError with Retry-After', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(429, { error: { code: 'rate_limited', message: 'Too many attempts', details: {} } }, { 'Retry-After': '42' })));
    const err = await api.post('/api/auth/login', { body: { username: 'admin', password: 'x' }, skipAuthRedirect: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    expect((err as ApiError).retryAfter).toBe(42);
    expect((err as ApiError).code).toBe('rate_limited');
  });
  it('sends JSON with same-origin credentials', async () => {
    const f = vi.fn(async () => json(200, { deleted: {} }));
    vi.stubGlobal('fetch', f);
    await expect(api.post('/api/gdpr/purge', { body: { email: 'a@example.com' } })).resolves.toEqual({ deleted: {} });
    const [url, init] = calls(f)[0]!;
    expect(url).toBe('/api/gdpr/purge');
    expect(init.method).toBe('POST');
    expect(init.credentials).toBe('same-origin');
    expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(init.body).toBe('{"email":"a@example.com"}');
  });
  it('answers undefined on 204 and sends no body when there is none', async () => {
    const f = vi.fn(async () => new Response(null, { status: 204 }));
    vi.stubGlobal('fetch', f);
    await expect(api.post('/api/auth/logout', { skipAuthRedirect: true })).resolves.toBeUndefined();
    const init = calls(f)[0]![1];
    expect(init.body).toBeUndefined();
    expect((init.headers as Record<string, string>)['Content-Type']).toBeUndefined();
  });
  it('fills path parameters, encoded, and appends the query without empty values', async () => {
    const f = vi.fn(async () => json(200, { items: [] }));
    vi.stubGlobal('fetch', f);
    await api.get('/api/connectors/{id}/catalog/{what}', { params: { id: 7, what: 'a b/c' } });
    await api.get('/api/mappings', { query: { pipeline_id: 3, kind: undefined, limit: 500 } });
    await api.del('/api/mappings/{id}', { params: { id: 9 } });
    expect(calls(f).map(([url, init]) => `${init.method} ${url}`)).toEqual([
      'GET /api/connectors/7/catalog/a%20b%2Fc',
      'GET /api/mappings?pipeline_id=3&limit=500',
      'DELETE /api/mappings/9',
    ]);
  });
  it('passes the abort signal on and lets an abort through as is', async () => {
    const f = vi.fn(async (_url: string, init: RequestInit) => {
      init.signal?.throwIfAborted();
      return json(200, {});
    });
    vi.stubGlobal('fetch', f);
    const c = new AbortController();
    c.abort();
    const err = await api.get('/api/health', { signal: c.signal }).catch((e: unknown) => e);
    expect(calls(f)[0]![1].signal).toBe(c.signal);
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe('AbortError');
  });
  it('reports an unreachable server as a network error', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('fetch failed'))));
    const err = await api.get('/api/health').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(0);
    expect((err as ApiError).code).toBe('network_error');
  });
  it('calls the 401 and 429 listeners unless told not to', async () => {
    const unauthorized = vi.fn();
    const limited = vi.fn();
    onUnauthorized(unauthorized);
    onRateLimited(limited);
    vi.stubGlobal('fetch', vi.fn(async () => json(401, { error: { code: 'unauthenticated', message: 'Log in' } })));
    await api.get('/api/auth/me').catch(() => undefined);
    await api.post('/api/auth/logout', { skipAuthRedirect: true }).catch(() => undefined);
    expect(unauthorized).toHaveBeenCalledTimes(1);
    vi.stubGlobal('fetch', vi.fn(async () => json(429, { error: { code: 'rate_limited', message: 'Slow down' } }, { 'Retry-After': '5' })));
    await api.get('/api/health').catch(() => undefined);
    expect(limited).toHaveBeenCalledTimes(1);
    expect((limited.mock.calls[0]![0] as ApiError).retryAfter).toBe(5);
  });
  it('keeps field errors of a 422 from the details', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(422, { error: { code: 'invalid', message: 'must be a URL', details: { field: 'base_url' } } })));
    const err = await api.post('/api/connectors', { body: { kind: 'kimai', name: 'K', base_url: 'x' } }).catch((e: unknown) => e);
    expect((err as ApiError).fieldErrors).toEqual({ base_url: 'must be a URL' });
  });
  it('builds link URLs with path parameters and the query', () => {
    expect(href('/api/connectors/{id}/oauth/start', { params: { id: 4 } })).toBe('/api/connectors/4/oauth/start');
    expect(href('/api/reports/money-at-risk', { query: { month: '2026-11', pipeline_id: undefined, format: 'csv' } })).toBe('/api/reports/money-at-risk?month=2026-11&format=csv');
    expect(href('/api/audit/export')).toBe('/api/audit/export');
  });
  it('refuses a path template without its parameters at run time too', () => {
    expect(() => fillPath('/api/connectors/{id}', {})).toThrow(/id/);
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
