import { useState } from 'react';
import { Link } from 'react-router-dom';
import { Plus } from 'lucide-react';
import { ApiError } from '@/api/client';
import { useConnectorKinds, useConnectors, useDeleteConnector, useTestConnector } from '@/api/hooks';
import type { Connector, ConnectorTestResult } from '@/api/types';
import { ConfirmDialog, DateTime, Empty, ErrorState, Loading, PageHeader, useTitle } from '@/components/common';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent } from '@/components/ui/card';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { toast } from '@/components/ui/toast';
import { humanize } from '@/lib/format';
import { labelOfKind, labelsWithRole, listWords } from '@/lib/kinds';

export function TestResult({ result }: { result: ConnectorTestResult | undefined }) {
  if (!result) return null;
  const d = (result.details ?? {}) as Record<string, unknown>;
  // on failure the server names the step that failed and a class (unauthorized, unreachable, tls, timeout, …)
  const why = [typeof d.failed_step === 'string' ? d.failed_step : null, typeof d.error_class === 'string' ? humanize(d.error_class) : null].filter(Boolean);
  return (
    <p role="status" className={result.ok ? 'text-sm text-green-800' : 'text-sm text-red-800'}>
      <Badge variant={result.ok ? 'success' : 'danger'}>{result.ok ? 'Connection OK' : 'Failed'}</Badge> {result.message}
      {!result.ok && why.length > 0 && <span className="block text-xs text-red-700">{why.join(' · ')}</span>}
    </p>
  );
}

function TestButton({ connector }: { connector: Connector }) {
  const t = useTestConnector();
  return (
    <div className="grid gap-1">
      <Button variant="outline" size="sm" onClick={() => t.mutate(connector.id)} disabled={t.isPending} aria-label={`Test connection of ${connector.name}`}>
        {t.isPending ? 'Testing…' : 'Test connection'}
      </Button>
      {t.data && <TestResult result={t.data} />}
      {t.error && (
        <p role="alert" className="text-sm text-red-800">
          {t.error.message}
        </p>
      )}
    </div>
  );
}

export function ConnectorsPage() {
  useTitle('Connectors');
  const q = useConnectors();
  const kinds = useConnectorKinds().data ?? [];
  const sources = listWords(labelsWithRole(kinds, 'source'), 'or');
  const targets = listWords(labelsWithRole(kinds, 'target'), 'or');
  const notifiers = listWords(labelsWithRole(kinds, 'notifier'), 'or');
  const del = useDeleteConnector();
  const [toDelete, setToDelete] = useState<Connector | null>(null);

  const deleteError =
    del.error instanceof ApiError && del.error.status === 409
      ? new Error(`“${toDelete?.name}” is used by a pipeline. Delete or change that pipeline first. (${del.error.message})`)
      : del.error;

  return (
    <div>
      <PageHeader
        title="Connectors"
        description={
          kinds.length
            ? `Where time entries come from (${sources || 'none yet'}) and where they go (${targets || 'none yet'})${notifiers ? `, and who is told about runs (${notifiers})` : ''}.`
            : 'Where time entries come from and where they go.'
        }
        actions={
          <Button asChild>
            <Link to="/connectors/new">
              <Plus aria-hidden="true" /> Add connector
            </Link>
          </Button>
        }
      />
      <Card>
        <CardContent className="pt-4">
          {q.isPending ? (
            <Loading />
          ) : q.error ? (
            <ErrorState error={q.error} onRetry={() => void q.refetch()} />
          ) : q.data.items.length === 0 ? (
            <Empty title="No connectors yet">
              Add one source connector{sources && ` (${sources})`} and one target connector{targets && ` (${targets})`}.
            </Empty>
          ) : (
            <Table>
              <TableHeader>
                <TableRow>
                  <TableHead>Name</TableHead>
                  <TableHead>Kind</TableHead>
                  <TableHead>URL</TableHead>
                  <TableHead>API token</TableHead>
                  <TableHead>Updated</TableHead>
                  <TableHead>
                    <span className="sr-only">Actions</span>
                  </TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {q.data.items.map((c) => (
                  <TableRow key={c.id}>
                    <TableCell className="font-medium">
                      <Link className="text-blue-700 underline" to={`/connectors/${c.id}`}>
                        {c.name}
                      </Link>
                    </TableCell>
                    <TableCell>
                      <Badge>{labelOfKind(kinds, c.kind)}</Badge>
                    </TableCell>
                    <TableCell className="max-w-[14rem] truncate font-mono text-xs">{c.base_url}</TableCell>
                    <TableCell>{c.has_token ? <Badge variant="success">set</Badge> : <Badge variant="warning">not set</Badge>}</TableCell>
                    <TableCell className="whitespace-nowrap">
                      <DateTime value={c.updated_at} />
                    </TableCell>
                    <TableCell>
                      <div className="flex flex-wrap items-start gap-2">
                        <TestButton connector={c} />
                        <Button asChild variant="outline" size="sm">
                          <Link to={`/connectors/${c.id}`} aria-label={`Edit ${c.name}`}>
                            Edit
                          </Link>
                        </Button>
                        <Button
                          variant="outline"
                          size="sm"
                          className="text-red-800"
                          aria-label={`Delete ${c.name}`}
                          onClick={() => {
                            del.reset();
                            setToDelete(c);
                          }}
                        >
                          Delete
                        </Button>
                      </div>
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
        </CardContent>
      </Card>
      <ConfirmDialog
        open={!!toDelete}
        onOpenChange={(o) => !o && setToDelete(null)}
        title={`Delete connector “${toDelete?.name ?? ''}”?`}
        description="Its stored token and settings are removed. Entries already written to the target stay there."
        confirmLabel="Delete connector"
        destructive
        pending={del.isPending}
        error={deleteError}
        onConfirm={() =>
          toDelete &&
          del.mutate(toDelete.id, {
            onSuccess: () => {
              toast({ variant: 'success', title: `Connector “${toDelete.name}” deleted` });
              setToDelete(null);
            },
          })
        }
      />
    </div>
  );
}
