/** Pure helpers for the dashboard's per-day bar chart. */

export interface DayValue {
  date: string; // YYYY-MM-DD
  value: number;
}

/** Fill missing days with 0 for the last `days` days ending at `end` (UTC dates). */
export function fillDays(items: { date: string; value: number }[], days: number, end: Date = new Date()): DayValue[] {
  const map = new Map<string, number>();
  for (const it of items) map.set(it.date, (map.get(it.date) ?? 0) + it.value);
  const out: DayValue[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate() - i));
    const key = d.toISOString().slice(0, 10);
    out.push({ date: key, value: map.get(key) ?? 0 });
  }
  return out;
}

/** Round a maximum up to a "nice" axis value (1, 2, 5 × 10^n). */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 5, 10]) if (m * exp >= max) return m * exp;
  return 10 * exp;
}

/** Fallback when the server has no per-day endpoint: entries written (created + updated) per UTC day of real runs. */
export function entriesPerDay(runs: { dry_run: boolean; started_at?: string | null; stats: { created: number; updated: number } }[]): DayValue[] {
  const out: DayValue[] = [];
  for (const r of runs) {
    if (r.dry_run || !r.started_at) continue;
    const d = new Date(r.started_at);
    if (Number.isNaN(d.getTime())) continue;
    out.push({ date: d.toISOString().slice(0, 10), value: r.stats.created + r.stats.updated });
  }
  return out;
}
