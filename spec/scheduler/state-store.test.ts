import { Database } from 'bun:sqlite';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { documentFromJson, documentToJson } from '../../src/scheduler/state-document.ts';
import { StateError } from '../../src/scheduler/state-errors.ts';
import { StateStore } from '../../src/scheduler/state-store.ts';
import { BUILDS_PER_GENERATION, UPLOADS_PER_BUILD, generation } from './support/state-generations.ts';

const policy = { baseMs: 1_000, capMs: 5_000 };

let dir: string;
let files = 0;
const freshFile = (): string => join(dir, `state-${++files}.sqlite`);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'state-store-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stateError(run: () => unknown): StateError {
  try {
    run();
  } catch (err) {
    if (err instanceof StateError) return err;
    throw err;
  }
  throw new Error('expected a StateError');
}

/** A store holding one ready build of "debian" with a ready upload to p1 and a failed one to p2. */
function populated(file: string): StateStore {
  const store = StateStore.open(file);
  store.recordBuildStarted({ id: 'b1', diskimage: 'debian' }, 100);
  store.recordBuildReady('b1', { builder: 'builder-1', formats: ['qcow2', 'raw'] }, 200);
  store.recordUploadStarted({ id: 'u1', buildId: 'b1', provider: 'p1', externalId: 'ext-1', externalName: 'debian-200' }, 300);
  store.recordUploadReady('u1', 'ext-1', 400);
  store.recordUploadStarted({ id: 'u2', buildId: 'b1', provider: 'p2', externalId: 'ext-2', externalName: 'debian-200' }, 300);
  store.recordUploadFailed('u2', 'Glance said 503', 500, policy);
  store.pause('debian', 'p2', 600);
  store.requestBuild('debian', 700);
  return store;
}

describe('the state file', () => {
  test('a new file is in WAL mode at schema version 1', () => {
    const file = freshFile();
    StateStore.open(file).close();
    const db = new Database(file, { readonly: true });
    expect(db.query<{ journal_mode: string }, []>('PRAGMA journal_mode').get()?.journal_mode).toBe('wal');
    expect(db.query<{ user_version: number }, []>('PRAGMA user_version').get()?.user_version).toBe(1);
    db.close();
  });

  test('every record survives closing and reopening', () => {
    const file = freshFile();
    const store = populated(file);
    const before = store.snapshot();
    store.close();
    const reopened = StateStore.open(file);
    expect(reopened.snapshot()).toEqual(before);
    expect(before.builds).toEqual([
      { id: 'b1', diskimage: 'debian', state: 'ready', builder: 'builder-1', formats: ['qcow2', 'raw'], createdAt: 100, stateAt: 200, readyAt: 200, reason: undefined },
    ]);
    expect(before.uploads.map((u) => [u.id, u.state, u.externalId, u.readyAt, u.reason])).toEqual([
      ['u1', 'ready', 'ext-1', 400, undefined],
      ['u2', 'failed', 'ext-2', undefined, 'Glance said 503'],
    ]);
    expect(before.pauses).toEqual([{ diskimage: 'debian', provider: 'p2', pausedAt: 600 }]);
    expect(before.backoffs).toEqual([{ diskimage: 'debian', provider: 'p2', failures: 1, failedAt: 500, retryAt: 1_500, reason: 'Glance said 503' }]);
    expect(before.buildRequests).toEqual([{ diskimage: 'debian', requestedAt: 700 }]);
    reopened.close();
  });

  test('the system id is made once and kept', () => {
    const file = freshFile();
    const store = StateStore.open(file);
    const id = store.systemId();
    expect(id).toMatch(/^nodepool-builder-[0-9a-f]{12}$/);
    expect(store.systemId()).toBe(id);
    store.close();
    const reopened = StateStore.open(file);
    expect(reopened.systemId()).toBe(id);
    reopened.close();
  });

  test('a missing directory is made; a directory path that runs through a file is STATE_FILE', () => {
    const file = join(dir, 'not', 'yet', 'state.sqlite');
    StateStore.open(file).close();
    expect(Bun.file(file).size).toBeGreaterThan(0);
    writeFileSync(join(dir, 'plain-file'), '');
    const err = stateError(() => StateStore.open(join(dir, 'plain-file', 'state.sqlite')));
    expect(err.code).toBe('STATE_FILE');
    expect(err.message).toStartWith(`${join(dir, 'plain-file', 'state.sqlite')}: cannot open the state file`);
  });

  test('a file of a newer schema is refused, naming the file and both versions', () => {
    const file = freshFile();
    StateStore.open(file).close();
    const db = new Database(file);
    db.run('PRAGMA user_version = 7');
    db.close();
    const err = stateError(() => StateStore.open(file));
    expect(err.code).toBe('STATE_SCHEMA');
    expect(err.message).toBe(`${file}: state schema version 7 was written by a newer nodepool-builder (this one reads up to 1)`);
  });

  test('a file that is not a state file is refused as STATE_FILE, and left as it was', () => {
    const text = join(dir, 'not-sqlite.txt');
    const content = 'hello, I am not a database, but I am long enough to have a header of sorts\n'.repeat(20);
    writeFileSync(text, content);
    const err = stateError(() => StateStore.open(text));
    expect(err.code).toBe('STATE_FILE');
    expect(err.message).toStartWith(`${text}: `);
    expect(readFileSync(text, 'utf8')).toBe(content);

    const other = freshFile();
    const db = new Database(other);
    db.run('CREATE TABLE builds (x INTEGER)');
    db.close();
    expect(stateError(() => StateStore.open(other)).code).toBe('STATE_FILE');

    const directory = join(dir, 'a-directory');
    mkdirSync(directory);
    expect(stateError(() => StateStore.open(directory)).code).toBe('STATE_FILE');
  });
});

