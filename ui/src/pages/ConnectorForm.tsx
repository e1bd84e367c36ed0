import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { ApiError } from '@/api/client';
import { useConnector, useConnectorKinds, useSaveConnector, useTestConnector } from '@/api/hooks';
import type { Connector, ConnectorKind } from '@/api/types';
import { ErrorState, InlineError, Loading, PageHeader, useTitle } from '@/components/common';
import { TestResult } from '@/pages/Connectors';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Field, Input } from '@/components/ui/input';
import { Select } from '@/components/ui/select';
import { toast } from '@/components/ui/toast';
import { hasSecret, initialValues, schemaFields, toPayload, validateValues, type FormValues, type SchemaField } from '@/lib/schemaForm';
import { WebhookUrl } from '@/components/WebhookUrl';
import { kindLabel, listWords } from '@/lib/kinds';
import { oauthState } from '@/lib/oauth';
import { hasErrors, httpUrl, required, type Errors } from '@/lib/validate';

export function ConnectorFormPage() {
  const { id } = useParams();
  const editId = id ? Number(id) : undefined;
  const kinds = useConnectorKinds();
  const connector = useConnector(editId);
  useTitle(editId ? 'Edit connector' : 'Add connector');

  if (kinds.isPending || (editId && connector.isPending)) return <Loading />;
  if (kinds.error) return <ErrorState error={kinds.error} onRetry={() => void kinds.refetch()} />;
  if (editId && connector.error) return <ErrorState error={connector.error} onRetry={() => void connector.refetch()} />;
  return <ConnectorForm key={editId ?? 'new'} kinds={kinds.data} connector={editId ? connector.data : undefined} />;
}

