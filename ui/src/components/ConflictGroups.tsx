/**
 * Conflicts grouped by cause (issue #18): a card per group, the fix in place (a mapping picked
 * from the target's catalog with suggestions on top, a pipeline default, or a retry after a change
 * in the target), its preview and apply, and skip / keep target for a whole group.
 */
import { useCallback, useEffect, useId, useMemo, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ExternalLink } from 'lucide-react';
import { ApiError } from '@/api/client';
import { groupApi, useCatalog, useConnectorKinds, useConnectors, useGroupSuggestions, usePipelines, useRun, useSyncStatus } from '@/api/hooks';
import type { ConflictGroup, ConnectorKind, GroupAction, GroupPreview, GroupPreviewItem, Pipeline, RunDetail } from '@/api/types';
import { ConfirmDialog, DateTime, InlineError, OutcomeBadge } from '@/components/common';
import { EntrySummary } from '@/components/EntrySummary';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent } from '@/components/ui/card';
import { Combobox } from '@/components/ui/combobox';
import { Field, Input, Textarea } from '@/components/ui/input';
import { Select } from '@/components/ui/select';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { toast } from '@/components/ui/toast';
import { formatEntryDuration } from '@/lib/entry';
import { formatDateTime, humanize } from '@/lib/format';
import {
  appliedMessage, buildFix, causeKindLabel, customersText, fixKey, formatHours, groupResolveActions, pickerOptions,
  previewSummary, previewVerdict, runFinished, runPercent, suggestionWhy, type FixChoice,
} from '@/lib/groups';
import { dimensionCatalog, dimensionLabel, dimensionWord, findKind, kindLabel, withArticle, type Dimension } from '@/lib/kinds';
import { billableFromString, billableToString } from '@/lib/mappings';

const GROUP_ACTION_HELP: Record<GroupAction, string> = {
  skip: 'None of these source entries is written; each is raised again only if it changes.',
  keep_target: 'The target entries stay as they are and are accepted as the truth.',
};

/** The pipeline of a group with its connectors' kinds (labels and dimension words come from them). */
export function usePipelineSides(pipelineId: number | undefined) {
  const pipelines = usePipelines();
  const connectors = useConnectors();
  const kinds = useConnectorKinds();
  const pipeline = pipelines.data?.items.find((p) => p.id === pipelineId);
  const source = connectors.data?.items.find((c) => c.id === pipeline?.source_connector_id);
  const target = connectors.data?.items.find((c) => c.id === pipeline?.target_connector_id);
  return { pipeline, source, target, sourceKind: findKind(kinds.data, source?.kind), targetKind: findKind(kinds.data, target?.kind) };
}

// ---- the run that applies a fix

interface Tracked {
  runId: number;
  what: string;
  groupId: string;
  pipelineId: number;
}
interface Finished {
  runId: number;
  ok: boolean;
  text: string;
}

/**
 * Follows the runs that apply fixes, independently of the group cards (a card goes away once its
 * group is fixed): `track` after an apply; `node` shows each run's progress and, once it has
 * finished, a message naming the run; `runOf(group)` is the run still fixing that group.
 */
export function useApplyTracker(onFinished?: (run: RunDetail) => void) {
  const qc = useQueryClient();
  const [tracked, setTracked] = useState<Tracked[]>([]);
  const [finished, setFinished] = useState<Finished[]>([]);
  const track = useCallback((t: Tracked) => setTracked((all) => [...all.filter((x) => x.runId !== t.runId), t]), []);
  const done = useCallback(
    (t: Tracked, run: RunDetail) => {
      const m = appliedMessage(run, t.what);
      setFinished((all) => [{ runId: run.id, ok: m.ok, text: m.text }, ...all.filter((x) => x.runId !== run.id)].slice(0, 5));
      toast({ variant: m.ok ? 'success' : 'error', title: m.text });
      // the group is gone (or smaller): refresh everything a fix changes
      void Promise.all(
        ['conflict-groups', 'conflicts', 'conflict', 'mappings', 'pipelines', 'sync-history', 'sync-status'].map((k) => qc.invalidateQueries({ queryKey: [k] })),
      ).then(() => setTracked((all) => all.filter((x) => x.runId !== run.id)));
      onFinished?.(run);
    },
    [qc, onFinished],
  );
  const node = (
    <>
      {tracked.map((t) => (
        <ApplyProgress key={t.runId} tracked={t} onDone={done} />
      ))}
      {finished.map((f) => (
        <div
          key={f.runId}
          role="status"
          className={`flex flex-wrap items-center gap-2 rounded-md border p-3 text-sm ${f.ok ? 'border-green-200 bg-green-50 text-green-900' : 'border-amber-300 bg-amber-50 text-amber-950'}`}
        >
          <span>{f.text}</span>
          <Link className="underline" to={`/sync/runs/${f.runId}`}>
            Open run #{f.runId}
          </Link>
          <Button size="sm" variant="ghost" className="ml-auto" onClick={() => setFinished((all) => all.filter((x) => x.runId !== f.runId))}>
            Dismiss
          </Button>
        </div>
      ))}
    </>
  );
  const runOf = (groupId: string) => tracked.find((t) => t.groupId === groupId)?.runId;
  return { track, node, runOf };
}

