import { useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useQueryClient } from '@tanstack/react-query';
import { resolveConflict, useConflictGroups, useConflicts, useDrift, usePipelineKinds, usePipelines } from '@/api/hooks';
import { CONFLICT_REASONS, type Conflict, type ConflictReason, type ResolveAction } from '@/api/types';
import { BarChart } from '@/components/BarChart';
import { ConfirmDialog, DateTime, Empty, ErrorState, Loading, PageHeader, Pagination, useTitle } from '@/components/common';
import { GroupCard, useApplyTracker } from '@/components/ConflictGroups';
import { EntrySummary } from '@/components/EntrySummary';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent } from '@/components/ui/card';
import { Field, Textarea } from '@/components/ui/input';
import { Select } from '@/components/ui/select';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { toast } from '@/components/ui/toast';
import { runSequential, type BulkResult } from '@/lib/bulk';
import { humanize } from '@/lib/format';
import { formatHours } from '@/lib/groups';
import { kindLabel } from '@/lib/kinds';
import { cn } from '@/lib/utils';

const LIMIT = 50;
const BULK_ACTIONS: ResolveAction[] = ['skip', 'keep_target'];

type View = 'groups' | 'entries';

export function ConflictsPage() {
  useTitle('Conflicts');
  const [params, setParams] = useSearchParams();
  const status = params.get('status') ?? 'open';
  const reason = params.get('reason') ?? '';
  const pipelineId = params.get('pipeline_id') ?? '';
  const drift = params.get('drift') === '1';
  // The box shows the click at once: the URL it is kept in changes in a transition, and a
  // controlled box that waited for it would spring back until then.
  const [driftBox, setDriftBox] = useState(drift);
  useEffect(() => setDriftBox(drift), [drift]);
  const view: View = params.get('view') === 'entries' ? 'entries' : 'groups';
  const pipelines = usePipelines();

  const setFilter = (k: string, v: string) => {
    const n = new URLSearchParams(params);
    if (v) n.set(k, v);
    else n.delete(k);
    n.delete('offset');
    setParams(n, { replace: true });
  };

  return (
    <div>
      <PageHeader
        title="Conflicts"
        description="Entries timebridge did not write on its own. Grouped by cause, most are fixed at once: a missing mapping, a rule in the target."
      />
      <Card className="mb-4">
        <CardContent className="grid gap-3 pt-4 sm:grid-cols-4">
          <Field id="f-status" label="Status">
            <Select value={status} onChange={(e) => setFilter('status', e.target.value)}>
              <option value="open">Open</option>
              <option value="resolved">Resolved</option>
              <option value="all">All</option>
            </Select>
          </Field>
          <Field id="f-reason" label="Reason">
            <Select value={reason} onChange={(e) => setFilter('reason', e.target.value)}>
              <option value="">All reasons</option>
              {CONFLICT_REASONS.map((r) => (
                <option key={r} value={r}>
                  {humanize(r)}
                </option>
              ))}
            </Select>
          </Field>
          <Field id="f-pipeline" label="Pipeline">
            <Select value={pipelineId} onChange={(e) => setFilter('pipeline_id', e.target.value)}>
              <option value="">All pipelines</option>
              {pipelines.data?.items.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </Select>
          </Field>
          <div className="flex items-end pb-2">
            <label htmlFor="f-drift" className="flex items-center gap-2 text-sm font-medium text-slate-700">
              <input
                id="f-drift"
                type="checkbox"
                checked={driftBox}
                onChange={(e) => {
                  setDriftBox(e.target.checked);
                  setFilter('drift', e.target.checked ? '1' : '');
                }}
              />
              Drift only (edited or deleted in the target)
            </label>
          </div>
        </CardContent>
      </Card>
      {drift ? <DriftChart pipelineId={pipelineId} /> : null}
      <div role="group" aria-label="View" className="mb-3 inline-flex rounded-lg bg-slate-100 p-1">
        {(
          [
            ['groups', 'By cause'],
            ['entries', 'All entries'],
          ] as const
        ).map(([v, label]) => (
          <button
            key={v}
            type="button"
            aria-pressed={view === v}
            onClick={() => setFilter('view', v === 'groups' ? '' : v)}
            className={cn(
              'rounded-md px-3 py-1 text-sm font-medium text-slate-700 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600',
              view === v && 'bg-white text-slate-900 shadow',
            )}
          >
            {label}
          </button>
        ))}
      </div>
      {view === 'groups' ? (
        <GroupsView status={status} reason={reason} drift={drift} pipelineId={pipelineId} multiplePipelines={!pipelineId && (pipelines.data?.items.length ?? 0) > 1} />
      ) : (
        <EntriesView key={`${status}|${reason}|${pipelineId}|${drift}`} status={status} reason={reason} drift={drift} pipelineId={pipelineId} />
      )}
    </div>
  );
}

/** The URL's filters as the query of `GET /api/conflicts` and its groups; the reason goes to the server as is (an unknown one is its 400). */
function filterQuery(status: string, reason: string, drift: boolean, pipelineId: string) {
  return {
    status,
    reason: (reason || undefined) as ConflictReason | undefined,
    drift: drift || undefined,
    pipeline_id: pipelineId ? Number(pipelineId) : undefined,
  };
}

/** Synced entries edited or deleted in the target, per day of the last 30. */
function DriftChart({ pipelineId }: { pipelineId: string }) {
  const q = useDrift({ pipeline_id: pipelineId ? Number(pipelineId) : undefined, days: 30 });
  return (
    <Card className="mb-4">
      <CardContent className="pt-4">
        <h2 className="mb-2 text-sm font-semibold text-slate-900">Drift over the last 30 days</h2>
        {q.isLoading ? (
          <Loading />
        ) : q.data ? (
          <BarChart
            items={q.data.days.map((d) => ({ date: d.date, value: d.target_modified + d.target_deleted }))}
            days={30}
            formatValue={(v) => String(Math.round(v * 10) / 10)}
            label="Synced entries edited or deleted in the target"
          />
        ) : (
          <ErrorState error={q.error} />
        )}
      </CardContent>
    </Card>
  );
}

function GroupsView({ status, reason, drift, pipelineId, multiplePipelines }: { status: string; reason: string; drift: boolean; pipelineId: string; multiplePipelines: boolean }) {
  const q = useConflictGroups(filterQuery(status, reason, drift, pipelineId));
  const tracker = useApplyTracker();
  const items = q.data?.items ?? [];
  return (
    <div className="grid gap-3">
      {tracker.node}
      {q.isPending ? (
        <Loading />
      ) : q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : items.length === 0 ? (
        <Card>
          <CardContent className="pt-4">
            <Empty title={status === 'open' ? 'No open conflicts' : 'No conflicts match these filters'}>
              {status === 'open' && !reason ? 'Everything the last runs saw was clear.' : null}
            </Empty>
          </CardContent>
        </Card>
      ) : (
        <>
          <p className="text-sm text-slate-700" aria-busy={q.isPlaceholderData || undefined}>
            {q.data.total} cause{q.data.total === 1 ? '' : 's'} · {items.reduce((n, g) => n + g.count, 0)} entries · {formatHours(items.reduce((n, g) => n + g.seconds, 0))} hours
          </p>
          <div className={cn('grid gap-3', q.isPlaceholderData && 'opacity-60')} aria-busy={q.isPlaceholderData || undefined}>
            {items.map((g) => (
              <GroupCard
                key={g.id}
                group={g}
                showPipeline={multiplePipelines}
                actionable={status !== 'resolved'}
                applyingRun={tracker.runOf(g.id)}
                onApplied={(runId) => tracker.track({ runId, groupId: g.id, pipelineId: g.pipeline_id, what: `“${g.cause.label}” (${humanize(g.reason).toLowerCase()})` })}
              />
            ))}
          </div>
          {q.data.total > items.length && (
            <p className="text-sm text-slate-600">
              The {items.length} largest of {q.data.total} causes are shown.
            </p>
          )}
        </>
      )}
    </div>
  );
}

function EntriesView({ status, reason, drift, pipelineId }: { status: string; reason: string; drift: boolean; pipelineId: string }) {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get('offset') ?? 0) || 0;
  const pipelines = usePipelines();
  // name the systems when the list is of one pipeline (filtered, or the only one)
  const onlyPipeline = pipelineId ? Number(pipelineId) : pipelines.data?.items.length === 1 ? pipelines.data.items[0]?.id : undefined;
  const { source: sourceKind, target: targetKind } = usePipelineKinds(onlyPipeline);
  const q = useConflicts({ ...filterQuery(status, reason, drift, pipelineId), limit: LIMIT, offset });
  const qc = useQueryClient();
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [bulk, setBulk] = useState<ResolveAction | null>(null);
  const [note, setNote] = useState('');
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [result, setResult] = useState<BulkResult<number> | null>(null);
  const stop = useRef(false);

  const setOffset = (o: number) => {
    const n = new URLSearchParams(params);
    n.set('offset', String(o));
    setParams(n);
    setSelected(new Set());
  };
  const items: Conflict[] = q.data?.items ?? [];
  const openItems = items.filter((c) => c.status === 'open');
  const allSelected = openItems.length > 0 && openItems.every((c) => selected.has(c.id));
  const chosen = items.filter((c) => selected.has(c.id));
  const applicable = (a: ResolveAction) => chosen.filter((c) => c.status === 'open' && c.allowed_actions.includes(a));

  const runBulk = async () => {
    if (!bulk) return;
    const targets = applicable(bulk).map((c) => c.id);
    stop.current = false;
    setResult(null);
    setProgress({ done: 0, total: targets.length });
    const res = await runSequential(
      targets,
      (id) => resolveConflict(id, { action: bulk, ...(note.trim() ? { note: note.trim() } : {}) }),
      (done, total) => setProgress({ done, total }),
      () => stop.current,
    );
    setProgress(null);
    setResult(res);
    setSelected(new Set(res.failed.map((f) => f.id)));
    await qc.invalidateQueries({ queryKey: ['conflicts'] });
    toast(
      res.failed.length
        ? { variant: 'error', title: `${res.ok.length} resolved, ${res.failed.length} failed` }
        : { variant: 'success', title: `${res.ok.length} conflict${res.ok.length === 1 ? '' : 's'} resolved (${humanize(bulk)})` },
    );
    if (!res.failed.length) setBulk(null);
  };

  return (
    <div>
      {selected.size > 0 && (
        <div className="sticky top-14 z-20 mb-3 flex flex-wrap items-center gap-2 rounded-md border border-blue-200 bg-blue-50 p-2 text-sm lg:top-2" role="region" aria-label="Bulk actions">
          <span className="font-medium">{selected.size} selected</span>
          {BULK_ACTIONS.map((a) => (
            <Button key={a} size="sm" variant="outline" disabled={applicable(a).length === 0} onClick={() => { setResult(null); setBulk(a); }}>
              {humanize(a)} ({applicable(a).length})
            </Button>
          ))}
          <Button size="sm" variant="ghost" onClick={() => setSelected(new Set())}>
            Clear selection
          </Button>
        </div>
      )}
      <Card>
        <CardContent className="pt-4">
          {q.isPending ? (
            <Loading />
          ) : q.error ? (
            <ErrorState error={q.error} onRetry={() => void q.refetch()} />
          ) : items.length === 0 ? (
            <Empty title={status === 'open' ? 'No open conflicts' : 'No conflicts match these filters'}>
              {status === 'open' && !reason ? 'Everything the last runs saw was clear.' : null}
            </Empty>
          ) : (
            <>
              <Table aria-busy={q.isPlaceholderData || undefined} className={q.isPlaceholderData ? 'opacity-60' : undefined}>
                <TableHeader>
                  <TableRow>
                    <TableHead className="w-8">
                      <input
                        type="checkbox"
                        className="size-4 accent-blue-700"
                        aria-label="Select all open conflicts on this page"
                        checked={allSelected}
                        onChange={(e) => setSelected(e.target.checked ? new Set(openItems.map((c) => c.id)) : new Set())}
                      />
                    </TableHead>
                    <TableHead>Conflict</TableHead>
                    <TableHead>Source{sourceKind && ` (${kindLabel(sourceKind)})`}</TableHead>
                    <TableHead>Target{targetKind && ` (${kindLabel(targetKind)})`}</TableHead>
                    <TableHead>Raised</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {items.map((c) => (
                    <TableRow key={c.id}>
                      <TableCell>
                        <input
                          type="checkbox"
                          className="size-4 accent-blue-700"
                          aria-label={`Select conflict #${c.id}`}
                          disabled={c.status !== 'open'}
                          checked={selected.has(c.id)}
                          onChange={(e) => {
                            const n = new Set(selected);
                            if (e.target.checked) n.add(c.id);
                            else n.delete(c.id);
                            setSelected(n);
                          }}
                        />
                      </TableCell>
                      <TableCell>
                        <Link className="font-medium text-blue-700 underline" to={`/conflicts/${c.id}`}>
                          #{c.id} {humanize(c.reason)}
                        </Link>
                        <div className="mt-0.5 flex flex-wrap gap-1">
                          {c.status === 'open' ? <Badge variant="warning">open</Badge> : <Badge variant="success">resolved{c.resolution ? `: ${humanize(c.resolution.action)}` : ''}</Badge>}
                        </div>
                        {c.message && <p className="mt-0.5 max-w-xs text-xs text-slate-600">{c.message}</p>}
                      </TableCell>
                      <TableCell>
                        <EntrySummary entry={c.source} />
                      </TableCell>
                      <TableCell>
                        <EntrySummary entry={c.target} />
                      </TableCell>
                      <TableCell className="whitespace-nowrap">
                        <DateTime value={c.created_at} />
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
              <Pagination total={q.data.total} limit={LIMIT} offset={offset} onChange={setOffset} />
            </>
          )}
        </CardContent>
      </Card>
      <ConfirmDialog
        open={!!bulk}
        onOpenChange={(o) => {
          if (!o && progress) {
            stop.current = true;
            return;
          }
          if (!o) setBulk(null);
        }}
        title={bulk ? `${humanize(bulk)} ${applicable(bulk).length} conflict(s)?` : ''}
        description={
          bulk === 'skip'
            ? 'The source entries are not written and not raised again unless they change.'
            : `The target entries stay as they are in ${targetKind ? kindLabel(targetKind) : 'the target'}.`
        }
        confirmLabel={progress ? `Resolving ${progress.done}/${progress.total}…` : `${humanize(bulk ?? '')} ${bulk ? applicable(bulk).length : 0}`}
        pending={!!progress}
        onConfirm={() => void runBulk()}
      >
        <Field id="bulk-note" label="Note (optional)" hint="Stored with each resolution in the audit log.">
          <Textarea value={note} onChange={(e) => setNote(e.target.value)} />
        </Field>
        {progress && (
          <div className="grid gap-1">
            <div className="h-2 w-full overflow-hidden rounded bg-slate-200" role="progressbar" aria-label="Bulk progress" aria-valuemin={0} aria-valuemax={progress.total} aria-valuenow={progress.done}>
              <div className="h-full bg-blue-700" style={{ width: `${(progress.done / Math.max(1, progress.total)) * 100}%` }} />
            </div>
            <Button size="sm" variant="outline" onClick={() => (stop.current = true)}>
              Stop after the current one
            </Button>
          </div>
        )}
        {result && result.failed.length > 0 && (
          <div role="alert" className="rounded-md border border-red-200 bg-red-50 p-2 text-sm text-red-900">
            <p className="font-medium">
              {result.ok.length} resolved; {result.failed.length} failed (still selected):
            </p>
            <ul className="mt-1 list-disc pl-5">
              {result.failed.map((f) => (
                <li key={f.id}>
                  <Link className="underline" to={`/conflicts/${f.id}`}>
                    #{f.id}
                  </Link>
                  : {f.error}
                </li>
              ))}
            </ul>
          </div>
        )}
      </ConfirmDialog>
    </div>
  );
}
