import { useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ApiError } from '@/api/client';
import { resolveConflict, useConflict, useConflictGroups, usePipelineKinds } from '@/api/hooks';
import type { Conflict, Entry, ExplanationStep, ResolveAction } from '@/api/types';
import { ConfirmDialog, DateTime, ErrorState, Loading, PageHeader, useTitle } from '@/components/common';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Field, Input, Textarea } from '@/components/ui/input';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { toast } from '@/components/ui/toast';
import { GroupFixPanel, GroupResolveButtons, useApplyTracker, usePipelineSides } from '@/components/ConflictGroups';
import { RunningBadge } from '@/components/EntrySummary';
import { diffFieldSet, displayFieldValue, displayValue, isFieldDifferent } from '@/lib/diff';
import { formatEntryDuration, formatEntryEnd, isRunning, ruleLabel } from '@/lib/entry';
import { formatDateTime, humanize } from '@/lib/format';
import { causeKindLabel, formatHours } from '@/lib/groups';
import { kindLabel, labelOfKind } from '@/lib/kinds';
import { cn } from '@/lib/utils';

const ACTION_HELP: Record<ResolveAction, string> = {
  create: 'Write the source entry to the target (again).',
  update: 'Overwrite the target entry with the source.',
  skip: 'Do not write this source entry; it is not raised again unless it changes.',
  keep_target: 'Leave the target entry as it is and accept it as the truth.',
  link: 'Adopt an existing target entry as the counterpart of this source entry.',
  delete_target: 'Delete the entry in the target.',
};

interface Row {
  label: string;
  field: string;
  render: (e: Entry) => React.ReactNode;
}
const ROWS: Row[] = [
  { label: 'Entry', field: 'key', render: (e) => <span className="font-mono text-xs">{e.system} {e.key}</span> },
  {
    label: 'Ticket',
    field: 'ticket',
    render: (e) =>
      e.ticket ? (
        e.ticket.url ? (
          <a className="text-blue-700 underline" href={e.ticket.url} target="_blank" rel="noreferrer noopener">
            #{e.ticket.number} {e.ticket.title}
          </a>
        ) : (
          `#${e.ticket.number} ${e.ticket.title}`
        )
      ) : (
        '—'
      ),
  },
  { label: 'User', field: 'user', render: (e) => (e.user ? `${e.user.name ?? e.user.key}${e.user.email ? ` <${e.user.email}>` : ''}` : '—') },
  { label: 'Customer', field: 'customer', render: (e) => e.customer?.name ?? '—' },
  { label: 'Project', field: 'project', render: (e) => e.project?.name ?? '—' },
  { label: 'Activity', field: 'activity', render: (e) => e.activity?.name ?? '—' },
  { label: 'Begin', field: 'begin', render: (e) => formatDateTime(e.begin, undefined, { seconds: true }) },
  { label: 'End', field: 'end', render: (e) => (isRunning(e) && !e.end ? <RunningBadge /> : formatEntryEnd(e, undefined, { seconds: true })) },
  { label: 'Duration', field: 'duration_seconds', render: (e) => formatEntryDuration(e) },
  { label: 'Running', field: 'running', render: (e) => (isRunning(e) ? <RunningBadge /> : 'no') },
  { label: 'Description', field: 'description', render: (e) => <span className="whitespace-pre-wrap break-words">{e.description || '—'}</span> },
  { label: 'Billable', field: 'billable', render: (e) => (e.billable === null ? 'default' : e.billable ? 'yes' : 'no') },
  { label: 'Tags', field: 'tags', render: (e) => (e.tags?.length ? e.tags.join(', ') : '—') },
];
const FIELD_ALIASES: Record<string, string> = { duration: 'duration_seconds', begin_at: 'begin', end_at: 'end', tag: 'tags' };

