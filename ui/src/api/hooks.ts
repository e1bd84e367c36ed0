import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, narrow, type Query, type QueryOf } from './client';
import type {
  Conflict, ConflictGroup, ConnectorCreate, ConnectorUpdate, LoginRequest, MappingInput, MappingKind, Page, PipelineInput,
  ResolveRequest, ManualSyncRequest, Settings, GroupAction, GroupFix, GroupPreview, SimulateRequest, Simulation,
} from './types';

export const qk = {
  me: ['me'] as const,
  health: ['health'] as const,
  kinds: ['connector-kinds'] as const,
  connectors: ['connectors'] as const,
  connector: (id: number) => ['connectors', id] as const,
  catalog: (id: number, what: string) => ['catalog', id, what] as const,
  pipelines: ['pipelines'] as const,
  mappings: (q: Query) => ['mappings', q] as const,
  status: (pipelineId?: number) => ['sync-status', pipelineId ?? null] as const,
  history: (q: Query) => ['sync-history', q] as const,
  run: (id: number) => ['run', id] as const,
  conflicts: (q: Query) => ['conflicts', q] as const,
  conflict: (id: number) => ['conflict', id] as const,
  groups: (q: Query) => ['conflict-groups', q] as const,
  suggestions: (group: string) => ['conflict-group-suggestions', group] as const,
  audit: (q: Query) => ['audit', q] as const,
  money: (q: Query) => ['money-at-risk', q] as const,
  settings: ['settings'] as const,
};

// ---- auth
export const useMe = () => useQuery({ queryKey: qk.me, queryFn: () => api.get('/api/auth/me'), retry: false, staleTime: 60_000 });
export function useLogin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (b: LoginRequest) =>
      api.post('/api/auth/login', { body: b, skipAuthRedirect: true }),
    onSuccess: () => qc.removeQueries(),
  });
}
export function useLogout() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api.post('/api/auth/logout', { skipAuthRedirect: true }),
    onSettled: () => qc.clear(),
  });
}

// ---- operations
export const useHealth = () =>
  useQuery({ queryKey: qk.health, queryFn: () => api.get('/api/health'), refetchInterval: 30_000, retry: false });

// ---- connectors
export const useConnectorKinds = () =>
  useQuery({ queryKey: qk.kinds, queryFn: () => api.get('/api/connectors/kinds'), staleTime: 300_000 });
/**
 * The kinds of a pipeline's source and target connectors (undefined while loading or when
 * unknown): labels and dimension words come from them, never from code naming a system.
 */
export function usePipelineKinds(pipelineId: number | undefined) {
  const kinds = useConnectorKinds();
  const connectors = useConnectors();
  const pipelines = usePipelines();
  const p = pipelines.data?.items.find((x) => x.id === pipelineId);
  const kindOf = (id: number | undefined) => {
    const c = connectors.data?.items.find((x) => x.id === id);
    return c ? kinds.data?.find((k) => k.kind === c.kind) : undefined;
  };
  return { source: kindOf(p?.source_connector_id), target: kindOf(p?.target_connector_id), kinds: kinds.data };
}
export const useConnectors = () =>
  useQuery({ queryKey: qk.connectors, queryFn: () => api.get('/api/connectors', { query: { limit: 500 } }) });
export const useConnector = (id: number | undefined) =>
  useQuery({ queryKey: qk.connector(id ?? 0), queryFn: () => api.get('/api/connectors/{id}', { params: { id: id ?? 0 } }), enabled: !!id });
export function useSaveConnector() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { id: number; update: ConnectorUpdate } | { create: ConnectorCreate }) =>
      'update' in v ? api.put('/api/connectors/{id}', { params: { id: v.id }, body: v.update }) : api.post('/api/connectors', { body: v.create }),
    onSuccess: () => qc.invalidateQueries({ queryKey: qk.connectors }),
  });
}
export function useDeleteConnector() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api.del('/api/connectors/{id}', { params: { id } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: qk.connectors }),
  });
}
export const useTestConnector = () =>
  useMutation({ mutationFn: (id: number) => api.post('/api/connectors/{id}/test', { params: { id } }) });
