import * as React from 'react';
import * as ToastPrimitive from '@radix-ui/react-toast';
import { X } from 'lucide-react';
import { cn } from '@/lib/utils';

export type ToastVariant = 'default' | 'success' | 'error';
interface ToastItem {
  id: number;
  title: string;
  description?: string;
  variant: ToastVariant;
}

type Listener = (items: ToastItem[]) => void;
let items: ToastItem[] = [];
let nextId = 1;
const listeners = new Set<Listener>();
const emit = () => listeners.forEach((l) => l(items));

/** Show a toast from anywhere (also outside React). */
export function toast(t: { title: string; description?: string; variant?: ToastVariant }): void {
  items = [...items, { id: nextId++, title: t.title, description: t.description, variant: t.variant ?? 'default' }].slice(-4);
  emit();
}
function dismiss(id: number) {
  items = items.filter((t) => t.id !== id);
  emit();
}

export function Toaster() {
  const [list, setList] = React.useState<ToastItem[]>(items);
  React.useEffect(() => {
    listeners.add(setList);
    return () => {
      listeners.delete(setList);
    };
  }, []);
  return (
    <ToastPrimitive.Provider swipeDirection="right" duration={6000}>
      {list.map((t) => (
        <ToastPrimitive.Root
          key={t.id}
          onOpenChange={(open) => !open && dismiss(t.id)}
          className={cn(
            'relative grid gap-1 rounded-md border bg-white p-3 pr-8 shadow-md',
            t.variant === 'error' && 'border-red-300 bg-red-50',
            t.variant === 'success' && 'border-green-300 bg-green-50',
            t.variant === 'default' && 'border-slate-200',
          )}
        >
          <ToastPrimitive.Title className="text-sm font-semibold text-slate-900">{t.title}</ToastPrimitive.Title>
          {t.description && <ToastPrimitive.Description className="text-sm text-slate-700">{t.description}</ToastPrimitive.Description>}
          <ToastPrimitive.Close aria-label="Dismiss notification" className="absolute right-2 top-2 rounded p-0.5 text-slate-600 hover:text-slate-900 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600">
            <X className="size-4" aria-hidden="true" />
          </ToastPrimitive.Close>
        </ToastPrimitive.Root>
      ))}
      <ToastPrimitive.Viewport className="fixed bottom-0 right-0 z-[100] m-0 flex w-full max-w-sm list-none flex-col gap-2 p-4 outline-none" />
    </ToastPrimitive.Provider>
  );
}
