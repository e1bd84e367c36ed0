import * as React from 'react';
import * as Popover from '@radix-ui/react-popover';
import { Check, ChevronsUpDown } from 'lucide-react';
import { cn } from '@/lib/utils';

export interface ComboOption {
  value: string;
  label: string;
  hint?: string;
}

/** Searchable picker: a button opening a filterable listbox (arrow keys, Enter, Escape). */
export function Combobox({
  id,
  options,
  value,
  onChange,
  placeholder = 'Choose…',
  emptyLabel,
  ariaLabel,
  invalid,
  disabled,
  className,
}: {
  id?: string;
  options: ComboOption[];
  value: string | null;
  onChange: (v: string | null) => void;
  placeholder?: string;
  /** When set, a first option that clears the value. */
  emptyLabel?: string;
  ariaLabel?: string;
  invalid?: boolean;
  disabled?: boolean;
  className?: string;
}) {
  const [open, setOpen] = React.useState(false);
  const [query, setQuery] = React.useState('');
  const [active, setActive] = React.useState(0);
  const listId = React.useId();
  const all = React.useMemo<ComboOption[]>(
    () => (emptyLabel ? [{ value: '', label: emptyLabel }, ...options] : options),
    [emptyLabel, options],
  );
  const filtered = React.useMemo(() => {
    const q = query.trim().toLowerCase();
    if (!q) return all;
    return all.filter((o) => o.label.toLowerCase().includes(q) || o.value.toLowerCase().includes(q) || (o.hint ?? '').toLowerCase().includes(q));
  }, [all, query]);
  const selected = options.find((o) => o.value === value);

  const choose = (o: ComboOption | undefined) => {
    if (!o) return;
    onChange(o.value === '' ? null : o.value);
    setOpen(false);
    setQuery('');
  };

  return (
    <Popover.Root
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        if (o) setActive(0);
      }}
    >
      <Popover.Trigger asChild disabled={disabled}>
        <button
          id={id}
          type="button"
          role="combobox"
          aria-expanded={open}
          aria-controls={listId}
          aria-label={ariaLabel}
          aria-invalid={invalid || undefined}
          className={cn(
            'flex h-9 w-full items-center justify-between gap-2 rounded-md border border-slate-300 bg-white px-3 text-left text-sm shadow-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600 disabled:opacity-60 aria-[invalid=true]:border-amber-500',
            className,
          )}
        >
          <span className={cn('truncate', !selected && 'text-slate-500')}>{selected ? selected.label : value ? `#${value}` : placeholder}</span>
          <ChevronsUpDown className="size-4 shrink-0 text-slate-500" aria-hidden="true" />
        </button>
      </Popover.Trigger>
      <Popover.Portal>
        <Popover.Content
          align="start"
          sideOffset={4}
          className="z-50 w-[var(--radix-popover-trigger-width)] min-w-64 rounded-md border border-slate-200 bg-white p-1 shadow-lg"
        >
          <input
            autoFocus
            aria-label="Search"
            aria-controls={listId}
            aria-activedescendant={filtered[active] ? `${listId}-${active}` : undefined}
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              setActive(0);
            }}
            onKeyDown={(e) => {
              if (e.key === 'ArrowDown') {
                e.preventDefault();
                setActive((a) => Math.min(a + 1, filtered.length - 1));
              } else if (e.key === 'ArrowUp') {
                e.preventDefault();
                setActive((a) => Math.max(a - 1, 0));
              } else if (e.key === 'Enter') {
                e.preventDefault();
                choose(filtered[active]);
              }
            }}
            placeholder="Type to search…"
            className="mb-1 h-8 w-full rounded border border-slate-300 px-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600"
          />
          <ul id={listId} role="listbox" className="max-h-64 overflow-y-auto">
            {filtered.length === 0 && <li className="px-2 py-1.5 text-sm text-slate-600">No match</li>}
            {filtered.map((o, i) => (
              <li
                key={o.value || '__empty'}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={o.value === (value ?? '')}
                onMouseEnter={() => setActive(i)}
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => choose(o)}
                className={cn('flex cursor-pointer items-center gap-2 rounded px-2 py-1.5 text-sm', i === active && 'bg-blue-50')}
              >
                <Check className={cn('size-4 shrink-0', o.value === (value ?? '') ? 'opacity-100' : 'opacity-0')} aria-hidden="true" />
                <span className="min-w-0 flex-1 truncate">{o.label}</span>
                {o.hint && <span className="shrink-0 truncate text-xs text-slate-500">{o.hint}</span>}
              </li>
            ))}
          </ul>
        </Popover.Content>
      </Popover.Portal>
    </Popover.Root>
  );
}
