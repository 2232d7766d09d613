import type { Database } from 'bun:sqlite';
import { randomBytes } from 'node:crypto';
import type { BackoffPolicy, BuildRecord, BuildState, SchedulerState, UploadRecord, UploadState } from './state.ts';
import { backoffDelay } from './state.ts';
import type { StateDocument } from './state-document.ts';
import { StateError } from './state-errors.ts';
import { insertDocumentRows } from './state-import.ts';
import { type BackoffRow, type BuildRequestRow, type BuildRow, type Columns, type PauseRow, type UploadRow, backoffOf, buildOf, buildRequestOf, insertBuildRow, pauseOf, toProvider, updateRow, uploadOf } from './state-rows.ts';
import { openStateDatabase } from './state-schema.ts';
import { type Pruned, pruneHistory } from './state-prune.ts';
import { ADOPTABLE_BUILD, ADOPTABLE_UPLOAD, BUILD_FROM, UPLOAD_FROM } from './state-transitions.ts';

export { SCHEMA_VERSION } from './state-schema.ts';

/** An upload as image-list shows it: with the diskimage of its build. */
export interface ListedUpload extends UploadRecord {
  readonly diskimage: string;
}

/** How many builds of a diskimage are in one state (gone ones are not counted). */
export interface BuildTally {
  readonly diskimage: string;
  readonly state: BuildState;
  readonly count: number;
}

/** How many uploads of a diskimage to a provider are in one state (gone ones are not counted). */
export interface UploadTally {
  readonly diskimage: string;
  readonly provider: string;
  readonly state: UploadState;
  readonly count: number;
}

/** When the newest ready upload of a diskimage to a provider became ready. */
export interface NewestReadyUpload {
  readonly diskimage: string;
  readonly provider: string;
  readonly readyAt: number;
}

/** The counts metrics report, read from a few columns rather than a whole snapshot; in no particular order. */
export interface StateTallies {
  readonly builds: readonly BuildTally[];
  readonly uploads: readonly UploadTally[];
  readonly newestReady: readonly NewestReadyUpload[];
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

/**
 * The scheduler's durable state: one SQLite file (state-schema.ts). Every method that changes
 * something is one IMMEDIATE transaction, committed when it returns, so the runner can submit a
 * job only after its decision is on disk (DESIGN §10, invariant 3).
 */
export class StateStore {
  /** Commits through this connection; with PRAGMA data_version (other connections' commits), what a cached read is valid for. */
  private commits = 0;
  private listed: { readonly version: string; readonly uploads: readonly ListedUpload[] } | undefined;
  private tallied: { readonly version: string; readonly tallies: StateTallies } | undefined;

  private constructor(
    private readonly db: Database,
    readonly file: string,
  ) {}

