import { useMemo, useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { ApiError } from '@/api/client';
import { simulate, useCatalog, useConnectorKinds, useConnectors, usePipelines, useSavePipeline } from '@/api/hooks';
import type { CatalogItem, Connector, ConnectorKind, Pipeline } from '@/api/types';
import { ErrorState, InlineError, Loading, PageHeader, useTitle } from '@/components/common';
import { SimulationPreview } from '@/components/SimulationPreview';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Combobox } from '@/components/ui/combobox';
import { Field, Input } from '@/components/ui/input';
import { Select } from '@/components/ui/select';
import { toast } from '@/components/ui/toast';
import { clientCatalog, connectorsWithRole, dimensionCatalog, dimensionLabel, findKind, kindLabel, labelOfKind, withArticle } from '@/lib/kinds';
import {
  changedPlanningOptions,
  formToOptions,
  mirrorAvailability,
  newRoundingRule,
  NOTIFY_EVENTS,
  optionsToForm,
  ROUNDING_MODES,
  roundingErrors,
  toggleNotify,
  validSummaryTime,
  type OptionsForm,
  type RoundingForm,
  type RoundingRuleForm,
  type StepForm,
} from '@/lib/pipelineOptions';
import { hasErrors, positiveInt, required, type Errors } from '@/lib/validate';

export function PipelineFormPage() {
  const { id } = useParams();
  const editId = id ? Number(id) : undefined;
  useTitle(editId ? 'Edit pipeline' : 'Add pipeline');
  const pipelines = usePipelines();
  const connectors = useConnectors();
  const kinds = useConnectorKinds();
  if (pipelines.isPending || connectors.isPending || kinds.isPending) return <Loading />;
  const err = pipelines.error ?? connectors.error ?? kinds.error;
  if (err || !pipelines.data || !connectors.data || !kinds.data)
    return <ErrorState error={err} onRetry={() => { void pipelines.refetch(); void connectors.refetch(); void kinds.refetch(); }} />;
  const pipeline = editId ? pipelines.data.items.find((p) => p.id === editId) : undefined;
  if (editId && !pipeline) return <ErrorState error={new Error(`Pipeline #${editId} does not exist.`)} />;
  return <PipelineForm key={editId ?? 'new'} pipeline={pipeline} connectors={connectors.data.items} kinds={kinds.data} />;
}