function SettingInput({
  f,
  value,
  onChange,
  error,
  secretSet,
  editing,
}: {
  f: SchemaField;
  value: string | boolean;
  onChange: (v: string | boolean) => void;
  error?: string;
  secretSet: boolean;
  editing: boolean;
}) {
  const id = `setting-${f.name}`;
  if (f.type === 'boolean') {
    return (
      <div className="grid gap-1">
        <label className="flex items-center gap-2 text-sm font-medium text-slate-800" htmlFor={id}>
          <input id={id} type="checkbox" className="size-4 accent-blue-700" checked={Boolean(value)} onChange={(e) => onChange(e.target.checked)} />
          {f.title}
        </label>
        {f.description && <p className="text-xs text-slate-600">{f.description}</p>}
        {error && <p className="text-xs font-medium text-red-700" role="alert">{error}</p>}
      </div>
    );
  }
  const hint = [
    f.description,
    f.default !== undefined && f.default !== null && !f.writeOnly ? `Default: ${String(f.default)}` : null,
  ]
    .filter(Boolean)
    .join(' · ');
  const label = f.writeOnly ? (
    <span className="inline-flex items-center gap-2">
      {f.title} {editing && (secretSet ? <Badge variant="success">set</Badge> : <Badge variant="warning">not set</Badge>)}
    </span>
  ) : (
    f.title
  );
  return (
    <Field
      id={id}
      label={label}
      hint={f.writeOnly ? `${hint ? hint + ' · ' : ''}Write-only: never shown again. ${editing && secretSet ? 'Leave empty to keep the current value.' : ''}` : hint || undefined}
      error={error}
      required={f.required && !f.writeOnly}
    >
      {f.type === 'enum' ? (
        <Select value={String(value)} onChange={(e) => onChange(e.target.value)}>
          {!f.required && <option value="">(default)</option>}
          {f.options?.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </Select>
      ) : (
        <Input
          type={f.writeOnly ? 'password' : f.type === 'number' || f.type === 'integer' ? 'number' : 'text'}
          step={f.type === 'number' ? 'any' : undefined}
          inputMode={f.type === 'integer' ? 'numeric' : f.type === 'number' ? 'decimal' : undefined}
          autoComplete={f.writeOnly ? 'new-password' : 'off'}
          value={String(value)}
          placeholder={f.writeOnly && editing && secretSet ? '•••••• (unchanged)' : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

function ConnectorForm({ kinds, connector }: { kinds: ConnectorKind[]; connector?: Connector }) {
  const editing = !!connector;
  const navigate = useNavigate();
  const save = useSaveConnector();
  const test = useTestConnector();
  const [kind, setKind] = useState(connector?.kind ?? kinds[0]?.kind ?? '');
  const kindDef = kinds.find((k) => k.kind === kind);
  // Settings a flow sets (`readOnly`, e.g. the OAuth refresh token) are not typed in.
  const fields = useMemo(
    () => schemaFields(kindDef?.settings_schema, kindDef?.secret_settings).filter((f) => !f.readOnly),
    [kindDef],
  );
  const oauth = oauthState(kindDef, connector as unknown as ({ id: number } & Record<string, unknown>) | undefined);
  const [search] = useSearchParams();
  const justConnected = search.get('oauth') === 'connected';
  const [name, setName] = useState(connector?.name ?? '');
  const [baseUrl, setBaseUrl] = useState(connector?.base_url ?? '');
  const [token, setToken] = useState('');
  const [values, setValues] = useState<FormValues>(() => initialValues(fields, connector?.settings));
  const [errors, setErrors] = useState<Errors>({});

  useEffect(() => {
    if (!editing) setValues(initialValues(fields, null));
  }, [fields, editing]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const errs: Errors = {
      kind: required(kind, 'Kind'),
      name: required(name, 'Name'),
      base_url: required(baseUrl, 'Base URL') ?? httpUrl(baseUrl),
      api_token: editing || oauth.supported ? undefined : required(token, 'API token'),
    };
    const settingErrs = validateValues(fields, values);
    for (const [k, v] of Object.entries(settingErrs)) errs[`settings.${k}`] = v;
    setErrors(errs);
    if (hasErrors(errs)) {
      document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    const settings = toPayload(fields, values);
    save.mutate(
      editing
        ? { id: connector.id, update: { name: name.trim(), base_url: baseUrl.trim(), settings, ...(token ? { api_token: token } : {}) } }
        : { create: { kind, name: name.trim(), base_url: baseUrl.trim(), ...(token ? { api_token: token } : {}), settings } },
      {
        onSuccess: (c) => {
          toast({ variant: 'success', title: editing ? 'Connector saved' : 'Connector created', description: 'Use “Test connection” to check it.' });
          setToken('');
          if (!editing) navigate(`/connectors/${c.id}`, { replace: true });
        },
        onError: (err) => {
          if (err instanceof ApiError) {
            const fe: Errors = {};
            for (const [k, v] of Object.entries(err.fieldErrors)) {
              fe[fields.some((f) => f.name === k) ? `settings.${k}` : k.replace(/^settings\./, 'settings.')] = v;
            }
            setErrors((prev) => ({ ...prev, ...fe }));
          }
        },
      },
    );
  };

  const settingsObj = (connector?.settings ?? null) as Record<string, unknown> | null;
  return (
    <div>
      <PageHeader
        title={editing ? `Connector “${connector.name}”` : 'Add connector'}
        description={kindDef ? `Kind: ${kindLabel(kindDef)} (${kindDef.roles.join(', ')})` : undefined}
        actions={
          <Button asChild variant="outline">
            <Link to="/connectors">Back to connectors</Link>
          </Button>
        }
      />
      <form onSubmit={submit} noValidate className="grid grid-cols-1 gap-4">
        <Card>
          <CardHeader>
            <CardTitle>Connection</CardTitle>
          </CardHeader>
          <CardContent className="grid gap-4 md:grid-cols-2">
            <Field id="kind" label="Kind" required error={errors.kind} hint={editing ? 'The kind cannot be changed.' : undefined}>
              <Select value={kind} onChange={(e) => setKind(e.target.value)} disabled={editing}>
                {kinds.map((k) => (
                  <option key={k.kind} value={k.kind}>
                    {kindLabel(k)} ({k.roles.join(', ')})
                  </option>
                ))}
              </Select>
            </Field>
            <Field id="name" label="Name" required error={errors.name}>
              <Input value={name} onChange={(e) => setName(e.target.value)} placeholder={`e.g. ${kindLabel(kindDef, 'Helpdesk')} production`} />
            </Field>
            <Field id="base_url" label="Base URL" required error={errors.base_url} hint="e.g. https://helpdesk.example.com">
              <Input type="url" inputMode="url" value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} />
            </Field>
            {!oauth.supported && <Field
              id="api_token"
              label={
                <span className="inline-flex items-center gap-2">
                  API token {editing && (connector.has_token ? <Badge variant="success">set</Badge> : <Badge variant="warning">not set</Badge>)}
                </span>
              }
              required={!editing}
              error={errors.api_token}
              hint={editing ? 'Write-only. Leave empty to keep the stored token.' : 'Write-only: stored encrypted and never shown again.'}
            >
              <Input type="password" autoComplete="new-password" value={token} onChange={(e) => setToken(e.target.value)} placeholder={editing ? 'leave empty to keep' : undefined} />
            </Field>}
          </CardContent>
        </Card>
        {fields.length > 0 && (
          <Card>
            <CardHeader>
              <CardTitle>Settings</CardTitle>
            </CardHeader>
            <CardContent className="grid gap-4 md:grid-cols-2">
              {fields.map((f) => (
                <SettingInput
                  key={`${kind}-${f.name}`}
                  f={f}
                  value={values[f.name] ?? ''}
                  onChange={(v) => setValues((s) => ({ ...s, [f.name]: v }))}
                  error={errors[`settings.${f.name}`]}
                  secretSet={hasSecret(f.name, settingsObj, connector as unknown as Record<string, unknown>)}
                  editing={editing}
                />
              ))}
            </CardContent>
          </Card>
        )}
        {oauth.supported && (
          <Card>
            <CardHeader>
              <CardTitle>Authorization</CardTitle>
            </CardHeader>
            <CardContent className="grid gap-3">
              {justConnected && oauth.connected && (
                <p className="text-sm font-medium text-green-800" role="status">
                  Connected: the authorization is stored (encrypted). Use “Test connection” to check it.
                </p>
              )}
              <p className="flex items-center gap-2 text-sm text-slate-700">
                Connection to {kindLabel(kindDef)}:{' '}
                {oauth.connected ? <Badge variant="success">connected</Badge> : <Badge variant="warning">not connected</Badge>}
              </p>
              {oauth.startUrl ? (
                <div>
                  <Button asChild variant={oauth.connected ? 'outline' : 'default'}>
                    <a href={oauth.startUrl}>{oauth.buttonLabel}</a>
                  </Button>
                  <p className="mt-1 text-xs text-slate-600">
                    Opens {kindLabel(kindDef)}’s consent page; you come back here when it is done. Save changed settings first.
                  </p>
                </div>
              ) : (
                <p className="text-sm text-slate-600">Create the connector first, then connect it.</p>
              )}
            </CardContent>
          </Card>
        )}
        {kindDef?.webhook && (
          <Card>
            <CardHeader>
              <CardTitle>Webhook</CardTitle>
            </CardHeader>
            <CardContent className="grid gap-2">
              <p className="text-sm text-slate-700">
                {kindLabel(kindDef)} can tell timebridge about changes at once by calling this address; the schedule remains the safety net.
                {kindDef.secret_settings.length > 0 &&
                  ` Calls are refused unless they are signed with ${listWords(fields.filter((f) => kindDef.secret_settings.includes(f.name)).map((f) => `“${f.title}”`), 'or')} above.`}
              </p>
              {editing ? (
                <WebhookUrl kind={kindDef} connector={connector} />
              ) : (
                <p className="text-sm text-slate-600">The webhook URL is shown once the connector is created.</p>
              )}
            </CardContent>
          </Card>
        )}
        <InlineError error={save.error && !(save.error instanceof ApiError && Object.keys(save.error.fieldErrors).length) ? save.error : null} />
        <div className="flex flex-wrap items-start gap-2">
          <Button type="submit" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : editing ? 'Save changes' : 'Create connector'}
          </Button>
          {editing && (
            <div className="grid gap-1">
              <Button variant="outline" onClick={() => test.mutate(connector.id)} disabled={test.isPending}>
                {test.isPending ? 'Testing…' : 'Test connection'}
              </Button>
              <p className="text-xs text-slate-600">Tests the saved settings.</p>
            </div>
          )}
        </div>
        <TestResult result={test.data} />
        <InlineError error={test.error} />
      </form>
    </div>
  );
}
