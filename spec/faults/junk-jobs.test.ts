import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { DiskImageConfig } from '../../src/config/schema.ts';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { ClientError, JobFailedError } from '../../src/protocol/client/client-errors.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { ImageRepository } from '../../src/images/repository.ts';
import { BuilderWorker } from '../../src/worker/builder-worker.ts';
import { testBuilderConfig } from '../support/builder-config.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { captureLogs } from '../support/log-capture.ts';
import { eventually } from '../support/run.ts';
import { seedStandInImages } from '../support/stand-in-images.ts';

const JUNK_JOBS = 10_000;
const IN_FLIGHT = 64;
const DELETE_TARGETS = 300;
const GOOD_BUILDS = 60;
const UPLOAD_TARGET = 'upload-target';

interface Submission {
  readonly what: string;
  readonly fn: string;
  readonly data: string | Uint8Array;
  /** The WORK_FAIL reason a junk job must carry; undefined for a good job. */
  readonly reason?: RegExp;
}

const json = (value: unknown): string => JSON.stringify(value);
const BAD_ID = /"image-id" must match/;
const BAD_DATA = /data is not JSON|data is not a JSON object/;

/** Junk for image-build:cheap, image-upload:<upload-target> and image-delete:<upload-target>. */
const JUNK: ReadonlyArray<Omit<Submission, 'fn'> & { readonly fn: 'build' | 'upload' | 'delete' }> = [
  { what: 'build: not JSON', fn: 'build', data: '{"image-id":', reason: BAD_DATA },
  { what: 'build: a JSON array', fn: 'build', data: '[1,2,3]', reason: BAD_DATA },
  { what: 'build: JSON null', fn: 'build', data: 'null', reason: BAD_DATA },
  { what: 'build: empty data', fn: 'build', data: '', reason: BAD_DATA },
  { what: 'build: a number id', fn: 'build', data: json({ 'image-id': 42 }), reason: BAD_ID },
  { what: 'build: no id', fn: 'build', data: json({}), reason: BAD_ID },
  { what: 'build: ../../etc', fn: 'build', data: json({ 'image-id': '../../etc' }), reason: BAD_ID },
  { what: 'build: a/b', fn: 'build', data: json({ 'image-id': 'a/b' }), reason: BAD_ID },
  { what: 'build: ..', fn: 'build', data: json({ 'image-id': '..' }), reason: BAD_ID },
  { what: 'build: a NUL in the id', fn: 'build', data: json({ 'image-id': 'a\u0000b' }), reason: BAD_ID },
  { what: 'build: a raw NUL byte in the data', fn: 'build', data: Buffer.from('{"image-id":"a\0b"}', 'latin1'), reason: BAD_DATA },
  { what: 'build: a 5 KB id', fn: 'build', data: json({ 'image-id': 'x'.repeat(5 * 1024) }), reason: BAD_ID },
  { what: 'build: follow is a string', fn: 'build', data: json({ 'image-id': 'ok-id', follow: 'yes' }), reason: /"follow" must be/ },
  { what: 'build: an id that exists', fn: 'build', data: json({ 'image-id': UPLOAD_TARGET }), reason: /image id exists/ },
  { what: 'build: 100 KB of data', fn: 'build', data: json({ 'image-id': 'big', pad: 'p'.repeat(100 * 1024) }), reason: /the limit is/ },
  { what: 'upload: not JSON', fn: 'upload', data: '{"provider":', reason: BAD_DATA },
  { what: 'upload: provider is a number', fn: 'upload', data: json({ provider: 7 }), reason: /"provider" must be/ },
  { what: 'upload: an unknown provider', fn: 'upload', data: json({ provider: 'nowhere' }), reason: /no provider "nowhere"/ },
  { what: 'upload: a traversal provider', fn: 'upload', data: json({ provider: '../../etc/passwd' }), reason: /no provider/ },
  { what: 'upload: a 300-char image name', fn: 'upload', data: json({ provider: 'nowhere', 'image-name': 'n'.repeat(300) }), reason: /"image-name" must be/ },
  { what: 'upload: 100 KB of data', fn: 'upload', data: 'u'.repeat(100 * 1024), reason: /the limit is/ },
  { what: 'delete: an object with keys', fn: 'delete', data: json({ surprise: 1 }), reason: /image-delete takes no data/ },
  { what: 'delete: a traversal path as data', fn: 'delete', data: '../../etc', reason: /image-delete takes no data/ },
];

