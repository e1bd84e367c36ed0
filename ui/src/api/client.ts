/**
 * Fetch client for the timebridge API, typed end to end by the generated `paths` of
 * `schema.d.ts` (the server's own OpenAPI document): `api.get('/api/connectors/{id}', { params: { id } })`.
 * A path the server does not serve, a method it does not answer on that path, a missing or wrong
 * path parameter, query or body, and a misused answer are type errors.
 */
import type { paths } from './schema';

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

async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
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

// ---- the typed layer over the generated `paths`

/** The HTTP methods the UI uses (keys of a path item in `paths`). */
export type Method = 'get' | 'post' | 'put' | 'delete';
/** Path templates of the server's document that answer `M`, e.g. `'/api/connectors/{id}'`. */
export type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P] extends { [K in M]: object } ? P : never;
}[keyof paths];
/** The generated operation of `M` on `P`. */
export type Operation<P extends keyof paths, M extends Method> = paths[P] extends { [K in M]: infer O } ? O : never;

type Params<O> = O extends { parameters: infer X } ? X : never;
type Defined<T> = [Exclude<T, undefined>] extends [never] ? false : true;

/** Path parameters of `/{id}` templates: required exactly when the template has some. */
type PathInit<O> = Params<O> extends { path: infer X } ? (Defined<X> extends true ? { params: X } : { params?: never }) : { params?: never };
/** The operation's query, required only when one of its parameters is. */
type QueryInit<O> = Params<O> extends { query: infer X }
  ? { query: X }
  : Params<O> extends { query?: infer X }
    ? Defined<X> extends true
      ? { query?: Exclude<X, undefined> }
      : { query?: never }
    : { query?: never };
type JsonBody<R> = R extends { content: { 'application/json': infer B } } ? B : never;
/** The JSON request body: required when the document says so, absent when it has none. */
type BodyInit<O> = O extends { requestBody: infer R }
  ? { body: JsonBody<R> }
  : O extends { requestBody?: infer R }
    ? Defined<R> extends true
      ? { body?: JsonBody<Exclude<R, undefined>> }
      : { body?: never }
    : { body?: never };

/** The options of one call of `M` on `P`. */
export type Init<P extends keyof paths, M extends Method> = PathInit<Operation<P, M>> &
  QueryInit<Operation<P, M>> &
  BodyInit<Operation<P, M>> & {
    /** Do not trigger the global 401 redirect (login itself). */
    skipAuthRedirect?: boolean;
    signal?: AbortSignal;
  };
/** The query type of `M` on `P` (for hooks that pass filters through). */
export type QueryOf<P extends keyof paths, M extends Method = 'get'> = NonNullable<Params<Operation<P, M>> extends { query?: infer X } ? X : never>;

type SuccessStatus = 200 | 201 | 202 | 203 | 204 | 206;
type Content<R> = R extends { content: { 'application/json': infer T } }
  ? T
  : R extends { content: { [mime: string]: infer T } }
    ? T
    : undefined;
/** What `M` on `P` answers on success: the union of its 2xx bodies (`undefined` for 204). */
export type Answer<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { responses: infer R }
    ? { [S in keyof R]: S extends SuccessStatus ? Content<R[S]> : never }[keyof R]
    : never;

/** The init argument: optional when nothing in it is required. */
type InitArg<P extends keyof paths, M extends Method> = object extends Init<P, M> ? [init?: Init<P, M>] : [init: Init<P, M>];

/** Fills `{name}` of a path template from `params` (each value URI-encoded). */
export function fillPath(template: string, params: Record<string, string | number> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = params?.[name];
    if (v === undefined) throw new Error(`missing path parameter ${name} of ${template}`);
    return encodeURIComponent(String(v));
  });
}

function call<M extends Method>(method: M) {
  return <P extends PathsWith<M>>(path: P, ...[init]: InitArg<P, M>): Promise<Answer<P, M>> => {
    const o = (init ?? {}) as { params?: Record<string, string | number>; query?: Query; body?: unknown; skipAuthRedirect?: boolean; signal?: AbortSignal };
    return request<Answer<P, M>>(method.toUpperCase(), fillPath(path, o.params), {
      query: o.query,
      body: o.body,
      skipAuthRedirect: o.skipAuthRedirect,
      signal: o.signal,
    });
  };
}

/**
 * The URL of a GET for a link or download (CSV exports, the OAuth start), typed like `api.get`:
 * `href('/api/audit/export', { query })`.
 */
export function href<P extends PathsWith<'get'>>(path: P, ...[init]: InitArg<P, 'get'>): string {
  const o = (init ?? {}) as { params?: Record<string, string | number>; query?: Query };
  return fillPath(path, o.params) + buildQuery(o.query);
}

/** The API, one function per method; paths, parameters, bodies and answers come from `paths`. */
export const api = {
  get: call('get'),
  post: call('post'),
  put: call('put'),
  del: call('delete'),
};

/**
 * Takes an answer as the contract's narrower shape (`types.ts`, where the server's document is
 * looser: plain strings for enums, objects for entries). Only a subtype of the generated answer is
 * accepted, so a change of the document that the narrower shape no longer fits fails the typecheck:
 * `narrow(api.get('/api/conflicts/{id}', { params: { id } })).to<Conflict>()`.
 */
export function narrow<W>(answer: Promise<W>): { to: <N extends W>() => Promise<N> } {
  return { to: <N extends W>() => answer as Promise<N> };
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 429) return `${e.message} — too many requests; try again in ${e.retryAfter ?? 'a few'} seconds.`;
    return e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}