export const useCatalog = (id: number | undefined, what: string | undefined) =>
  useQuery({
    queryKey: qk.catalog(id ?? 0, what ?? ''),
    queryFn: () => api.get('/api/connectors/{id}/catalog/{what}', { params: { id: id ?? 0, what: what ?? '' } }),
    enabled: !!id && !!what,
    staleTime: 60_000,
  });

// ---- pipelines
export const usePipelines = () =>
  useQuery({ queryKey: qk.pipelines, queryFn: () => api.get('/api/pipelines', { query: { limit: 500 } }) });
export function useSavePipeline() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { id?: number; body: PipelineInput }) =>
      v.id ? api.put('/api/pipelines/{id}', { params: { id: v.id }, body: v.body }) : api.post('/api/pipelines', { body: v.body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: qk.pipelines }),
  });
}
export function useDeletePipeline() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api.del('/api/pipelines/{id}', { params: { id } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: qk.pipelines }),
  });
}

// ---- mappings
export const useMappings = (pipelineId: number | undefined, kind?: MappingKind) =>
  useQuery({
    queryKey: qk.mappings({ pipeline_id: pipelineId, kind }),
    queryFn: () => api.get('/api/mappings', { query: { pipeline_id: pipelineId, kind, limit: 500 } }),
    enabled: !!pipelineId,
  });
export const mappingApi = {
  create: (b: MappingInput) => api.post('/api/mappings', { body: b }),
  update: (id: number, b: MappingInput) => api.put('/api/mappings/{id}', { params: { id }, body: b }),
  remove: (id: number) => api.del('/api/mappings/{id}', { params: { id } }),
};

/** What proposed mappings or options would change, before and after (reads both systems; writes nothing). */
export const simulate = (pipelineId: number, body: SimulateRequest) => narrow(api.post('/api/pipelines/{id}/simulate', { params: { id: pipelineId }, body })).to<Simulation>();

// ---- sync
/** Polls every 2 s while a run is going (or when `fast`), else every `idleMs`. */
export const useSyncStatus = (pipelineId?: number, opts: { fast?: boolean; idleMs?: number } = {}) =>
  useQuery({
    queryKey: qk.status(pipelineId),
    queryFn: () => api.get('/api/sync/status', { query: { pipeline_id: pipelineId } }),
    refetchInterval: (q) => (q.state.data?.running || q.state.data?.current_run || opts.fast ? 2000 : (opts.idleMs ?? 30_000)),
  });
export const useSyncHistory = (q: { pipeline_id?: number; limit: number; offset: number }, opts: { enabled?: boolean } = {}) =>
  useQuery({
    queryKey: qk.history(q),
    queryFn: () => api.get('/api/sync/history', { query: q }),
    placeholderData: keepPreviousData,
    enabled: opts.enabled ?? true,
  });
export const useRun = (id: number) =>
  useQuery({
    queryKey: qk.run(id),
    queryFn: () => api.get('/api/sync/runs/{id}', { params: { id } }),
    refetchInterval: (q) => (q.state.data && (q.state.data.status === 'running' || q.state.data.status === 'queued') ? 2000 : false),
  });
export function useManualSync() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { body: ManualSyncRequest; wait: boolean }) =>
      api.post('/api/sync/manual', { body: v.body, ...(v.wait ? { query: { wait: true } } : {}) }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['sync-status'] });
      void qc.invalidateQueries({ queryKey: ['sync-history'] });
    },
  });
}

/** Undoing a run: a dry run first (`preview`, waits for the finished undo run and its items), then the undo. */
export function useUndoRun(runId: number) {
  const qc = useQueryClient();
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: qk.run(runId) });
    void qc.invalidateQueries({ queryKey: ['sync-status'] });
    void qc.invalidateQueries({ queryKey: ['sync-history'] });
  };
  const path = '/api/sync/runs/{id}/undo';
  const params = { id: runId };
  const preview = useMutation({
    mutationFn: () => api.post(path, { params, body: { dry_run: true }, query: { wait: true } }),
    onSettled: refresh,
  });
  const undo = useMutation({
    mutationFn: () => api.post(path, { params, body: { dry_run: false } }),
    onSettled: refresh,
  });
  return { preview, undo };
}

