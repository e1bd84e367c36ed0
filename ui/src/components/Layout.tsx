import { Suspense, useEffect, useState } from 'react';
import { NavLink, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { ArrowLeftRight, Banknote, ClipboardList, Gauge, GitBranch, LogOut, Menu, Plug, RefreshCw, Settings, TriangleAlert, X } from 'lucide-react';
import { ApiError } from '@/api/client';
import { useConflicts, useLogout, useMe } from '@/api/hooks';
import { Button } from '@/components/ui/button';
import { Loading, ErrorState } from '@/components/common';
import { browserTimeZone } from '@/lib/format';
import { cn } from '@/lib/utils';

const nav = [
  { to: '/', label: 'Dashboard', icon: Gauge, end: true },
  { to: '/connectors', label: 'Connectors', icon: Plug },
  { to: '/pipelines', label: 'Pipelines', icon: GitBranch },
  { to: '/mappings', label: 'Mappings', icon: ArrowLeftRight },
  { to: '/sync', label: 'Sync', icon: RefreshCw },
  { to: '/conflicts', label: 'Conflicts', icon: TriangleAlert },
  { to: '/reports/money-at-risk', label: 'Money at risk', icon: Banknote },
  { to: '/audit', label: 'Audit log', icon: ClipboardList },
  { to: '/settings', label: 'Settings', icon: Settings },
];

export function Brand() {
  return (
    <span className="flex items-center gap-2 text-lg font-semibold tracking-tight text-slate-900">
      <img src="/favicon.svg" alt="" className="size-6" />
      timebridge
    </span>
  );
}

export function Layout() {
  const me = useMe();
  const [open, setOpen] = useState(false);
  const location = useLocation();
  const navigate = useNavigate();
  const logout = useLogout();
  const openConflicts = useConflicts({ status: 'open', limit: 1, offset: 0 });
  useEffect(() => setOpen(false), [location.pathname]);

  if (me.isPending) return <Loading label="Checking your session…" />;
  if (me.error) {
    if (me.error instanceof ApiError && me.error.status === 401) return null; // redirecting to login
    return (
      <div className="mx-auto max-w-lg p-6">
        <ErrorState error={me.error} onRetry={() => void me.refetch()} title="Could not reach timebridge" />
      </div>
    );
  }

  const doLogout = () =>
    logout.mutate(undefined, {
      onSettled: () => navigate('/login', { replace: true }),
    });
  const conflictCount = openConflicts.data?.total ?? 0;

  const links = (
    <ul className="flex flex-col gap-0.5">
      {nav.map((n) => (
        <li key={n.to}>
          <NavLink
            to={n.to}
            end={n.end}
            className={({ isActive }) =>
              cn(
                'flex items-center gap-2.5 rounded-md px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100 hover:text-slate-900',
                isActive && 'bg-blue-50 text-blue-800 hover:bg-blue-50 hover:text-blue-900',
              )
            }
          >
            <n.icon className="size-4" aria-hidden="true" />
            <span className="flex-1">{n.label}</span>
            {n.to === '/conflicts' && conflictCount > 0 && (
              <span className="rounded-full bg-amber-100 px-2 text-xs font-semibold text-amber-900" aria-label={`${conflictCount} open`}>
                {conflictCount}
              </span>
            )}
          </NavLink>
        </li>
      ))}
    </ul>
  );

  const footer = (
    <div className="mt-auto border-t border-slate-200 pt-3 text-xs text-slate-600">
      <p>
        Signed in as <strong className="text-slate-800">{me.data.username}</strong>
      </p>
      <p className="mt-0.5">Times shown in {browserTimeZone()}</p>
      <Button variant="ghost" size="sm" className="mt-2 w-full justify-start" onClick={doLogout} disabled={logout.isPending}>
        <LogOut aria-hidden="true" /> Log out
      </Button>
    </div>
  );

  return (
    <div className="min-h-screen lg:flex">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2">
        Skip to content
      </a>
      {/* mobile top bar */}
      <header className="sticky top-0 z-30 flex items-center justify-between border-b border-slate-200 bg-white px-4 py-2 lg:hidden">
        <Brand />
        <Button variant="ghost" size="icon" aria-label={open ? 'Close menu' : 'Open menu'} aria-expanded={open} aria-controls="mobile-nav" onClick={() => setOpen((o) => !o)}>
          {open ? <X aria-hidden="true" /> : <Menu aria-hidden="true" />}
        </Button>
      </header>
      {open && (
        <nav id="mobile-nav" aria-label="Main" className="flex flex-col gap-2 border-b border-slate-200 bg-white p-3 lg:hidden">
          {links}
          {footer}
        </nav>
      )}
      {/* desktop sidebar */}
      <aside className="hidden w-60 shrink-0 border-r border-slate-200 bg-white lg:block">
        <div className="sticky top-0 flex h-screen flex-col gap-4 p-4">
          <Brand />
          <nav aria-label="Main">{links}</nav>
          {footer}
        </div>
      </aside>
      <main id="main" className="min-w-0 flex-1 p-4 lg:p-6">
        <div className="mx-auto max-w-6xl">
          <Suspense fallback={<Loading />}>
            <Outlet />
          </Suspense>
        </div>
      </main>
    </div>
  );
}
