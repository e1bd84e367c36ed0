import { useState } from 'react';
import { Link } from 'react-router-dom';
import type { RunItem } from '@/api/types';
import { Empty, OutcomeBadge } from '@/components/common';
import { Button } from '@/components/ui/button';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { Badge } from '@/components/ui/badge';
import { skipExplained } from '@/lib/entry';
import { humanize } from '@/lib/format';
import { describeApplied } from '@/lib/pipelineOptions';
import { outcomeFilters } from '@/lib/undo';
import { cn } from '@/lib/utils';

export function countOutcomes(items: RunItem[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const i of items) c[i.outcome] = (c[i.outcome] ?? 0) + 1;
  return c;
}

/**
 * Items of a run (or of a dry-run plan) with an outcome filter; `undo`: the items of an undo
 * run (or of its dry run), filtered by what an undo does.
 */
export function RunItemsTable({
  items,
  initialFilter = 'all',
  pageSize = 200,
  undo = false,
}: {
  items: RunItem[];
  initialFilter?: string;
  pageSize?: number;
  undo?: boolean;
}) {
  const [filter, setFilter] = useState<string>(initialFilter);
  const [shown, setShown] = useState(pageSize);
  const counts = countOutcomes(items);
  const visible = filter === 'all' ? items : items.filter((i) => i.outcome === filter);
  // skips left alone by rule (`skip_reason`: still running, user excluded, undone): one line each, above the rows
  const legend = new Map<string, string>();
  for (const i of visible) {
    const k = skipExplained(i);
    if (k) legend.set(k.label, k.hint);
  }
  return (
    <div className="grid gap-2">
      <div role="group" aria-label="Filter by outcome" className="flex flex-wrap gap-1.5">
        {['all', ...outcomeFilters(undo, counts)].map((o) => {
          const n = o === 'all' ? items.length : (counts[o] ?? 0);
          return (
            <Button
              key={o}
              size="sm"
              variant={filter === o ? 'default' : 'outline'}
              aria-pressed={filter === o}
              onClick={() => {
                setFilter(o);
                setShown(pageSize);
              }}
              className={cn(n === 0 && filter !== o && 'opacity-60')}
            >
              {o === 'all' ? 'All' : humanize(o)} ({n})
            </Button>
          );
        })}
      </div>
      {legend.size > 0 && (
        <ul aria-label="Why entries were skipped" className="grid gap-0.5 text-sm text-slate-700">
          {[...legend].map(([label, hint]) => (
            <li key={label}>
              <strong>{label}</strong>: {hint}
            </li>
          ))}
        </ul>
      )}
      {visible.length === 0 ? (
        <Empty title="No items with this outcome" />
      ) : (
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Source entry</TableHead>
              <TableHead>Outcome</TableHead>
              <TableHead>Target entry</TableHead>
              <TableHead>Reason / message</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {visible.slice(0, shown).map((i, idx) => {
              // skips left alone by rule, shown by their reason
              const known = skipExplained(i);
              return (
                <TableRow key={`${i.source_key}-${idx}`}>
                  <TableCell className="font-mono text-xs">{i.source_key}</TableCell>
                  <TableCell>
                    <OutcomeBadge outcome={i.outcome} />
                  </TableCell>
                  <TableCell className="font-mono text-xs">{i.target_id ?? '—'}</TableCell>
                  <TableCell className="text-sm">
                    {i.reason && <span className="font-medium">{humanize(i.reason)}</span>}
                    {i.reason && i.message && ' — '}
                    {known ? (
                      <Badge
                        variant={known.variant}
                        title={known.hint}
                      >
                        {known.label}
                      </Badge>
                    ) : (
                      i.message
                    )}
                    {i.conflict_id != null && (
                      <>
                        {' '}
                        <Link className="text-blue-700 underline" to={`/conflicts/${i.conflict_id}`}>
                          conflict #{i.conflict_id}
                        </Link>
                      </>
                    )}
                    {i.rounding && (
                      <Badge variant="info" title="What the pipeline’s rounding added to the source’s duration">
                        rounded {describeApplied(i.rounding)}
                      </Badge>
                    )}
                    {!i.reason && !i.message && i.conflict_id == null && !i.rounding && <span className="text-slate-500">—</span>}
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      )}
      {visible.length > shown && (
        <Button variant="outline" onClick={() => setShown((s) => s + pageSize)}>
          Show more ({visible.length - shown} remaining)
        </Button>
      )}
    </div>
  );
}
