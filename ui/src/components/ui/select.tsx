import * as React from 'react';
import { cn } from '@/lib/utils';

/** Native select styled the shadcn way (keyboard and screen-reader friendly on every platform). */
export const Select = React.forwardRef<HTMLSelectElement, React.SelectHTMLAttributes<HTMLSelectElement>>(({ className, children, ...props }, ref) => (
  <select
    ref={ref}
    className={cn(
      'h-9 w-full rounded-md border border-slate-300 bg-white px-2 py-1 text-sm text-slate-900 shadow-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600 disabled:opacity-60 aria-[invalid=true]:border-red-600',
      className,
    )}
    {...props}
  >
    {children}
  </select>
));
Select.displayName = 'Select';
