/** Client-side form validation. Each rule returns an error message or undefined. */

export type Errors = Record<string, string | undefined>;

export function required(v: unknown, label = 'This field'): string | undefined {
  if (v === null || v === undefined) return `${label} is required`;
  if (typeof v === 'string' && v.trim() === '') return `${label} is required`;
  return undefined;
}

export function httpUrl(v: string): string | undefined {
  if (!v || !v.trim()) return undefined;
  try {
    const u = new URL(v.trim());
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'Must start with http:// or https://';
    if (!u.hostname) return 'Must be a valid URL';
    return undefined;
  } catch {
    return 'Must be a valid URL, e.g. https://time.example.com';
  }
}

export function positiveInt(v: string | number, label = 'Value'): string | undefined {
  const s = String(v).trim();
  if (s === '') return `${label} is required`;
  if (!/^\d+$/.test(s) || Number(s) < 1) return `${label} must be a whole number of at least 1`;
  if (Number(s) > Number.MAX_SAFE_INTEGER) return `${label} is too large`;
  return undefined;
}

export function positiveNumber(v: string | number, label = 'Value'): string | undefined {
  const s = String(v).trim();
  if (s === '') return `${label} is required`;
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) return `${label} must be a number greater than 0`;
  return undefined;
}

export function email(v: string): string | undefined {
  if (!v || !v.trim()) return 'E-mail address is required';
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.trim()) ? undefined : 'Must be a valid e-mail address';
}

export function hasErrors(e: Errors): boolean {
  return Object.values(e).some((x) => x !== undefined && x !== '');
}

/** Merge the server's field errors (details) over client ones. */
export function mergeErrors(client: Errors, server: Record<string, string> | undefined): Errors {
  return { ...client, ...(server ?? {}) };
}

/** Optional sync window: YYYY-MM-DD dates, `to` not before `from`. */
export function validateWindow(from: string, to: string): Record<string, string | undefined> {
  const re = /^\d{4}-\d{2}-\d{2}$/;
  const e: Record<string, string | undefined> = {};
  if (from && !re.test(from)) e.from = 'Use the format YYYY-MM-DD';
  if (to && !re.test(to)) e.to = 'Use the format YYYY-MM-DD';
  if (!e.from && !e.to && from && to && from > to) e.to = '“To” must not be before “from”';
  return e;
}