// ---- conflicts
export const useConflicts = (q: QueryOf<'/api/conflicts'>) =>
  useQuery({
    queryKey: qk.conflicts(q),
    queryFn: () => narrow(api.get('/api/conflicts', { query: q })).to<Page<Conflict>>(),
    placeholderData: keepPreviousData,
  });
/** Drift per day over the last `days` days. */
export const useDrift = (q: QueryOf<'/api/conflicts/drift'>) =>
  useQuery({ queryKey: ['conflict-drift', q] as const, queryFn: () => api.get('/api/conflicts/drift', { query: q }) });
export const useConflict = (id: number) =>
  useQuery({ queryKey: qk.conflict(id), queryFn: () => narrow(api.get('/api/conflicts/{id}', { params: { id } })).to<Conflict>() });
export const resolveConflict = (id: number, b: ResolveRequest) => narrow(api.post('/api/conflicts/{id}/resolve', { params: { id }, body: b })).to<Conflict>();

// ---- conflict groups: conflicts by cause, fixed in place
/** Groups with the filters of `GET /api/conflicts` (`status`, `reason`, `pipeline_id`), largest first. */
export const useConflictGroups = (q: QueryOf<'/api/conflicts/groups'>, opts: { enabled?: boolean } = {}) =>
  useQuery({
    queryKey: qk.groups(q),
    queryFn: () => narrow(api.get('/api/conflicts/groups', { query: q })).to<Page<ConflictGroup>>(),
    placeholderData: keepPreviousData,
    enabled: opts.enabled ?? true,
  });
/** Target items that likely fit a mapping group's source item, best first (may be empty). */
export const useGroupSuggestions = (group: string | undefined) =>
  useQuery({
    queryKey: qk.suggestions(group ?? ''),
    queryFn: () => api.get('/api/conflicts/groups/suggestions', { query: { group: group ?? '' } }),
    enabled: !!group,
    staleTime: 60_000,
  });
export const groupApi = {
  /** A dry run of the fix over the group's entries (reads both systems; may take seconds). */
  preview: (group: string, fix: GroupFix) => narrow(api.post('/api/conflicts/groups/preview', { body: { group, fix } })).to<GroupPreview>(),
  /** Stores the mapping or default and queues a `resolution` run that writes the group's entries. */
  apply: (group: string, fix: GroupFix) => api.post('/api/conflicts/groups/apply', { body: { group, fix } }),
  resolve: (group: string, action: GroupAction, note?: string) =>
    api.post('/api/conflicts/groups/resolve', { body: { group, action, ...(note ? { note } : {}) } }),
};

// ---- audit
export const useAudit = (q: QueryOf<'/api/audit'>) =>
  useQuery({ queryKey: qk.audit(q), queryFn: () => api.get('/api/audit', { query: q }), placeholderData: keepPreviousData });

// ---- reports
/** Reads both systems like a dry run on the server: slow-ish, so kept a minute. */
export const useMoneyAtRisk = (q: QueryOf<'/api/reports/money-at-risk'>) =>
  useQuery({
    queryKey: qk.money(q),
    queryFn: () => api.get('/api/reports/money-at-risk', { query: q }),
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });

// ---- settings & privacy
export const useSettings = () => useQuery({ queryKey: qk.settings, queryFn: () => api.get('/api/settings') });
export function useSaveSettings() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (s: Settings) => api.put('/api/settings', { body: s }),
    onSuccess: (data) => qc.setQueryData(qk.settings, data),
  });
}
export const gdprExport = (email: string) => api.get('/api/gdpr/export', { query: { email } });
export const gdprPurge = (email: string) => api.post('/api/gdpr/purge', { body: { email } });
