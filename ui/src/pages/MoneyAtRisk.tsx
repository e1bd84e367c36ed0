import { Link, useSearchParams } from 'react-router-dom';
import { Download } from 'lucide-react';
import { href } from '@/api/client';
import { useMoneyAtRisk, usePipelines } from '@/api/hooks';
import type { MoneyRow } from '@/api/types';
import { Empty, ErrorState, Loading, PageHeader, useTitle } from '@/components/common';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent } from '@/components/ui/card';
import { Field, Input } from '@/components/ui/input';
import { Select } from '@/components/ui/select';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { formatDuration } from '@/lib/format';
import { formatMoney, monthLabel, monthOf } from '@/lib/money';

function customerName(r: MoneyRow): string {
  if (r.customer.key === null || r.customer.key === undefined) return 'No customer';
  return r.customer.name ?? `#${r.customer.key}`;
}

export function MoneyAtRiskPage() {
  useTitle('Money at risk');
  const [params, setParams] = useSearchParams();
  const month = params.get('month') ?? monthOf();
  const pipelineId = params.get('pipeline_id') ?? '';
  const pipelines = usePipelines();
  const query = { month, pipeline_id: pipelineId ? Number(pipelineId) : undefined };
  const q = useMoneyAtRisk(query);
  const set = (k: string, v: string) => {
    const n = new URLSearchParams(params);
    if (v) n.set(k, v);
    else n.delete(k);
    setParams(n);
  };
  const csvHref = href('/api/reports/money-at-risk', { query: { ...query, format: 'csv' } });
  const multi = !pipelineId;

  return (
    <div>
      <PageHeader
        title="Money at risk"
        description="Source time of the month that is not (correctly) in the target — not synced yet, held by open conflicts, refused — priced with the target's own rates."
        actions={
          <Button asChild variant="outline">
            <a href={csvHref} download>
              <Download aria-hidden="true" /> Download CSV
            </a>
          </Button>
        }
      />
      <Card className="mb-4">
        <CardContent className="grid gap-3 pt-4 sm:grid-cols-2 lg:grid-cols-4">
          <Field id="m-month" label="Month">
            <Input type="month" value={month} onChange={(e) => set('month', e.target.value)} />
          </Field>
          <Field id="m-pipeline" label="Pipeline">
            <Select value={pipelineId} onChange={(e) => set('pipeline_id', e.target.value)}>
              <option value="">All pipelines</option>
              {pipelines.data?.items.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </Select>
          </Field>
        </CardContent>
      </Card>
      <Card>
        <CardContent className="pt-4">
          {q.isPending ? (
            <Loading label="Reading both systems…" />
          ) : q.error ? (
            <ErrorState error={q.error} onRetry={() => void q.refetch()} />
          ) : (
            <div className={q.isPlaceholderData ? 'opacity-60' : undefined} aria-busy={q.isPlaceholderData || undefined}>
              <div className="mb-4 flex flex-wrap items-baseline gap-x-6 gap-y-2" data-testid="money-total">
                <p>
                  <span className="text-sm text-slate-600">At risk in {monthLabel(q.data.month)} ({q.data.timezone}): </span>
                  <strong className="text-2xl tabular-nums text-slate-900">{q.data.total === null ? '—' : formatMoney(q.data.total, q.data.currency)}</strong>
                </p>
                <p className="text-sm text-slate-700">
                  {formatDuration(q.data.totals.seconds_unsynced)} h unsynced · {formatDuration(q.data.totals.seconds_in_conflict)} h in conflict
                  {q.data.totals.seconds_refused > 0 && ` (${formatDuration(q.data.totals.seconds_refused)} h refused)`}
                  {q.data.totals.seconds_unpriced > 0 && ` · ${formatDuration(q.data.totals.seconds_unpriced)} h without a rate`}
                </p>
              </div>
              {q.data.pipelines
                .filter((p) => p.error)
                .map((p) => (
                  <p key={p.id} role="alert" className="mb-2 text-sm text-red-800">
                    {p.name} could not be read: {p.error}
                  </p>
                ))}
              {q.data.rows.length === 0 ? (
                <Empty title="Nothing at risk">Every entry of {monthLabel(q.data.month)} is in the target as it should be.</Empty>
              ) : (
                <Table>
                  <TableHeader>
                    <TableRow>
                      <TableHead>Customer</TableHead>
                      {multi && <TableHead>Pipeline</TableHead>}
                      <TableHead className="text-right">Unsynced</TableHead>
                      <TableHead className="text-right">In conflict</TableHead>
                      <TableHead className="text-right">Rate</TableHead>
                      <TableHead className="text-right">Amount</TableHead>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {q.data.rows.map((r) => (
                      <TableRow key={`${r.pipeline_id}-${r.side}-${r.customer.key ?? ''}`}>
                        <TableCell>
                          {customerName(r)}{' '}
                          {r.side === 'source' && (
                            <Badge title="Not mapped yet: the source's customer, no rate">
                              unmapped
                            </Badge>
                          )}
                        </TableCell>
                        {multi && <TableCell>{r.pipeline_name}</TableCell>}
                        <TableCell className="text-right tabular-nums">{formatDuration(r.seconds_unsynced)}</TableCell>
                        <TableCell className="text-right tabular-nums">
                          {r.seconds_in_conflict === 0 ? (
                            formatDuration(0)
                          ) : (
                            <Link className="text-blue-700 underline" to={`/conflicts?status=open&pipeline_id=${r.pipeline_id}`}>
                              {formatDuration(r.seconds_in_conflict)}
                            </Link>
                          )}
                          {r.seconds_refused > 0 && <span className="block text-xs text-slate-600">{formatDuration(r.seconds_refused)} refused</span>}
                        </TableCell>
                        <TableCell className="text-right tabular-nums">
                          {r.rate === null || r.rate === undefined ? (r.amount === null ? 'no rate' : 'several') : `${formatMoney(r.rate, r.currency)}/h`}
                        </TableCell>
                        <TableCell className="text-right font-medium tabular-nums">{formatMoney(r.amount, r.currency)}</TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              )}
              <p className="mt-3 text-xs text-slate-600">
                Each entry is priced at the rate that applies to it in the target (customer, project, activity, user); “several” means the
                customer's entries have different rates. Unmapped entries have no target customer yet and no price.
              </p>
            </div>
          )}
        </CardContent>
      </Card>
    </div>
  );
}
