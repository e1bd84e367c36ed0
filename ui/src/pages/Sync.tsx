import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { Eye, Play } from 'lucide-react';
import { api, ApiError } from '@/api/client';
import { useManualSync, useSyncHistory, useSyncStatus } from '@/api/hooks';
import type { Pipeline, RunDetail } from '@/api/types';
import { DateTime, Empty, ErrorState, InlineError, Loading, PageHeader, Pagination, RunStatusBadge, useTitle } from '@/components/common';
import { RunItemsTable, countOutcomes } from '@/components/RunItems';
import { RunsTable } from '@/components/RunsTable';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Field, Input } from '@/components/ui/input';
import { toast } from '@/components/ui/toast';
import { formatDate, humanize, utcDateDaysAgo } from '@/lib/format';
import { PipelinePicker, usePipelineChoice } from '@/pages/Mappings';
import { validateWindow } from '@/lib/validate';

function runningMessage(e: unknown): { text: string; runId?: number } | null {
  if (e instanceof ApiError && e.status === 409) {
    const id = Number(e.details.run_id ?? e.details.id);
    return { text: 'A run of this pipeline is already in progress.', runId: Number.isFinite(id) && id > 0 ? id : undefined };
  }
  return null;
}

const PHASES: Record<string, string> = {
  recovering: 'Recovering an interrupted run',
  reading_source: 'Reading the source',
  reading_target: 'Reading the target',
  planning: 'Planning',
  writing: 'Writing to the target',
};

function LiveStatus({ pipeline, fast }: { pipeline: Pipeline; fast: boolean }) {
  const s = useSyncStatus(pipeline.id, { fast, idleMs: 10_000 });
  const qc = useQueryClient();
  const running = !!s.data?.running;
  // Changes whenever a run starts, advances to another status or finishes — also when a short run
  // started and finished between two polls (then `running` alone never changes).
  const stamp = s.data
    ? `${running}|${s.data.current_run?.id ?? ''}:${s.data.current_run?.status ?? ''}|${s.data.last_run?.id ?? ''}:${s.data.last_run?.status ?? ''}`
    : '';
  const lastStamp = useRef('');
  useEffect(() => {
    if (!stamp) return;
    if (lastStamp.current && lastStamp.current !== stamp) {
      // a run started or finished: refresh history, conflicts and the dashboard
      void qc.invalidateQueries({ queryKey: ['sync-history'] });
      void qc.invalidateQueries({ queryKey: ['conflicts'] });
      void qc.invalidateQueries({ queryKey: ['stats-daily'] });
    }
    lastStamp.current = stamp;
  }, [stamp, qc]);
  if (s.isPending) return <Loading />;
  if (s.error) return <ErrorState error={s.error} onRetry={() => void s.refetch()} />;
  const run = s.data.current_run;
  if (!s.data.running || !run)
    return (
      <div className="grid gap-1 text-sm text-slate-700">
        <p>No run in progress.</p>
        <p>
          Next scheduled run: {pipeline.enabled && pipeline.schedule.enabled ? <DateTime value={s.data.next_run_at} /> : 'not scheduled'}
        </p>
        {s.data.last_run && (
          <p className="flex flex-wrap items-center gap-2">
            Last run:{' '}
            <Link className="text-blue-700 underline" to={`/sync/runs/${s.data.last_run.id}`}>
              #{s.data.last_run.id}
            </Link>
            <RunStatusBadge status={s.data.last_run.status} /> <DateTime value={s.data.last_run.finished_at ?? s.data.last_run.started_at} />
          </p>
        )}
      </div>
    );
  const st = run.stats;
  // `progress` ({phase, done, total}) is reported when the run executes in the answering process.
  const progress = s.data.progress;
  const processed = progress ? progress.done : st.in_sync + st.created + st.updated + st.skipped + st.conflicts + st.errors + st.deleted + st.restored;
  const total = progress ? progress.total : st.fetched;
  const pct = total > 0 ? Math.min(100, Math.round((processed / total) * 100)) : 0;
  return (
    <div className="grid gap-2 text-sm" aria-live="polite">
      <p className="flex flex-wrap items-center gap-2">
        <RunStatusBadge status={run.status} />
        <Link className="text-blue-700 underline" to={`/sync/runs/${run.id}`}>
          Run #{run.id}
        </Link>
        <span>{run.dry_run ? '(dry run) started' : 'started'}</span>
        <DateTime value={run.started_at} />
      </p>
      <div className="h-2 w-full overflow-hidden rounded bg-slate-200" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label="Run progress">
        <div className="h-full bg-blue-700 transition-all" style={{ width: `${pct}%` }} />
      </div>
      <p className="text-slate-700">
        {progress ? (
          <>
            {PHASES[progress.phase] ?? humanize(progress.phase)}
            {progress.total > 0 && ` · ${progress.done} of ${progress.total} decisions applied`}
          </>
        ) : (
          <>
            {processed} of {st.fetched} fetched entries processed · {st.created} created · {st.updated} updated · {st.conflicts} conflicts · {st.errors} errors
          </>
        )}
      </p>
    </div>
  );
}