describe('state changes', () => {
  test('invariant 4: a second build of a diskimage is refused while one runs, and the file itself refuses it', () => {
    const file = freshFile();
    const store = StateStore.open(file);
    store.recordBuildStarted({ id: 'b1', diskimage: 'debian' }, 1);
    const err = stateError(() => store.recordBuildStarted({ id: 'b2', diskimage: 'debian' }, 2));
    expect(err.code).toBe('STATE_CONFLICT');
    expect(err.message).toBe('debian: build b1 is running; a diskimage has one build at a time');
    store.recordBuildStarted({ id: 'c1', diskimage: 'centos' }, 2);

    const db = new Database(file);
    expect(() => db.run("INSERT INTO builds (id, diskimage, state, created_at, state_at) VALUES ('b3', 'debian', 'building', 3, 3)")).toThrow(/UNIQUE constraint failed/);
    db.close();

    store.recordBuildFailed('b1', 'dib exited 1', 4, policy);
    expect(store.recordBuildStarted({ id: 'b2', diskimage: 'debian' }, 5).state).toBe('building');
    store.close();
  });

  test.each([
    ['a failed build becoming ready', (s: StateStore) => s.recordBuildReady('failed-build', { builder: undefined, formats: [] }, 9), 'build failed-build is failed; it cannot become ready'],
    ['a ready upload uploading again', (s: StateStore) => s.recordUploadFailed('u1', 'x', 9, policy), 'upload u1 is ready; it cannot become failed'],
    ['a gone upload deleted again', (s: StateStore) => s.recordUploadDeleting('u2', 'x', 9), 'upload u2 is failed; it cannot become deleting'],
    ['an upload of a build that is not ready', (s: StateStore) => s.recordUploadStarted({ id: 'u9', buildId: 'failed-build', provider: 'p', externalId: undefined, externalName: undefined }, 9), 'build failed-build is failed; only a ready build is uploaded'],
    ['an upload id used before', (s: StateStore) => s.recordUploadStarted({ id: 'u1', buildId: 'b1', provider: 'p', externalId: undefined, externalName: undefined }, 9), 'UNIQUE constraint failed: uploads.id'],
    ['an external id used before in the provider', (s: StateStore) => s.recordUploadStarted({ id: 'u9', buildId: 'b1', provider: 'p1', externalId: 'ext-1', externalName: undefined }, 9), 'UNIQUE constraint failed: uploads.provider, uploads.external_id'],
    ['adopting a build under another diskimage', (s: StateStore) => s.recordBuildAdopted({ id: 'b1', diskimage: 'centos', builder: 'x', formats: [] }, 9), 'build b1 is recorded as a build of debian, not centos'],
  ])('STATE_CONFLICT: %s, and nothing changes', (_what, change, message) => {
    const store = populated(freshFile());
    store.recordBuildStarted({ id: 'failed-build', diskimage: 'centos' }, 1);
    store.recordBuildFailed('failed-build', 'dib exited 1', 2, policy);
    const before = store.snapshot();
    const err = stateError(() => change(store));
    expect(err.code).toBe('STATE_CONFLICT');
    expect(err.message).toContain(message);
    expect(store.snapshot()).toEqual(before);
    store.close();
  });

  test('an unknown id is STATE_UNKNOWN_RECORD', () => {
    const store = StateStore.open(freshFile());
    const err = stateError(() => store.recordUploadReady('nope', 'ext', 1));
    expect(err.code).toBe('STATE_UNKNOWN_RECORD');
    expect(err.message).toBe(`no upload nope in ${store.file}`);
    expect(stateError(() => store.recordBuildGone('nope', 1)).code).toBe('STATE_UNKNOWN_RECORD');
    store.close();
  });

  test('failures back off per (diskimage, provider), doubling up to the cap; a success clears only its own', () => {
    const store = StateStore.open(freshFile());
    store.recordBuildStarted({ id: 'b1', diskimage: 'debian' }, 0);
    store.recordBuildReady('b1', { builder: 'h', formats: ['qcow2'] }, 0);
    const fail = (id: string, provider: string, at: number) => {
      store.recordUploadStarted({ id, buildId: 'b1', provider, externalId: undefined, externalName: undefined }, at);
      store.recordUploadFailed(id, `${id} failed`, at, policy);
    };
    const waits: number[] = [];
    for (let i = 1; i <= 5; i++) {
      fail(`a${i}`, 'p1', 10_000 * i);
      const backoff = store.snapshot().backoffs.find((b) => b.provider === 'p1');
      waits.push(backoff!.retryAt - backoff!.failedAt);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    fail('b', 'p2', 60_000);
    store.recordUploadStarted({ id: 'ok', buildId: 'b1', provider: 'p1', externalId: undefined, externalName: undefined }, 70_000);
    store.recordUploadReady('ok', 'ext-ok', 70_001);
    expect(store.snapshot().backoffs).toEqual([{ diskimage: 'debian', provider: 'p2', failures: 1, failedAt: 60_000, retryAt: 61_000, reason: 'b failed' }]);
    store.close();
  });

  test('a failed build backs off its diskimage; a ready one clears it', () => {
    const store = StateStore.open(freshFile());
    store.recordBuildStarted({ id: 'b1', diskimage: 'debian' }, 0);
    store.recordBuildFailed('b1', 'dib exited 1', 10, policy);
    expect(store.snapshot().backoffs).toEqual([{ diskimage: 'debian', provider: undefined, failures: 1, failedAt: 10, retryAt: 1_010, reason: 'dib exited 1' }]);
    store.recordBuildStarted({ id: 'b2', diskimage: 'debian' }, 2_000);
    store.recordBuildReady('b2', { builder: 'h', formats: ['qcow2'] }, 3_000);
    expect(store.snapshot().backoffs).toEqual([]);
    store.close();
  });

  test('a build meets the requests made before it, not one made after', () => {
    const store = StateStore.open(freshFile());
    store.requestBuild('debian', 100);
    store.requestBuild('centos', 100);
    store.recordBuildStarted({ id: 'b1', diskimage: 'debian' }, 150);
    expect(store.snapshot().buildRequests).toEqual([{ diskimage: 'centos', requestedAt: 100 }]);
    store.requestBuild('debian', 200);
    store.recordBuildFailed('b1', 'x', 300, policy);
    expect(store.snapshot().buildRequests.map((r) => r.diskimage)).toEqual(['centos', 'debian']);
    store.close();
  });

  test('pause and unpause, of builds (no provider) and of one provider', () => {
    const store = StateStore.open(freshFile());
    store.pause('debian', undefined, 1);
    store.pause('debian', 'p1', 2);
    store.pause('debian', 'p1', 3);
    expect(store.snapshot().pauses).toEqual([
      { diskimage: 'debian', provider: undefined, pausedAt: 1 },
      { diskimage: 'debian', provider: 'p1', pausedAt: 2 },
    ]);
    expect(store.unpause('debian', undefined)).toBe(true);
    expect(store.unpause('debian', undefined)).toBe(false);
    expect(store.snapshot().pauses).toEqual([{ diskimage: 'debian', provider: 'p1', pausedAt: 2 }]);
    store.close();
  });

  test('adoption: a build the state never knew is recorded ready; a missing one comes back keeping its age', () => {
    const store = StateStore.open(freshFile());
    expect(store.recordBuildAdopted({ id: 'direct-1', diskimage: 'debian', builder: 'h1', formats: ['qcow2'] }, 50)).toMatchObject({ state: 'ready', readyAt: 50, createdAt: 50 });
    store.recordBuildMissing('direct-1', 'image-upload:direct-1 gone from every job server for 10m', 60);
    expect(store.build('direct-1')).toMatchObject({ state: 'missing', reason: 'image-upload:direct-1 gone from every job server for 10m' });
    expect(store.recordBuildAdopted({ id: 'direct-1', diskimage: 'debian', builder: 'h1', formats: ['qcow2'] }, 70)).toMatchObject({ state: 'ready', readyAt: 50, reason: undefined });
    // A build never known, with the time its builder finished it: its age counts from then (never from the future).
    expect(store.recordBuildAdopted({ id: 'direct-2', diskimage: 'debian', builder: 'h1', formats: ['qcow2'], builtAt: 20 }, 80)).toMatchObject({ state: 'ready', readyAt: 20, createdAt: 80 });
    expect(store.recordBuildAdopted({ id: 'direct-3', diskimage: 'debian', builder: 'h1', formats: ['qcow2'], builtAt: 500 }, 90)).toMatchObject({ readyAt: 90 });
    store.close();
  });
});

describe('history-retention: pruning the history (a real file, times given as the clock)', () => {
  /** Times in ms: a build b1 superseded by b2 and deleted, failures before and after. */
  function history(file: string): StateStore {
    const store = StateStore.open(file);
    store.recordBuildStarted({ id: 'bf', diskimage: 'debian' }, 50);
    store.recordBuildFailed('bf', 'DIB exited 1', 60, policy);
    store.recordBuildStarted({ id: 'b1', diskimage: 'debian' }, 100);
    store.recordBuildReady('b1', { builder: 'h1', formats: ['qcow2'] }, 200);
    store.recordUploadStarted({ id: 'u1', buildId: 'b1', provider: 'p1', externalId: 'ext-1', externalName: 'n1' }, 300);
    store.recordUploadReady('u1', 'ext-1', 400);
    store.recordBuildStarted({ id: 'b2', diskimage: 'debian' }, 500);
    store.recordBuildReady('b2', { builder: 'h1', formats: ['qcow2'] }, 600);
    store.recordUploadStarted({ id: 'uf', buildId: 'b2', provider: 'p1', externalId: 'ext-f', externalName: 'nf' }, 650);
    store.recordUploadFailed('uf', 'Glance said 503', 660, policy);
    store.recordUploadStarted({ id: 'u2', buildId: 'b2', provider: 'p1', externalId: 'ext-2', externalName: 'n2' }, 700);
    store.recordUploadReady('u2', 'ext-2', 800);
    store.recordUploadDeleting('u1', 'superseded', 850);
    store.recordUploadGone('u1', 900);
    store.recordBuildDeleting('b1', 'superseded', 950);
    store.recordBuildGone('b1', 1000);
    // Failures nothing succeeded after: the latest word on their diskimage and provider.
    store.recordUploadStarted({ id: 'uf2', buildId: 'b2', provider: 'p2', externalId: 'ext-f2', externalName: 'nf2' }, 1100);
    store.recordUploadFailed('uf2', 'p2 refuses', 1150, policy);
    store.recordBuildStarted({ id: 'bf2', diskimage: 'debian' }, 1200);
    store.recordBuildFailed('bf2', 'DIB exited 2', 1300, policy);
    return store;
  }
  const ids = (store: StateStore) => {
    const s = store.snapshot();
    return { builds: s.builds.map((b) => b.id).sort(), uploads: s.uploads.map((u) => u.id).sort() };
  };

  test('nothing younger than the cutoff goes', () => {
    const store = history(freshFile());
    expect(store.prune(60)).toEqual({ builds: 0, uploads: 0 });
    expect(ids(store)).toEqual({ builds: ['b1', 'b2', 'bf', 'bf2'], uploads: ['u1', 'u2', 'uf', 'uf2'] });
    store.close();
  });

  test('past the cutoff: gone records and failures superseded by a later ready one go; the live records and the last failures stay, in the file', () => {
    const file = freshFile();
    const store = history(file);
    // At 905 only what changed before it: bf (superseded by b1), uf (superseded by u2), u1 (gone); b1 went at 1000.
    expect(store.prune(905)).toEqual({ builds: 1, uploads: 2 });
    expect(ids(store)).toEqual({ builds: ['b1', 'b2', 'bf2'], uploads: ['u2', 'uf2'] });
    expect(store.prune(10_000)).toEqual({ builds: 1, uploads: 0 });
    store.close();
    const reopened = StateStore.open(file);
    expect(ids(reopened)).toEqual({ builds: ['b2', 'bf2'], uploads: ['u2', 'uf2'] });
    expect(reopened.build('bf2')).toMatchObject({ state: 'failed', reason: 'DIB exited 2' });
    expect(reopened.upload('uf2')).toMatchObject({ state: 'failed', reason: 'p2 refuses' });
    reopened.close();
  });

  test('a gone build goes only with the last upload naming it: a failed upload of a gone build goes with it', () => {
    const store = StateStore.open(freshFile());
    store.recordBuildStarted({ id: 'b1', diskimage: 'debian' }, 100);
    store.recordBuildReady('b1', { builder: 'h1', formats: ['qcow2'] }, 200);
    store.recordUploadStarted({ id: 'uf', buildId: 'b1', provider: 'p1', externalId: 'ext-f', externalName: 'nf' }, 300);
    store.recordUploadFailed('uf', 'Glance said 503', 400, policy);
    store.recordBuildDeleting('b1', 'diskimage-removed', 500);
    store.recordBuildGone('b1', 600);
    // The upload failed long ago, but its build changed at 600: both wait for a cutoff past 600.
    expect(store.prune(550)).toEqual({ builds: 0, uploads: 1 });
    expect(store.prune(650)).toEqual({ builds: 1, uploads: 0 });
    expect(ids(store)).toEqual({ builds: [], uploads: [] });
    store.close();
  });
});

describe('operator deletes (the API\'s DELETE /uploads/<id> and /builds/<id>)', () => {
  test('a ready upload is recorded deleting with the reason; again is a no-op; an upload that is not ready is a conflict', () => {
    const store = populated(freshFile());
    expect(store.requestUploadDelete('u1', 800)).toMatchObject({ state: 'deleting', stateAt: 800, reason: 'operator request' });
    expect(store.requestUploadDelete('u1', 900)).toMatchObject({ state: 'deleting', stateAt: 800 });
    expect(stateError(() => store.requestUploadDelete('u2', 900)).code).toBe('STATE_CONFLICT');
    expect(stateError(() => store.requestUploadDelete('nope', 900)).code).toBe('STATE_UNKNOWN_RECORD');
    store.close();
  });

  test('a build is recorded deleting with its ready uploads, in one transaction; a running build is a conflict and nothing changes', () => {
    const store = populated(freshFile());
    expect(store.requestBuildDelete('b1', 800)).toMatchObject({ state: 'deleting', reason: 'operator request' });
    expect(store.upload('u1')).toMatchObject({ state: 'deleting', reason: 'operator request (build b1)' });
    expect(store.upload('u2')).toMatchObject({ state: 'failed' });
    expect(store.requestBuildDelete('b1', 900)).toMatchObject({ state: 'deleting', stateAt: 800 });
    store.recordBuildStarted({ id: 'b2', diskimage: 'debian' }, 1000);
    const before = store.snapshot();
    expect(stateError(() => store.requestBuildDelete('b2', 1100)).code).toBe('STATE_CONFLICT');
    expect(store.snapshot()).toEqual(before);
    expect(stateError(() => store.requestBuildDelete('nope', 1100)).code).toBe('STATE_UNKNOWN_RECORD');
    store.close();
  });
});

describe('the listings image-list and dib-image-list read', () => {
  test('uploads not gone, with their diskimage, by creation time then id; builds not gone', () => {
    const store = populated(freshFile());
    store.recordUploadStarted({ id: 'u0', buildId: 'b1', provider: 'p3', externalId: 'ext-0', externalName: undefined }, 300);
    store.recordUploadReady('u0', 'ext-0', 410);
    store.recordUploadDeleting('u0', 'superseded', 420);
    store.recordUploadGone('u0', 430);
    store.recordUploadStarted({ id: 'u3', buildId: 'b1', provider: 'p3', externalId: 'ext-3', externalName: undefined }, 250);
    expect(store.listedUploads().map((u) => [u.id, u.diskimage, u.state])).toEqual([
      ['u3', 'debian', 'uploading'],
      ['u1', 'debian', 'ready'],
      ['u2', 'debian', 'failed'],
    ]);
    store.recordBuildStarted({ id: 'b0', diskimage: 'centos' }, 50);
    store.recordBuildFailed('b0', 'no space', 60, policy);
    expect(store.listedBuilds().map((b) => [b.id, b.state])).toEqual([
      ['b0', 'failed'],
      ['b1', 'ready'],
    ]);
    store.recordBuildDeleting('b1', 'operator request', 900);
    store.recordBuildGone('b1', 1000);
    expect(store.listedBuilds().map((b) => b.id)).toEqual(['b0']);
    store.close();
  });
});

describe('image-list read again only after a commit', () => {
  test("a listing follows every commit: this connection's and another's (a second process on the file)", () => {
    const file = freshFile();
    const store = populated(file);
    const states = () => store.listedUploads().map((u) => [u.id, u.state]);
    expect(states()).toEqual([['u1', 'ready'], ['u2', 'failed']]);
    store.recordUploadDeleting('u1', 'superseded', 800);
    expect(states()).toEqual([['u1', 'deleting'], ['u2', 'failed']]);
    const other = StateStore.open(file);
    other.recordUploadGone('u1', 900);
    other.recordUploadStarted({ id: 'u3', buildId: 'b1', provider: 'p1', externalId: 'ext-3', externalName: undefined }, 950);
    other.close();
    expect(states()).toEqual([['u2', 'failed'], ['u3', 'uploading']]);
    // Unchanged file: the same rows, not read again.
    expect(store.listedUploads()).toBe(store.listedUploads());
    store.close();
  });
});

describe('adoption after a lost result', () => {
  test('a build recorded failed whose image a builder registers is adopted ready; a job result cannot do that', () => {
    const store = StateStore.open(freshFile());
    store.recordBuildStarted({ id: 'b1', diskimage: 'debian' }, 1);
    store.recordBuildFailed('b1', 'job server connection lost', 2, policy);
    expect(stateError(() => store.recordBuildReady('b1', { builder: 'h', formats: ['qcow2'] }, 3)).message).toBe('build b1 is failed; it cannot become ready');
    expect(store.recordBuildAdopted({ id: 'b1', diskimage: 'debian', builder: 'h', formats: ['qcow2'] }, 4)).toMatchObject({ state: 'ready', readyAt: 4, reason: undefined });
    store.close();
  });

  test('an upload recorded failed whose image the cloud lists active is adopted ready and clears the backoff; a job result cannot do that', () => {
    const store = populated(freshFile());
    expect(stateError(() => store.recordUploadReady('u2', 'ext-2', 900)).message).toBe('upload u2 is failed; it cannot become ready');
    expect(store.recordUploadAdopted('u2', 'ext-2', 900)).toMatchObject({ state: 'ready', readyAt: 900, reason: undefined });
    expect(store.snapshot().backoffs).toEqual([]);
    expect(stateError(() => store.recordUploadAdopted('u1', 'ext-1', 901)).message).toBe('upload u1 is ready; it cannot become ready');
    store.close();
  });
});

describe('export-state and import-state', () => {
  test('a document exported, written as JSON and imported into a new file gives the same state', () => {
    const source = populated(freshFile());
    const systemId = source.systemId();
    const json = JSON.parse(JSON.stringify(documentToJson(source.exportDocument(), 1_000)));
    expect(json).toMatchObject({ format: 'nodepool-builder-state', version: 1, 'exported-at': '1970-01-01T00:00:01.000Z', 'system-id': systemId });
    expect(json.uploads[0]).toEqual({
      id: 'u1',
      'build-id': 'b1',
      provider: 'p1',
      state: 'ready',
      'external-id': 'ext-1',
      'external-name': 'debian-200',
      'created-at': 300,
      'state-at': 400,
      'ready-at': 400,
      reason: null,
    });
    const target = StateStore.open(freshFile());
    target.importDocument(documentFromJson(json), { replace: false });
    expect(target.snapshot()).toEqual(source.snapshot());
    expect(target.systemId()).toBe(systemId);
    source.close();
    target.close();
  });

  test('importing over records needs replace; refused, nothing changes', () => {
    const store = populated(freshFile());
    const before = store.snapshot();
    const err = stateError(() => store.importDocument(generation(1), { replace: false }));
    expect(err.code).toBe('STATE_CONFLICT');
    expect(err.message).toBe(`${store.file} already holds records; import with replace to drop them`);
    expect(store.snapshot()).toEqual(before);
    store.importDocument(generation(1), { replace: true });
    expect(store.snapshot().builds).toHaveLength(BUILDS_PER_GENERATION);
    store.close();
  });

  test('a document the file refuses (an upload of an unknown build, checked by the foreign key) changes nothing', () => {
    const store = populated(freshFile());
    const before = store.snapshot();
    const broken = generation(2);
    const err = stateError(() => store.importDocument({ ...broken, uploads: [...broken.uploads, { ...broken.uploads[0]!, id: 'orphan', buildId: 'no-such-build', externalId: 'orphan-ext' }] }, { replace: true }));
    expect(err.code).toBe('STATE_IMPORT_INVALID');
    expect(err.message).toContain('FOREIGN KEY constraint failed');
    expect(store.snapshot()).toEqual(before);
    store.close();
  });

  test.each([
    [{ format: 'nodepool-state' }, 'format: expected "nodepool-builder-state", got "nodepool-state"'],
    [{ version: 2 }, "version: expected 1 (this program's format), got 2"],
    [{ builds: {} }, 'builds: expected an array, got {}'],
    [{ builds: [{ id: '../x' }] }, 'builds[0].id: expected an id of letters'],
    [{ builds: [{ ...buildJson('b1'), state: 'done' }] }, 'builds[0].state: expected one of building, ready, deleting, gone, failed, missing, got "done"'],
    [{ builds: [{ ...buildJson('b1'), 'created-at': '2024-01-01' }] }, 'builds[0].created-at: expected a time in milliseconds since the epoch'],
    [{ builds: [buildJson('b1'), buildJson('b1')] }, 'builds[1].id: expected an id not used by another build'],
    [{ builds: [buildJson('b1')], uploads: [{ ...uploadJson('u1', 'b1'), 'build-id': 'b2' }] }, 'uploads[0].build-id: expected the id of a build in this document, got "b2"'],
    [{ uploads: [{ ...uploadJson('u1', 'b1'), state: 'missing' }] }, 'uploads[0].state: expected one of uploading, ready, deleting, gone, failed'],
    [{ backoffs: [{ diskimage: 'd', provider: null, failures: 0, 'failed-at': 1, 'retry-at': 2, reason: 'x' }] }, 'backoffs[0].failures: expected a positive integer, got 0'],
  ])('an import document is checked before anything is written: %j', (change, message) => {
    const base = { format: 'nodepool-builder-state', version: 1, 'system-id': null, builds: [], uploads: [], pauses: [], backoffs: [], 'build-requests': [] };
    let err: unknown;
    try {
      documentFromJson({ ...base, ...change });
    } catch (caught) {
      err = caught;
    }
    expect(err).toBeInstanceOf(StateError);
    expect((err as StateError).code).toBe('STATE_IMPORT_INVALID');
    expect((err as StateError).message).toStartWith(message);
  });
});

function buildJson(id: string): Record<string, unknown> {
  return { id, diskimage: 'd', state: 'ready', builder: null, formats: [], 'created-at': 1, 'state-at': 1, 'ready-at': 1, reason: null };
}

function uploadJson(id: string, buildId: string): Record<string, unknown> {
  return { id, 'build-id': buildId, provider: 'p', state: 'ready', 'external-id': null, 'external-name': null, 'created-at': 1, 'state-at': 1, 'ready-at': 1, reason: null };
}

/** Runs the writer child until it has acknowledged `acks` commits, kills it with SIGKILL, returns the last ack. */
async function killMidWrite(file: string, mode: 'imports' | 'failures', acks: number): Promise<number> {
  const child = spawn(process.execPath, [resolve('spec/scheduler/support/state-writer.ts'), file, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let last = 0;
  let stderr = '';
  let buffered = '';
  let killing = false;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<string | null>((done) => child.once('exit', (_code, signal) => done(signal)));
  await new Promise<void>((enough) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) last = Number(line.slice(4));
      if (last >= acks && !killing) {
        killing = true;
        // A random moment, so the kill does not always land at the start of a transaction.
        setTimeout(() => {
          child.kill('SIGKILL');
          enough();
        }, Math.random() * 4);
      }
    });
    child.once('exit', () => enough());
  });
  const signal = await exited;
  if (signal !== 'SIGKILL') throw new Error(`the writer ended on its own (${signal}): ${stderr}`);
  return last;
}

