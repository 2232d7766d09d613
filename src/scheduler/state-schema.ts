import { Database } from 'bun:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StateError } from './state-errors.ts';

/**
 * The state file's schema and how it is opened (WAL, synchronous=FULL, foreign keys on).
 *
 * "No provider" (a build's pause or backoff) is stored as '' because SQLite primary keys
 * treat NULLs as distinct.
 */
export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE builds (
  id TEXT PRIMARY KEY,
  diskimage TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('building', 'ready', 'deleting', 'gone', 'failed', 'missing')),
  builder TEXT,
  formats TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL,
  state_at INTEGER NOT NULL,
  ready_at INTEGER,
  reason TEXT
);
CREATE INDEX builds_by_diskimage ON builds (diskimage);
-- Invariant 4, kept by the file itself: at most one build of a diskimage runs.
CREATE UNIQUE INDEX one_running_build ON builds (diskimage) WHERE state = 'building';
CREATE TABLE uploads (
  id TEXT PRIMARY KEY,
  build_id TEXT NOT NULL REFERENCES builds (id),
  provider TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('uploading', 'ready', 'deleting', 'gone', 'failed')),
  external_id TEXT,
  external_name TEXT,
  created_at INTEGER NOT NULL,
  state_at INTEGER NOT NULL,
  ready_at INTEGER,
  reason TEXT
);
CREATE INDEX uploads_by_build ON uploads (build_id);
CREATE UNIQUE INDEX uploads_by_external_id ON uploads (provider, external_id) WHERE external_id IS NOT NULL;
CREATE TABLE pauses (
  diskimage TEXT NOT NULL,
  provider TEXT NOT NULL,
  paused_at INTEGER NOT NULL,
  PRIMARY KEY (diskimage, provider)
);
CREATE TABLE backoffs (
  diskimage TEXT NOT NULL,
  provider TEXT NOT NULL,
  failures INTEGER NOT NULL CHECK (failures > 0),
  failed_at INTEGER NOT NULL,
  retry_at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (diskimage, provider)
);
CREATE TABLE build_requests (
  diskimage TEXT PRIMARY KEY,
  requested_at INTEGER NOT NULL
);
`;

/**
 * Indexes added after version 1, made on every open when missing (an index changes no record,
 * so the schema version stays): the dashboard's newest failures without a scan of every upload.
 */
const LATER_INDEXES = `
CREATE INDEX IF NOT EXISTS failed_builds ON builds (state_at) WHERE state = 'failed';
CREATE INDEX IF NOT EXISTS failed_uploads ON uploads (state_at) WHERE state = 'failed';
`;

/** Opens (creating it, and its directory, when missing) the state file; refuses a file of a newer schema. */
export function openStateDatabase(file: string): Database {
  let db: Database;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
    db = new Database(file, { create: true, readwrite: true, strict: true });
  } catch (err) {
    throw new StateError('STATE_FILE', `${file}: cannot open the state file: ${String(err)}`, { cause: err });
  }
  try {
    prepare(db, file);
  } catch (err) {
    db.close();
    if (err instanceof StateError) throw err;
    throw new StateError('STATE_FILE', `${file}: not a usable state file: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return db;
}

function prepare(db: Database, file: string): void {
  db.run('PRAGMA busy_timeout = 5000');
  const mode = db.query<{ journal_mode: string }, []>('PRAGMA journal_mode = WAL').get();
  if (mode?.journal_mode !== 'wal') throw new StateError('STATE_FILE', `${file}: cannot use write-ahead logging (journal mode ${mode?.journal_mode})`);
  // FULL: a committed decision survives a power cut too, not only a crash of the process.
  db.run('PRAGMA synchronous = FULL');
  db.run('PRAGMA foreign_keys = ON');
  db.transaction(() => {
    const version = db.query<{ user_version: number }, []>('PRAGMA user_version').get()?.user_version ?? 0;
    if (version > SCHEMA_VERSION) {
      throw new StateError('STATE_SCHEMA', `${file}: state schema version ${version} was written by a newer nodepool-builder (this one reads up to ${SCHEMA_VERSION})`);
    }
    if (version !== SCHEMA_VERSION) {
      db.run(SCHEMA);
      db.run(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    }
    db.run(LATER_INDEXES);
  }).immediate();
}
