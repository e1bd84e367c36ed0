import { Link, useNavigate, useParams } from 'react-router-dom';
import { Undo2, X } from 'lucide-react';
import { ApiError } from '@/api/client';
import { useRun, useUndoRun } from '@/api/hooks';
import type { RunDetail } from '@/api/types';
import { DateTime, ErrorState, InlineError, Loading, PageHeader, RunStatusBadge, useTitle } from '@/components/common';
import { RunItemsTable } from '@/components/RunItems';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { toast } from '@/components/ui/toast';
import { formatDate } from '@/lib/format';
import { canUndo, describeUndoPreview, runStatKeys, runStatLabel, triggerLabel, undoConfirmLabel, undoSummary } from '@/lib/undo';

export function RunDetailPage() {
  const id = Number(useParams().id);
  // keyed: an undo started here opens the undo run on this page, with none of this run's state
  return <RunDetailView key={id} id={id} />;
}

function RunLink({ id }: { id: number }) {
  return (
    <Link className="text-blue-700 underline" to={`/sync/runs/${id}`}>
      run #{id}
    </Link>
  );
}

/** A refused undo: the server's message, and the undo run when the run is already undone. */
function UndoError({ error }: { error: unknown }) {
  if (!error) return null;
  const undoRun = error instanceof ApiError && error.code === 'already_undone' ? Number(error.details.undo_run_id) : NaN;
  return (
    <div className="grid gap-1">
      <InlineError error={error} />
      {Number.isFinite(undoRun) && undoRun > 0 && (
        <p className="text-sm">
          Open the undo: <RunLink id={undoRun} />
        </p>
      )}
    </div>
  );
}

/** What undoing the run would do (a dry run of the undo), with the confirmation. */
function UndoPreview({ runId, plan, onConfirm, onCancel, pending }: { runId: number; plan: RunDetail; onConfirm: () => void; onCancel: () => void; pending: boolean }) {
  const s = undoSummary(plan.items);
  return (
    <Card role="region" aria-label="Undo preview">
      <CardHeader>
        <CardTitle>Preview: undoing run #{runId}</CardTitle>
        <CardDescription>
          Nothing has been changed yet. Each entry is taken back only where the target still holds what run #{runId} wrote; an entry changed since is
          left as it is and becomes a conflict.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <ul className="flex flex-wrap gap-3 text-sm" aria-label="What the undo would do">
          <li>
            <strong>{s.deleted}</strong> to delete
          </li>
          <li>
            <strong>{s.restored}</strong> to write back
          </li>
          <li>
            <strong>{s.conflicts}</strong> conflicts
          </li>
          {s.skipped > 0 && (
            <li>
              <strong>{s.skipped}</strong> skipped
            </li>
          )}
          {s.errors > 0 && (
            <li>
              <strong>{s.errors}</strong> errors
            </li>
          )}
        </ul>
        <p className="text-sm text-slate-700">{describeUndoPreview(s)}</p>
        {plan.error && <InlineError error={new Error(plan.error)} />}
        <RunItemsTable items={plan.items} undo />
        <div className="flex flex-wrap items-center gap-2 border-t border-slate-200 pt-3">
          <Button variant="destructive" onClick={onConfirm} disabled={pending || s.takenBack === 0}>
            <Undo2 aria-hidden="true" /> {pending ? 'Starting…' : undoConfirmLabel(s)}
          </Button>
          <Button variant="outline" onClick={onCancel} disabled={pending}>
            <X aria-hidden="true" /> Cancel
          </Button>
          <span className="text-xs text-slate-600">
            The undo decides again when it runs, so the result may differ if entries changed meanwhile. The next syncs leave the undone entries
            alone until they change in the source.
          </span>
        </div>
      </CardContent>
    </Card>
  );
}

function RunDetailView({ id }: { id: number }) {
  useTitle(`Run #${id}`);
  const q = useRun(id);
  const navigate = useNavigate();
  const { preview, undo } = useUndoRun(id);
  // with ?wait=true the answer is the finished dry run (200), not the queued one (202)
  const plan = preview.data && 'id' in preview.data ? preview.data : undefined;
  const startPreview = () => {
    undo.reset();
    preview.mutate();
  };
  const confirm = () =>
    undo.mutate(undefined, {
      onSuccess: (r) => {
        // 202: the queued undo run (a finished one only answers ?wait=true)
        const run_id = 'run_id' in r ? r.run_id : r.id;
        toast({ variant: 'success', title: 'Undo started', description: `Run #${run_id} takes back what run #${id} wrote.` });
        navigate(`/sync/runs/${run_id}`);
      },
    });
  const offered = q.data ? canUndo(q.data) : false;
  return (
    <div className="grid grid-cols-1 gap-4">
      <PageHeader
        title={`Run #${id}`}
        actions={
          <>
            {offered && !plan && (
              <Button variant="outline" onClick={startPreview} disabled={preview.isPending}>
                <Undo2 aria-hidden="true" /> {preview.isPending ? 'Checking…' : 'Undo this run'}
              </Button>
            )}
            <Button asChild variant="outline">
              <Link to="/sync">Back to sync</Link>
            </Button>
          </>
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
                <RunStatusBadge status={q.data.status} /> {triggerLabel(q.data.trigger)} run{q.data.dry_run && ' (dry run — nothing written)'}
              </CardTitle>
              {q.data.undo_of != null && (
                <CardDescription>
                  Undo of <RunLink id={q.data.undo_of} />: deletes what it created and writes back what it updated.
                </CardDescription>
              )}
              {q.data.undone_by != null && (
                <CardDescription>
                  Undone by <RunLink id={q.data.undone_by} />.
                </CardDescription>
              )}
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
                {runStatKeys(q.data).map((k) => (
                  <li key={k} className="rounded-md border border-slate-200 p-2">
                    <div className="text-xs text-slate-600">{runStatLabel(q.data.trigger, k)}</div>
                    <div className="text-lg font-semibold tabular-nums">{(q.data.stats as Record<string, number | undefined>)[k] ?? 0}</div>
                  </li>
                ))}
              </ul>
              {q.data.error && <InlineError error={new Error(q.data.error)} />}
              <UndoError error={preview.error ?? undo.error} />
            </CardContent>
          </Card>
          {preview.isPending && <Loading label="Working out what the undo would take back — this reads the target and may take a moment…" />}
          {plan && (
            <UndoPreview
              runId={id}
              plan={plan}
              pending={undo.isPending}
              onConfirm={confirm}
              onCancel={() => {
                preview.reset();
                undo.reset();
              }}
            />
          )}
          <Card>
            <CardHeader>
              <CardTitle>Items</CardTitle>
            </CardHeader>
            <CardContent>
              <RunItemsTable items={q.data.items ?? []} undo={q.data.trigger === 'undo'} />
            </CardContent>
          </Card>
        </>
      )}
    </div>
  );
}
