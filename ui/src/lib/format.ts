/** Formatting helpers. Every time is shown in the browser's zone with the zone named. */

export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string, seconds: boolean): Intl.DateTimeFormat {
  const k = `${timeZone}|${seconds}`;
  let f = formatters.get(k);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      ...(seconds ? { second: '2-digit' as const } : {}),
      hourCycle: 'h23',
    });
    formatters.set(k, f);
  }
  return f;
}

/**
 * `2026-11-23T13:05:00Z` → `23 Nov 2026, 14:05 (Europe/Berlin)`.
 * Returns an em dash for null/empty and the raw input if it cannot be parsed.
 */
export function formatDateTime(
  value: string | null | undefined,
  timeZone: string = browserTimeZone(),
  opts: { seconds?: boolean } = {},
): string {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = formatter(timeZone, !!opts.seconds).formatToParts(d);
  } catch {
    timeZone = 'UTC'; // unknown zone name
    parts = formatter(timeZone, !!opts.seconds).formatToParts(d);
  }
  const get = (t: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === t)?.value ?? '';
  const time = `${get('hour')}:${get('minute')}${opts.seconds ? `:${get('second')}` : ''}`;
  return `${get('day')} ${get('month')} ${get('year')}, ${time} (${timeZone})`;
}

/** Seconds → `h:mm` (negative durations keep their sign: `-0:30`). */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const sign = seconds < 0 ? '-' : '';
  const abs = Math.abs(Math.round(seconds));
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  return `${sign}${h}:${String(m).padStart(2, '0')}`;
}

/** `2026-11-23` → `23 Nov 2026` (date only, no zone: contract dates are calendar dates in UTC). */
export function formatDate(value: string | null | undefined): string {
  if (!value) return '—';
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return value;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${Number(m[3])} ${months[Number(m[2]) - 1] ?? m[2]} ${m[1]}`;
}

/** Human label for snake_case codes: `duplicate_in_target` → `Duplicate in target`. */
export function humanize(code: string | null | undefined): string {
  if (!code) return '—';
  const s = code.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A `<input type="datetime-local">` value (local wall time) → RFC 3339 with offset, or undefined. */
export function localInputToRfc3339(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return undefined;
  return d.toISOString();
}

/** Today's date (UTC) minus n days as YYYY-MM-DD. */
export function utcDateDaysAgo(n: number, now: Date = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - n));
  return d.toISOString().slice(0, 10);
}