function SideBySide({ c }: { c: Conflict }) {
  // The server normalises the source side to the entry it would write (system = the target's), so name the
  // pipeline's source kind too.
  const { source: sourceKind, kinds } = usePipelineKinds(c.pipeline_id);
  const label = (system: string) => labelOfKind(kinds, system);
  const set = diffFieldSet(c.diff.map((d) => ({ ...d, field: FIELD_ALIASES[d.field] ?? d.field })));
  // the "Running" row only where it says something: a running side or a diff naming `running`
  const rows = ROWS.filter((r) => r.field !== 'running' || isRunning(c.source) || isRunning(c.target) || set.has('running'));
  return (
    <>
      {/* narrow screens: one block per field, source above target */}
      <dl className="grid gap-2 sm:hidden">
        {rows.map((r) => {
          const diff = isFieldDifferent(set, r.field);
          return (
            <div key={r.field} className={cn('rounded-md border border-slate-200 p-2 text-sm', diff && 'border-amber-300 bg-amber-50')}>
              <dt className="font-medium">
                {r.label}
                {diff && (
                  <Badge variant="warning" className="ml-1">
                    differs
                  </Badge>
                )}
              </dt>
              <dd className="mt-1 grid grid-cols-[4.5rem_1fr] gap-x-2 gap-y-0.5">
                <span className="text-xs text-slate-600">Source</span>
                <span className={cn('min-w-0 break-words', diff && 'font-semibold')}>{c.source ? r.render(c.source) : '(none)'}</span>
                <span className="text-xs text-slate-600">Target</span>
                <span className={cn('min-w-0 break-words', diff && 'font-semibold')}>{c.target ? r.render(c.target) : '(none)'}</span>
              </dd>
            </div>
          );
        })}
      </dl>
      <div className="hidden sm:block">
    <Table>
      <TableHeader>
        <TableRow>
          <TableHead className="w-32">Field</TableHead>
          <TableHead>
            Source{' '}
            {c.source
              ? sourceKind && sourceKind.kind !== c.source.system
                ? `(${kindLabel(sourceKind)} entry ${c.source_key}, as it would be written to ${label(c.source.system)})`
                : `(${label(c.source.system)})`
              : ''}
          </TableHead>
          <TableHead>Target {c.target ? `(${label(c.target.system)})` : ''}</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {rows.map((r) => {
          const diff = isFieldDifferent(set, r.field);
          return (
            <TableRow key={r.field} className={cn(diff && 'bg-amber-50 hover:bg-amber-50')}>
              <TableCell className="font-medium">
                {r.label}
                {diff && (
                  <Badge variant="warning" className="ml-1">
                    differs
                  </Badge>
                )}
              </TableCell>
              <TableCell className={cn(diff && 'font-semibold text-amber-950')}>{c.source ? r.render(c.source) : <span className="text-slate-500">(none)</span>}</TableCell>
              <TableCell className={cn(diff && 'font-semibold text-amber-950')}>{c.target ? r.render(c.target) : <span className="text-slate-500">(none)</span>}</TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
      </div>
    </>
  );
}

/** Rules the explanation marks with a badge: the automatic matches and an excluded person. */
const RULE_BADGES = new Set(['name_match', 'email_match', 'excluded']);

function isSteps(v: unknown): v is { steps: ExplanationStep[] } {
  return !!v && typeof v === 'object' && Array.isArray((v as { steps?: unknown }).steps);
}

function Explanation({ value }: { value: unknown }) {
  if (value === undefined || value === null) return null;
  let body: React.ReactNode;
  if (isSteps(value))
    // the server's shape: {"steps":[{field, rule, mapping_id, text}]}
    body = (
      <dl className="grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[auto_1fr]">
        {value.steps.map((s, i) => (
          <div key={`${s.field ?? ''}-${i}`} className="contents">
            <dt className="text-slate-600">{humanize(s.field ?? `step ${i + 1}`)}</dt>
            <dd>
              {s.text ?? humanize(s.rule)}
              {s.rule && RULE_BADGES.has(s.rule) && (
                <Badge variant={s.rule === 'excluded' ? 'default' : 'info'} className="ml-1">
                  {ruleLabel(s.rule)}
                </Badge>
              )}
              {s.mapping_id != null && (
                <>
                  {' '}
                  <span className="text-xs text-slate-500">(mapping #{s.mapping_id})</span>
                </>
              )}
            </dd>
          </div>
        ))}
      </dl>
    );
  else if (typeof value === 'string') body = <p className="text-sm">{value}</p>;
  else if (Array.isArray(value))
    body = (
      <ul className="list-disc pl-5 text-sm">
        {value.map((v, i) => (
          <li key={i}>
            {v && typeof v === 'object'
              ? Object.entries(v as Record<string, unknown>)
                  .map(([k, x]) => `${humanize(k)}: ${displayValue(x)}`)
                  .join(' · ')
              : displayValue(v)}
          </li>
        ))}
      </ul>
    );
  else if (typeof value === 'object')
    body = (
      <dl className="grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[auto_1fr]">
        {Object.entries(value as Record<string, unknown>).map(([k, v]) => (
          <div key={k} className="contents">
            <dt className="text-slate-600">{humanize(k)}</dt>
            <dd>{displayValue(v)}</dd>
          </div>
        ))}
      </dl>
    );
  else body = <p className="text-sm">{String(value)}</p>;
  return (
    <Card>
      <CardHeader>
        <CardTitle>How it was mapped</CardTitle>
      </CardHeader>
      <CardContent>{body}</CardContent>
    </Card>
  );
}

/**
 * The conflict's group (its cause, shared with others): fixing the cause fixes this one too.
 * Found in the open groups of the conflict's pipeline and reason by the conflict's `group`.
 */
function GroupOfConflict({ conflict, tracker }: { conflict: Conflict; tracker: ReturnType<typeof useApplyTracker> }) {
  const groups = useConflictGroups({ status: 'open', pipeline_id: conflict.pipeline_id, reason: conflict.reason });
  const { pipeline, sourceKind, targetKind } = usePipelineSides(conflict.pipeline_id);
  const g = groups.data?.items.find((x) => x.id === conflict.group);
  if (groups.isPending) return <Loading label="Loading its cause…" />;
  if (groups.error) return <ErrorState error={groups.error} title="Could not load the cause of this conflict" onRetry={() => void groups.refetch()} />;
  if (!g) return null;
  const running = tracker.runOf(g.id);
  return (
    <Card>
      <CardHeader>
        <CardTitle className="flex flex-wrap items-center gap-2">
          Cause: {g.cause.label}
          <span className="text-sm font-normal text-slate-600">{causeKindLabel(g.cause.kind, sourceKind, targetKind)}</span>
        </CardTitle>
        <CardDescription>
          {g.count === 1 ? 'Only this entry has this cause.' : `This entry is one of ${g.count} (${formatHours(g.seconds)} hours) with this cause; fixing it fixes them all.`}{' '}
          <Link className="text-blue-700 underline" to={`/conflicts?pipeline_id=${g.pipeline_id}&reason=${g.reason}`}>
            See the group
          </Link>
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        {running === undefined && g.fix.kind !== 'decide' && (
          <GroupFixPanel
            group={g}
            pipeline={pipeline}
            sourceKind={sourceKind}
            targetKind={targetKind}
            onApplied={(runId) => tracker.track({ runId, groupId: g.id, pipelineId: g.pipeline_id, what: `“${g.cause.label}” (${humanize(g.reason).toLowerCase()})` })}
          />
        )}
        {g.count > 1 && (
          <div className="flex flex-wrap gap-2">
            <GroupResolveButtons group={g} targetKind={targetKind} disabled={running !== undefined} />
          </div>
        )}
      </CardContent>
    </Card>
  );
}

export function ConflictDetailPage() {
  const id = Number(useParams().id);
  useTitle(`Conflict #${id}`);
  const q = useConflict(id);
  const qc = useQueryClient();
  const [action, setAction] = useState<ResolveAction | null>(null);
  const [targetId, setTargetId] = useState('');
  const [note, setNote] = useState('');
  const [fieldError, setFieldError] = useState<string | undefined>();
  const resolve = useMutation({
    mutationFn: (v: { action: ResolveAction; target_id?: string; note?: string }) => resolveConflict(id, v),
    onSuccess: (c) => {
      qc.setQueryData(['conflict', id], c);
      void qc.invalidateQueries({ queryKey: ['conflicts'] });
      toast({ variant: 'success', title: `Conflict #${id} resolved`, description: humanize(c.resolution?.action ?? action ?? '') });
      setAction(null);
    },
    onError: (e) => {
      if (e instanceof ApiError && e.status === 409) void q.refetch();
      if (e instanceof ApiError) setFieldError(e.fieldErrors.target_id);
    },
  });

  const c = q.data;
  const { target: targetKind } = usePipelineKinds(c?.pipeline_id);
  // the run that fixes the conflict's cause outlives the cause's card (gone once fixed)
  const groupTracker = useApplyTracker();
  const confirm = () => {
    if (!action) return;
    if (action === 'link' && !targetId.trim()) {
      setFieldError('Enter the id of the existing target entry');
      return;
    }
    setFieldError(undefined);
    resolve.mutate({ action, ...(action === 'link' ? { target_id: targetId.trim() } : {}), ...(note.trim() ? { note: note.trim() } : {}) });
  };

  return (
    <div className="grid grid-cols-1 gap-4">
      <PageHeader
        title={c ? `Conflict #${id}: ${humanize(c.reason)}` : `Conflict #${id}`}
        actions={
          <Button asChild variant="outline">
            <Link to="/conflicts">Back to conflicts</Link>
          </Button>
        }
      />
      {q.isPending ? (
        <Loading />
      ) : q.error || !c ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : (
        <>
          <Card>
            <CardHeader>
              <CardTitle className="flex flex-wrap items-center gap-2">
                {c.status === 'open' ? <Badge variant="warning">open</Badge> : <Badge variant="success">resolved</Badge>}
                {humanize(c.reason)}
              </CardTitle>
              <CardDescription>
                Raised <DateTime value={c.created_at} />
                {c.message ? ` — ${c.message}` : ''}
              </CardDescription>
            </CardHeader>
            <CardContent className="grid gap-3">
              <dl className="grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[auto_1fr]">
                <dt className="text-slate-600">Source entry</dt>
                <dd className="font-mono text-xs leading-5">{c.source_key}</dd>
                <dt className="text-slate-600">Target entry</dt>
                <dd className="font-mono text-xs leading-5">{c.target_id ?? '—'}</dd>
                {c.run_id != null && (
                  <>
                    <dt className="text-slate-600">Last raised by</dt>
                    <dd>
                      <Link className="text-blue-700 underline" to={`/sync/runs/${c.run_id}`}>
                        run #{c.run_id}
                      </Link>
                    </dd>
                  </>
                )}
              </dl>
              {c.status === 'resolved' && c.resolution ? (
                <p className="rounded-md border border-green-200 bg-green-50 p-3 text-sm text-green-900">
                  Resolved with <strong>{humanize(c.resolution.action)}</strong> on <DateTime value={c.resolution.at ?? c.resolved_at} />
                  {c.resolution.note ? ` — “${c.resolution.note}”` : ''}
                </p>
              ) : c.allowed_actions.length === 0 ? (
                <p className="text-sm text-slate-700">No action is available for this conflict.</p>
              ) : (
                <div className="grid gap-2">
                  <p className="text-sm text-slate-700">Choose what to do:</p>
                  <div className="flex flex-wrap gap-2">
                    {c.allowed_actions.map((a) => (
                      <Button
                        key={a}
                        variant={a === 'delete_target' ? 'destructive' : a === 'skip' || a === 'keep_target' ? 'outline' : 'default'}
                        onClick={() => {
                          resolve.reset();
                          setFieldError(undefined);
                          if (a === 'link' && !targetId && c.target?.key) setTargetId(c.target.key);
                          setAction(a);
                        }}
                        title={ACTION_HELP[a]}
                      >
                        {humanize(a)}
                      </Button>
                    ))}
                  </div>
                  <ul className="text-xs text-slate-600">
                    {c.allowed_actions.map((a) => (
                      <li key={a}>
                        <strong>{humanize(a)}</strong>: {ACTION_HELP[a]}
                      </li>
                    ))}
                  </ul>
                </div>
              )}
            </CardContent>
          </Card>
          {c.status === 'open' && c.group && <GroupOfConflict conflict={c} tracker={groupTracker} />}
          {groupTracker.node}
          <Card>
            <CardHeader>
              <CardTitle>Source and target</CardTitle>
              <CardDescription>Rows marked “differs” are the fields that disagree.</CardDescription>
            </CardHeader>
            <CardContent>
              <SideBySide c={c} />
              {c.diff.length > 0 && (
                <details className="mt-3 text-sm">
                  <summary className="cursor-pointer text-slate-700">Raw differences ({c.diff.length})</summary>
                  <ul className="mt-2 grid gap-1">
                    {c.diff.map((d) => (
                      <li key={d.field}>
                        <strong>{d.field}</strong>: {displayFieldValue(d.field, d.source)} → {displayFieldValue(d.field, d.target)}
                      </li>
                    ))}
                  </ul>
                </details>
              )}
            </CardContent>
          </Card>
          <Explanation value={c.explanation} />
        </>
      )}
      <ConfirmDialog
        open={!!action}
        onOpenChange={(o) => !o && setAction(null)}
        title={action ? `${humanize(action)}?` : ''}
        description={action ? ACTION_HELP[action] : undefined}
        confirmLabel={action ? humanize(action) : 'Confirm'}
        destructive={action === 'delete_target'}
        pending={resolve.isPending}
        error={resolve.error && !fieldError ? resolve.error : null}
        onConfirm={confirm}
      >
        {action === 'link' && (
          <Field id="target_id" label="Target entry id" required error={fieldError} hint={`The id of the existing entry in ${targetKind ? kindLabel(targetKind) : 'the target'} that records this work.`}>
            <Input value={targetId} onChange={(e) => setTargetId(e.target.value)} inputMode="numeric" />
          </Field>
        )}
        <Field id="note" label="Note (optional)" hint="Kept with the resolution in the audit log.">
          <Textarea value={note} onChange={(e) => setNote(e.target.value)} />
        </Field>
      </ConfirmDialog>
    </div>
  );
}
