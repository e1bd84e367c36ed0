import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, request, type Query } from './client';
import type {
  AuditEvent, Catalog, Conflict, ConflictGroup, DriftSeries, Connector, ConnectorCreate, ConnectorKind, ConnectorTestResult, ConnectorUpdate,
  GdprPurgeResult, Health, LoginRequest, LoginResponse, Mapping, MappingInput, MappingKind, Me, Page,
  Pipeline, PipelineInput, ResolveRequest, Run, RunDetail, ManualSyncRequest, Settings, SyncStatus,
  GroupAction, GroupApplied, GroupFix, GroupPreview, GroupResolved, GroupSuggestion,
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
  settings: ['settings'] as const,
};

// ---- auth
export const useMe = () => useQuery({ queryKey: qk.me, queryFn: () => api.get<Me>('/api/auth/me'), retry: false, staleTime: 60_000 });
export function useLogin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (b: LoginRequest) =>
      request<LoginResponse>('POST', '/api/auth/login', { body: b, skipAuthRedirect: true }),
    onSuccess: () => qc.removeQueries(),
  });
}
export function useLogout() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => request<void>('POST', '/api/auth/logout', { skipAuthRedirect: true }),
    onSettled: () => qc.clear(),
  });
}

// ---- operations
export const useHealth = () =>
  useQuery({ queryKey: qk.health, queryFn: () => api.get<Health>('/api/health'), refetchInterval: 30_000, retry: false });

// ---- connectors
export const useConnectorKinds = () =>
  useQuery({ queryKey: qk.kinds, queryFn: () => api.get<ConnectorKind[]>('/api/connectors/kinds'), staleTime: 300_000 });
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
  useQuery({ queryKey: qk.connectors, queryFn: () => api.get<Page<Connector>>('/api/connectors', { limit: 500 }) });
export const useConnector = (id: number | undefined) =>
  useQuery({ queryKey: qk.connector(id ?? 0), queryFn: () => api.get<Connector>(`/api/connectors/${id}`), enabled: !!id });
export function useSaveConnector() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { id?: number; create?: ConnectorCreate; update?: ConnectorUpdate }) =>
      v.id ? api.put<Connector>(`/api/connectors/${v.id}`, v.update) : api.post<Connector>('/api/connectors', v.create),
    onSuccess: () => qc.invalidateQueries({ queryKey: qk.connectors }),
  });
}
export function useDeleteConnector() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api.del(`/api/connectors/${id}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: qk.connectors }),
  });
}
export const useTestConnector = () =>
  useMutation({ mutationFn: (id: number) => api.post<ConnectorTestResult>(`/api/connectors/${id}/test`) });
export const useCatalog = (id: number | undefined, what: string | undefined) =>
  useQuery({
    queryKey: qk.catalog(id ?? 0, what ?? ''),
    queryFn: () => api.get<Catalog>(`/api/connectors/${id}/catalog/${what}`),
    enabled: !!id && !!what,
    staleTime: 60_000,
  });

// ---- pipelines
export const usePipelines = () =>
  useQuery({ queryKey: qk.pipelines, queryFn: () => api.get<Page<Pipeline>>('/api/pipelines', { limit: 500 }) });
export function useSavePipeline() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { id?: number; body: PipelineInput }) =>
      v.id ? api.put<Pipeline>(`/api/pipelines/${v.id}`, v.body) : api.post<Pipeline>('/api/pipelines', v.body),
    onSuccess: () => qc.invalidateQueries({ queryKey: qk.pipelines }),
  });
}
export function useDeletePipeline() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api.del(`/api/pipelines/${id}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: qk.pipelines }),
  });
}

// ---- mappings
export const useMappings = (pipelineId: number | undefined, kind?: MappingKind) =>
  useQuery({
    queryKey: qk.mappings({ pipeline_id: pipelineId, kind }),
    queryFn: () => api.get<Page<Mapping>>('/api/mappings', { pipeline_id: pipelineId, kind, limit: 500 }),
    enabled: !!pipelineId,
  });
export const mappingApi = {
  create: (b: MappingInput) => api.post<Mapping>('/api/mappings', b),
  update: (id: number, b: MappingInput) => api.put<Mapping>(`/api/mappings/${id}`, b),
  remove: (id: number) => api.del(`/api/mappings/${id}`),
};

