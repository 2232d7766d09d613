import { Database, type SQLQueryBindings } from 'bun:sqlite';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type BackoffPolicy,
  type BackoffRecord,
  type BuildRecord,
  type BuildRequestRecord,
  type BuildState,
  type PauseRecord,
  type SchedulerState,
  type UploadRecord,
  type UploadState,
  backoffDelay,
} from './state.ts';
import type { StateDocument } from './state-document.ts';
import { StateError } from './state-errors.ts';

/**
 * The scheduler's durable state: one SQLite file (WAL, synchronous=FULL, foreign keys on).
 * Every method that changes something is one IMMEDIATE transaction, committed when it returns,
 * so the runner can submit a job only after its decision is on disk (DESIGN §10, invariant 3).
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

interface BuildRow {
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

interface UploadRow {
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

interface PauseRow {
  diskimage: string;
  provider: string;
  paused_at: number;
}

interface BackoffRow {
  diskimage: string;
  provider: string;
  failures: number;
  failed_at: number;
  retry_at: number;
  reason: string;
}

const NO_PROVIDER = '';
const fromNull = <T>(value: T | null): T | undefined => (value === null ? undefined : value);
const toProvider = (provider: string | undefined): string => provider ?? NO_PROVIDER;
const fromProvider = (provider: string): string | undefined => (provider === NO_PROVIDER ? undefined : provider);

function buildOf(row: BuildRow): BuildRecord {
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

function uploadOf(row: UploadRow): UploadRecord {
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

/** The states a record may leave for each state it may enter. */
const BUILD_FROM: Readonly<Record<BuildState, readonly BuildState[]>> = {
  building: [],
  ready: ['building'],
  failed: ['building'],
  missing: ['ready'],
  deleting: ['ready', 'missing'],
  gone: ['deleting', 'missing'],
};

/**
 * Adoption: the build is on a builder after all. Its job ended while the scheduler was away,
 * its host came back, or its result was lost (the image is kept and registered, DESIGN §8).
 */
const ADOPTABLE_BUILD: readonly BuildState[] = ['building', 'missing', 'failed'];

const UPLOAD_FROM: Readonly<Record<UploadState, readonly UploadState[]>> = {
  uploading: [],
  ready: ['uploading'],
  failed: ['uploading'],
  deleting: ['ready'],
  gone: ['deleting'],
};

/** Adoption: the cloud lists the upload's image as active, whatever the job's result said. */
const ADOPTABLE_UPLOAD: readonly UploadState[] = ['uploading', 'failed'];

/** An upload as image-list shows it: with the diskimage of its build. */
export interface ListedUpload extends UploadRecord {
  readonly diskimage: string;
}

export interface NewBuild {
  readonly id: string;
  readonly diskimage: string;
}

export interface FinishedBuild {
  readonly builder: string | undefined;
  readonly formats: readonly string[];
}

export interface NewUpload {
  readonly id: string;
  readonly buildId: string;
  readonly provider: string;
  readonly externalId: string | undefined;
  readonly externalName: string | undefined;
}

type Columns = Record<string, string | number | null>;

export class StateStore {
  private constructor(
    private readonly db: Database,
    readonly file: string,
  ) {}

  /** Opens (creating it, and its directory, when missing) the state file; refuses a file of a newer schema. */
  static open(file: string): StateStore {
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
    return new StateStore(db, file);
  }

  close(): void {
    this.db.close();
  }

  /** The system id images are tagged with when the config sets none: made once, then kept. */
  systemId(): string {
    return this.write(() => {
      const row = this.db.query<{ value: string }, [string]>('SELECT value FROM meta WHERE key = ?').get('system-id');
      if (row) return row.value;
      const made = `nodepool-builder-${randomBytes(6).toString('hex')}`;
      this.db.query('INSERT INTO meta (key, value) VALUES (?, ?)').run('system-id', made);
      return made;
    });
  }