describe('kill -9 mid-write (a real child process writing a real file)', () => {
  test('every acknowledged transaction survives, and the last one is whole or absent, never torn', async () => {
    const file = freshFile();
    const acked = await killMidWrite(file, 'imports', 25);
    const store = StateStore.open(file);
    const state = store.snapshot();
    const generations = new Set([...state.builds, ...state.uploads].map((record) => record.reason));
    expect(generations.size).toBe(1);
    const survived = Number([...generations][0]!.replace('generation ', ''));
    // What the child printed was committed; at most the one after it may have committed unseen.
    expect(survived).toBeGreaterThanOrEqual(acked);
    expect(survived).toBeLessThanOrEqual(acked + 1);
    expect(state.builds).toHaveLength(BUILDS_PER_GENERATION);
    expect(state.uploads).toHaveLength(BUILDS_PER_GENERATION * UPLOADS_PER_BUILD);
    expect(state.buildRequests).toEqual([{ diskimage: 'image-0', requestedAt: survived }]);
    store.close();
    const db = new Database(file, { readonly: true });
    expect(db.query<{ integrity_check: string }, []>('PRAGMA integrity_check').get()?.integrity_check).toBe('ok');
    db.close();
  });

  test('an upload failure and its backoff are one transaction: after kill -9 they always agree', async () => {
    const file = freshFile();
    const acked = await killMidWrite(file, 'failures', 200);
    const store = StateStore.open(file);
    const state = store.snapshot();
    const failed = state.uploads.filter((u) => u.state === 'failed');
    expect(failed.length).toBeGreaterThanOrEqual(acked);
    for (const backoff of state.backoffs) {
      expect(backoff.failures).toBe(failed.filter((u) => u.provider === backoff.provider).length);
    }
    expect(state.backoffs.reduce((sum, b) => sum + b.failures, 0)).toBe(failed.length);
    // An upload started but not yet failed when the kill came is the only one left uploading.
    expect(state.uploads.filter((u) => u.state === 'uploading').length).toBeLessThanOrEqual(1);
    store.close();
  });
});
