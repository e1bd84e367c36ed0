import type { Entry } from '@/api/types';
import { Badge } from '@/components/ui/badge';
import { formatEntryDuration, isRunning } from '@/lib/entry';
import { formatDateTime } from '@/lib/format';

export function ticketLabel(e: Entry | null | undefined): string {
  if (!e?.ticket) return '';
  return `#${e.ticket.number} ${e.ticket.title}`;
}

/** Marks an entry whose timer is still going (`running: true`, no end, no duration yet). */
export function RunningBadge({ className }: { className?: string }) {
  return (
    <Badge variant="info" className={className} title="The timer is still going: no end and no duration yet.">
      running
    </Badge>
  );
}

/** One-line-ish summary of an entry for lists. */
export function EntrySummary({ entry }: { entry: Entry | null | undefined }) {
  if (!entry) return <span className="text-slate-500">—</span>;
  const running = isRunning(entry);
  return (
    <div className="grid text-sm">
      <span className="font-medium">
        {ticketLabel(entry) || entry.description || `Entry ${entry.key}`}
        {running && <RunningBadge className="ml-1" />}
      </span>
      <span className="text-xs text-slate-600">
        {entry.user?.name ?? entry.user?.email ?? 'unknown user'} · {formatEntryDuration(entry)} · {formatDateTime(entry.begin)}
      </span>
    </div>
  );
}