  /** A consistent copy of everything, read in one transaction. */
  snapshot(): SchedulerState {
    return this.db.transaction(() => ({
      builds: this.db.query<BuildRow, []>('SELECT * FROM builds ORDER BY created_at, id').all().map(buildOf),
      uploads: this.db.query<UploadRow, []>('SELECT * FROM uploads ORDER BY created_at, id').all().map(uploadOf),
      pauses: this.db
        .query<PauseRow, []>('SELECT * FROM pauses ORDER BY diskimage, provider')
        .all()
        .map((r): PauseRecord => ({ diskimage: r.diskimage, provider: fromProvider(r.provider), pausedAt: r.paused_at })),
      backoffs: this.db
        .query<BackoffRow, []>('SELECT * FROM backoffs ORDER BY diskimage, provider')
        .all()
        .map(
          (r): BackoffRecord => ({
            diskimage: r.diskimage,
            provider: fromProvider(r.provider),
            failures: r.failures,
            failedAt: r.failed_at,
            retryAt: r.retry_at,
            reason: r.reason,
          }),
        ),
      buildRequests: this.db
        .query<{ diskimage: string; requested_at: number }, []>('SELECT * FROM build_requests ORDER BY diskimage')
        .all()
        .map((r): BuildRequestRecord => ({ diskimage: r.diskimage, requestedAt: r.requested_at })),
    }))();
  }

  build(id: string): BuildRecord | undefined {
    const row = this.db.query<BuildRow, [string]>('SELECT * FROM builds WHERE id = ?').get(id);
    return row ? buildOf(row) : undefined;
  }

  upload(id: string): UploadRecord | undefined {
    const row = this.db.query<UploadRow, [string]>('SELECT * FROM uploads WHERE id = ?').get(id);
    return row ? uploadOf(row) : undefined;
  }

  /** Uploads not gone, each with its build's diskimage, oldest first: image-list's rows without a whole snapshot. */
  listedUploads(): ListedUpload[] {
    const rows = this.db
      .query<UploadRow & { diskimage: string }, []>("SELECT uploads.*, builds.diskimage AS diskimage FROM uploads JOIN builds ON builds.id = uploads.build_id WHERE uploads.state != 'gone'")
      .all();
    // Sorted here, not by ORDER BY: SQLite would sort through a temporary B-tree, about twice as slow for 40,000 rows.
    rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return rows.map((row) => Object.assign(uploadOf(row), { diskimage: row.diskimage }));
  }

  /** Builds not gone, oldest first: dib-image-list's rows. */
  listedBuilds(): BuildRecord[] {
    return this.db.query<BuildRow, []>("SELECT * FROM builds WHERE state != 'gone' ORDER BY created_at, id").all().map(buildOf);
  }

  // ---- builds ----

  /** A build decided: recorded as building before its job goes out; meets the diskimage's build requests. */
  recordBuildStarted(build: NewBuild, now: number): BuildRecord {
    return this.write(() => {
      const running = this.db.query<{ id: string }, [string]>("SELECT id FROM builds WHERE diskimage = ? AND state = 'building'").get(build.diskimage);
      if (running) throw new StateError('STATE_CONFLICT', `${build.diskimage}: build ${running.id} is running; a diskimage has one build at a time`);
      this.insertBuild({ id: build.id, diskimage: build.diskimage, state: 'building', created_at: now, state_at: now });
      this.db.query('DELETE FROM build_requests WHERE diskimage = ? AND requested_at <= ?').run(build.diskimage, now);
      return this.mustBuild(build.id);
    });
  }

  recordBuildReady(id: string, finished: FinishedBuild, now: number): BuildRecord {
    return this.write(() => {
      const build = this.moveBuild(id, 'ready', now, { builder: finished.builder ?? null, formats: JSON.stringify(finished.formats), ready_at: now, reason: null });
      this.clearBackoff(build.diskimage, undefined);
      return build;
    });
  }

  recordBuildFailed(id: string, reason: string, now: number, policy: BackoffPolicy): BuildRecord {
    return this.write(() => {
      const build = this.moveBuild(id, 'failed', now, { reason });
      this.bumpBackoff(build.diskimage, undefined, reason, now, policy);
      return build;
    });
  }