function diskimage(name: string, command: string[]): DiskImageConfig {
  return {
    name,
    builder: 'command',
    elements: [],
    release: undefined,
    formats: ['qcow2'],
    envVars: {},
    buildTimeoutMs: 60_000,
    dibArgs: [],
    dibCmd: 'disk-image-create',
    dibTrace: false,
    noTmpfs: false,
    command,
    rebuildAgeMs: 86_400_000,
    pause: false,
  };
}

/** Every path under `dir` (with size and mtime), skipping `skip`. */
function snapshot(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (path === skip) continue;
      const info = statSync(path);
      out.push(`${relative(dir, path)} ${info.size} ${info.mtimeMs}`);
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return out.sort();
}

/** Runs `jobs` with at most `limit` at once; resolves once all are done. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: limit }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

describe('10,000 malformed jobs interleaved with good ones, through gearmand, against the BuilderWorker', () => {
  let root: string;
  let imagesDir: string;
  let gearmand: Gearmand;
  let worker: BuilderWorker;
  let client: Client;
  let admin: AdminClient;
  const logs = captureLogs();
  const deleteTargets = Array.from({ length: DELETE_TARGETS }, (_, i) => `doomed-${String(i).padStart(4, '0')}`);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'junk-jobs-'));
    // Deep, so that "../../x" from inside the repository still lands in the watched tree.
    imagesDir = join(root, 'a', 'b', 'c', 'images-dir');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'passwd'), 'sentinel\n');
    gearmand = await startGearmand();
    await seedStandInImages(imagesDir, [UPLOAD_TARGET, ...deleteTargets]);
    const config = testBuilderConfig(root, {
      imagesDir,
      logDir: join(imagesDir, 'logs'),
      buildWorkers: 2,
      uploadWorkers: 4,
      clientId: 'junk-target',
      gearmanServers: [{ host: gearmand.host, port: gearmand.port }],
      diskimages: [diskimage('cheap', ['sh', '-c', 'qemu-img create -q -f qcow2 "$OUTPUT_DIR/$IMAGE_NAME.qcow2" 1M'])],
    });
    worker = new BuilderWorker(config, {
      logger: logs,
      repository: new ImageRepository(imagesDir, logs),
      uploaderFor: (provider) => {
        throw new JobFailure('UNKNOWN_PROVIDER', `no uploader for ${provider.name} in this test`);
      },
    });
    await worker.start();
    client = new Client({ servers: config.gearmanServers });
    admin = new AdminClient(gearmand);
    await eventually(async () => (await admin.status()).some((f) => f.function === `image-delete:${deleteTargets.at(-1)}` && f.workers > 0), 30_000);
  }, 120_000);

  afterAll(async () => {
    admin?.close();
    await client?.close();
    await worker?.stop(5_000);
    await gearmand?.kill();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('every junk job ends WORK_FAIL with its reason, every good one WORK_COMPLETE, nothing outside images-dir changes', async () => {
    const outsideBefore = snapshot(root, imagesDir);
    const fnFor = { build: 'image-build:cheap', upload: `image-upload:${UPLOAD_TARGET}`, delete: `image-delete:${UPLOAD_TARGET}` };
    const submissions: Submission[] = [];
    const goods: Submission[] = [
      ...deleteTargets.map((id) => ({ what: 'good delete', fn: `image-delete:${id}`, data: '""' })),
      ...Array.from({ length: GOOD_BUILDS }, (_, i) => ({ what: 'good build', fn: 'image-build:cheap', data: json({ 'image-id': `fresh-${i}` }) })),
    ];
    // A good job after every (JUNK_JOBS / goods) junk ones, so they run among the junk.
    const every = Math.floor(JUNK_JOBS / goods.length);
    for (let i = 0; i < JUNK_JOBS; i++) {
      const junk = JUNK[i % JUNK.length]!;
      submissions.push({ ...junk, fn: fnFor[junk.fn] });
      if (i % every === every - 1 && goods.length > 0) submissions.push(goods.shift()!);
    }
    submissions.push(...goods.splice(0));

    const wrong: string[] = [];
    let failed = 0;
    let completed = 0;
    await pool(submissions, IN_FLIGHT, async (job) => {
      try {
        await client.submit(job.fn, job.data, { timeoutMs: 60_000 });
        if (job.reason) wrong.push(`${job.what}: WORK_COMPLETE`);
        else completed++;
      } catch (err) {
        if (!job.reason) wrong.push(`${job.what} ${job.fn}: ${String(err)}`);
        else if (!(err instanceof JobFailedError)) wrong.push(`${job.what}: ${err instanceof ClientError ? err.code : String(err)}`);
        else if (!job.reason.test(err.reason ?? '')) wrong.push(`${job.what}: reason ${JSON.stringify(err.reason)}`);
        else failed++;
      }
    });
    expect(wrong.slice(0, 20)).toEqual([]);
    expect(failed).toBe(JUNK_JOBS);
    expect(completed).toBe(DELETE_TARGETS + GOOD_BUILDS);

    // The repository holds exactly the untouched target and the good builds.
    const expected = [UPLOAD_TARGET, ...Array.from({ length: GOOD_BUILDS }, (_, i) => `fresh-${i}`)].sort();
    expect(readdirSync(join(imagesDir, 'images')).sort()).toEqual(expected);
    expect(readdirSync(join(imagesDir, 'staging'))).toEqual([]);
    expect(snapshot(root, imagesDir)).toEqual(outsideBefore);
    // Junk is an expected failure (warn), never an unexpected one (error).
    expect(logs.at('error')).toEqual([]);
  }, 240_000);

  test('jobs for images this host does not hold never reach it: gearmand keeps them, with no worker', async () => {
    const names = ['image-delete:does-not-exist', 'image-delete:../../etc', 'image-delete:a/b', `image-delete:${'y'.repeat(200)}`, 'image-upload:../..'];
    for (const fn of names) {
      const err = await client.submit(fn, '""', { timeoutMs: 500 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err instanceof ClientError && err.code).toBe('TIMEOUT');
    }
    const status = await admin.status();
    for (const fn of names) expect(status.find((f) => f.function === fn)?.workers).toBe(0);
    expect(worker.registered().filter((fn) => names.includes(fn))).toEqual([]);
  });

  test('after the junk: still registered, and a fresh build and delete succeed', async () => {
    const workers = await admin.workers();
    const functions = workers.filter((w) => w.clientId.startsWith('junk-target/')).flatMap((w) => w.functions);
    expect(functions).toContain('image-build:cheap');
    expect(functions).toContain(`image-upload:${UPLOAD_TARGET}`);
    const built = await client.submit('image-build:cheap', json({ 'image-id': 'after-junk' }), { timeoutMs: 60_000 });
    expect(JSON.parse(Buffer.from(built.data).toString())['image-id']).toBe('after-junk');
    await eventually(async () => (await admin.status()).some((f) => f.function === 'image-delete:after-junk' && f.workers > 0), 10_000);
    await client.submit('image-delete:after-junk', '""', { timeoutMs: 60_000 });
    expect(readdirSync(join(imagesDir, 'images'))).not.toContain('after-junk');
  });
});