function Plan({ run, onRunForReal, pending }: { run: RunDetail; onRunForReal: () => void; pending: boolean }) {
  const c = countOutcomes(run.items);
  const writes = (c.create ?? 0) + (c.update ?? 0);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Preview: what a sync would do</CardTitle>
        <CardDescription>
          Window {formatDate(run.window.from)} – {formatDate(run.window.to)}. Nothing has been written yet.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <ul className="flex flex-wrap gap-3 text-sm">
          <li>
            <strong>{c.create ?? 0}</strong> to create
          </li>
          <li>
            <strong>{c.update ?? 0}</strong> to update
          </li>
          <li>
            <strong>{c.conflict ?? 0}</strong> conflicts
          </li>
          <li>
            <strong>{c.in_sync ?? 0}</strong> already in sync
          </li>
          <li>
            <strong>{c.skip ?? 0}</strong> skipped
          </li>
          <li>
            <strong>{c.error ?? 0}</strong> errors
          </li>
        </ul>
        {run.error && <InlineError error={new Error(run.error)} />}
        <RunItemsTable items={run.items.filter((i) => i.outcome !== 'in_sync')} />
        <div className="flex flex-wrap items-center gap-2 border-t border-slate-200 pt-3">
          <Button onClick={onRunForReal} disabled={pending}>
            <Play aria-hidden="true" /> {pending ? 'Starting…' : `Run it for real (${writes} write${writes === 1 ? '' : 's'})`}
          </Button>
          <span className="text-xs text-slate-600">The real run plans again, so the result may differ if data changed meanwhile.</span>
        </div>
      </CardContent>
    </Card>
  );
}

