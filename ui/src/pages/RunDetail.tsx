import { Link, useParams } from 'react-router-dom';
import { useRun } from '@/api/hooks';
import { DateTime, ErrorState, InlineError, Loading, PageHeader, RunStatusBadge, useTitle } from '@/components/common';
import { RunItemsTable } from '@/components/RunItems';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { formatDate, humanize } from '@/lib/format';

export function RunDetailPage() {
  const id = Number(useParams().id);
  useTitle(`Run #${id}`);
  const q = useRun(id);
  return (
    <div className="grid grid-cols-1 gap-4">
      <PageHeader
        title={`Run #${id}`}
        actions={
          <Button asChild variant="outline">
            <Link to="/sync">Back to sync</Link>
          </Button>
        }
      />
      {q.isPending ? (
        <Loading />
      ) : q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : (
        <>
          <Card>
            <CardHeader>
              <CardTitle className="flex flex-wrap items-center gap-2">
                <RunStatusBadge status={q.data.status} /> {humanize(q.data.trigger)} run{q.data.dry_run && ' (dry run — nothing written)'}
              </CardTitle>
            </CardHeader>
            <CardContent className="grid gap-3">
              <dl className="grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[auto_1fr]">
                <dt className="text-slate-600">Window</dt>
                <dd>
                  {formatDate(q.data.window.from)} – {formatDate(q.data.window.to)} (UTC)
                </dd>
                <dt className="text-slate-600">Started</dt>
                <dd>
                  <DateTime value={q.data.started_at} seconds />
                </dd>
                <dt className="text-slate-600">Finished</dt>
                <dd>
                  <DateTime value={q.data.finished_at} seconds />
                </dd>
              </dl>
              <ul className="grid grid-cols-2 gap-2 text-sm sm:grid-cols-4 lg:grid-cols-7">
                {Object.entries(q.data.stats).map(([k, v]) => (
                  <li key={k} className="rounded-md border border-slate-200 p-2">
                    <div className="text-xs text-slate-600">{humanize(k)}</div>
                    <div className="text-lg font-semibold tabular-nums">{v}</div>
                  </li>
                ))}
              </ul>
              {q.data.error && <InlineError error={new Error(q.data.error)} />}
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>Items</CardTitle>
            </CardHeader>
            <CardContent>
              <RunItemsTable items={q.data.items ?? []} />
            </CardContent>
          </Card>
        </>
      )}
    </div>
  );
}
