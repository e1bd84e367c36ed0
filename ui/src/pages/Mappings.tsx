import { useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ApiError } from '@/api/client';
import { mappingApi, simulate, useCatalog, useConnectorKinds, useConnectors, useMappings, usePipelines } from '@/api/hooks';
import type { CatalogItem, Connector, ConnectorKind, Mapping, MappingKind, Pipeline } from '@/api/types';
import { Empty, ErrorState, Loading, PageHeader, useTitle } from '@/components/common';
import { SimulationPreview } from '@/components/SimulationPreview';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent } from '@/components/ui/card';
import { Combobox } from '@/components/ui/combobox';
import { Input } from '@/components/ui/input';
import { Select } from '@/components/ui/select';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs';
import { toast } from '@/components/ui/toast';
import { capitalize, dimensionCatalog, dimensionLabel, dimensionWord, findKind, kindLabel, listWords, mappableDimensions, mappingTitle, plural } from '@/lib/kinds';
import { catalogOptions } from '@/lib/groups';
import { billableFromString, billableToString, draftsFrom, emailIndex, isExcluded, mappingBody, normEmail, planMappingChanges, proposedMappings, type Drafts, type MappingOp } from '@/lib/mappings';
import { cn } from '@/lib/utils';

const TAB_LABELS: Record<MappingKind, string> = { activity: 'Activities', project: 'Projects', user: 'Users' };

/** Selected pipeline from `?pipeline=` (or the first one). */
export function usePipelineChoice() {
  const [params, setParams] = useSearchParams();
  const pipelines = usePipelines();
  const raw = params.get('pipeline');
  const list = pipelines.data?.items ?? [];
  const selected = list.find((p) => String(p.id) === raw) ?? list[0];
  const select = (id: number) =>
    setParams(
      (prev) => {
        const n = new URLSearchParams(prev);
        n.set('pipeline', String(id));
        return n;
      },
      { replace: true },
    );
  return { pipelines, selected, select };
}

