import type { Entry } from '@/api/types';
import { formatDateTime, formatDuration } from '@/lib/format';

export function ticketLabel(e: Entry | null | undefined): string {
  if (!e?.ticket) return '';
  return `#${e.ticket.number} ${e.ticket.title}`;
}

/** One-line-ish summary of an entry for lists. */
export function EntrySummary({ entry }: { entry: Entry | null | undefined }) {
  if (!entry) return <span className="text-slate-500">—</span>;
  return (
    <div className="grid text-sm">
      <span className="font-medium">{ticketLabel(entry) || entry.description || `Entry ${entry.key}`}</span>
      <span className="text-xs text-slate-600">
        {entry.user?.name ?? entry.user?.email ?? 'unknown user'} · {formatDuration(entry.duration_seconds)} · {formatDateTime(entry.begin)}
      </span>
    </div>
  );
}
