import { useEffect, useRef, useState } from 'react';
import { fillDays, niceMax } from '@/lib/chart';
import { formatDate } from '@/lib/format';

/** Small accessible SVG bar chart of values per day. */
export function BarChart({
  items,
  days,
  formatValue,
  label,
  unit = 1,
}: {
  items: { date: string; value: number }[];
  days: number;
  formatValue: (v: number) => string;
  label: string;
  /** Round the axis in this unit (e.g. 3600 for hours). */
  unit?: number;
}) {
  const ref = useRef<HTMLElement>(null);
  const [W, setW] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver((entries) => {
      const w = Math.round(entries[0]?.contentRect.width ?? 600);
      if (w > 0) setW(w);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const data = fillDays(items, days);
  const max = niceMax(Math.max(0, ...data.map((d) => d.value)) / unit) * unit;
  const H = 180;
  const pad = { l: 44, r: 8, t: 8, b: 22 };
  const bw = (W - pad.l - pad.r) / data.length;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - Math.max(0, v) / max);
  const total = data.reduce((s, d) => s + Math.max(0, d.value), 0);
  return (
    <figure ref={ref}>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} className="block max-w-full" role="img" aria-label={`${label}: total ${formatValue(total)} over ${days} days`}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={pad.l} x2={W - pad.r} y1={y(max * f)} y2={y(max * f)} stroke="#e2e8f0" />
            <text x={pad.l - 6} y={y(max * f) + 4} textAnchor="end" fontSize="11" fill="#475569">
              {formatValue(max * f)}
            </text>
          </g>
        ))}
        {data.map((d, i) => {
          const h = H - pad.b - y(d.value);
          return (
            <rect key={d.date} x={pad.l + i * bw + 1} y={y(d.value)} width={Math.max(1, bw - 2)} height={Math.max(0, h)} rx="1.5" fill="#1d4ed8">
              <title>{`${formatDate(d.date)}: ${formatValue(d.value)}`}</title>
            </rect>
          );
        })}
        {data.length > 0 && (
          <>
            <text x={pad.l} y={H - 6} fontSize="11" fill="#475569">
              {formatDate(data[0]!.date)}
            </text>
            <text x={W - pad.r} y={H - 6} fontSize="11" fill="#475569" textAnchor="end">
              {formatDate(data[data.length - 1]!.date)}
            </text>
          </>
        )}
      </svg>
      <figcaption className="mt-1 text-xs text-slate-600">
        {label}, by UTC day. Total {formatValue(total)}.
      </figcaption>
    </figure>
  );
}
