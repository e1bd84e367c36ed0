import { Link } from 'react-router-dom';
import { useConflicts, useHealth, useMoneyAtRisk, usePipelines, useSyncHistory, useSyncStatus } from '@/api/hooks';
import type { Pipeline } from '@/api/types';
import { BarChart } from '@/components/BarChart';
import { entriesPerDay } from '@/lib/chart';
import { DateTime, Empty, ErrorState, Loading, PageHeader, RunStatusBadge, useTitle } from '@/components/common';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { RunsTable } from '@/components/RunsTable';
import { formatDuration, humanize } from '@/lib/format';
import { formatMoney, monthLabel, monthOf } from '@/lib/money';


function HealthCard() {
  const h = useHealth();
  return (
    <Card>
      <CardHeader>
        <CardTitle>Health</CardTitle>
      </CardHeader>
      <CardContent>
        {h.isPending ? (
          <Loading />
        ) : h.error ? (
          <p className="text-sm text-red-800" role="alert">
            <Badge variant="danger">unhealthy</Badge> {h.error.message}
          </p>
        ) : (
          <dl className="grid grid-cols-2 gap-1 text-sm">
            <dt className="text-slate-600">Service</dt>
            <dd>
              <Badge variant={h.data.status === 'ok' ? 'success' : 'danger'}>{h.data.status}</Badge>
            </dd>
            <dt className="text-slate-600">Database</dt>
            <dd>
              <Badge variant={h.data.database === 'ok' ? 'success' : 'danger'}>{h.data.database}</Badge>
            </dd>
            <dt className="text-slate-600">Version</dt>
            <dd className="font-mono text-xs">{h.data.version}</dd>
          </dl>
        )}
      </CardContent>
    </Card>
  );
}

function PipelineStatus({ pipeline, multi }: { pipeline: Pipeline; multi: boolean }) {
  const s = useSyncStatus(pipeline.id);
  return (
    <div className="grid gap-1 text-sm">
      {multi && <p className="font-medium text-slate-900">{pipeline.name}</p>}
      {s.isPending ? (
        <Loading />
      ) : s.error ? (
        <ErrorState error={s.error} onRetry={() => void s.refetch()} />
      ) : (
        <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
          <dt className="text-slate-600">Now</dt>
          <dd>
            {s.data.running && s.data.current_run ? (
              <Link className="text-blue-700 underline" to={`/sync/runs/${s.data.current_run.id}`}>
                Run #{s.data.current_run.id} running — {s.data.current_run.stats.fetched} fetched
              </Link>
            ) : (
              'Idle'
            )}
          </dd>
          <dt className="text-slate-600">Next run</dt>
          <dd>{pipeline.enabled && pipeline.schedule.enabled ? <DateTime value={s.data.next_run_at} /> : 'Not scheduled'}</dd>
          <dt className="text-slate-600">Last run</dt>
          <dd>
            {s.data.last_run ? (
              <span className="flex flex-wrap items-center gap-2">
                <RunStatusBadge status={s.data.last_run.status} />
                <DateTime value={s.data.last_run.finished_at ?? s.data.last_run.started_at} />
              </span>
            ) : (
              'Never'
            )}
          </dd>
        </dl>
      )}
    </div>
  );
}

function StatusCard() {
  const p = usePipelines();
  return (
    <Card>
      <CardHeader>
        <CardTitle>Sync schedule</CardTitle>
      </CardHeader>
      <CardContent className="grid grid-cols-1 gap-4">
        {p.isPending ? (
          <Loading />
        ) : p.error ? (
          <ErrorState error={p.error} onRetry={() => void p.refetch()} />
        ) : p.data.items.length === 0 ? (
          <Empty title="No pipeline yet">
            <Link className="text-blue-700 underline" to="/pipelines/new">
              Create a pipeline
            </Link>{' '}
            after adding your connectors.
          </Empty>
        ) : (
          p.data.items.map((pl) => <PipelineStatus key={pl.id} pipeline={pl} multi={p.data.items.length > 1} />)
        )}
      </CardContent>
    </Card>
  );
}