function PipelineForm({ pipeline, connectors, kinds }: { pipeline?: Pipeline; connectors: Connector[]; kinds: ConnectorKind[] }) {
  const editing = !!pipeline;
  const navigate = useNavigate();
  const save = useSavePipeline();
  // only kinds with the role: a notifier-only kind is never offered
  const sources = connectorsWithRole(connectors, kinds, 'source');
  const targets = connectorsWithRole(connectors, kinds, 'target');
  const notifiers = connectorsWithRole(connectors, kinds, 'notifier');
  const kindOf = (id: string) => findKind(kinds, connectors.find((c) => String(c.id) === id)?.kind);
  const [source, setSource] = useState(String(pipeline?.source_connector_id ?? sources[0]?.id ?? ''));
  const [target, setTarget] = useState(String(pipeline?.target_connector_id ?? targets[0]?.id ?? ''));
  // a new pipeline is named after its kinds ("Zammad → Kimai") until the name is edited
  const [typedName, setName] = useState<string | null>(pipeline?.name ?? null);
  const name = typedName ?? (source && target ? `${kindLabel(kindOf(source))} → ${kindLabel(kindOf(target))}` : '');
  const [enabled, setEnabled] = useState(pipeline?.enabled ?? true);
  const [schedEnabled, setSchedEnabled] = useState(pipeline?.schedule.enabled ?? true);
  const [interval, setIntervalMin] = useState(String(pipeline?.schedule.interval_minutes ?? 360));
  const [windowDays, setWindowDays] = useState(String(pipeline?.window_days ?? 30));
  const [options, setOptions] = useState<OptionsForm>(() => optionsToForm(pipeline?.options));
  // "Preview changes" (editing only): the changed planning options through the rule simulator
  const [previewing, setPreviewing] = useState(false);
  const sim = useMutation({ mutationFn: (v: { id: number; options: Record<string, unknown> }) => simulate(v.id, { options: v.options }) });
  const closePreview = () => {
    setPreviewing(false);
    sim.reset();
  };
  const setOpt = <K extends keyof OptionsForm>(k: K, v: OptionsForm[K]) => {
    closePreview(); // a preview shows the options it was made for
    setOptions((o) => ({ ...o, [k]: v }));
  };
  const defProject = options.default_project;
  const defActivity = options.default_activity;
  const setDefProject = (v: string | null) => setOpt('default_project', v);
  const setDefActivity = (v: string | null) => setOpt('default_activity', v);
  const [errors, setErrors] = useState<Errors>({});
  const targetId = target ? Number(target) : undefined;
  const sourceKind = kindOf(source);
  const targetKind = kindOf(target);
  const projectCatalog = dimensionCatalog(targetKind, 'project');
  const activityCatalog = dimensionCatalog(targetKind, 'activity');
  const projects = useCatalog(projectCatalog ? targetId : undefined, projectCatalog);
  const mirror = mirrorAvailability(sourceKind, targetKind);
  const sourceId = source ? Number(source) : undefined;
  const clients = useCatalog(mirror.available && mirror.clientCatalog ? sourceId : undefined, mirror.clientCatalog);
  const activities = useCatalog(activityCatalog ? targetId : undefined, activityCatalog);
  const customerCatalog = clientCatalog(targetKind);
  const customers = useCatalog(customerCatalog ? targetId : undefined, customerCatalog);
  const setRounding = (r: RoundingForm) => setOpt('rounding', r);
  const word = (k: ConnectorKind | undefined, d: 'activity' | 'project' | 'user', generic: string) => (k ? dimensionLabel(k, d) : generic);
  const opts = (items: { key: string; label: string; extra?: Record<string, unknown> }[] | undefined) =>
    (items ?? []).map((i) => ({ value: i.key, label: i.label, hint: `#${i.key}` }));

  const stored = useMemo(() => formToOptions(optionsToForm(pipeline?.options), mirror.available), [pipeline?.options, mirror.available]);
  const changedOptions = pipeline ? changedPlanningOptions(stored, formToOptions(options, mirror.available)) : {};
  const changedCount = Object.keys(changedOptions).length;

  /** Field errors of the form; false (and the first invalid field focused) when there are any. */
  const validate = (): boolean => {
    const errs: Errors = {
      name: required(name, 'Name'),
      source_connector_id: required(source, 'Source connector'),
      target_connector_id: required(target, 'Target connector'),
      'schedule.interval_minutes': schedEnabled ? positiveInt(interval, 'Interval') : undefined,
      window_days: positiveInt(windowDays, 'Window'),
      'options.daily_summary_at': validSummaryTime(options.daily_summary_at) ? undefined : 'Daily summary time must be HH:MM, e.g. 08:00',
      ...roundingErrors(options.rounding),
    };
    setErrors(errs);
    if (hasErrors(errs)) {
      document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return false;
    }
    return true;
  };
  const preview = () => {
    if (!pipeline || !validate()) return;
    setPreviewing(true);
    sim.mutate({ id: pipeline.id, options: changedOptions });
  };
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    if (!validate()) return;
    save.mutate(
      {
        id: pipeline?.id,
        body: {
          name: name.trim(),
          source_connector_id: Number(source),
          target_connector_id: Number(target),
          enabled,
          schedule: { enabled: schedEnabled, interval_minutes: Number(interval) || pipeline?.schedule.interval_minutes || 360 },
          window_days: Number(windowDays),
          options: formToOptions(options, mirror.available),
        },
      },
      {
        onSuccess: (p) => {
          toast({ variant: 'success', title: editing ? 'Pipeline saved' : 'Pipeline created', description: editing ? undefined : 'Next: map activities, projects and users.' });
          closePreview();
          if (!editing) navigate(`/mappings?pipeline=${p.id}`);
        },
        onError: (err) => {
          if (err instanceof ApiError) setErrors((prev) => ({ ...prev, ...err.fieldErrors }));
        },
      },
    );
  };

  return (
    <div>
      <PageHeader
        title={editing ? `Pipeline “${pipeline.name}”` : 'Add pipeline'}
        actions={
          <Button asChild variant="outline">
            <Link to="/pipelines">Back to pipelines</Link>
          </Button>
        }
      />
      {(sources.length === 0 || targets.length === 0) && (
        <p role="alert" className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900">
          You need at least one source and one target connector. <Link className="underline" to="/connectors/new">Add a connector</Link>.
        </p>
      )}
      <form onSubmit={submit} noValidate className="grid grid-cols-1 gap-4">
        <Card>
          <CardHeader>
            <CardTitle>Connectors</CardTitle>
          </CardHeader>
          <CardContent className="grid gap-4 md:grid-cols-3">
            <Field id="name" label="Name" required error={errors.name}>
              <Input value={name} onChange={(e) => setName(e.target.value)} />
            </Field>
            <Field id="source" label="Source" required error={errors.source_connector_id} hint="Where the time entries come from.">
              <Select value={source} onChange={(e) => setSource(e.target.value)}>
                <option value="">Choose…</option>
                {sources.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name} ({labelOfKind(kinds, c.kind)})
                  </option>
                ))}
              </Select>
            </Field>
            <Field id="target" label="Target" required error={errors.target_connector_id} hint="Where they are written.">
              <Select
                value={target}
                onChange={(e) => {
                  setTarget(e.target.value);
                  setDefProject(null);
                  setDefActivity(null);
                }}
              >
                <option value="">Choose…</option>
                {targets.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name} ({labelOfKind(kinds, c.kind)})
                  </option>
                ))}
              </Select>
            </Field>
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Schedule</CardTitle>
          </CardHeader>
          <CardContent className="grid gap-4 md:grid-cols-3">
            <label className="flex items-center gap-2 text-sm font-medium text-slate-800">
              <input type="checkbox" className="size-4 accent-blue-700" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
              Pipeline enabled
            </label>
            <label className="flex items-center gap-2 text-sm font-medium text-slate-800">
              <input type="checkbox" className="size-4 accent-blue-700" checked={schedEnabled} onChange={(e) => setSchedEnabled(e.target.checked)} />
              Run on a schedule
            </label>
            <Field id="interval" label="Interval (minutes)" required={schedEnabled} error={errors['schedule.interval_minutes'] ?? errors.interval_minutes} hint="360 = every 6 hours">
              <Input type="number" min={1} step={1} inputMode="numeric" value={interval} onChange={(e) => setIntervalMin(e.target.value)} disabled={!schedEnabled} />
            </Field>
            <Field id="window_days" label="Window (days back)" required error={errors.window_days} hint="How many past days each run compares.">
              <Input type="number" min={1} step={1} inputMode="numeric" value={windowDays} onChange={(e) => setWindowDays(e.target.value)} />
            </Field>
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Defaults</CardTitle>
          </CardHeader>
          <CardContent className="grid gap-4 md:grid-cols-3">
            <div className="grid content-start gap-1.5">
              <label className="text-sm font-medium text-slate-800" htmlFor="default_project">
                Default {word(targetKind, 'project', 'project')}
              </label>
              <Combobox id="default_project" options={opts(projects.data?.items)} value={defProject} onChange={setDefProject} emptyLabel="(none — unmapped is a conflict)" placeholder={projects.isPending && targetId && projectCatalog ? 'Loading…' : '(none)'} disabled={!targetId || !projectCatalog} />
              <p className="text-xs text-slate-600">Used when {withArticle(word(sourceKind, 'project', 'source project'))} has no mapping.</p>
              {projects.error && <p className="text-xs text-red-700">{projects.error.message}</p>}
            </div>
            <div className="grid content-start gap-1.5">
              <label className="text-sm font-medium text-slate-800" htmlFor="default_activity">
                Default {word(targetKind, 'activity', 'activity')}
              </label>
              <Combobox id="default_activity" options={opts(activities.data?.items)} value={defActivity} onChange={setDefActivity} emptyLabel="(none — unmapped is a conflict)" placeholder={activities.isPending && targetId && activityCatalog ? 'Loading…' : '(none)'} disabled={!targetId || !activityCatalog} />
              <p className="text-xs text-slate-600">Used when {withArticle(word(sourceKind, 'activity', 'source activity'))} has no mapping.</p>
              {activities.error && <p className="text-xs text-red-700">{activities.error.message}</p>}
            </div>
            <Field
              id="unmapped_user"
              label={`${word(sourceKind, 'user', 'Source user')} without ${withArticle(word(targetKind, 'user', 'target user'))}`}
              hint={`“Token user” books the time on the user of the ${targetKind ? kindLabel(targetKind) : 'target'} API token.`}
            >
              <Select value={options.unmapped_user} onChange={(e) => setOpt('unmapped_user', e.target.value as OptionsForm['unmapped_user'])}>
                <option value="conflict">Raise a conflict</option>
                <option value="token_user">Book as the token user</option>
              </Select>
            </Field>
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Matching and running entries</CardTitle>
          </CardHeader>
          <CardContent className="grid gap-4 md:grid-cols-2">
            <div className="grid content-start gap-1">
              <label className="flex items-center gap-2 text-sm font-medium text-slate-800">
                <input type="checkbox" className="size-4 accent-blue-700" checked={options.match_by_name} onChange={(e) => setOpt('match_by_name', e.target.checked)} />
                Match projects and activities by name
              </label>
              <p className="text-xs text-slate-600">
                {word(sourceKind, 'project', 'Source project')} and {word(sourceKind, 'activity', 'source activity')} names equal to {withArticle(word(targetKind, 'project', 'target project'))} or{' '}
                {withArticle(word(targetKind, 'activity', 'target activity'))} name (ignoring case and spaces around) match without a mapping — after the mappings, before the defaults.
              </p>
              {fieldError(errors, 'options.match_by_name')}
            </div>
            <div className="grid content-start gap-1">
              <label className="flex items-center gap-2 text-sm font-medium text-slate-800">
                <input type="checkbox" className="size-4 accent-blue-700" checked={options.include_running} onChange={(e) => setOpt('include_running', e.target.checked)} />
                Carry running entries
              </label>
              <p className="text-xs text-slate-600">
                Entries whose timer is still running are written as running and updated when they end. Off: they are skipped (“still running”) until they end.
              </p>
              {fieldError(errors, 'options.include_running')}
            </div>
          </CardContent>
        </Card>
        <RoundingCard
          rounding={options.rounding}
          onChange={setRounding}
          errors={errors}
          warnings={(pipeline?.warnings ?? []).filter((w) => w.field === 'options.rounding').map((w) => w.message)}
          customers={customerCatalog ? customers.data?.items : undefined}
          projects={projectCatalog ? projects.data?.items : undefined}
          customerWord="customer"
          projectWord={word(targetKind, 'project', 'project')}
        />
        <Card>
          <CardHeader>
            <CardTitle>Mirror target projects into the source</CardTitle>
          </CardHeader>
          <CardContent className="grid gap-3">
            <label className={`flex items-center gap-2 text-sm font-medium ${mirror.available ? 'text-slate-800' : 'text-slate-500'}`}>
              <input
                type="checkbox"
                className="size-4 accent-blue-700"
                checked={mirror.available && options.mirror_enabled}
                disabled={!mirror.available}
                aria-describedby="mirror-why"
                onChange={(e) => setOpt('mirror_enabled', e.target.checked)}
              />
              Mirror {targetKind ? `${kindLabel(targetKind)} ` : 'target '}projects into {sourceKind ? kindLabel(sourceKind) : 'the source'}
            </label>
            <p id="mirror-why" className="text-xs text-slate-600">
              {mirror.available
                ? `Before each run, every active ${word(targetKind, 'project', 'target project')} whose name no ${word(sourceKind, 'project', 'source project')} has is created in ${kindLabel(sourceKind)}, once.`
                : `Not available: ${mirror.why}`}
            </p>
            {mirror.available && (
              <div className="grid max-w-md content-start gap-1.5">
                <label className="text-sm font-medium text-slate-800" htmlFor="mirror_client_key">
                  Client for new projects
                </label>
                {mirror.clientCatalog ? (
                  <Combobox
                    id="mirror_client_key"
                    options={opts(clients.data?.items)}
                    value={options.mirror_client_key || null}
                    onChange={(v) => setOpt('mirror_client_key', v ?? '')}
                    emptyLabel="(none)"
                    placeholder={clients.isPending ? 'Loading…' : '(none)'}
                    disabled={!options.mirror_enabled}
                  />
                ) : (
                  <Input id="mirror_client_key" value={options.mirror_client_key} placeholder="(none)" disabled={!options.mirror_enabled} onChange={(e) => setOpt('mirror_client_key', e.target.value)} />
                )}
                <p className="text-xs text-slate-600">Where {kindLabel(sourceKind)} has clients, new projects are created under this one; empty: none.</p>
                {clients.error && <p className="text-xs text-red-700">{clients.error.message}</p>}
              </div>
            )}
            {fieldError(errors, 'options.mirror_projects.enabled')}
            {fieldError(errors, 'options.mirror_projects.client_key')}
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Notifications</CardTitle>
          </CardHeader>
          <CardContent className="grid gap-3">
            {notifiers.length === 0 ? (
              <p className="text-sm text-slate-600">
                No notifier yet. <Link className="text-blue-700 underline" to="/connectors/new">Add a Slack, e-mail or webhook connector</Link> to be told about failed runs, new conflicts and a daily summary.
              </p>
            ) : (
              <table className="text-sm">
                <thead>
                  <tr className="text-left text-slate-600">
                    <th className="py-1 pr-4 font-medium">Notifier</th>
                    {NOTIFY_EVENTS.map((e) => (
                      <th key={e.event} className="py-1 pr-4 font-medium">
                        {e.label}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {notifiers.map((c) => (
                    <tr key={c.id}>
                      <td className="py-1 pr-4">
                        {c.name} <span className="text-xs text-slate-500">({kindLabel(findKind(kinds, c.kind))})</span>
                      </td>
                      {NOTIFY_EVENTS.map((e) => (
                        <td key={e.event} className="py-1 pr-4">
                          <input
                            type="checkbox"
                            className="size-4 accent-blue-700"
                            aria-label={`${e.label} to ${c.name}`}
                            checked={(options.notify[c.id] ?? []).includes(e.event)}
                            onChange={(ev) => setOpt('notify', toggleNotify(options.notify, c.id, e.event, ev.target.checked))}
                          />
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {Object.keys(errors)
              .filter((k) => k.startsWith('options.notify'))
              .map((k) => (
                <div key={k}>{fieldError(errors, k)}</div>
              ))}
            <Field
              id="daily_summary_at"
              label="Daily summary at (local time)"
              hint="HH:MM in the time zone of the settings; empty: the time set on the Settings page."
              error={errors['options.daily_summary_at']}
            >
              <Input
                id="daily_summary_at"
                className="max-w-32"
                value={options.daily_summary_at}
                placeholder="settings’ default"
                onChange={(e) => setOpt('daily_summary_at', e.target.value)}
              />
            </Field>
          </CardContent>
        </Card>
        <InlineError error={save.error} />
        {previewing && pipeline ? (
          <SimulationPreview
            pending={sim.isPending}
            error={sim.error}
            data={sim.data}
            windowDays={pipeline.window_days}
            describeField={(f) => (f.startsWith('options') ? f.replace(/^options\.?/, 'option ') : null)}
            changeCount={changedCount}
            onBack={closePreview}
            onSave={() => submit()}
            saving={save.isPending}
            saveLabel={save.isPending ? 'Saving…' : 'Save changes'}
          />
        ) : (
          <div className="flex flex-wrap items-center gap-2">
            <Button type="submit" disabled={save.isPending}>
              {save.isPending ? 'Saving…' : editing ? 'Save changes' : 'Create pipeline'}
            </Button>
            {editing && (
              <Button type="button" variant="outline" disabled={changedCount === 0 || save.isPending} onClick={preview} title="See what the changed mapping, default and rounding options would do to the pipeline's entries before saving them">
                Preview changes
              </Button>
            )}
            {editing && changedCount > 0 && <span className="text-sm text-slate-700">{changedCount} option{changedCount === 1 ? '' : 's'} that change how entries are written</span>}
          </div>
        )}
      </form>
    </div>
  );
}

/** A server's 422 message for a field that has no input of its own (e.g. `options.mirror_projects.enabled`). */
function fieldError(errors: Errors, field: string) {
  const msg = errors[field];
  if (!msg) return null;
  return (
    <p role="alert" className="text-sm font-medium text-red-700">
      {msg}
    </p>
  );
}

const inputClass = 'h-9 w-full rounded-md border border-slate-300 bg-white px-2 py-1 text-sm text-slate-900 shadow-sm';

/** Mode, step (seconds or minutes) and the edge to keep, for the default or one rule. */
function StepInputs({ value, onChange, idPrefix, error }: { value: StepForm; onChange: (v: StepForm) => void; idPrefix: string; error?: string }) {
  return (
    <>
      <td className="py-1 pr-2">
        <Select aria-label="Mode" id={`${idPrefix}-mode`} value={value.mode} onChange={(e) => onChange({ ...value, mode: e.target.value as StepForm['mode'] })}>
          {ROUNDING_MODES.map((m) => (
            <option key={m.mode} value={m.mode}>
              {m.label}
            </option>
          ))}
        </Select>
      </td>
      <td className="py-1 pr-2">
        <input
          aria-label="Step"
          id={`${idPrefix}-step`}
          className={`${inputClass} max-w-24`}
          inputMode="decimal"
          value={value.step}
          disabled={value.mode === 'exact'}
          aria-invalid={error ? true : undefined}
          onChange={(e) => onChange({ ...value, step: e.target.value })}
        />
      </td>
      <td className="py-1 pr-2">
        <Select aria-label="Unit" value={value.unit} disabled={value.mode === 'exact'} onChange={(e) => onChange({ ...value, unit: e.target.value as StepForm['unit'] })}>
          <option value="minutes">minutes</option>
          <option value="seconds">seconds</option>
        </Select>
      </td>
      <td className="py-1 pr-2">
        <Select aria-label="Keep" value={value.keep} disabled={value.mode === 'exact'} onChange={(e) => onChange({ ...value, keep: e.target.value as StepForm['keep'] })}>
          <option value="begin">Keep the begin (the end moves)</option>
          <option value="end">Keep the end (the begin moves)</option>
        </Select>
      </td>
    </>
  );
}

/** A target key from its catalog (or typed, without one); empty is "any". */
function KeyPicker({ label, value, items, onChange }: { label: string; value: string | null; items: CatalogItem[] | undefined; onChange: (v: string | null) => void }) {
  if (!items)
    return <input aria-label={label} className={inputClass} value={value ?? ''} placeholder="(any)" onChange={(e) => onChange(e.target.value.trim() === '' ? null : e.target.value.trim())} />;
  const known = value === null || items.some((i) => i.key === value);
  return (
    <Select aria-label={label} value={value ?? ''} onChange={(e) => onChange(e.target.value === '' ? null : e.target.value)}>
      <option value="">(any)</option>
      {!known && <option value={value ?? ''}>#{value} (not in the target)</option>}
      {items.map((i) => (
        <option key={i.key} value={i.key}>
          {i.label} (#{i.key})
        </option>
      ))}
    </Select>
  );
}

/** `options.rounding`: the pipeline's default and rules by target customer/project, #1 first. */
function RoundingCard({
  rounding,
  onChange,
  errors,
  warnings,
  customers,
  projects,
  customerWord,
  projectWord,
}: {
  rounding: RoundingForm;
  onChange: (r: RoundingForm) => void;
  errors: Errors;
  warnings: string[];
  customers: CatalogItem[] | undefined;
  projects: CatalogItem[] | undefined;
  customerWord: string;
  projectWord: string;
}) {
  const setRule = (i: number, r: RoundingRuleForm) => onChange({ ...rounding, rules: rounding.rules.map((x, j) => (j === i ? r : x)) });
  const removeRule = (i: number) => onChange({ ...rounding, rules: rounding.rules.filter((_, j) => j !== i) });
  const messages = Object.keys(errors)
    .filter((k) => k.startsWith('options.rounding') && errors[k])
    .map((k) => {
      const rule = /rules\[(\d+)\]/.exec(k);
      return `${rule ? `Rule #${Number(rule[1]) + 1}: ` : ''}${errors[k]}`;
    });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Rounding</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-3">
        <p className="text-xs text-slate-600">
          Round each entry’s duration before it is written, e.g. up to 15 minutes for one customer. The source’s own duration is always what is rounded, so an entry is never rounded twice;
          running entries are rounded when they end. A positive duration is never rounded to zero: below one step it becomes one step. The first rule whose {customerWord} and {projectWord} match
          applies, else the default.
        </p>
        {warnings.map((w) => (
          <p key={w} role="status" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900">
            {w}
          </p>
        ))}
        <div className="overflow-x-auto">
          <table className="text-sm">
            <thead>
              <tr className="text-left text-slate-600">
                <th className="py-1 pr-2 font-medium">Rule</th>
                <th className="py-1 pr-2 font-medium capitalize">{customerWord}</th>
                <th className="py-1 pr-2 font-medium capitalize">{projectWord}</th>
                <th className="py-1 pr-2 font-medium">Mode</th>
                <th className="py-1 pr-2 font-medium">Step</th>
                <th className="py-1 pr-2 font-medium">Unit</th>
                <th className="py-1 pr-2 font-medium">Keep</th>
                <th className="py-1 font-medium">
                  <span className="sr-only">Remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rounding.rules.map((r, i) => (
                <tr key={i}>
                  <td className="py-1 pr-2 font-medium">#{i + 1}</td>
                  <td className="py-1 pr-2">
                    <KeyPicker label={`Rule #${i + 1} ${customerWord}`} value={r.customer} items={customers} onChange={(customer) => setRule(i, { ...r, customer })} />
                  </td>
                  <td className="py-1 pr-2">
                    <KeyPicker label={`Rule #${i + 1} ${projectWord}`} value={r.project} items={projects} onChange={(project) => setRule(i, { ...r, project })} />
                  </td>
                  <StepInputs idPrefix={`rounding-rule-${i}`} value={r} onChange={(v) => setRule(i, { ...r, ...v })} error={errors[`options.rounding.rules[${i}].step_seconds`]} />
                  <td className="py-1">
                    <Button variant="ghost" size="sm" aria-label={`Remove rule #${i + 1}`} onClick={() => removeRule(i)}>
                      Remove
                    </Button>
                  </td>
                </tr>
              ))}
              <tr>
                <td className="py-1 pr-2 font-medium">Default</td>
                <td className="py-1 pr-2 text-slate-600" colSpan={2}>
                  every other entry
                </td>
                <StepInputs idPrefix="rounding-default" value={rounding} onChange={(v) => onChange({ ...rounding, ...v })} error={errors['options.rounding.step_seconds']} />
                <td />
              </tr>
            </tbody>
          </table>
        </div>
        <div>
          <Button variant="outline" size="sm" onClick={() => onChange({ ...rounding, rules: [...rounding.rules, newRoundingRule()] })}>
            Add rule
          </Button>
        </div>
        {messages.map((m) => (
          <p key={m} role="alert" className="text-sm font-medium text-red-700">
            {m}
          </p>
        ))}
      </CardContent>
    </Card>
  );
}
