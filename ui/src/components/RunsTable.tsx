import { Link } from 'react-router-dom';
import type { Run } from '@/api/types';
import { DateTime, RunStatusBadge } from '@/components/common';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { formatDate } from '@/lib/format';
import { triggerLabel } from '@/lib/undo';

export function RunsTable({ runs }: { runs: Run[] }) {
  return (
    <Table>
      <TableHeader>
        <TableRow>
          <TableHead>Run</TableHead>
          <TableHead>Status</TableHead>
          <TableHead>Started</TableHead>
          <TableHead className="hidden min-[1400px]:table-cell">Window</TableHead>
          <TableHead className="text-right">Fetched</TableHead>
          <TableHead className="text-right">Created</TableHead>
          <TableHead className="text-right">Updated</TableHead>
          <TableHead className="text-right">Conflicts</TableHead>
          <TableHead className="text-right">Errors</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {runs.map((r) => (
          <TableRow key={r.id}>
            <TableCell>
              <Link className="text-blue-700 underline" to={`/sync/runs/${r.id}`}>
                #{r.id}
              </Link>{' '}
              <span className="text-xs text-slate-600">
                {triggerLabel(r.trigger)}
                {r.undo_of != null && ` of #${r.undo_of}`}
                {r.dry_run && ' · dry run'}
              </span>
              {r.trigger === 'undo' && (
                <span className="block text-xs text-slate-600">
                  {r.stats.deleted} deleted · {r.stats.restored} restored
                </span>
              )}
              <span className="block text-xs text-slate-600 min-[1400px]:hidden">
                {formatDate(r.window.from)} – {formatDate(r.window.to)}
              </span>
            </TableCell>
            <TableCell>
              <RunStatusBadge status={r.status} />
            </TableCell>
            <TableCell className="whitespace-nowrap">
              <DateTime value={r.started_at} />
            </TableCell>
            <TableCell className="hidden whitespace-nowrap min-[1400px]:table-cell">
              {formatDate(r.window.from)} – {formatDate(r.window.to)}
            </TableCell>
            <TableCell className="text-right tabular-nums">{r.stats.fetched}</TableCell>
            <TableCell className="text-right tabular-nums">{r.stats.created}</TableCell>
            <TableCell className="text-right tabular-nums">{r.stats.updated}</TableCell>
            <TableCell className="text-right tabular-nums">{r.stats.conflicts}</TableCell>
            <TableCell className="text-right tabular-nums">{r.stats.errors}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
