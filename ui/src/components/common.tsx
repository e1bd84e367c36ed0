import * as React from 'react';
import { AlertTriangle, Inbox, Loader2 } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from '@/components/ui/dialog';
import { Badge } from '@/components/ui/badge';
import { errorMessage } from '@/api/client';
import { formatDateTime } from '@/lib/format';

export function PageHeader({ title, description, actions }: { title: string; description?: React.ReactNode; actions?: React.ReactNode }) {
  return (
    <div className="mb-4 flex flex-col gap-3 sm:flex-row sm:items-start sm:justify-between">
      <div>
        <h1 className="text-xl font-semibold text-slate-900">{title}</h1>
        {description && <p className="mt-1 text-sm text-slate-600">{description}</p>}
      </div>
      {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div role="status" className="flex items-center gap-2 p-4 text-sm text-slate-600">
      <Loader2 className="size-4 animate-spin" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: React.ReactNode }) {
  return (
    <div className="flex flex-col items-center gap-2 rounded-md border border-dashed border-slate-300 p-6 text-center">
      <Inbox className="size-6 text-slate-400" aria-hidden="true" />
      <p className="text-sm font-medium text-slate-800">{title}</p>
      {children && <div className="text-sm text-slate-600">{children}</div>}
    </div>
  );
}

export function ErrorState({ error, onRetry, title = 'Could not load' }: { error: unknown; onRetry?: () => void; title?: string }) {
  return (
    <div role="alert" className="flex flex-col gap-2 rounded-md border border-red-200 bg-red-50 p-4 text-sm text-red-900 sm:flex-row sm:items-center">
      <AlertTriangle className="size-5 shrink-0" aria-hidden="true" />
      <div className="flex-1">
        <p className="font-medium">{title}</p>
        <p>{errorMessage(error)}</p>
      </div>
      {onRetry && (
        <Button variant="outline" size="sm" onClick={onRetry}>
          Retry
        </Button>
      )}
    </div>
  );
}

export function InlineError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900">
      {errorMessage(error)}
    </p>
  );
}

/** Generic "query state" renderer. */
export function QueryState<T>({
  q,
  children,
  empty,
  isEmpty,
}: {
  q: { data: T | undefined; isPending: boolean; error: unknown; refetch: () => unknown };
  children: (data: T) => React.ReactNode;
  empty?: React.ReactNode;
  isEmpty?: (d: T) => boolean;
}) {
  if (q.isPending) return <Loading />;
  if (q.error && q.data === undefined) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (q.data === undefined) return <Loading />;
  if (isEmpty && isEmpty(q.data)) return <>{empty}</>;
  return <>{children(q.data)}</>;
}

export function Pagination({ total, limit, offset, onChange }: { total: number; limit: number; offset: number; onChange: (offset: number) => void }) {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  return (
    <nav aria-label="Pagination" className="mt-3 flex items-center justify-between gap-2 text-sm text-slate-700">
      <span>
        {from}–{to} of {total}
      </span>
      <div className="flex gap-2">
        <Button variant="outline" size="sm" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))}>
          Previous
        </Button>
        <Button variant="outline" size="sm" disabled={offset + limit >= total} onClick={() => onChange(offset + limit)}>
          Next
        </Button>
      </div>
    </nav>
  );
}

export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  confirmLabel = 'Confirm',
  destructive,
  pending,
  error,
  onConfirm,
  children,
  confirmDisabled,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
  title: string;
  description?: React.ReactNode;
  confirmLabel?: string;
  destructive?: boolean;
  pending?: boolean;
  error?: unknown;
  onConfirm: () => void;
  children?: React.ReactNode;
  confirmDisabled?: boolean;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>{title}</DialogTitle>
          {description ? <DialogDescription>{description}</DialogDescription> : <DialogDescription className="sr-only">{title}</DialogDescription>}
        </DialogHeader>
        {children}
        <InlineError error={error} />
        <DialogFooter>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button variant={destructive ? 'destructive' : 'default'} disabled={pending || confirmDisabled} onClick={onConfirm}>
            {pending ? 'Working…' : confirmLabel}
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}

export function DateTime({ value, seconds }: { value: string | null | undefined; seconds?: boolean }) {
  if (!value) return <span className="text-slate-500">—</span>;
  return <time dateTime={value}>{formatDateTime(value, undefined, { seconds })}</time>;
}

const runStatusVariant = {
  queued: 'info',
  running: 'info',
  succeeded: 'success',
  partial: 'warning',
  failed: 'danger',
} as const;
export function RunStatusBadge({ status }: { status: string }) {
  return <Badge variant={runStatusVariant[status as keyof typeof runStatusVariant] ?? 'default'}>{status}</Badge>;
}

const outcomeVariant = { in_sync: 'default', create: 'success', update: 'info', skip: 'default', conflict: 'warning', error: 'danger', delete: 'danger', restore: 'info' } as const;
export function OutcomeBadge({ outcome }: { outcome: string }) {
  return <Badge variant={outcomeVariant[outcome as keyof typeof outcomeVariant] ?? 'default'}>{outcome.replace('_', ' ')}</Badge>;
}

export function useTitle(t: string) {
  React.useEffect(() => {
    document.title = `${t} · timebridge`;
  }, [t]);
}