  /**
   * A build found on a builder: one the state records as building or missing (it finished, or
   * its host came back), or one made by a direct image-build that the state never knew.
   */
  recordBuildAdopted(build: NewBuild & FinishedBuild, now: number): BuildRecord {
    return this.write(() => {
      const known = this.build(build.id);
      const columns = { builder: build.builder ?? null, formats: JSON.stringify(build.formats), reason: null };
      if (!known) {
        this.insertBuild({ id: build.id, diskimage: build.diskimage, state: 'ready', created_at: now, state_at: now, ready_at: now, ...columns });
        return this.mustBuild(build.id);
      }
      if (known.diskimage !== build.diskimage) {
        throw new StateError('STATE_CONFLICT', `build ${build.id} is recorded as a build of ${known.diskimage}, not ${build.diskimage}`);
      }
      return this.moveBuild(build.id, 'ready', now, { ...columns, ready_at: known.readyAt ?? now }, ADOPTABLE_BUILD);
    });
  }

  recordBuildMissing(id: string, reason: string, now: number): BuildRecord {
    return this.write(() => this.moveBuild(id, 'missing', now, { reason }));
  }

  recordBuildDeleting(id: string, reason: string, now: number): BuildRecord {
    return this.write(() => this.moveBuild(id, 'deleting', now, { reason }));
  }

  recordBuildGone(id: string, now: number): BuildRecord {
    return this.write(() => this.moveBuild(id, 'gone', now, {}));
  }

  // ---- uploads ----

  recordUploadStarted(upload: NewUpload, now: number): UploadRecord {
    return this.write(() => {
      const build = this.mustBuild(upload.buildId);
      if (build.state !== 'ready') throw new StateError('STATE_CONFLICT', `build ${build.id} is ${build.state}; only a ready build is uploaded`);
      this.db
        .query(
          `INSERT INTO uploads (id, build_id, provider, state, external_id, external_name, created_at, state_at)
           VALUES (?, ?, ?, 'uploading', ?, ?, ?, ?)`,
        )
        .run(upload.id, upload.buildId, upload.provider, upload.externalId ?? null, upload.externalName ?? null, now, now);
      return this.mustUpload(upload.id);
    });
  }

  /** The upload's job ended well: its image is active in the cloud. */
  recordUploadReady(id: string, externalId: string, now: number): UploadRecord {
    return this.markUploadReady(id, externalId, now, UPLOAD_FROM.ready);
  }

  /** The sweep found the upload's image active: the job ended unseen, or its failure was not the cloud's. */
  recordUploadAdopted(id: string, externalId: string, now: number): UploadRecord {
    return this.markUploadReady(id, externalId, now, ADOPTABLE_UPLOAD);
  }

  private markUploadReady(id: string, externalId: string, now: number, from: readonly UploadState[]): UploadRecord {
    return this.write(() => {
      const upload = this.moveUpload(id, 'ready', now, { external_id: externalId, ready_at: now, reason: null }, from);
      this.clearBackoff(this.mustBuild(upload.buildId).diskimage, upload.provider);
      return upload;
    });
  }

  recordUploadFailed(id: string, reason: string, now: number, policy: BackoffPolicy): UploadRecord {
    return this.write(() => {
      const upload = this.moveUpload(id, 'failed', now, { reason });
      this.bumpBackoff(this.mustBuild(upload.buildId).diskimage, upload.provider, reason, now, policy);
      return upload;
    });
  }

  recordUploadDeleting(id: string, reason: string, now: number): UploadRecord {
    return this.write(() => this.moveUpload(id, 'deleting', now, { reason }));
  }

  recordUploadGone(id: string, now: number): UploadRecord {
    return this.write(() => this.moveUpload(id, 'gone', now, {}));
  }

  // ---- operator requests ----

  /** image-pause: of a diskimage's builds (no provider) or of its uploads to one provider. */
  pause(diskimage: string, provider: string | undefined, now: number): void {
    this.write(() => {
      this.db.query('INSERT OR IGNORE INTO pauses (diskimage, provider, paused_at) VALUES (?, ?, ?)').run(diskimage, toProvider(provider), now);
    });
  }

