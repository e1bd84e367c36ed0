import type { components } from './schema';

type S = components['schemas'];
export type ErrorResponse = S['ErrorResponse'];
export type LoginRequest = S['LoginRequest'];
export type LoginResponse = S['LoginResponse'];
export type Me = S['Me'];
export type Health = S['Health'];
export type ConnectorKind = S['ConnectorKind'];
export type Connector = S['Connector'];
export type ConnectorCreate = S['ConnectorCreate'];
export type ConnectorUpdate = S['ConnectorUpdate'];
export type ConnectorTestResult = S['ConnectorTestResult'];
export type CatalogItem = S['CatalogItem'];
export type Catalog = S['Catalog'];
export type Pipeline = S['Pipeline'];
export type PipelineInput = S['PipelineInput'];
export type MappingKind = S['MappingKind'];
export type Mapping = S['Mapping'];
export type MappingInput = S['MappingInput'];
export type Run = S['Run'];
export type RunStats = S['RunStats'];
export type RunItem = S['RunItem'];
export type RunDetail = S['RunDetail'];
export type ManualSyncRequest = S['ManualSyncRequest'];
export type SyncStatus = S['SyncStatus'];
export type ConflictReason = S['ConflictReason'];
export type ResolveAction = S['ResolveAction'];
export type Entry = S['Entry'];
export type Conflict = S['Conflict'];
export type ResolveRequest = S['ResolveRequest'];
export type AuditEvent = S['AuditEvent'];
export type Settings = S['Settings'];
export type DailyStats = S['DailyStats'];
export type GdprPurgeResult = S['GdprPurgeResult'];

export interface Page<T> {
  items: T[];
  total: number;
}

export const CONFLICT_REASONS: ConflictReason[] = [
  'target_modified',
  'duplicate_in_target',
  'unmapped_activity',
  'unmapped_project',
  'unmapped_user',
  'locked',
  'source_deleted',
  'target_deleted',
  'negative_duration',
  'target_rejected',
];

export const RUN_OUTCOMES: RunItem['outcome'][] = ['in_sync', 'create', 'update', 'skip', 'conflict', 'error'];
