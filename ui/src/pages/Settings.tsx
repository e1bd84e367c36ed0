import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { ApiError } from '@/api/client';
import { gdprExport, gdprPurge, useConnectorKinds, useConnectors, useSaveSettings, useSettings } from '@/api/hooks';
import type { GdprPurgeResult } from '@/api/types';
import { ConfirmDialog, ErrorState, InlineError, Loading, PageHeader, useTitle } from '@/components/common';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Field, Input } from '@/components/ui/input';
import { toast } from '@/components/ui/toast';
import { WebhookUrl } from '@/components/WebhookUrl';
import { findKind, kindLabel, listWords } from '@/lib/kinds';
import { validSummaryTime } from '@/lib/pipelineOptions';
import { hasSecret as hasStoredSecret } from '@/lib/schemaForm';
import { email as emailRule, positiveInt } from '@/lib/validate';

/** The zone local dates and times are read in, and the default time of pipelines' daily summary. */
function DailySummaryCard() {
  const s = useSettings();
  const save = useSaveSettings();
  const [zone, setZone] = useState('');
  const [at, setAt] = useState('');
  const [errs, setErrs] = useState<{ timezone?: string; daily_summary_at?: string }>({});
  useEffect(() => {
    if (s.data) {
      setZone(s.data.timezone);
      setAt(s.data.daily_summary_at);
    }
  }, [s.data]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = {
      timezone: zone.trim() === '' ? 'Time zone is required' : undefined,
      daily_summary_at: validSummaryTime(at) && at.trim() !== '' ? undefined : 'Time must be HH:MM, e.g. 08:00',
    };
    setErrs(next);
    if (next.timezone || next.daily_summary_at || !s.data) return;
    save.mutate(
      { ...s.data, timezone: zone.trim(), daily_summary_at: at.trim() },
      {
        onSuccess: () => toast({ variant: 'success', title: 'Settings saved' }),
        onError: (er) =>
          er instanceof ApiError && setErrs({ timezone: er.fieldErrors.timezone, daily_summary_at: er.fieldErrors.daily_summary_at }),
      },
    );
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Daily summary</CardTitle>
        <CardDescription>
          Pipelines that notify about the daily summary send it at this local time, unless they set their own. Dates and times are read in this time zone.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {s.isPending ? (
          <Loading />
        ) : s.error ? (
          <ErrorState error={s.error} onRetry={() => void s.refetch()} />
        ) : (
          <form onSubmit={submit} noValidate className="flex flex-col gap-3 sm:flex-row sm:items-end">
            <Field id="timezone" label="Time zone" required error={errs.timezone} className="sm:w-64">
              <Input value={zone} placeholder="Europe/Berlin" onChange={(e) => setZone(e.target.value)} />
            </Field>
            <Field id="daily_summary_at" label="Daily summary at" required error={errs.daily_summary_at} className="sm:w-40">
              <Input value={at} placeholder="08:00" onChange={(e) => setAt(e.target.value)} />
            </Field>
            <Button type="submit" disabled={save.isPending}>
              {save.isPending ? 'Saving…' : 'Save'}
            </Button>
          </form>
        )}
        {save.error && !errs.timezone && !errs.daily_summary_at && <InlineError error={save.error} />}
      </CardContent>
    </Card>
  );
}

function RetentionCard() {
  const s = useSettings();
  const save = useSaveSettings();
  const [days, setDays] = useState('');
  const [err, setErr] = useState<string | undefined>();
  useEffect(() => {
    if (s.data) setDays(String(s.data.retention_days));
  }, [s.data]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = positiveInt(days, 'Retention');
    setErr(v);
    if (v || !s.data) return;
    save.mutate(
      { ...s.data, retention_days: Number(days) },
      {
        onSuccess: () => toast({ variant: 'success', title: 'Settings saved' }),
        onError: (er) => er instanceof ApiError && setErr(er.fieldErrors.retention_days),
      },
    );
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Retention</CardTitle>
        <CardDescription>A daily job deletes run items, resolved conflicts and audit events older than this.</CardDescription>
      </CardHeader>
      <CardContent>
        {s.isPending ? (
          <Loading />
        ) : s.error ? (
          <ErrorState error={s.error} onRetry={() => void s.refetch()} />
        ) : (
          <form onSubmit={submit} noValidate className="flex flex-col gap-3 sm:flex-row sm:items-end">
            <Field id="retention_days" label="Retention (days)" required error={err} className="sm:w-48">
              <Input type="number" min={1} step={1} inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
            </Field>
            <Button type="submit" disabled={save.isPending}>
              {save.isPending ? 'Saving…' : 'Save'}
            </Button>
          </form>
        )}
        {save.error && !err && <InlineError error={save.error} />}
      </CardContent>
    </Card>
  );
}

