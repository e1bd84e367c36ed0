import { useState } from 'react';
import { Link } from 'react-router-dom';
import { Plus } from 'lucide-react';
import { ApiError } from '@/api/client';
import { useConnectors, useDeletePipeline, usePipelines, useSavePipeline } from '@/api/hooks';
import type { Pipeline, PipelineInput } from '@/api/types';
import { ConfirmDialog, Empty, ErrorState, Loading, PageHeader, useTitle } from '@/components/common';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent } from '@/components/ui/card';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { toast } from '@/components/ui/toast';

export function pipelineInput(p: Pipeline): PipelineInput {
  return {
    name: p.name,
    source_connector_id: p.source_connector_id,
    target_connector_id: p.target_connector_id,
    enabled: p.enabled,
    schedule: p.schedule,
    window_days: p.window_days,
    options: p.options,
  };
}

export function formatInterval(min: number): string {
  if (min % 1440 === 0) return `every ${min / 1440} day${min === 1440 ? '' : 's'}`;
  if (min % 60 === 0) return `every ${min / 60} h`;
  return `every ${min} min`;
}

export function PipelinesPage() {
  useTitle('Pipelines');
  const q = usePipelines();
  const connectors = useConnectors();
  const save = useSavePipeline();
  const del = useDeletePipeline();
  const [toDelete, setToDelete] = useState<Pipeline | null>(null);
  const cname = (id: number) => connectors.data?.items.find((c) => c.id === id)?.name ?? `#${id}`;

  const toggle = (p: Pipeline) =>
    save.mutate(
      { id: p.id, body: { ...pipelineInput(p), enabled: !p.enabled } },
      {
        onSuccess: (np) => toast({ variant: 'success', title: `Pipeline “${np.name}” ${np.enabled ? 'enabled' : 'disabled'}` }),
        onError: (e) => toast({ variant: 'error', title: 'Could not change the pipeline', description: e.message }),
      },
    );

  return (
    <div>
      <PageHeader
        title="Pipelines"
        description="A pipeline syncs one source connector into one target connector on a schedule."
        actions={
          <Button asChild>
            <Link to="/pipelines/new">
              <Plus aria-hidden="true" /> Add pipeline
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
            <Empty title="No pipelines yet">Create one once a source and a target connector exist.</Empty>
          ) : (
            <Table>
              <TableHeader>
                <TableRow>
                  <TableHead>Name</TableHead>
                  <TableHead>Source → target</TableHead>
                  <TableHead>Schedule</TableHead>
                  <TableHead>Window</TableHead>
                  <TableHead>State</TableHead>
                  <TableHead>
                    <span className="sr-only">Actions</span>
                  </TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {q.data.items.map((p) => (
                  <TableRow key={p.id}>
                    <TableCell className="font-medium">
                      <Link className="text-blue-700 underline" to={`/pipelines/${p.id}`}>
                        {p.name}
                      </Link>
                    </TableCell>
                    <TableCell>
                      {cname(p.source_connector_id)} → {cname(p.target_connector_id)}
                    </TableCell>
                    <TableCell>{p.schedule.enabled ? formatInterval(p.schedule.interval_minutes) : 'manual only'}</TableCell>
                    <TableCell>last {p.window_days} days</TableCell>
                    <TableCell>{p.enabled ? <Badge variant="success">enabled</Badge> : <Badge>disabled</Badge>}</TableCell>
                    <TableCell>
                      <div className="flex flex-wrap gap-2">
                        <Button variant="outline" size="sm" onClick={() => toggle(p)} disabled={save.isPending}>
                          {p.enabled ? 'Disable' : 'Enable'}
                        </Button>
                        <Button asChild variant="outline" size="sm">
                          <Link to={`/pipelines/${p.id}`} aria-label={`Edit ${p.name}`}>
                            Edit
                          </Link>
                        </Button>
                        <Button asChild variant="outline" size="sm">
                          <Link to={`/mappings?pipeline=${p.id}`}>Mappings</Link>
                        </Button>
                        <Button variant="outline" size="sm" className="text-red-800" aria-label={`Delete ${p.name}`} onClick={() => { del.reset(); setToDelete(p); }}>
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
        title={`Delete pipeline “${toDelete?.name ?? ''}”?`}
        description="Its schedule stops and its mappings are removed. Entries already written to the target stay there."
        confirmLabel="Delete pipeline"
        destructive
        pending={del.isPending}
        error={del.error instanceof ApiError && del.error.status === 409 ? new Error(`Cannot delete now: ${del.error.message}`) : del.error}
        onConfirm={() =>
          toDelete &&
          del.mutate(toDelete.id, {
            onSuccess: () => {
              toast({ variant: 'success', title: 'Pipeline deleted' });
              setToDelete(null);
            },
          })
        }
      />
    </div>
  );
}