const PHASES: Record<string, string> = {
  recovering: 'Recovering an interrupted run',
  reading_source: 'Reading the source',
  reading_target: 'Reading the target',
  planning: 'Planning',
  writing: 'Writing to the target',
};

function ApplyProgress({ tracked, onDone }: { tracked: Tracked; onDone: (t: Tracked, run: RunDetail) => void }) {
  const q = useRun(tracked.runId);
  // the live phase of the run comes with the pipeline's sync status while it is the current run
  const status = useSyncStatus(tracked.pipelineId, { fast: true });
  const live = status.data?.current_run?.id === tracked.runId ? status.data.progress : null;
  const reported = useRef(false);
  useEffect(() => {
    if (q.data && runFinished(q.data.status) && !reported.current) {
      reported.current = true;
      onDone(tracked, q.data);
    }
  }, [q.data, tracked, onDone]);
  const run = q.data ? { ...q.data, progress: live } : undefined;
  if (q.error) return <InlineError error={q.error} />;
  const pct = run ? runPercent(run) : 0;
  return (
    <div className="grid gap-1 rounded-md border border-blue-200 bg-blue-50 p-3 text-sm" aria-live="polite">
      <p>
        Applying the fix for {tracked.what}:{' '}
        <Link className="text-blue-700 underline" to={`/sync/runs/${tracked.runId}`}>
          run #{tracked.runId}
        </Link>{' '}
        {run ? run.status : 'queued'}
        {run?.progress ? ` · ${PHASES[run.progress.phase] ?? humanize(run.progress.phase)}` : ''}
        {run?.progress && run.progress.total > 0 ? ` · ${run.progress.done} of ${run.progress.total}` : ''}
      </p>
      <div className="h-2 w-full overflow-hidden rounded bg-slate-200" role="progressbar" aria-label={`Progress of run #${tracked.runId}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div className="h-full bg-blue-700 transition-all" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

// ---- a group

export function GroupCard({
  group,
  showPipeline,
  actionable,
  applyingRun,
  onApplied,
}: {
  group: ConflictGroup;
  showPipeline: boolean;
  actionable: boolean;
  applyingRun?: number;
  onApplied: (runId: number) => void;
}) {
  const { pipeline, sourceKind, targetKind } = usePipelineSides(group.pipeline_id);
  const [fixOpen, setFixOpen] = useState(false);
  const headingId = useId();
  const fixId = useId();
  const kindWord = causeKindLabel(group.cause.kind, sourceKind, targetKind);
  const customers = customersText(group.customers);
  const canFix = actionable && group.fix.kind !== 'decide';
  return (
    <Card>
      <article aria-labelledby={headingId}>
        <CardContent className="grid gap-3 pt-4">
          <div className="flex flex-col gap-2 sm:flex-row sm:items-start sm:justify-between">
            <div className="grid gap-1">
              <div className="flex flex-wrap items-center gap-2">
                <Badge variant="warning">{humanize(group.reason)}</Badge>
                <span className="text-xs text-slate-600">{kindWord}</span>
                {showPipeline && pipeline && <span className="text-xs text-slate-600">· {pipeline.name}</span>}
                {applyingRun !== undefined && <Badge variant="info">fixing: run #{applyingRun}</Badge>}
              </div>
              <h2 id={headingId} className="text-base font-semibold text-slate-900">
                {group.cause.label}
              </h2>
              <p className="text-sm text-slate-700">
                Newest:{' '}
                <Link className="text-blue-700 underline" to={`/conflicts/${group.newest.conflict_id}`}>
                  #{group.newest.conflict_id}
                </Link>
                {group.newest.begin ? (
                  <>
                    , worked <DateTime value={group.newest.begin} />
                  </>
                ) : (
                  <>
                    , raised <DateTime value={group.newest.created_at} />
                  </>
                )}
                {customers && <> · Customers: {customers}</>}
              </p>
            </div>
            <dl className="flex shrink-0 gap-4 text-right">
              <div>
                <dt className="text-xs text-slate-600">Entries</dt>
                <dd className="text-lg font-semibold tabular-nums">{group.count}</dd>
              </div>
              <div>
                <dt className="text-xs text-slate-600">Hours</dt>
                <dd className="text-lg font-semibold tabular-nums">{formatHours(group.seconds)}</dd>
              </div>
            </dl>
          </div>
          {actionable && (
            <div className="flex flex-wrap gap-2">
              {canFix && (
                <Button size="sm" aria-expanded={fixOpen} aria-controls={fixId} onClick={() => setFixOpen((o) => !o)} disabled={applyingRun !== undefined}>
                  {fixOpen ? 'Close fix' : group.fix.kind === 'target' ? 'Fix in the target…' : 'Fix the mapping…'}
                </Button>
              )}
              <GroupResolveButtons group={group} targetKind={targetKind} disabled={applyingRun !== undefined} />
            </div>
          )}
          {canFix && fixOpen && applyingRun === undefined && (
            <div id={fixId}>
              <GroupFixPanel group={group} pipeline={pipeline} sourceKind={sourceKind} targetKind={targetKind} onApplied={onApplied} />
            </div>
          )}
          {actionable && group.fix.kind === 'decide' && (
            <p className="text-sm text-slate-700">
              {group.count === 1 ? 'A one-off: ' : 'No common fix: '}
              <Link className="text-blue-700 underline" to={`/conflicts/${group.newest.conflict_id}`}>
                open #{group.newest.conflict_id}
              </Link>{' '}
              to decide on the entry itself{group.count === 1 ? '.' : ', or resolve them all here.'}
            </p>
          )}
          <details className="text-sm">
            <summary className="cursor-pointer text-slate-700">
              Examples ({group.examples.length} of {group.count})
            </summary>
            <ul className="mt-2 grid gap-2">
              {group.examples.map((c) => (
                <li key={c.id} className="flex flex-col gap-1 rounded-md border border-slate-200 p-2 sm:flex-row sm:items-center sm:gap-3">
                  <Link className="shrink-0 font-medium text-blue-700 underline" to={`/conflicts/${c.id}`}>
                    #{c.id} {humanize(c.reason)}
                  </Link>
                  <EntrySummary entry={c.source ?? c.target} />
                  {c.message && <span className="text-xs text-slate-600">{c.message}</span>}
                </li>
              ))}
            </ul>
          </details>
        </CardContent>
      </article>
    </Card>
  );
}

/** Skip / Keep target for a whole group, with a confirm step and an optional note. */
export function GroupResolveButtons({ group, targetKind, disabled }: { group: ConflictGroup; targetKind?: ConnectorKind; disabled?: boolean }) {
  const qc = useQueryClient();
  const [action, setAction] = useState<GroupAction | null>(null);
  const [note, setNote] = useState('');
  const resolve = useMutation({
    mutationFn: (v: { action: GroupAction; note: string }) => groupApi.resolve(group.id, v.action, v.note.trim() || undefined),
    onSuccess: (r, v) => {
      toast(
        r.failed
          ? { variant: 'error', title: `${r.resolved} resolved, ${r.failed} failed`, description: r.errors.length ? r.errors.slice(0, 3).join('; ') : `“${group.cause.label}”: ${humanize(v.action)}` }
          : { variant: 'success', title: `${r.resolved} conflict${r.resolved === 1 ? '' : 's'} resolved (${humanize(v.action)})`, description: `“${group.cause.label}”` },
      );
      setAction(null);
      setNote('');
      void qc.invalidateQueries({ queryKey: ['conflict-groups'] });
      void qc.invalidateQueries({ queryKey: ['conflicts'] });
      void qc.invalidateQueries({ queryKey: ['conflict'] });
    },
  });
  const actions = groupResolveActions(group.allowed_actions);
  if (!actions.length) return null;
  return (
    <>
      {actions.map((a) => (
        <Button key={a} size="sm" variant="outline" disabled={disabled} onClick={() => { resolve.reset(); setAction(a); }} title={GROUP_ACTION_HELP[a]}>
          {group.count === 1 ? humanize(a) : a === 'skip' ? `Skip all ${group.count}` : `Keep target for all ${group.count}`}
        </Button>
      ))}
      <ConfirmDialog
        open={!!action}
        onOpenChange={(o) => !o && setAction(null)}
        title={action ? `${humanize(action)} ${group.count} conflict${group.count === 1 ? '' : 's'} of “${group.cause.label}”?` : ''}
        description={
          action === 'keep_target'
            ? `The target entries stay as they are in ${targetKind ? kindLabel(targetKind) : 'the target'} and are accepted as the truth.`
            : action
              ? GROUP_ACTION_HELP[action]
              : undefined
        }
        confirmLabel={action ? `${humanize(action)} ${group.count}` : 'Confirm'}
        pending={resolve.isPending}
        error={resolve.error}
        onConfirm={() => action && resolve.mutate({ action, note })}
      >
        <Field id={`group-note-${group.id}`} label="Note (optional)" hint="Stored with each resolution in the audit log.">
          <Textarea value={note} onChange={(e) => setNote(e.target.value)} />
        </Field>
      </ConfirmDialog>
    </>
  );
}

// ---- the fix

function dimensionOf(group: ConflictGroup): Dimension | null {
  if (group.fix.mapping_kind) return group.fix.mapping_kind;
  if (group.fix.default_option === 'default_activity') return 'activity';
  if (group.fix.default_option === 'default_project') return 'project';
  return null;
}

/** The fix of one group: choose, preview, apply. Calls `onApplied(run_id)` once the run is queued. */
export function GroupFixPanel({
  group,
  pipeline,
  sourceKind,
  targetKind,
  onApplied,
}: {
  group: ConflictGroup;
  pipeline?: Pipeline;
  sourceKind?: ConnectorKind;
  targetKind?: ConnectorKind;
  onApplied: (runId: number) => void;
}) {
  const dim = dimensionOf(group);
  const [mode, setMode] = useState<'mapping' | 'default'>('mapping');
  const [target, setTarget] = useState<string | null>(null);
  const [billable, setBillable] = useState<boolean | null>(null);
  const [preview, setPreview] = useState<{ key: string; data: GroupPreview } | null>(null);
  const catalogName = dim ? dimensionCatalog(targetKind, dim) : undefined;
  const catalog = useCatalog(group.fix.kind === 'mapping' && catalogName ? pipeline?.target_connector_id : undefined, catalogName);
  const suggestions = useGroupSuggestions(group.fix.kind === 'mapping' && group.fix.mapping_kind ? group.id : undefined);
  const options = useMemo(() => pickerOptions(catalog.data?.items ?? [], suggestions.data?.items ?? []), [catalog.data, suggestions.data]);
  const targetLabel = target ? (options.find((o) => o.value === target)?.label ?? null) : null;

  const choice: FixChoice =
    group.fix.kind === 'target' ? { mode: 'retry' } : mode === 'default' ? { mode: 'default', target_key: target } : { mode: 'mapping', target_key: target, target_label: targetLabel, billable };
  const fix = buildFix(group, choice);
  const key = fixKey(fix);
  const previewMut = useMutation({
    mutationFn: (f: NonNullable<typeof fix>) => groupApi.preview(group.id, f),
    onSuccess: (data, f) => setPreview({ key: fixKey(f), data }),
  });
  const applyMut = useMutation({
    mutationFn: (f: NonNullable<typeof fix>) => groupApi.apply(group.id, f),
    onSuccess: (r) => onApplied(r.run_id),
  });
  const current = preview && preview.key === key ? preview.data : null;

  const sourceWord = dim ? dimensionLabel(sourceKind, dim) : '';
  const targetWord = dim ? dimensionLabel(targetKind, dim) : kindLabel(targetKind, 'the target');
  const sourceName = group.fix.source_label ?? group.cause.label;
  const pickId = `fix-target-${group.id}`;
  const retry = group.fix.kind === 'target';

  return (
    <section aria-label={`Fix for ${group.cause.label}`} className="grid gap-3 rounded-md border border-slate-200 bg-slate-50 p-3">
      {retry ? (
        <div className="grid gap-2 text-sm">
          <p className="font-medium text-slate-900">{kindLabel(targetKind, 'The target')} refuses these entries.</p>
          {group.fix.hint && <p className="text-slate-800">{group.fix.hint}</p>}
          {group.fix.url && (
            <a className="inline-flex w-fit items-center gap-1 text-blue-700 underline" href={group.fix.url} target="_blank" rel="noreferrer noopener">
              Open in {kindLabel(targetKind, 'the target')}
              <ExternalLink className="size-3.5" aria-hidden="true" />
            </a>
          )}
          <p className="text-slate-700">Once it is changed there, retry all {group.count} entries: preview first, then apply.</p>
        </div>
      ) : (
        <div className="grid gap-3">
          {group.fix.default_option && group.fix.mapping_kind && (
            <fieldset className="grid gap-1 text-sm">
              <legend className="mb-1 font-medium text-slate-900">What to fix</legend>
              <label className="flex items-center gap-2">
                <input type="radio" className="accent-blue-700" name={`mode-${group.id}`} checked={mode === 'mapping'} onChange={() => setMode('mapping')} />
                Map {sourceWord} “{sourceName}”
              </label>
              <label className="flex items-center gap-2">
                <input type="radio" className="accent-blue-700" name={`mode-${group.id}`} checked={mode === 'default'} onChange={() => setMode('default')} />
                Use as the pipeline default (for every {dimensionWord(sourceKind, dim ?? 'project') ?? dim} without a mapping)
              </label>
            </fieldset>
          )}
          {group.fix.default_option && !group.fix.mapping_kind && (
            <p className="text-sm text-slate-800">Set the pipeline’s default {targetWord}: entries without a mapping use it.</p>
          )}
          {mode === 'mapping' && group.fix.mapping_kind && (
            <p className="text-sm text-slate-800">
              Map {sourceWord} “{sourceName}” to {withArticle(targetWord)}; the mapping is saved for the pipeline and the {group.count} entries are written.
            </p>
          )}
          {mode === 'mapping' && (suggestions.data?.items.length ?? 0) > 0 && (
            <div className="grid gap-1">
              <p className="text-xs font-medium text-slate-700">Suggestions</p>
              <ul className="flex flex-wrap gap-2" aria-label="Suggestions">
                {suggestions.data?.items.map((s) => (
                  <li key={s.target_key}>
                    <Button size="sm" variant={target === s.target_key ? 'default' : 'outline'} aria-pressed={target === s.target_key} onClick={() => setTarget(s.target_key)}>
                      {s.target_label} <span className="text-xs opacity-80">({suggestionWhy(s.why)})</span>
                    </Button>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {catalogName ? (
            <div className="grid gap-1.5 sm:max-w-md">
              <label htmlFor={pickId} className="text-sm font-medium text-slate-800">
                {mode === 'default' ? `Default ${targetWord}` : `${targetWord} for ${sourceName}`}
              </label>
              {catalog.error ? (
                <InlineError error={catalog.error} />
              ) : (
                <Combobox
                  id={pickId}
                  ariaLabel={mode === 'default' ? `Default ${targetWord}` : `${targetWord} for ${sourceName}`}
                  options={options}
                  value={target}
                  onChange={setTarget}
                  placeholder={catalog.isPending ? 'Loading…' : `Choose ${withArticle(targetWord)}`}
                  disabled={catalog.isPending}
                />
              )}
            </div>
          ) : (
            <Field id={pickId} label={`${targetWord} id`} hint={`${kindLabel(targetKind)} does not list its ${dim ?? 'items'}: enter the id.`}>
              <Input value={target ?? ''} onChange={(e) => setTarget(e.target.value.trim() || null)} />
            </Field>
          )}
          {mode === 'mapping' && group.fix.mapping_kind && group.fix.mapping_kind !== 'user' && (
            <Field id={`fix-billable-${group.id}`} label="Billable" className="sm:max-w-48">
              <Select value={billableToString(billable)} onChange={(e) => setBillable(billableFromString(e.target.value))}>
                <option value="inherit">inherit</option>
                <option value="true">billable</option>
                <option value="false">not billable</option>
              </Select>
            </Field>
          )}
        </div>
      )}
      <div className="flex flex-wrap items-center gap-2">
        <Button variant="outline" disabled={!fix || previewMut.isPending || applyMut.isPending} onClick={() => fix && previewMut.mutate(fix)}>
          {previewMut.isPending ? 'Previewing…' : retry ? `Retry all ${group.count}: preview` : 'Preview'}
        </Button>
        <Button disabled={!fix || !current || applyMut.isPending} onClick={() => fix && applyMut.mutate(fix)} title={current ? undefined : 'Preview the fix first'}>
          {applyMut.isPending ? 'Applying…' : retry ? `Retry all ${group.count}` : 'Apply'}
        </Button>
        {!fix && !retry && <span className="text-xs text-slate-600">Choose {withArticle(targetWord)} first.</span>}
        {fix && !current && !previewMut.isPending && <span className="text-xs text-slate-600">Preview shows what would be written; then apply.</span>}
        {previewMut.isPending && <span role="status" className="text-xs text-slate-600">Reading both systems; this can take a few seconds…</span>}
      </div>
      <InlineError error={previewMut.error ?? applyMut.error} />
      {applyMut.error instanceof ApiError && applyMut.error.status === 409 && <p className="text-xs text-slate-600">Reload the page to see the group as it is now.</p>}
      {current && <FixPreview preview={current} />}
    </section>
  );
}

function writtenText(i: GroupPreviewItem): ReactNode {
  if ((i.outcome === 'create' || i.outcome === 'update') && i.entry) {
    const e = i.entry;
    const parts = [e.user?.name ?? e.user?.email ?? e.user?.key, e.project?.name, e.activity?.name, formatEntryDuration(e), formatDateTime(e.begin)].filter(Boolean);
    return parts.join(' · ');
  }
  if (i.outcome === 'conflict') return `${humanize(i.reason)}${i.message ? `: ${i.message}` : ''}`;
  return i.message ?? '—';
}

/** What a fix would do: counts, a verdict and the entries (at most 100) with what would be written. */
export function FixPreview({ preview }: { preview: GroupPreview }) {
  const summary = previewSummary(preview.summary);
  const verdict = previewVerdict(preview.summary);
  return (
    <div className="grid gap-2" aria-label="Fix preview" role="region">
      <p className="text-sm font-medium text-slate-900">Preview: what applying would do (nothing written yet)</p>
      <ul className="flex flex-wrap gap-2 text-sm">
        {summary.map((s) => (
          <li key={s.outcome} className="rounded-md border border-slate-200 bg-white px-2 py-1">
            <strong className="tabular-nums">{s.count}</strong> {s.words}
          </li>
        ))}
      </ul>
      {verdict === 'nothing' && (
        <p role="alert" className="rounded-md border border-amber-300 bg-amber-50 p-2 text-sm text-amber-950">
          Every entry would still be a conflict: this fix does not remove the cause.
        </p>
      )}
      {verdict === 'partly' && <p className="text-sm text-amber-900">Some entries would still be conflicts for another reason.</p>}
      <Table>
        <TableHeader>
          <TableRow>
            <TableHead>Entry</TableHead>
            <TableHead>Outcome</TableHead>
            <TableHead>What will be written</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {preview.items.map((i) => (
            <TableRow key={`${i.conflict_id}-${i.source_key}`}>
              <TableCell>
                <span className="font-mono text-xs">{i.source_key}</span>{' '}
                {i.conflict_id != null && (
                  <Link className="text-xs text-blue-700 underline" to={`/conflicts/${i.conflict_id}`}>
                    #{i.conflict_id}
                  </Link>
                )}
              </TableCell>
              <TableCell>
                <OutcomeBadge outcome={i.outcome} />
              </TableCell>
              <TableCell className="text-sm">{writtenText(i)}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {preview.total > preview.items.length && (
        <p className="text-xs text-slate-600">
          Showing {preview.items.length} of {preview.total} entries.
        </p>
      )}
    </div>
  );
}