export function PipelinePicker({ list, selected, onSelect }: { list: Pipeline[]; selected?: Pipeline; onSelect: (id: number) => void }) {
  if (list.length <= 1) return null;
  return (
    <div className="flex items-center gap-2">
      <label htmlFor="pipeline-picker" className="text-sm font-medium text-slate-800">
        Pipeline
      </label>
      <Select id="pipeline-picker" className="w-auto" value={selected?.id ?? ''} onChange={(e) => onSelect(Number(e.target.value))}>
        {list.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </Select>
    </div>
  );
}

export function MappingsPage() {
  useTitle('Mappings');
  const { pipelines, selected, select } = usePipelineChoice();
  const connectors = useConnectors();
  const kinds = useConnectorKinds();
  const [tab, setTab] = useState<MappingKind>('activity');

  if (pipelines.isPending || connectors.isPending || kinds.isPending) return <Loading />;
  if (pipelines.error || connectors.error || kinds.error)
    return (
      <ErrorState
        error={pipelines.error ?? connectors.error ?? kinds.error}
        onRetry={() => { void pipelines.refetch(); void connectors.refetch(); void kinds.refetch(); }}
      />
    );
  if (!selected)
    return (
      <div>
        <PageHeader title="Mappings" />
        <Empty title="No pipeline yet">
          <Link className="text-blue-700 underline" to="/pipelines/new">Create a pipeline</Link> first.
        </Empty>
      </div>
    );
  const source = connectors.data?.items.find((c) => c.id === selected.source_connector_id);
  const target = connectors.data?.items.find((c) => c.id === selected.target_connector_id);
  const sourceKind = findKind(kinds.data, source?.kind);
  const targetKind = findKind(kinds.data, target?.kind);
  const dims = mappableDimensions(sourceKind, targetKind);
  const current = dims.includes(tab) ? tab : dims[0];
  const words = (k: ConnectorKind | undefined) => listWords(dims.map((d) => dimensionWord(k, d) ?? d));
  return (
    <div>
      <PageHeader
        title="Mappings"
        description={
          source && target
            ? `Tell timebridge which ${kindLabel(targetKind)} ${words(targetKind)} each ${kindLabel(sourceKind)} ${words(sourceKind)} belongs to. Unmapped items become conflicts.`
            : undefined
        }
        actions={<PipelinePicker list={pipelines.data?.items ?? []} selected={selected} onSelect={select} />}
      />
      {!source || !target ? (
        <ErrorState error={new Error('The pipeline refers to a connector that no longer exists.')} />
      ) : !current ? (
        <Empty title="Nothing to map">
          {kindLabel(sourceKind)} and {kindLabel(targetKind)} share no activity, project or user dimension.
        </Empty>
      ) : (
        <Tabs value={current} onValueChange={(v) => setTab(v as MappingKind)}>
          <TabsList aria-label="Mapping kind">
            {dims.map((d) => (
              <TabsTrigger key={d} value={d} title={mappingTitle(sourceKind, targetKind, d)}>
                {TAB_LABELS[d]}
              </TabsTrigger>
            ))}
          </TabsList>
          {dims.map((k) => (
            <TabsContent key={k} value={k}>
              {current === k && (
                <MappingEditor
                  key={`${selected.id}-${k}`}
                  kind={k}
                  pipeline={selected}
                  source={source}
                  target={target}
                  sourceKind={sourceKind}
                  targetKind={targetKind}
                />
              )}
            </TabsContent>
          ))}
        </Tabs>
      )}
    </div>
  );
}

function MappingEditor({
  kind,
  pipeline,
  source,
  target,
  sourceKind,
  targetKind,
}: {
  kind: MappingKind;
  pipeline: Pipeline;
  source: Connector;
  target: Connector;
  sourceKind?: ConnectorKind;
  targetKind?: ConnectorKind;
}) {
  // "Zammad type" / "Kimai activity": the kinds' own words, never a system named in code
  const sourceLabel = dimensionLabel(sourceKind, kind);
  const targetLabel = dimensionLabel(targetKind, kind);
  const sourcePlural = plural(sourceLabel);
  const srcWhat = dimensionCatalog(sourceKind, kind);
  const tgtWhat = dimensionCatalog(targetKind, kind);
  const srcCat = useCatalog(srcWhat ? source.id : undefined, srcWhat);
  const tgtCat = useCatalog(tgtWhat ? target.id : undefined, tgtWhat);
  const maps = useMappings(pipeline.id, kind);
  const qc = useQueryClient();
  const [drafts, setDrafts] = useState<Drafts>({});
  const [filter, setFilter] = useState('');
  const [onlyUnmapped, setOnlyUnmapped] = useState(false);
  const [saving, setSaving] = useState<{ done: number; total: number } | null>(null);
  const [saveErrors, setSaveErrors] = useState<Record<string, string>>({});
  // "Preview changes": the unsaved changes of this tab through the rule simulator, then Save or Back
  const [previewing, setPreviewing] = useState(false);
  const sim = useMutation({ mutationFn: (mappings: ReturnType<typeof proposedMappings>) => simulate(pipeline.id, { mappings }) });

  const existing: Mapping[] = useMemo(() => maps.data?.items ?? [], [maps.data]);
  useEffect(() => {
    setDrafts(draftsFrom(existing));
  }, [existing]);

  const targetItems = useMemo(() => tgtCat.data?.items ?? [], [tgtCat.data]);
  const tOptions = useMemo(() => catalogOptions(targetItems), [targetItems]);
  const byEmail = useMemo(() => (kind === 'user' ? emailIndex(targetItems) : new Map<string, string>()), [kind, targetItems]);
  const ops = useMemo(() => planMappingChanges(existing, drafts), [existing, drafts]);

  if (!srcWhat || !tgtWhat) {
    const lacking = srcWhat ? targetKind : sourceKind;
    const items = plural(dimensionWord(lacking, kind) ?? kind);
    return <Empty title={`No catalog to pick ${items} from`}>{kindLabel(lacking)} does not list its {items}.</Empty>;
  }
  if (srcCat.isPending || tgtCat.isPending || maps.isPending) return <Loading label="Loading catalogs…" />;
  const err = srcCat.error ?? tgtCat.error ?? maps.error;
  if (err) return <ErrorState error={err} title="Could not load catalogs from the connectors" onRetry={() => { void srcCat.refetch(); void tgtCat.refetch(); void maps.refetch(); }} />;

  const sourceItems: CatalogItem[] = srcCat.data?.items ?? [];
  // also show mappings whose source item is no longer in the catalog
  const known = new Set(sourceItems.map((s) => s.key));
  const orphans: CatalogItem[] = existing.filter((m) => !known.has(m.source_key)).map((m) => ({ key: m.source_key, label: `${m.source_label || m.source_key} (no longer in source)`, extra: {} }));
  const rows = [...sourceItems, ...orphans];

  const statusOf = (s: CatalogItem): 'excluded' | 'mapped' | 'email' | 'default' | 'unmapped' => {
    if (kind === 'user' && isExcluded(drafts[s.key])) return 'excluded';
    if (drafts[s.key]?.target_key) return 'mapped';
    if (kind === 'user') {
      const e = normEmail(s.extra?.email);
      if (e && byEmail.has(e)) return 'email';
    }
    if (kind === 'project' && pipeline.options.default_project) return 'default';
    if (kind === 'activity' && pipeline.options.default_activity) return 'default';
    return 'unmapped';
  };
  const q = filter.trim().toLowerCase();
  const visible = rows.filter((s) => {
    if (onlyUnmapped && statusOf(s) !== 'unmapped') return false;
    if (!q) return true;
    return s.label.toLowerCase().includes(q) || s.key.toLowerCase().includes(q) || String(s.extra?.email ?? '').toLowerCase().includes(q);
  });
  const unmappedCount = rows.filter((s) => statusOf(s) === 'unmapped').length;
  const labelOf = (key: string | null) => (key === null ? null : (targetItems.find((t) => t.key === key)?.label ?? key));
  const excludedCount = kind === 'user' ? rows.filter((s) => statusOf(s) === 'excluded').length : 0;
  const personWord = dimensionWord(sourceKind, 'user') ?? 'person';

  const sourceLabelOf = (key: string) => rows.find((r) => r.key === key)?.label ?? key;
  // only a user mapping can exclude its person; the others always sync
  const bodyOf = (op: Extract<MappingOp, { op: 'create' | 'update' }>) => mappingBody(op, { pipelineId: pipeline.id, kind, sourceLabel: sourceLabelOf, targetLabel: labelOf });
  const preview = () => {
    setPreviewing(true);
    sim.mutate(proposedMappings(ops, bodyOf));
  };
  const back = () => {
    setPreviewing(false);
    sim.reset();
  };
  /** `mappings[1].target_key` → the row it is about. */
  const describeField = (field: string) => {
    const m = /^mappings\[(\d+)\]\.?(.*)$/.exec(field);
    const op = m ? ops[Number(m[1])] : undefined;
    return op ? `${sourceLabelOf(op.source_key)}${m![2] ? ` (${m![2]})` : ''}` : null;
  };

  const save = async () => {
    setSaving({ done: 0, total: ops.length });
    const errs: Record<string, string> = {};
    let done = 0;
    for (const op of ops) {
      try {
        if (op.op === 'delete') await mappingApi.remove(op.id);
        else {
          const body = bodyOf(op);
          if (op.op === 'create') await mappingApi.create(body);
          else await mappingApi.update(op.id, body);
        }
      } catch (e) {
        errs[op.source_key] = e instanceof ApiError && e.status === 409 ? `Already mapped elsewhere: ${e.message}` : e instanceof Error ? e.message : String(e);
      }
      done += 1;
      setSaving({ done, total: ops.length });
    }
    setSaveErrors(errs);
    setSaving(null);
    back();
    await qc.invalidateQueries({ queryKey: ['mappings'] });
    const failed = Object.keys(errs).length;
    toast(
      failed
        ? { variant: 'error', title: `${ops.length - failed} of ${ops.length} changes saved`, description: `${failed} failed — see the highlighted rows.` }
        : { variant: 'success', title: `${ops.length} mapping change${ops.length === 1 ? '' : 's'} saved` },
    );
  };

  return (
    <Card>
      <CardContent className="grid gap-3 pt-4">
        <h2 className="text-base font-semibold text-slate-900">{mappingTitle(sourceKind, targetKind, kind)}</h2>
        <div className="flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between">
          <div className="flex flex-col gap-2 sm:flex-row sm:items-center">
            <label className="sr-only" htmlFor={`filter-${kind}`}>
              Search {sourcePlural}
            </label>
            <Input id={`filter-${kind}`} className="sm:w-64" placeholder={`Search ${sourcePlural}…`} value={filter} onChange={(e) => setFilter(e.target.value)} />
            <label className="flex items-center gap-2 text-sm text-slate-800">
              <input type="checkbox" className="size-4 accent-blue-700" checked={onlyUnmapped} onChange={(e) => setOnlyUnmapped(e.target.checked)} />
              Only unmapped ({unmappedCount})
            </label>
            {kind === 'user' && excludedCount > 0 && (
              <span className="text-sm text-slate-700">
                {excludedCount} {excludedCount === 1 ? personWord : plural(personWord)} excluded from sync
              </span>
            )}
          </div>
          <div className="flex items-center gap-2">
            {ops.length > 0 && <span className="text-sm text-slate-700">{ops.length} unsaved change{ops.length === 1 ? '' : 's'}</span>}
            <Button variant="outline" disabled={ops.length === 0 || !!saving || previewing} onClick={() => setDrafts(draftsFrom(existing))}>
              Discard
            </Button>
            <Button disabled={ops.length === 0 || !!saving || previewing} onClick={preview} title="See what the changes would do to the pipeline's entries before saving them">
              Preview changes
            </Button>
          </div>
        </div>
        {previewing ? (
          <SimulationPreview
            pending={sim.isPending}
            error={sim.error}
            data={sim.data}
            windowDays={pipeline.window_days}
            describeField={describeField}
            changeCount={ops.length}
            onBack={back}
            onSave={() => void save()}
            saving={!!saving}
            saveLabel={saving ? `Saving ${saving.done}/${saving.total}…` : 'Save mappings'}
          />
        ) : rows.length === 0 ? (
          <Empty title={`${kindLabel(sourceKind)} has no ${plural(dimensionWord(sourceKind, kind) ?? kind)}`} />
        ) : (
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>{capitalize(sourceLabel)}</TableHead>
                <TableHead className="min-w-56">{capitalize(targetLabel)}</TableHead>
                {kind === 'user' && <TableHead>Sync</TableHead>}
                {kind !== 'user' && <TableHead>Billable</TableHead>}
                <TableHead>Status</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {visible.map((s) => {
                const d = drafts[s.key] ?? { target_key: null, billable: null, sync: true };
                const excluded = kind === 'user' && isExcluded(d);
                const st = statusOf(s);
                const email = typeof s.extra?.email === 'string' ? s.extra.email : null;
                const matched = st === 'email' ? byEmail.get(normEmail(email)!) : undefined;
                const rowErr = saveErrors[s.key];
                return (
                  <TableRow key={s.key} className={cn(st === 'unmapped' && 'bg-amber-50 hover:bg-amber-50', excluded && 'bg-slate-50 text-slate-600 hover:bg-slate-50', rowErr && 'bg-red-50 hover:bg-red-50')}>
                    <TableCell>
                      <div className={cn('font-medium', excluded && 'line-through decoration-slate-400')}>{s.label}</div>
                      <div className="text-xs text-slate-600">
                        #{s.key}
                        {email && ` · ${email}`}
                      </div>
                      {rowErr && (
                        <p className="text-xs font-medium text-red-700" role="alert">
                          {rowErr}
                        </p>
                      )}
                    </TableCell>
                    <TableCell>
                      <Combobox
                        ariaLabel={`${targetLabel} for ${s.label}`}
                        options={tOptions}
                        value={d.target_key}
                        onChange={(v) => setDrafts((all) => ({ ...all, [s.key]: { ...d, target_key: v } }))}
                        emptyLabel={excluded ? '(none — excluded from sync)' : kind === 'user' ? '(automatic by e-mail / none)' : '(not mapped)'}
                        placeholder={excluded ? 'Not needed (excluded)' : matched ? `${labelOf(matched)} (by e-mail)` : 'Not mapped'}
                        invalid={st === 'unmapped'}
                      />
                    </TableCell>
                    {kind === 'user' && (
                      <TableCell>
                        <label className="flex items-center gap-2 whitespace-nowrap text-sm text-slate-800">
                          <input
                            type="checkbox"
                            className="size-4 accent-blue-700"
                            aria-label={`Exclude ${s.label} from sync`}
                            checked={excluded}
                            onChange={(e) => setDrafts((all) => ({ ...all, [s.key]: { ...d, sync: !e.target.checked } }))}
                          />
                          <span aria-hidden="true">Exclude from sync</span>
                        </label>
                      </TableCell>
                    )}
                    {kind !== 'user' && (
                      <TableCell>
                        <Select
                          aria-label={`Billable for ${s.label}`}
                          className="w-32"
                          value={billableToString(d.billable)}
                          onChange={(e) => setDrafts((all) => ({ ...all, [s.key]: { ...d, billable: billableFromString(e.target.value) } }))}
                          disabled={!d.target_key}
                        >
                          <option value="inherit">inherit</option>
                          <option value="true">billable</option>
                          <option value="false">not billable</option>
                        </Select>
                      </TableCell>
                    )}
                    <TableCell>
                      {st === 'excluded' && <Badge title={`Entries of this ${personWord} are skipped (“user excluded”), never written.`}>excluded from sync</Badge>}
                      {st === 'mapped' && <Badge variant="success">mapped</Badge>}
                      {st === 'email' && <Badge variant="info">matched by e-mail</Badge>}
                      {st === 'default' && <Badge>uses default</Badge>}
                      {st === 'unmapped' && <Badge variant="warning">unmapped</Badge>}
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        )}
        {!previewing && visible.length === 0 && rows.length > 0 && <p className="text-sm text-slate-600">No rows match the filter.</p>}
      </CardContent>
    </Card>
  );
}