  /** Opens (creating it, and its directory, when missing) the state file; refuses a file of a newer schema. */
  static open(file: string): StateStore {
    return new StateStore(openStateDatabase(file), file);
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

  /**
   * The records of some diskimages only (a page of the dashboard), read in one transaction: their
   * builds and uploads, with every pause and backoff (few). A whole snapshot of 40,000 uploads
   * takes about 100 ms; a page of 30 diskimages a few.
   */
  snapshotOf(diskimages: readonly string[]): SchedulerState {
    const names = JSON.stringify(diskimages);
    return this.db.transaction(() => ({
      builds: this.db.query<BuildRow, [string]>('SELECT * FROM builds WHERE diskimage IN (SELECT value FROM json_each(?)) ORDER BY created_at, id').all(names).map(buildOf),
      uploads: this.db
        .query<UploadRow, [string]>('SELECT uploads.* FROM uploads JOIN builds ON builds.id = uploads.build_id WHERE builds.diskimage IN (SELECT value FROM json_each(?)) ORDER BY uploads.created_at, uploads.id')
        .all(names)
        .map(uploadOf),
      pauses: this.db.query<PauseRow, []>('SELECT * FROM pauses ORDER BY diskimage, provider').all().map(pauseOf),
      backoffs: this.db.query<BackoffRow, []>('SELECT * FROM backoffs ORDER BY diskimage, provider').all().map(backoffOf),
      buildRequests: this.db.query<BuildRequestRow, []>('SELECT * FROM build_requests ORDER BY diskimage').all().map(buildRequestOf),
    }))();
  }

  /** Every diskimage a build record names, sorted. */
  diskimagesWithBuilds(): string[] {
    return this.db.query<{ diskimage: string }, []>('SELECT DISTINCT diskimage FROM builds ORDER BY diskimage').all().map((r) => r.diskimage);
  }

  /** The newest failed builds and uploads (at most `limit` of each), uploads with their diskimage. */
  failedRecords(limit: number): { builds: BuildRecord[]; uploads: ListedUpload[] } {
    return this.db.transaction(() => ({
      builds: this.db.query<BuildRow, [number]>("SELECT * FROM builds WHERE state = 'failed' ORDER BY state_at DESC LIMIT ?").all(limit).map(buildOf),
      uploads: this.db
        .query<UploadRow & { diskimage: string }, [number]>("SELECT uploads.*, builds.diskimage AS diskimage FROM uploads JOIN builds ON builds.id = uploads.build_id WHERE uploads.state = 'failed' ORDER BY uploads.state_at DESC LIMIT ?")
        .all(limit)
        .map((row) => Object.assign(uploadOf(row), { diskimage: row.diskimage })),
    }))();
  }

  /** A consistent copy of everything, read in one transaction. */
  snapshot(): SchedulerState {
    return this.db.transaction(() => ({
      builds: this.db.query<BuildRow, []>('SELECT * FROM builds ORDER BY created_at, id').all().map(buildOf),
      uploads: this.db.query<UploadRow, []>('SELECT * FROM uploads ORDER BY created_at, id').all().map(uploadOf),
      pauses: this.db.query<PauseRow, []>('SELECT * FROM pauses ORDER BY diskimage, provider').all().map(pauseOf),
      backoffs: this.db.query<BackoffRow, []>('SELECT * FROM backoffs ORDER BY diskimage, provider').all().map(backoffOf),
      buildRequests: this.db.query<BuildRequestRow, []>('SELECT * FROM build_requests ORDER BY diskimage').all().map(buildRequestOf),
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

  /**
   * Uploads not gone, each with its build's diskimage, oldest first: image-list's rows without a
   * whole snapshot. Read again only after a commit (here or by another connection to the file):
   * 40,000 rows take tens of milliseconds to read, and image-list is polled.
   */
  listedUploads(): readonly ListedUpload[] {
    const version = `${this.dataVersion()}:${this.commits}`;
    if (this.listed?.version === version) return this.listed.uploads;
    const rows = this.db
      .query<UploadRow & { diskimage: string }, []>("SELECT uploads.*, builds.diskimage AS diskimage FROM uploads JOIN builds ON builds.id = uploads.build_id WHERE uploads.state != 'gone'")
      .all();
    // Sorted here, not by ORDER BY: SQLite would sort through a temporary B-tree, about twice as slow for 40,000 rows.
    rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const uploads = rows.map((row): ListedUpload => Object.assign(uploadOf(row), { diskimage: row.diskimage }));
    this.listed = { version, uploads };
    return uploads;
  }

  private dataVersion(): number {
    return this.db.query<{ data_version: number }, []>('PRAGMA data_version').get()?.data_version ?? 0;
  }

  /** Builds not gone, oldest first: dib-image-list's rows. */
  listedBuilds(): BuildRecord[] {
    return this.db.query<BuildRow, []>("SELECT * FROM builds WHERE state != 'gone' ORDER BY created_at, id").all().map(buildOf);
  }

  /**
   * Records by state and the newest ready upload of each (diskimage, provider), read in one
   * transaction; read again only after a commit (as listedUploads), since scrapes poll it.
   */
  tallies(): StateTallies {
    const version = `${this.dataVersion()}:${this.commits}`;
    if (this.tallied?.version === version) return this.tallied.tallies;
    // Counted here from the rows, not by GROUP BY over the join: SQLite would sort 40,000 rows
    // through a temporary B-tree per query, several times slower.
    const { buildRows, uploadRows } = this.db.transaction(() => ({
      buildRows: this.db.query<{ id: string; diskimage: string; state: BuildState }, []>("SELECT id, diskimage, state FROM builds WHERE state != 'gone'").all(),
      uploadRows: this.db
        .query<{ build_id: string; provider: string; state: UploadState; ready_at: number | null; state_at: number }, []>("SELECT build_id, provider, state, ready_at, state_at FROM uploads WHERE state != 'gone'")
        .all(),
    }))();
    const diskimageOf = new Map<string, string>();
    const builds = new Map<string, { diskimage: string; state: BuildState; count: number }>();
    for (const { id, diskimage, state } of buildRows) {
      diskimageOf.set(id, diskimage);
      const key = `${diskimage}\n${state}`;
      const tally = builds.get(key);
      if (tally) tally.count++;
      else builds.set(key, { diskimage, state, count: 1 });
    }
    const uploads = new Map<string, { diskimage: string; provider: string; state: UploadState; count: number }>();
    const newest = new Map<string, { diskimage: string; provider: string; readyAt: number }>();
    for (const { build_id: buildId, provider, state, ready_at: readyAt, state_at: stateAt } of uploadRows) {
      // Every upload's build is kept while the upload is not gone (a foreign key); a stray is skipped.
      const diskimage = diskimageOf.get(buildId);
      if (diskimage === undefined) continue;
      const pair = `${diskimage}\n${provider}`;
      const key = `${pair}\n${state}`;
      const tally = uploads.get(key);
      if (tally) tally.count++;
      else uploads.set(key, { diskimage, provider, state, count: 1 });
      if (state !== 'ready') continue;
      const at = readyAt ?? stateAt;
      const seen = newest.get(pair);
      if (!seen) newest.set(pair, { diskimage, provider, readyAt: at });
      else if (at > seen.readyAt) seen.readyAt = at;
    }
    const tallies = { builds: [...builds.values()], uploads: [...uploads.values()], newestReady: [...newest.values()] };
    this.tallied = { version, tallies };
    return tallies;
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
  /** `builtAt`: when the builder finished it (builder-image-list), the age rebuild-age counts from for a build never known. */
  recordBuildAdopted(build: NewBuild & FinishedBuild & { readonly builtAt?: number | undefined }, now: number): BuildRecord {
    return this.write(() => {
      const known = this.build(build.id);
      const columns = { builder: build.builder ?? null, formats: JSON.stringify(build.formats), reason: null };
      if (!known) {
        this.insertBuild({ id: build.id, diskimage: build.diskimage, state: 'ready', created_at: now, state_at: now, ready_at: Math.min(build.builtAt ?? now, now), ...columns });
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

  /** `policy` undefined: the failure is not the provider's (its build's host is gone, its image id was spent by a run before): no backoff. */
  recordUploadFailed(id: string, reason: string, now: number, policy: BackoffPolicy | undefined): UploadRecord {
    return this.write(() => {
      const upload = this.moveUpload(id, 'failed', now, { reason });
      if (policy) this.bumpBackoff(this.mustBuild(upload.buildId).diskimage, upload.provider, reason, now, policy);
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

  /** Drops history last changed before `cutoff` (history-retention ago): see pruneHistory. One transaction. */
  prune(cutoff: number): Pruned {
    return this.write(() => pruneHistory(this.db, cutoff));
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
        insertDocumentRows(this.db, document);
      } catch (err) {
        if (err instanceof StateError) throw err;
        throw new StateError('STATE_IMPORT_INVALID', `the document breaks a rule of the state file: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    });
  }

  // ---- internals ----

  private write<T>(change: () => T): T {
    this.commits++;
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
    insertBuildRow(this.db, columns);
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
    updateRow(this.db, 'builds', id, { ...columns, state: to, state_at: now });
    return this.mustBuild(id);
  }

  private moveUpload(id: string, to: UploadState, now: number, columns: Columns, from = UPLOAD_FROM[to]): UploadRecord {
    const upload = this.mustUpload(id);
    if (!from.includes(upload.state)) throw new StateError('STATE_CONFLICT', `upload ${id} is ${upload.state}; it cannot become ${to}`);
    updateRow(this.db, 'uploads', id, { ...columns, state: to, state_at: now });
    return this.mustUpload(id);
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
