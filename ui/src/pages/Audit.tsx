import { useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Download } from 'lucide-react';
import { href } from '@/api/client';
import { useAudit } from '@/api/hooks';
import { DateTime, Empty, ErrorState, Loading, PageHeader, Pagination, useTitle } from '@/components/common';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent } from '@/components/ui/card';
import { Field, Input } from '@/components/ui/input';
import { Select } from '@/components/ui/select';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import type { AuditAction } from '@/api/types';
import { browserTimeZone, localInputToRfc3339 } from '@/lib/format';

const LIMIT = 50;
/** Every audit action, from the generated API types: a new action on the server fails
 * the typecheck here until it is listed. */
const ACTIONS: Record<AuditAction, true> = {
  login_succeeded: true, login_failed: true, connector_created: true, connector_updated: true, connector_deleted: true,
  connector_authorized: true,
  pipeline_created: true, pipeline_updated: true, pipeline_deleted: true, mapping_created: true, mapping_updated: true,
  mapping_deleted: true, settings_updated: true, sync_requested: true, sync_started: true, sync_finished: true,
  entry_created: true, entry_updated: true, entry_deleted: true, conflict_raised: true, conflict_resolved: true,
  webhook_received: true, webhook_rejected: true, project_mirrored: true, retention_purged: true, gdpr_exported: true,
  gdpr_purged: true, notification_sent: true, notification_failed: true,
};
export const AUDIT_ACTIONS = Object.keys(ACTIONS) as AuditAction[];
/** Entity types the server records (`admin_user` for logins, `person` for GDPR requests). */
const ENTITY_TYPES = ['admin_user', 'connector', 'pipeline', 'mapping', 'run', 'entry', 'conflict', 'settings', 'person', 'notification'];

function rfcToLocalInput(v: string | null): string {
  if (!v) return '';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function AuditPage() {
  useTitle('Audit log');
  const [params, setParams] = useSearchParams();
  const filters = {
    action: params.get('action') ?? '',
    entity_type: params.get('entity_type') ?? '',
    since: params.get('since') ?? '',
    until: params.get('until') ?? '',
  };
  const offset = Number(params.get('offset') ?? 0) || 0;
  const [draft, setDraft] = useState({ ...filters, since: rfcToLocalInput(filters.since), until: rfcToLocalInput(filters.until) });
  const [err, setErr] = useState<string | undefined>();
  // the URL's action goes to the server as is (an unknown one is its 400)
  const q = useAudit({ ...filters, action: (filters.action || undefined) as AuditAction | undefined, limit: LIMIT, offset });
  const [open, setOpen] = useState<number | null>(null);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const since = localInputToRfc3339(draft.since);
    const until = localInputToRfc3339(draft.until);
    if (since && until && since > until) {
      setErr('“Until” must be after “since”');
      return;
    }
    setErr(undefined);
    const n = new URLSearchParams();
    if (draft.action) n.set('action', draft.action);
    if (draft.entity_type) n.set('entity_type', draft.entity_type);
    if (since) n.set('since', since);
    if (until) n.set('until', until);
    setParams(n);
  };
  const reset = () => {
    setDraft({ action: '', entity_type: '', since: '', until: '' });
    setParams(new URLSearchParams());
  };
  const exportHref = href('/api/audit/export', { query: { ...filters, action: (filters.action || undefined) as AuditAction | undefined } });

  return (
    <div>
      <PageHeader
        title="Audit log"
        description="Every login, configuration change, run, write and resolution. Append-only."
        actions={
          <Button asChild variant="outline">
            <a href={exportHref} download>
              <Download aria-hidden="true" /> Export CSV
            </a>
          </Button>
        }
      />
      <Card className="mb-4">
        <CardContent className="pt-4">
          <form onSubmit={apply} noValidate className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
            <Field id="a-action" label="Action">
              <Select value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })}>
                <option value="">All actions</option>
                {AUDIT_ACTIONS.map((a) => (
                  <option key={a} value={a}>
                    {a}
                  </option>
                ))}
              </Select>
            </Field>
            <Field id="a-entity" label="Entity type">
              <Select value={draft.entity_type} onChange={(e) => setDraft({ ...draft, entity_type: e.target.value })}>
                <option value="">All types</option>
                {ENTITY_TYPES.map((a) => (
                  <option key={a} value={a}>
                    {a}
                  </option>
                ))}
              </Select>
            </Field>
            <Field id="a-since" label={`Since (${browserTimeZone()})`}>
              <Input type="datetime-local" value={draft.since} onChange={(e) => setDraft({ ...draft, since: e.target.value })} />
            </Field>
            <Field id="a-until" label={`Until (${browserTimeZone()})`} error={err}>
              <Input type="datetime-local" value={draft.until} onChange={(e) => setDraft({ ...draft, until: e.target.value })} />
            </Field>
            <div className="flex gap-2 sm:col-span-2 lg:col-span-4">
              <Button type="submit">Apply filters</Button>
              <Button variant="outline" onClick={reset}>
                Reset
              </Button>
            </div>
          </form>
        </CardContent>
      </Card>
      <Card>
        <CardContent className="pt-4">
          {q.isPending ? (
            <Loading />
          ) : q.error ? (
            <ErrorState error={q.error} onRetry={() => void q.refetch()} />
          ) : q.data.items.length === 0 ? (
            <Empty title="No events match these filters" />
          ) : (
            <>
              <Table aria-busy={q.isPlaceholderData || undefined} className={q.isPlaceholderData ? 'opacity-60' : undefined}>
                <TableHeader>
                  <TableRow>
                    <TableHead>When</TableHead>
                    <TableHead>Actor</TableHead>
                    <TableHead>Action</TableHead>
                    <TableHead>Entity</TableHead>
                    <TableHead>IP</TableHead>
                    <TableHead>Details</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {q.data.items.map((e) => (
                    <TableRow key={e.id}>
                      <TableCell className="whitespace-nowrap">
                        <DateTime value={e.at} seconds />
                      </TableCell>
                      <TableCell>
                        <Badge>{e.actor}</Badge>
                      </TableCell>
                      <TableCell className="font-mono text-xs">{e.action}</TableCell>
                      <TableCell className="text-xs">
                        {e.entity_type ?? '—'}
                        {e.entity_id ? ` #${e.entity_id}` : ''}
                      </TableCell>
                      <TableCell className="font-mono text-xs">{e.ip ?? '—'}</TableCell>
                      <TableCell className="max-w-md">
                        {e.details && Object.keys(e.details).length > 0 ? (
                          <>
                            <Button variant="link" size="sm" className="h-auto p-0" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>
                              {open === e.id ? 'Hide' : 'Show'} details
                            </Button>
                            {open === e.id && <pre className="mt-1 max-h-64 overflow-auto rounded bg-slate-100 p-2 text-xs">{JSON.stringify(e.details, null, 2)}</pre>}
                          </>
                        ) : (
                          '—'
                        )}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
              <Pagination
                total={q.data.total}
                limit={LIMIT}
                offset={offset}
                onChange={(o) => {
                  const n = new URLSearchParams(params);
                  n.set('offset', String(o));
                  setParams(n);
                }}
              />
            </>
          )}
        </CardContent>
      </Card>
    </div>
  );
}
