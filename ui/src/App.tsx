import { lazy, useEffect, useRef } from 'react';
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { onUnauthorized } from './api/client';
import { Layout } from './components/Layout';
import { LoginPage } from './pages/Login';
import { DashboardPage } from './pages/Dashboard';
import { NotFoundPage } from './pages/NotFound';

const ConnectorsPage = lazy(() => import('./pages/Connectors').then((m) => ({ default: m.ConnectorsPage })));
const ConnectorFormPage = lazy(() => import('./pages/ConnectorForm').then((m) => ({ default: m.ConnectorFormPage })));
const PipelinesPage = lazy(() => import('./pages/Pipelines').then((m) => ({ default: m.PipelinesPage })));
const PipelineFormPage = lazy(() => import('./pages/PipelineForm').then((m) => ({ default: m.PipelineFormPage })));
const MappingsPage = lazy(() => import('./pages/Mappings').then((m) => ({ default: m.MappingsPage })));
const SyncPage = lazy(() => import('./pages/Sync').then((m) => ({ default: m.SyncPage })));
const RunDetailPage = lazy(() => import('./pages/RunDetail').then((m) => ({ default: m.RunDetailPage })));
const ConflictsPage = lazy(() => import('./pages/Conflicts').then((m) => ({ default: m.ConflictsPage })));
const ConflictDetailPage = lazy(() => import('./pages/ConflictDetail').then((m) => ({ default: m.ConflictDetailPage })));
const AuditPage = lazy(() => import('./pages/Audit').then((m) => ({ default: m.AuditPage })));
const MoneyAtRiskPage = lazy(() => import('./pages/MoneyAtRisk').then((m) => ({ default: m.MoneyAtRiskPage })));
const SettingsPage = lazy(() => import('./pages/Settings').then((m) => ({ default: m.SettingsPage })));

export function App() {
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(() => {
    onUnauthorized(() => {
      const here = window.location.pathname + window.location.search;
      if (!window.location.pathname.startsWith('/login')) {
        navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
      }
    });
  }, [navigate]);
  const firstRender = useRef(true);
  useEffect(() => {
    // move focus to the main heading after navigation (not on first load) for screen-reader and keyboard users
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    const active = document.activeElement;
    if (active && active !== document.body && active.matches('input, textarea, select')) return;
    const h = document.querySelector<HTMLElement>('main h1');
    if (h) {
      h.setAttribute('tabindex', '-1');
      h.focus({ preventScroll: true });
    }
  }, [location.pathname]);

  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route element={<Layout />}>
        <Route index element={<DashboardPage />} />
        <Route path="connectors" element={<ConnectorsPage />} />
        <Route path="connectors/new" element={<ConnectorFormPage />} />
        <Route path="connectors/:id" element={<ConnectorFormPage />} />
        <Route path="pipelines" element={<PipelinesPage />} />
        <Route path="pipelines/new" element={<PipelineFormPage />} />
        <Route path="pipelines/:id" element={<PipelineFormPage />} />
        <Route path="mappings" element={<MappingsPage />} />
        <Route path="sync" element={<SyncPage />} />
        <Route path="sync/runs/:id" element={<RunDetailPage />} />
        <Route path="conflicts" element={<ConflictsPage />} />
        <Route path="conflicts/:id" element={<ConflictDetailPage />} />
        <Route path="reports/money-at-risk" element={<MoneyAtRiskPage />} />
        <Route path="audit" element={<AuditPage />} />
        <Route path="settings" element={<SettingsPage />} />
        <Route path="dashboard" element={<Navigate to="/" replace />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