function WebhookCard() {
  const c = useConnectors();
  const kinds = useConnectorKinds();
  // every connector whose kind receives webhooks (the kinds say which, and at which path)
  const withWebhook = (c.data?.items ?? []).filter((x) => findKind(kinds.data, x.kind)?.webhook);
  const webhookKinds = (kinds.data ?? []).filter((k) => k.webhook);
  const names = listWords(webhookKinds.map((k) => kindLabel(k)), 'or');
  return (
    <Card>
      <CardHeader>
        <CardTitle>Webhooks</CardTitle>
        <CardDescription>
          {webhookKinds.length > 0
            ? `Lets ${names} tell timebridge about changes at once; the schedule remains the safety net.`
            : 'No connector kind of this server receives webhooks; the schedule finds changes.'}
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        {c.isPending || kinds.isPending ? (
          <Loading />
        ) : c.error || kinds.error ? (
          <ErrorState error={c.error ?? kinds.error} onRetry={() => { void c.refetch(); void kinds.refetch(); }} />
        ) : withWebhook.length === 0 ? (
          webhookKinds.length > 0 && (
            <p className="text-sm text-slate-700">
              No {names} connector yet. <Link className="text-blue-700 underline" to="/connectors/new">Add one</Link>.
            </p>
          )
        ) : (
          withWebhook.map((z) => {
            const kind = findKind(kinds.data, z.kind);
            const secrets = kind?.secret_settings ?? [];
            const hasSecret = secrets.some((name) => hasStoredSecret(name, z.settings as Record<string, unknown>, z as unknown as Record<string, unknown>));
            return (
              <div key={z.id} className="grid gap-1.5">
                <p className="flex flex-wrap items-center gap-2 text-sm font-medium">
                  {z.name} <Badge>{kindLabel(kind)}</Badge>
                  {secrets.length > 0 &&
                    (hasSecret ? <Badge variant="success">signature token set</Badge> : <Badge variant="warning">no signature token — calls are refused</Badge>)}
                </p>
                <WebhookUrl kind={kind} connector={z} />
              </div>
            );
          })
        )}
        {webhookKinds.length > 0 && (
          <ol className="list-decimal space-y-1 pl-5 text-sm text-slate-700">
            <li>
              Choose a long random signature token and enter it in the connector’s secret setting (
              <Link className="text-blue-700 underline" to="/connectors">Connectors</Link> → edit).
            </li>
            <li>
              In the source system, create a webhook with the URL above as endpoint, signed with the <em>same token</em> as shown under the URL;
              keep SSL verification on. Make it fire when time is logged or changed.
            </li>
            <li>Log time there: a webhook event appears in the audit log and a sync follows within seconds.</li>
          </ol>
        )}
      </CardContent>
    </Card>
  );
}

function downloadJson(data: unknown, filename: string) {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function PrivacyCard() {
  const [addr, setAddr] = useState('');
  const [err, setErr] = useState<string | undefined>();
  const [busy, setBusy] = useState<'export' | 'purge' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirmOpen, setConfirmOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [purged, setPurged] = useState<GdprPurgeResult | null>(null);

  const check = () => {
    const v = emailRule(addr);
    setErr(v);
    return !v;
  };
  const doExport = async () => {
    if (!check()) return;
    setBusy('export');
    setError(null);
    try {
      const data = await gdprExport(addr.trim());
      downloadJson(data, `timebridge-export-${addr.trim().replace(/[^a-z0-9@._-]/gi, '_')}.json`);
      toast({ variant: 'success', title: 'Export downloaded' });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  const doPurge = async () => {
    setBusy('purge');
    setError(null);
    try {
      const r = await gdprPurge(addr.trim());
      setPurged(r);
      setConfirmOpen(false);
      setTyped('');
      toast({ variant: 'success', title: 'Personal data purged' });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Privacy (GDPR)</CardTitle>
        <CardDescription>Export or erase what timebridge stores locally about one person. Data in the connected systems is not touched.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <Field id="gdpr-email" label="E-mail address" required error={err}>
          <Input type="email" autoComplete="off" value={addr} onChange={(e) => setAddr(e.target.value)} />
        </Field>
        <div className="flex flex-wrap gap-2">
          <Button variant="outline" onClick={() => void doExport()} disabled={!!busy}>
            {busy === 'export' ? 'Exporting…' : 'Export as JSON'}
          </Button>
          <Button
            variant="destructive"
            onClick={() => {
              if (check()) {
                setPurged(null);
                setTyped('');
                setConfirmOpen(true);
              }
            }}
            disabled={!!busy}
          >
            Purge…
          </Button>
        </div>
        {!confirmOpen && <InlineError error={error} />}
        {purged && (
          <div role="status" className="rounded-md border border-green-200 bg-green-50 p-3 text-sm text-green-900">
            <p className="font-medium">Purged. Removed or anonymised:</p>
            <ul className="list-disc pl-5">
              {Object.entries(purged.deleted).map(([k, v]) => (
                <li key={k}>
                  {k}: {String(v)}
                </li>
              ))}
            </ul>
          </div>
        )}
      </CardContent>
      <ConfirmDialog
        open={confirmOpen}
        onOpenChange={setConfirmOpen}
        title="Purge personal data?"
        description={`This removes or anonymises every local record naming ${addr.trim()}. It cannot be undone.`}
        confirmLabel="Purge permanently"
        destructive
        pending={busy === 'purge'}
        error={error}
        confirmDisabled={typed.trim().toLowerCase() !== addr.trim().toLowerCase()}
        onConfirm={() => void doPurge()}
      >
        <Field id="gdpr-confirm" label="Type the e-mail address to confirm" required>
          <Input autoComplete="off" value={typed} onChange={(e) => setTyped(e.target.value)} />
        </Field>
      </ConfirmDialog>
    </Card>
  );
}

export function SettingsPage() {
  useTitle('Settings');
  return (
    <div className="grid grid-cols-1 gap-4">
      <PageHeader title="Settings" />
      <RetentionCard />
      <DailySummaryCard />
      <WebhookCard />
      <PrivacyCard />
    </div>
  );
}