// ---- sync
/** Polls every 2 s while a run is going (or when `fast`), else every `idleMs`. */
export const useSyncStatus = (pipelineId?: number, opts: { fast?: boolean; idleMs?: number } = {}) =>
  useQuery({
    queryKey: qk.status(pipelineId),
    queryFn: () => api.get<SyncStatus>('/api/sync/status', { pipeline_id: pipelineId }),
    refetchInterval: (q) => (q.state.data?.running || q.state.data?.current_run || opts.fast ? 2000 : (opts.idleMs ?? 30_000)),
  });
export const useSyncHistory = (q: { pipeline_id?: number; limit: number; offset: number }, opts: { enabled?: boolean } = {}) =>
  useQuery({
    queryKey: qk.history(q),
    queryFn: () => api.get<Page<Run>>('/api/sync/history', q),
    placeholderData: keepPreviousData,
    enabled: opts.enabled ?? true,
  });
export const useRun = (id: number) =>
  useQuery({
    queryKey: qk.run(id),
    queryFn: () => api.get<RunDetail>(`/api/sync/runs/${id}`),
    refetchInterval: (q) => (q.state.data && (q.state.data.status === 'running' || q.state.data.status === 'queued') ? 2000 : false),
  });
export function useManualSync() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { body: ManualSyncRequest; wait: boolean }): Promise<RunDetail | { run_id: number }> =>
      v.wait
        ? api.post<RunDetail>('/api/sync/manual', v.body, { wait: true })
        : api.post<{ run_id: number }>('/api/sync/manual', v.body),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['sync-status'] });
      void qc.invalidateQueries({ queryKey: ['sync-history'] });
    },
  });
}

// ---- conflicts
export const useConflicts = (q: Query) =>
  useQuery({
    queryKey: qk.conflicts(q),
    queryFn: () => api.get<Page<Conflict>>('/api/conflicts', q),
    placeholderData: keepPreviousData,
  });
/** Drift per day over the last `days` days. */
export const useDrift = (q: Query) =>
  useQuery({ queryKey: ['conflict-drift', q] as const, queryFn: () => api.get<DriftSeries>('/api/conflicts/drift', q) });
export const useConflict = (id: number) =>
  useQuery({ queryKey: qk.conflict(id), queryFn: () => api.get<Conflict>(`/api/conflicts/${id}`) });
export const resolveConflict = (id: number, b: ResolveRequest) => api.post<Conflict>(`/api/conflicts/${id}/resolve`, b);

// ---- conflict groups: conflicts by cause, fixed in place
/** Groups with the filters of `GET /api/conflicts` (`status`, `reason`, `pipeline_id`), largest first. */
export const useConflictGroups = (q: Query, opts: { enabled?: boolean } = {}) =>
  useQuery({
    queryKey: qk.groups(q),
    queryFn: () => api.get<Page<ConflictGroup>>('/api/conflicts/groups', q),
    placeholderData: keepPreviousData,
    enabled: opts.enabled ?? true,
  });
/** Target items that likely fit a mapping group's source item, best first (may be empty). */
export const useGroupSuggestions = (group: string | undefined) =>
  useQuery({
    queryKey: qk.suggestions(group ?? ''),
    queryFn: () => api.get<{ items: GroupSuggestion[] }>('/api/conflicts/groups/suggestions', { group }),
    enabled: !!group,
    staleTime: 60_000,
  });
export const groupApi = {
  /** A dry run of the fix over the group's entries (reads both systems; may take seconds). */
  preview: (group: string, fix: GroupFix) => api.post<GroupPreview>('/api/conflicts/groups/preview', { group, fix }),
  /** Stores the mapping or default and queues a `resolution` run that writes the group's entries. */
  apply: (group: string, fix: GroupFix) => api.post<GroupApplied>('/api/conflicts/groups/apply', { group, fix }),
  resolve: (group: string, action: GroupAction, note?: string) =>
    api.post<GroupResolved>('/api/conflicts/groups/resolve', { group, action, ...(note ? { note } : {}) }),
};

// ---- audit
export const useAudit = (q: Query) =>
  useQuery({ queryKey: qk.audit(q), queryFn: () => api.get<Page<AuditEvent>>('/api/audit', q), placeholderData: keepPreviousData });

// ---- settings & privacy
export const useSettings = () => useQuery({ queryKey: qk.settings, queryFn: () => api.get<Settings>('/api/settings') });
export function useSaveSettings() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (s: Settings) => api.put<Settings>('/api/settings', s),
    onSuccess: (data) => qc.setQueryData(qk.settings, data),
  });
}
export const gdprExport = (email: string) => api.get<unknown>('/api/gdpr/export', { email });
export const gdprPurge = (email: string) => api.post<GdprPurgeResult>('/api/gdpr/purge', { email });
