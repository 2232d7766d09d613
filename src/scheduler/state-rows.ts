import type { Database, SQLQueryBindings } from 'bun:sqlite';
import type { BackoffRecord, BuildRecord, BuildRequestRecord, BuildState, PauseRecord, UploadRecord, UploadState } from './state.ts';

/** The state file's rows as SQLite returns them, and the records they map to. */
export interface BuildRow {
  id: string;
  diskimage: string;
  state: BuildState;
  builder: string | null;
  formats: string;
  created_at: number;
  state_at: number;
  ready_at: number | null;
  reason: string | null;
}

export interface UploadRow {
  id: string;
  build_id: string;
  provider: string;
  state: UploadState;
  external_id: string | null;
  external_name: string | null;
  created_at: number;
  state_at: number;
  ready_at: number | null;
  reason: string | null;
}

export interface PauseRow {
  diskimage: string;
  provider: string;
  paused_at: number;
}

export interface BackoffRow {
  diskimage: string;
  provider: string;
  failures: number;
  failed_at: number;
  retry_at: number;
  reason: string;
}

export interface BuildRequestRow {
  diskimage: string;
  requested_at: number;
}

const NO_PROVIDER = '';
export const fromNull = <T>(value: T | null): T | undefined => (value === null ? undefined : value);
export const toProvider = (provider: string | undefined): string => provider ?? NO_PROVIDER;
export const fromProvider = (provider: string): string | undefined => (provider === NO_PROVIDER ? undefined : provider);

export type Columns = Record<string, string | number | null>;

export function buildOf(row: BuildRow): BuildRecord {
  return {
    id: row.id,
    diskimage: row.diskimage,
    state: row.state,
    builder: fromNull(row.builder),
    formats: JSON.parse(row.formats) as string[],
    createdAt: row.created_at,
    stateAt: row.state_at,
    readyAt: fromNull(row.ready_at),
    reason: fromNull(row.reason),
  };
}

export function uploadOf(row: UploadRow): UploadRecord {
  return {
    id: row.id,
    buildId: row.build_id,
    provider: row.provider,
    state: row.state,
    externalId: fromNull(row.external_id),
    externalName: fromNull(row.external_name),
    createdAt: row.created_at,
    stateAt: row.state_at,
    readyAt: fromNull(row.ready_at),
    reason: fromNull(row.reason),
  };
}

export function pauseOf(r: PauseRow): PauseRecord {
  return { diskimage: r.diskimage, provider: fromProvider(r.provider), pausedAt: r.paused_at };
}

export function backoffOf(r: BackoffRow): BackoffRecord {
  return {
    diskimage: r.diskimage,
    provider: fromProvider(r.provider),
    failures: r.failures,
    failedAt: r.failed_at,
    retryAt: r.retry_at,
    reason: r.reason,
  };
}

export function buildRequestOf(r: BuildRequestRow): BuildRequestRecord {
  return { diskimage: r.diskimage, requestedAt: r.requested_at };
}

export function insertBuildRow(db: Database, columns: Columns): void {
  const names = Object.keys(columns);
  db.query(`INSERT INTO builds (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...(Object.values(columns) as SQLQueryBindings[]));
}

export function updateRow(db: Database, table: 'builds' | 'uploads', id: string, columns: Columns): void {
  const names = Object.keys(columns);
  db.query(`UPDATE ${table} SET ${names.map((n) => `${n} = ?`).join(', ')} WHERE id = ?`).run(...(Object.values(columns) as SQLQueryBindings[]), id);
}
