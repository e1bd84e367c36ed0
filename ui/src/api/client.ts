/** Thin typed fetch client for the timebridge API. */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  /** Field name → message, from `details` of a 400/422. */
  readonly fieldErrors: Record<string, string>;
  /** Seconds from `Retry-After` on a 429. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}, retryAfter: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
    this.fieldErrors = status === 400 || status === 422 ? extractFieldErrors(details, message) : {};
  }
}

/**
 * Accepts the shapes a server may use for field errors:
 * `{"field":"base_url"}` (with the message), `{"fields":{"base_url":"…"}}`, or `{"base_url":"…"}`.
 */
export function extractFieldErrors(details: Record<string, unknown> | null | undefined, message = 'Invalid value'): Record<string, string> {
  const out: Record<string, string> = {};
  if (!details || typeof details !== 'object') return out;
  if (typeof details.field === 'string') {
    out[details.field] = typeof details.reason === 'string' ? details.reason : message;
  }
  const nested = details.fields ?? details.errors;
  if (nested && typeof nested === 'object' && !Array.isArray(nested)) {
    for (const [k, v] of Object.entries(nested as Record<string, unknown>)) {
      out[k] = Array.isArray(v) ? v.map(String).join('; ') : String(v);
    }
  }
  for (const [k, v] of Object.entries(details)) {
    if (['field', 'fields', 'errors', 'reason'].includes(k)) continue;
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

export function parseRetryAfter(h: string | null): number | null {
  if (!h) return null;
  const n = Number(h);
  if (Number.isFinite(n)) return Math.max(0, Math.ceil(n));
  const t = Date.parse(h);
  if (!Number.isNaN(t)) return Math.max(0, Math.ceil((t - Date.now()) / 1000));
  return null;
}

type Listener = () => void;
let unauthorizedListener: Listener = () => {
  const here = window.location.pathname + window.location.search;
  if (!window.location.pathname.startsWith('/login')) {
    window.location.assign(`/login?next=${encodeURIComponent(here)}`);
  }
};
/** The app replaces the default hard redirect with a router navigation. */
export function onUnauthorized(fn: Listener): void {
  unauthorizedListener = fn;
}

type RateLimitListener = (err: ApiError) => void;
let rateLimitListener: RateLimitListener = () => {};
export function onRateLimited(fn: RateLimitListener): void {
  rateLimitListener = fn;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function buildQuery(q?: Query): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Do not trigger the global 401 redirect (login itself). */
  skipAuthRedirect?: boolean;
  signal?: AbortSignal;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(path + buildQuery(opts.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', 'The server could not be reached. Check your connection and that timebridge is running.');
  }
  const text = res.status === 204 ? '' : await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const e = (data && typeof data === 'object' && 'error' in data ? (data as { error: unknown }).error : null) as
      | { code?: string; message?: string; details?: Record<string, unknown> }
      | null;
    const err = new ApiError(
      res.status,
      e?.code ?? `http_${res.status}`,
      e?.message ?? (res.statusText || `Request failed with status ${res.status}`),
      e?.details ?? {},
      res.status === 429 ? parseRetryAfter(res.headers.get('Retry-After')) : null,
    );
    if (res.status === 401 && !opts.skipAuthRedirect) unauthorizedListener();
    if (res.status === 429 && !opts.skipAuthRedirect) rateLimitListener(err);
    throw err;
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }),
  post: <T>(path: string, body?: unknown, query?: Query) => request<T>('POST', path, { body, query }),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, { body }),
  del: <T = void>(path: string) => request<T>('DELETE', path),
};

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 429) return `${e.message} — too many requests; try again in ${e.retryAfter ?? 'a few'} seconds.`;
    return e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}
