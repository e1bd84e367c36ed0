import * as React from 'react';
import { cn } from '@/lib/utils';

export function Table({ className, ...props }: React.TableHTMLAttributes<HTMLTableElement>) {
  return (
    <div className="w-full overflow-x-auto">
      <table className={cn('w-full caption-bottom text-sm', className)} {...props} />
    </div>
  );
}
export const TableHeader = (p: React.HTMLAttributes<HTMLTableSectionElement>) => <thead {...p} className={cn('border-b border-slate-200 bg-slate-50', p.className)} />;
export const TableBody = (p: React.HTMLAttributes<HTMLTableSectionElement>) => <tbody {...p} className={cn('[&_tr:last-child]:border-0', p.className)} />;
export const TableRow = (p: React.HTMLAttributes<HTMLTableRowElement>) => <tr {...p} className={cn('border-b border-slate-200 transition-colors hover:bg-slate-50/70', p.className)} />;
export const TableHead = (p: React.ThHTMLAttributes<HTMLTableCellElement>) => (
  <th scope="col" {...p} className={cn('h-9 px-3 text-left align-middle text-xs font-semibold uppercase tracking-wide text-slate-600', p.className)} />
);
export const TableCell = (p: React.TdHTMLAttributes<HTMLTableCellElement>) => <td {...p} className={cn('px-3 py-2 align-middle text-slate-800', p.className)} />;
export const TableCaption = (p: React.HTMLAttributes<HTMLTableCaptionElement>) => <caption {...p} className={cn('mt-2 text-sm text-slate-600', p.className)} />;
