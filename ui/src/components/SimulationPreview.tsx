import { useMemo, useState, type ReactNode } from 'react';
import { AlertTriangle } from 'lucide-react';
import { ApiError, errorMessage } from '@/api/client';
import type { Simulation } from '@/api/types';
import { Loading, OutcomeBadge } from '@/components/common';
import { Button } from '@/components/ui/button';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { humanize } from '@/lib/format';
import { outcomeCounts, simulationRows, type FieldCell, type SimRow } from '@/lib/simulation';
import { cn } from '@/lib/utils';

const OUTCOME_WORDS: Record<string, string> = {
  create: 'to create',
  update: 'to update',
  in_sync: 'in sync',
  skip: 'skipped',
  conflict: 'conflicts',
  error: 'errors',
};

/** Rows shown before "Show all" (each lists the fields it would write). */
const PAGE = 10;

/**
 * The "Preview changes" step: what unsaved rule changes would do to the entries of the
 * pipeline's window (`POST /api/pipelines/{id}/simulate`), before and after, then Save or Back.
 */
export function SimulationPreview({
  pending,
  error,
  data,
  windowDays,
  describeField,
  onBack,
  onSave,
  saving,
  saveLabel,
  changeCount,
}: {
  pending: boolean;
  error: unknown;
  data: Simulation | undefined;
  windowDays: number;
  /** Words for an error's `details.field` (e.g. `mappings[1].target_key` → which row); null: the field as it is. */
  describeField?: (field: string) => string | null;
  onBack: () => void;
  onSave: () => void;
  saving: boolean;
  saveLabel: string;
  changeCount: number;
}) {
  const rows = useMemo(() => (data ? simulationRows(data.changes) : []), [data]);
  const [shown, setShown] = useState(PAGE);
  return (
    <section aria-label="Preview of the changes" className="grid gap-3 rounded-md border border-blue-200 bg-blue-50/40 p-3">
      <div>
        <h3 className="text-base font-semibold text-slate-900">Preview: what {changeCount === 1 ? 'this change' : `these ${changeCount} changes`} would do</h3>
        <p className="text-sm text-slate-700">
          The entries of the last {windowDays} day{windowDays === 1 ? '' : 's'} as a sync would treat them now and after saving. Nothing is saved or written yet.
        </p>
      </div>
      {pending && <Loading label="Reading both systems…" />}
      {!pending && error ? <PreviewError error={error} describeField={describeField} /> : null}
      {!pending && data && (
        <>
          <p className="text-sm text-slate-800">
            <strong>{data.summary.changed}</strong> of {data.summary.entries} entr{data.summary.entries === 1 ? 'y' : 'ies'} would change.
          </p>
          {data.summary.changed > 0 && (
            <ul aria-label="Changed entries by outcome after saving" className="flex flex-wrap gap-3 text-sm">
              {outcomeCounts(data.summary.by_outcome).map(({ outcome, count }) => (
                <li key={outcome}>
                  <strong>{count}</strong> {OUTCOME_WORDS[outcome] ?? humanize(outcome)}
                </li>
              ))}
            </ul>
          )}
          {rows.length > 0 && (
            <Table aria-label="Entries before and after the changes" className="bg-white">
              <TableHeader>
                <TableRow>
                  <TableHead>Entry</TableHead>
                  <TableHead>Before</TableHead>
                  <TableHead>After</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {rows.slice(0, shown).map((r) => (
                  <SimulatedRow key={r.key} row={r} />
                ))}
              </TableBody>
            </Table>
          )}
          {rows.length > shown && (
            <div className="flex items-center gap-2 text-sm text-slate-700">
              Showing {shown} of {rows.length}.
              <Button type="button" size="sm" variant="outline" onClick={() => setShown(rows.length)}>
                Show all {rows.length}
              </Button>
            </div>
          )}
          {data.summary.changed > data.changes.length && (
            <p className="text-sm text-slate-700">The server lists the first {data.changes.length} changed entries; the counts cover all {data.summary.changed}.</p>
          )}
        </>
      )}
      <div className="flex flex-wrap items-center gap-2 border-t border-blue-200 pt-3">
        <Button type="button" variant="outline" onClick={onBack} disabled={saving}>
          Back
        </Button>
        <Button type="button" onClick={onSave} disabled={pending || saving}>
          {saveLabel}
        </Button>
        {!pending && error ? <span className="text-sm text-slate-700">Saving does not need the preview.</span> : null}
      </div>
    </section>
  );
}

function PreviewError({ error, describeField }: { error: unknown; describeField?: (field: string) => string | null }) {
  const field = error instanceof ApiError && typeof error.details.field === 'string' ? error.details.field : null;
  const where = field ? (describeField?.(field) ?? field) : null;
  const remote = error instanceof ApiError && error.status === 502;
  return (
    <div role="alert" className="flex gap-2 rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-900">
      <AlertTriangle className="size-5 shrink-0" aria-hidden="true" />
      <div>
        <p className="font-medium">Could not preview the changes</p>
        <p>{errorMessage(error)}</p>
        {where && <p>Field: {where}</p>}
        {remote && <p>A connected system did not answer; check the connectors, or save without a preview.</p>}
      </div>
    </div>
  );
}

function SimulatedRow({ row }: { row: SimRow }) {
  return (
    <TableRow>
      <TableCell className="align-top">
        <div className="font-medium">{row.title}</div>
        <div className="text-xs text-slate-600">{row.detail}</div>
        <div className="text-xs text-slate-500">#{row.key}</div>
      </TableCell>
      <TableCell className="align-top">
        <Side side={row.before} fields={row.fields} which="before" outcomeChanged={row.outcomeChanged} reasonChanged={row.reasonChanged} />
      </TableCell>
      <TableCell className="align-top">
        <Side side={row.after} fields={row.fields} which="after" outcomeChanged={row.outcomeChanged} reasonChanged={row.reasonChanged} />
      </TableCell>
    </TableRow>
  );
}

/** Changed values are `<mark>`ed (and said so to screen readers). */
function Changed({ on, children }: { on: boolean; children: ReactNode }) {
  if (!on) return <>{children}</>;
  return (
    <mark className="rounded bg-amber-100 px-0.5 text-slate-900">
      {children}
      <span className="sr-only"> (changed)</span>
    </mark>
  );
}

function Side({
  side,
  fields,
  which,
  outcomeChanged,
  reasonChanged,
}: {
  side: SimRow['before'];
  fields: FieldCell[];
  which: 'before' | 'after';
  outcomeChanged: boolean;
  reasonChanged: boolean;
}) {
  const written = fields.filter((f) => f[which] !== null);
  return (
    <div className="grid gap-1">
      <div className="flex flex-wrap items-center gap-1">
        <span className={cn(outcomeChanged && 'rounded-full ring-2 ring-amber-300')}>
          <OutcomeBadge outcome={side.outcome} />
        </span>
        {side.reason && (
          <span className="text-xs text-slate-700">
            <Changed on={reasonChanged}>{humanize(side.reason)}</Changed>
          </span>
        )}
      </div>
      {written.length > 0 ? (
        <dl className="grid grid-cols-[auto_1fr] gap-x-2 text-xs">
          {written.map((f) => (
            <div key={f.field} className="contents">
              <dt className="text-slate-600">{f.label}</dt>
              <dd className="break-words text-slate-800">
                <Changed on={f.changed}>{f[which]}</Changed>
              </dd>
            </div>
          ))}
        </dl>
      ) : (
        <p className="text-xs text-slate-600">Nothing written.</p>
      )}
    </div>
  );
}