function ConflictsCard() {
  const c = useConflicts({ status: 'open', limit: 500, offset: 0 });
  const groups = new Map<string, number>();
  for (const x of c.data?.items ?? []) groups.set(x.reason, (groups.get(x.reason) ?? 0) + 1);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Open conflicts</CardTitle>
      </CardHeader>
      <CardContent>
        {c.isPending ? (
          <Loading />
        ) : c.error ? (
          <ErrorState error={c.error} onRetry={() => void c.refetch()} />
        ) : c.data.total === 0 ? (
          <p className="text-sm text-green-800">Nothing needs a decision.</p>
        ) : (
          <>
            <p className="mb-2 text-sm text-slate-700">
              <strong className="text-2xl text-slate-900">{c.data.total}</strong> open
              {c.data.total > c.data.items.length && ` (breakdown of the newest ${c.data.items.length})`}
            </p>
            <ul className="grid gap-1 text-sm">
              {[...groups.entries()]
                .sort((a, b) => b[1] - a[1])
                .map(([reason, n]) => (
                  <li key={reason} className="flex justify-between gap-2">
                    <Link className="text-blue-700 underline" to={`/conflicts?status=open&reason=${reason}`}>
                      {humanize(reason)}
                    </Link>
                    <span className="tabular-nums">{n}</span>
                  </li>
                ))}
            </ul>
          </>
        )}
      </CardContent>
    </Card>
  );
}

/** This month's money at risk over every pipeline, linking to the report. */
function MoneyCard() {
  const month = monthOf();
  const m = useMoneyAtRisk({ month });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Money at risk</CardTitle>
      </CardHeader>
      <CardContent>
        {m.isPending ? (
          <Loading label="Reading both systems…" />
        ) : m.error ? (
          <ErrorState error={m.error} onRetry={() => void m.refetch()} />
        ) : (
          <div className="grid gap-1 text-sm" data-testid="money-card">
            <p className="text-slate-700">
              <strong className="text-2xl tabular-nums text-slate-900">{m.data.total === null ? formatDuration(m.data.totals.seconds_unsynced + m.data.totals.seconds_in_conflict) + ' h' : formatMoney(m.data.total, m.data.currency)}</strong>{' '}
              in {monthLabel(m.data.month)}
            </p>
            <p className="text-slate-600">
              {formatDuration(m.data.totals.seconds_unsynced)} h unsynced, {formatDuration(m.data.totals.seconds_in_conflict)} h in conflict
            </p>
            <Link className="text-blue-700 underline" to={`/reports/money-at-risk?month=${m.data.month}`}>
              By customer
            </Link>
          </div>
        )}
      </CardContent>
    </Card>
  );
}

/** Entries created or updated per day, from the run history (the API has no per-day
 * statistics route; the dashboard asks only for what the server serves). */
function HoursCard() {
  const history = useSyncHistory({ limit: 500, offset: 0 });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Entries written, last 30 days</CardTitle>
      </CardHeader>
      <CardContent>
        {history.isPending ? (
          <Loading />
        ) : history.data ? (
          <BarChart items={entriesPerDay(history.data.items)} days={30} formatValue={(v) => String(Math.round(v))} label="Entries created or updated in the target" />
        ) : (
          <p className="text-sm text-slate-600">Per-day totals are not available ({history.error?.message}).</p>
        )}
      </CardContent>
    </Card>
  );
}

export function DashboardPage() {
  useTitle('Dashboard');
  const h = useSyncHistory({ limit: 8, offset: 0 });
  return (
    <div className="grid grid-cols-1 gap-4">
      <PageHeader title="Dashboard" description="Is everything in sync, and what needs a decision?" />
      <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-4">
        <HealthCard />
        <StatusCard />
        <ConflictsCard />
        <MoneyCard />
      </div>
      <HoursCard />
      <Card>
        <CardHeader>
          <CardTitle>Last runs</CardTitle>
        </CardHeader>
        <CardContent>
          {h.isPending ? (
            <Loading />
          ) : h.error ? (
            <ErrorState error={h.error} onRetry={() => void h.refetch()} />
          ) : h.data.items.length === 0 ? (
            <Empty title="No runs yet">
              Start one on the <Link className="text-blue-700 underline" to="/sync">Sync</Link> page.
            </Empty>
          ) : (
            <RunsTable runs={h.data.items} />
          )}
        </CardContent>
      </Card>
    </div>
  );
}