  /** image-unpause; false when it was not paused. */
  unpause(diskimage: string, provider: string | undefined): boolean {
    return this.write(() => this.db.query('DELETE FROM pauses WHERE diskimage = ? AND provider = ?').run(diskimage, toProvider(provider)).changes > 0);
  }

  requestBuild(diskimage: string, now: number): void {
    this.write(() => {
      this.db.query('INSERT INTO build_requests (diskimage, requested_at) VALUES (?, ?) ON CONFLICT (diskimage) DO UPDATE SET requested_at = excluded.requested_at').run(diskimage, now);
    });
  }

  /**
   * An operator's delete of a ready upload (image-upload-delete): recorded deleting, and the
   * planner submits its provider-image-delete as it resumes any delete. Idempotent on an upload
   * already deleting.
   */
  requestUploadDelete(id: string, now: number): UploadRecord {
    return this.write(() => {
      const upload = this.mustUpload(id);
      if (upload.state === 'deleting') return upload;
      return this.moveUpload(id, 'deleting', now, { reason: 'operator request' });
    });
  }

  /**
   * An operator's delete of a build (image-build-delete): the build and its ready uploads are
   * recorded deleting in one transaction (its images in the clouds go with it, as nodepool's
   * dib-image-delete does). A running build is refused; a build already deleting is left as it is.
   */
  requestBuildDelete(id: string, now: number): BuildRecord {
    return this.write(() => {
      const build = this.mustBuild(id);
      if (build.state === 'deleting') return build;
      const moved = this.moveBuild(id, 'deleting', now, { reason: 'operator request' });
      const ready = this.db.query<{ id: string }, [string]>("SELECT id FROM uploads WHERE build_id = ? AND state = 'ready'").all(id);
      for (const upload of ready) this.moveUpload(upload.id, 'deleting', now, { reason: `operator request (build ${id})` });
      return moved;
    });
  }

  // ---- export-state / import-state ----

  exportDocument(): StateDocument {
    return this.db.transaction(() => {
      const row = this.db.query<{ value: string }, [string]>('SELECT value FROM meta WHERE key = ?').get('system-id');
      return { ...this.snapshot(), systemId: row?.value };
    })();
  }