export function SyncPage() {
  useTitle('Sync');
  const { pipelines, selected, select } = usePipelineChoice();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [errors, setErrors] = useState<Record<string, string | undefined>>({});
  const [plan, setPlan] = useState<RunDetail | null>(null);
  const [offset, setOffset] = useState(0);
  const [fastUntil, setFastUntil] = useState(0);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (fastUntil <= now) return;
    const t = window.setTimeout(() => setNow(Date.now()), fastUntil - now + 50);
    return () => window.clearTimeout(t);
  }, [fastUntil, now]);
  const preview = useManualSync();
  const run = useManualSync();
  const history = useSyncHistory({ pipeline_id: selected?.id, limit: 20, offset });

  if (pipelines.isPending) return <Loading />;
  if (pipelines.error) return <ErrorState error={pipelines.error} onRetry={() => void pipelines.refetch()} />;
  if (!selected)
    return (
      <div>
        <PageHeader title="Sync" />
        <Empty title="No pipeline yet">
          <Link className="text-blue-700 underline" to="/pipelines/new">Create a pipeline</Link> first.
        </Empty>
      </div>
    );

  const body = () => ({ pipeline_id: selected.id, ...(from ? { from } : {}), ...(to ? { to } : {}) });
  const check = () => {
    const e = validateWindow(from, to);
    setErrors(e);
    return !Object.values(e).some(Boolean);
  };
  const doPreview = (e?: FormEvent) => {
    e?.preventDefault();
    if (!check()) return;
    setPlan(null);
    preview.mutate(
      { body: { ...body(), dry_run: true }, wait: true },
      {
        onSuccess: async (r) => {
          // with ?wait=true the answer is the finished run (200), which may come without its
          // items: fetch them from the run detail
          if (!('id' in r)) return;
          if (Array.isArray(r.items)) setPlan(r);
          else setPlan(await api.get('/api/sync/runs/{id}', { params: { id: r.id } }));
        },
      },
    );
  };
  const doRun = () => {
    if (!check()) return;
    run.mutate(
      { body: { ...body(), dry_run: false }, wait: false },
      {
        onSuccess: (r) => {
          setPlan(null);
          const t = Date.now();
          setNow(t);
          setFastUntil(t + 15_000);
          const id = 'run_id' in r ? r.run_id : undefined;
          toast({ variant: 'success', title: 'Sync started', description: id ? `Run #${id} — progress is shown below.` : undefined });
        },
      },
    );
  };
  const busy = runningMessage(run.error) ?? runningMessage(preview.error);

  return (
    <div className="grid grid-cols-1 gap-4">
      <PageHeader
        title="Sync"
        description="Run a sync now, or preview what it would do without writing anything."
        actions={<PipelinePicker list={pipelines.data.items} selected={selected} onSelect={select} />}
      />
      <Card>
        <CardHeader>
          <CardTitle>Start a run</CardTitle>
          <CardDescription>Leave the dates empty to use the pipeline's window (last {selected.window_days} days). Dates are calendar days in UTC, inclusive.</CardDescription>
        </CardHeader>
        <CardContent>
          <form onSubmit={doPreview} noValidate className="grid gap-3 sm:grid-cols-[1fr_1fr_auto] sm:items-end">
            <Field id="from" label="From (UTC date)" error={errors.from}>
              <Input type="date" value={from} max={utcDateDaysAgo(0)} onChange={(e) => setFrom(e.target.value)} />
            </Field>
            <Field id="to" label="To (UTC date)" error={errors.to}>
              <Input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
            </Field>
            <div className="flex flex-wrap gap-2">
              <Button type="submit" variant="outline" disabled={preview.isPending}>
                <Eye aria-hidden="true" /> {preview.isPending ? 'Planning…' : 'Preview (dry run)'}
              </Button>
              <Button onClick={doRun} disabled={run.isPending}>
                <Play aria-hidden="true" /> {run.isPending ? 'Starting…' : 'Run now'}
              </Button>
            </div>
          </form>
          <div className="mt-3 grid gap-2">
            {busy ? (
              <p role="alert" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900">
                {busy.text}{' '}
                {busy.runId && (
                  <Link className="underline" to={`/sync/runs/${busy.runId}`}>
                    Open run #{busy.runId}
                  </Link>
                )}
              </p>
            ) : (
              <>
                <InlineError error={preview.error} />
                <InlineError error={run.error} />
              </>
            )}
          </div>
        </CardContent>
      </Card>
      {preview.isPending && <Loading label="Planning the dry run — this fetches both sides and may take a moment…" />}
      {plan && <Plan run={plan} onRunForReal={doRun} pending={run.isPending} />}
      <Card>
        <CardHeader>
          <CardTitle>Current run</CardTitle>
        </CardHeader>
        <CardContent>
          <LiveStatus pipeline={selected} fast={fastUntil > now} />
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>History</CardTitle>
        </CardHeader>
        <CardContent>
          {history.isPending ? (
            <Loading />
          ) : history.error ? (
            <ErrorState error={history.error} onRetry={() => void history.refetch()} />
          ) : history.data.items.length === 0 ? (
            <Empty title="No runs yet" />
          ) : (
            <>
              <RunsTable runs={history.data.items} />
              <Pagination total={history.data.total} limit={20} offset={offset} onChange={setOffset} />
            </>
          )}
        </CardContent>
      </Card>
    </div>
  );
}