  /**
   * Loads an exported document in one transaction: everything or nothing. Into a store that holds
   * records only with `replace`, which drops them first.
   */
  importDocument(document: StateDocument, options: { replace: boolean }): void {
    this.write(() => {
      const held = this.db.query<{ n: number }, []>('SELECT (SELECT count(*) FROM builds) + (SELECT count(*) FROM pauses) + (SELECT count(*) FROM backoffs) + (SELECT count(*) FROM build_requests) AS n').get();
      if ((held?.n ?? 0) > 0 && !options.replace) {
        throw new StateError('STATE_CONFLICT', `${this.file} already holds records; import with replace to drop them`);
      }
      for (const table of ['uploads', 'builds', 'pauses', 'backoffs', 'build_requests']) this.db.run(`DELETE FROM ${table}`);
      this.db.query('DELETE FROM meta WHERE key = ?').run('system-id');
      try {
        if (document.systemId !== undefined) this.db.query('INSERT INTO meta (key, value) VALUES (?, ?)').run('system-id', document.systemId);
        for (const b of document.builds) {
          this.insertBuild({
            id: b.id,
            diskimage: b.diskimage,
            state: b.state,
            builder: b.builder ?? null,
            formats: JSON.stringify(b.formats),
            created_at: b.createdAt,
            state_at: b.stateAt,
            ready_at: b.readyAt ?? null,
            reason: b.reason ?? null,
          });
        }
        const insertUpload = this.db.query(
          `INSERT INTO uploads (id, build_id, provider, state, external_id, external_name, created_at, state_at, ready_at, reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const u of document.uploads) {
          insertUpload.run(u.id, u.buildId, u.provider, u.state, u.externalId ?? null, u.externalName ?? null, u.createdAt, u.stateAt, u.readyAt ?? null, u.reason ?? null);
        }
        for (const p of document.pauses) this.db.query('INSERT INTO pauses (diskimage, provider, paused_at) VALUES (?, ?, ?)').run(p.diskimage, toProvider(p.provider), p.pausedAt);
        for (const b of document.backoffs) {
          this.db
            .query('INSERT INTO backoffs (diskimage, provider, failures, failed_at, retry_at, reason) VALUES (?, ?, ?, ?, ?, ?)')
            .run(b.diskimage, toProvider(b.provider), b.failures, b.failedAt, b.retryAt, b.reason);
        }
        for (const r of document.buildRequests) this.db.query('INSERT INTO build_requests (diskimage, requested_at) VALUES (?, ?)').run(r.diskimage, r.requestedAt);
      } catch (err) {
        if (err instanceof StateError) throw err;
        throw new StateError('STATE_IMPORT_INVALID', `the document breaks a rule of the state file: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    });
  }

  // ---- internals ----

  private write<T>(change: () => T): T {
    try {
      return this.db.transaction(change).immediate();
    } catch (err) {
      if (err instanceof StateError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      if (/constraint/i.test(message)) throw new StateError('STATE_CONFLICT', `${this.file}: ${message}`, { cause: err });
      throw new StateError('STATE_FILE', `${this.file}: ${message}`, { cause: err });
    }
  }

  private insertBuild(columns: Columns): void {
    const names = Object.keys(columns);
    this.db.query(`INSERT INTO builds (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...(Object.values(columns) as SQLQueryBindings[]));
  }

  private mustBuild(id: string): BuildRecord {
    const build = this.build(id);
    if (!build) throw new StateError('STATE_UNKNOWN_RECORD', `no build ${id} in ${this.file}`);
    return build;
  }

  private mustUpload(id: string): UploadRecord {
    const upload = this.upload(id);
    if (!upload) throw new StateError('STATE_UNKNOWN_RECORD', `no upload ${id} in ${this.file}`);
    return upload;
  }

  private moveBuild(id: string, to: BuildState, now: number, columns: Columns, from = BUILD_FROM[to]): BuildRecord {
    const build = this.mustBuild(id);
    if (!from.includes(build.state)) throw new StateError('STATE_CONFLICT', `build ${id} is ${build.state}; it cannot become ${to}`);
    this.update('builds', id, { ...columns, state: to, state_at: now });
    return this.mustBuild(id);
  }

  private moveUpload(id: string, to: UploadState, now: number, columns: Columns, from = UPLOAD_FROM[to]): UploadRecord {
    const upload = this.mustUpload(id);
    if (!from.includes(upload.state)) throw new StateError('STATE_CONFLICT', `upload ${id} is ${upload.state}; it cannot become ${to}`);
    this.update('uploads', id, { ...columns, state: to, state_at: now });
    return this.mustUpload(id);
  }

  private update(table: 'builds' | 'uploads', id: string, columns: Columns): void {
    const names = Object.keys(columns);
    this.db.query(`UPDATE ${table} SET ${names.map((n) => `${n} = ?`).join(', ')} WHERE id = ?`).run(...(Object.values(columns) as SQLQueryBindings[]), id);
  }

  private bumpBackoff(diskimage: string, provider: string | undefined, reason: string, now: number, policy: BackoffPolicy): void {
    const row = this.db.query<{ failures: number }, [string, string]>('SELECT failures FROM backoffs WHERE diskimage = ? AND provider = ?').get(diskimage, toProvider(provider));
    const failures = (row?.failures ?? 0) + 1;
    this.db
      .query(
        `INSERT INTO backoffs (diskimage, provider, failures, failed_at, retry_at, reason) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (diskimage, provider) DO UPDATE SET failures = excluded.failures, failed_at = excluded.failed_at, retry_at = excluded.retry_at, reason = excluded.reason`,
      )
      .run(diskimage, toProvider(provider), failures, now, now + backoffDelay(failures, policy), reason);
  }

  private clearBackoff(diskimage: string, provider: string | undefined): void {
    this.db.query('DELETE FROM backoffs WHERE diskimage = ? AND provider = ?').run(diskimage, toProvider(provider));
  }
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
    if (version === SCHEMA_VERSION) return;
    db.run(SCHEMA);
    db.run(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
