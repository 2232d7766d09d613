/**
 * Regression tests for issue 18 (defects found by running the builder as a hostile operator
 * would), each named after its defect and run against a real gearmand.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../../src/protocol/client/client.ts';
import { ClientError } from '../../../src/protocol/client/client-errors.ts';
import type { UploadJob } from '../../../src/uploaders/uploader.ts';
import { ImageRepository } from '../../../src/images/repository.ts';
import { BuilderWorker } from '../../../src/worker/builder-worker.ts';
import { useBuilderBed } from '../../support/builder-bed.ts';
import { testBuilderConfig } from '../../support/builder-config.ts';
import { type BuilderProcess, startBuilder, tinyImage } from '../../support/builder-process.ts';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.ts';
import { gearadminStatus, gearadminWorkers } from '../../support/gearadmin.ts';
import { type Gearmand, startGearmand } from '../../support/gearmand.ts';
import { captureLogs } from '../../support/log-capture.ts';
import { type OpenStackPeers, startOpenStack } from '../../support/openstack/openstack-peers.ts';
import { seedQcow2Image } from '../../support/openstack/seeded-image.ts';
import { testProvider } from '../../support/openstack/upload-job.ts';
import { rejection } from '../../support/rejection.ts';
import { eventually } from '../../support/run.ts';
import { seedStandInImages } from '../../support/stand-in-images.ts';

const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe('F1 (stalling test uploader: it holds the upload until the test lets it go)', () => {
  let gearmand: Gearmand;
  let root: string;
  let worker: BuilderWorker;
  let client: Client;
  const logs = captureLogs();
  let stalled: UploadJob | undefined;
  let letGo: (() => void) | undefined;

  beforeAll(async () => {
    gearmand = await startGearmand();
    root = mkdtempSync(join(tmpdir(), 'defects-18-f1-'));
    await seedStandInImages(join(root, 'images'), ['doomed-1']);
    const config = testBuilderConfig(root, {
      uploadWorkers: 4,
      gearmanServers: [{ host: gearmand.host, port: gearmand.port }],
      providers: [testProvider({ name: 'cloud-a', imageFormat: 'qcow2' })],
    });
    worker = new BuilderWorker(config, {
      logger: logs,
      repository: new ImageRepository(config.imagesDir, logs),
      uploaderFor: () => ({
        async upload(job) {
          stalled = job;
          await new Promise<void>((resolve) => (letGo = resolve));
          return { externalId: 'stand-in-glance-id' };
        },
      }),
    });
    await worker.start();
    client = new Client({ servers: config.gearmanServers });
  });

  afterAll(async () => {
    letGo?.();
    await client?.close();
    await worker?.stop(1_000);
    await gearmand?.kill();
    await rm(root, { recursive: true, force: true });
  });

  test('F1: a second image-delete during an upload registers nothing; after the delete no function of the image is left', async () => {
    const workersOf = async (fn: string) => (await gearadminStatus(gearmand)).get(fn)?.workers ?? 0;
    await eventually(async () => (await workersOf('image-upload:doomed-1')) === 1, 10_000, 'the seeded image to be registered');
    const upload = client.submit('image-upload:doomed-1', '{"provider":"cloud-a"}', { timeoutMs: 30_000 });
    await eventually(() => stalled !== undefined, 10_000, 'the upload to start');
    const first = client.submit('image-delete:doomed-1', '""', { timeoutMs: 30_000 });
    // The first delete took image-upload away (its CANT_DO waits for the running upload) and waits.
    await eventually(() => !worker.registered().includes('image-upload:doomed-1'), 10_000, 'the first delete to begin');
    const second = await rejection(client.submit('image-delete:doomed-1', '""', { timeoutMs: 30_000 }), ClientError);
    expect(second.code).toBe('WORK_FAIL');
    expect(logs.at('warn').some((line) => line.includes('IMAGE_DELETING'))).toBe(true);
    letGo!();
    expect(JSON.parse(Buffer.from((await upload).data).toString())['external-id']).toBe('stand-in-glance-id');
    expect(Buffer.from((await first).data).toString()).toBe('{}');
    expect(existsSync(join(root, 'images', 'images', 'doomed-1'))).toBe(false);
    const status = await gearadminStatus(gearmand);
    expect(status.get('image-upload:doomed-1')?.workers ?? 0).toBe(0);
    expect(status.get('image-delete:doomed-1')?.workers ?? 0).toBe(0);
    expect(worker.registered().filter((fn) => fn.endsWith(':doomed-1'))).toEqual([]);
  });
});

describe('F2 (a builder process on gearmand, reloaded with SIGHUP)', () => {
  const bed = useBuilderBed(() => tinyImage('tiny'));

  test('F2: a SIGHUP sends CAN_DO only for new functions and CANT_DO only for removed ones', async () => {
    for (let reloads = 1; reloads <= 3; reloads++) {
      bed.builder.signal('SIGHUP');
      await eventually(() => count(bed.builder.log(), 'configuration reloaded') === reloads, 10_000, `reload ${reloads}`);
    }
    // Packets of one connection are handled in order: once gearmand has the new function,
    // it has also seen whatever the three reloads before sent.
    bed.builder.writeConfig([tinyImage('tiny'), tinyImage('added')].join('\n'));
    bed.builder.signal('SIGHUP');
    await eventually(async () => (await gearadminStatus(bed.gearmand)).get('image-build:added')?.workers === 1, 10_000, 'the added diskimage');
    let status = await gearadminStatus(bed.gearmand);
    expect(status.get('image-build:tiny')?.workers).toBe(1);
    expect(status.get('image-build:added')?.workers).toBe(1);

    bed.builder.writeConfig(tinyImage('added'));
    bed.builder.signal('SIGHUP');
    await eventually(async () => ((await gearadminStatus(bed.gearmand)).get('image-build:tiny')?.workers ?? 0) === 0, 10_000, 'tiny to go');
    status = await gearadminStatus(bed.gearmand);
    expect(status.get('image-build:added')?.workers).toBe(1);
  });
});

describe('F3 (a wrapper script without job control starts a watcher, then the builder, in one process group)', () => {
  let gearmand: Gearmand;
  let work: string;
  const groups: number[] = [];
  const watchers: number[] = [];

  beforeAll(async () => {
    gearmand = await startGearmand();
    work = mkdtempSync(join(tmpdir(), 'defects-18-f3-'));
  });

  afterAll(async () => {
    // Only what this test started: the wrappers' groups, the watchers, the build's group.
    for (const pgid of groups) for (const signal of ['SIGTERM', 'SIGKILL'] as const) signalQuietly(-pgid, signal);
    for (const pid of watchers) signalQuietly(pid, 'SIGKILL');
    await gearmand?.kill();
    await rm(work, { recursive: true, force: true });
  });

  const signalQuietly = (pid: number, signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  };
  /** Gone, or a zombie waiting for its parent. */
  const gone = (pid: number) => {
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : 'gone';
    return stat === 'gone' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  };

  test('F3: startup recovery stops only the build it started in an earlier life, never its own group or a process that mentions staging', async () => {
    const imagesDir = join(work, 'images');
    const staging = join(imagesDir, 'staging');
    const buildPid = join(work, 'build.pid');
    mkdirSync(join(staging, 'x'), { recursive: true }); // a leftover: recovery runs at the first start
    const configFile = join(work, 'builder.toml');
    writeFileSync(
      configFile,
      [
        `images-dir = "${imagesDir}"`,
        'client-id = "f3-builder"',
        '[[diskimages]]',
        'name = "endless"',
        'builder = "command"',
        `command = ["sh", "-c", ${JSON.stringify(`echo $$ > ${buildPid}; sleep 600`)}]`,
        'formats = ["raw"]',
        '[[gearman-servers]]',
        `host = "${gearmand.host}"`,
        `port = ${gearmand.port}`,
      ].join('\n'),
    );
    const logFile = join(work, 'builder.log');
    const registered = async () => (await gearadminWorkers(gearmand)).filter((w) => w.clientId.startsWith('f3-builder/')).flatMap((w) => w.functions);
    /** sh without job control: the watcher and the builder (exec'ed) share the wrapper's group. */
    const startWrapped = async (life: number) => {
      const watcherPid = join(work, `watcher-${life}.pid`);
      const script = [
        `sh -c 'sleep 600' watcher ${join(staging, 'x', 'note')} &`,
        `echo $! > ${watcherPid}`,
        `exec ${process.execPath} src/cli/main.ts run -c ${configFile} --debug >> ${logFile} 2>&1`,
      ].join('\n');
      const wrapper = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
      groups.push(wrapper.pid!);
      const exited = new Promise<number | null>((resolve) => wrapper.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
      const watcher = Number(await eventually(() => existsSync(watcherPid) && readFileSync(watcherPid, 'utf8').trim(), 10_000, 'the watcher'));
      watchers.push(watcher);
      await eventually(
        async () => {
          if (wrapper.exitCode !== null || wrapper.signalCode !== null) throw new Error(`the builder died (${wrapper.signalCode ?? wrapper.exitCode}):\n${readFileSync(logFile, 'utf8')}`);
          return (await registered()).includes('image-build:endless');
        },
        30_000,
        `life ${life} of the builder to register`,
      );
      return { builder: wrapper, exited, watcher };
    };

    const first = await startWrapped(1);
    expect(gone(first.watcher)).toBe(false);
    expect(readFileSync(logFile, 'utf8')).toContain('removing the unfinished build x');

    // A build runs; the builder dies with SIGKILL and leaves the build's group running.
    const submitter = new Client({ servers: [gearmand] });
    submitter.submit('image-build:endless', '{"image-id":"endless-1"}', { timeoutMs: 600_000 }).catch(() => undefined);
    const build = Number(await eventually(() => existsSync(buildPid) && readFileSync(buildPid, 'utf8').trim(), 30_000, 'the build to run'));
    await submitter.close(); // gearmand drops the job instead of handing it to the next life
    first.builder.kill('SIGKILL');
    await first.exited;
    expect(gone(build)).toBe(false);

    const second = await startWrapped(2);
    await eventually(() => gone(build), 10_000, 'the earlier build to be stopped');
    const log = readFileSync(logFile, 'utf8');
    expect(log).toContain(`killed process group ${build} `);
    expect(log).toContain('the unfinished build endless-1');
    expect(gone(first.watcher)).toBe(false);
    expect(gone(second.watcher)).toBe(false);
    expect(readdirSync(staging)).toEqual([]);
  });
});

describe('F4 (a builder process on gearmand with two build slots and build-log-retention = 1)', () => {
  const gate = join(mkdtempSync(join(tmpdir(), 'defects-18-f4-')), 'open');
  // A command build that fails at once for ids starting with "fail-" and otherwise waits for the gate.
  const script = [
    'case "$IMAGE_ID" in fail-*) echo failing on purpose; exit 3;; esac',
    `while [ ! -e ${gate} ]; do sleep 0.1; done`,
    'head -c 65536 /dev/zero > "$OUTPUT_DIR/$IMAGE_NAME.raw"',
  ].join('; ');
  const bed = useBuilderBed(() =>
    [
      'build-workers = 2',
      'build-log-retention = 1',
      '[[diskimages]]',
      'name = "gated"',
      'builder = "command"',
      `command = ["sh", "-c", ${JSON.stringify(script)}]`,
      'formats = ["raw"]',
    ].join('\n'),
  );

  test('F4: failed builds never prune the log of a build of the same diskimage still running', async () => {
    const logs = join(bed.builder.imagesDir, 'logs', 'gated');
    const running = bed.client.submit('image-build:gated', '{"image-id":"keep-a"}', { timeoutMs: 120_000 });
    await eventually(() => existsSync(join(logs, 'keep-a.log')), 30_000, 'build A to start');
    for (const id of ['fail-b', 'fail-c']) {
      const failed = await rejection(bed.client.submit('image-build:gated', JSON.stringify({ 'image-id': id }), { timeoutMs: 60_000 }), ClientError);
      expect(failed.code).toBe('WORK_FAIL');
    }
    // Build A is still waiting at the gate, and its log is where it was.
    expect(existsSync(join(bed.builder.imagesDir, 'staging', 'keep-a'))).toBe(true);
    expect(readdirSync(logs).sort()).toEqual(['fail-c.log', 'keep-a.log']);
    writeFileSync(gate, '');
    await running;
    const metadata = JSON.parse(readFileSync(join(bed.builder.imagesDir, 'images', 'keep-a', 'metadata.json'), 'utf8'));
    expect(metadata.build.log).toBe(join(logs, 'keep-a.log'));
    expect(existsSync(metadata.build.log)).toBe(true);
    expect(readFileSync(metadata.build.log, 'utf8')).toContain('image keep-a is ready');
  });
});

describe('F5, F6, F7 (a builder process on gearmand, uploading through a recording proxy into a real Glance)', () => {
  let gearmand: Gearmand;
  let peers: OpenStackPeers;
  let proxy: FaultProxy;
  let builder: BuilderProcess;
  let client: Client;
  let work: string;

  beforeAll(async () => {
    [gearmand, peers] = await Promise.all([startGearmand(), startOpenStack({ keystone: false })]);
    proxy = await startFaultProxy(peers.glance.url);
    work = mkdtempSync(join(tmpdir(), 'defects-18-glance-'));
    const cloudsFile = join(work, 'clouds.yaml');
    writeFileSync(cloudsFile, `clouds:\n  recorded:\n    auth_type: none\n    endpoint: ${proxy.url}\n`, { mode: 0o600 });
    const imagesDir = join(work, 'images');
    const seeding = new ImageRepository(imagesDir, captureLogs());
    await seeding.recover();
    for (const id of ['names-1', 'vanishing-1']) await seedQcow2Image(seeding, id, { randomBytes: 64 * 1024 });
    const body = [
      `clouds-file = "${cloudsFile}"`,
      '[[providers]]',
      'name = "glance"',
      'cloud = "recorded"',
      'image-format = "qcow2"',
    ].join('\n');
    builder = await startBuilder(gearmand, body, ['image-upload:names-1', 'image-upload:vanishing-1'], { imagesDir });
    client = new Client({ servers: [gearmand] });
  }, 300_000);

  afterAll(async () => {
    await client?.close();
    await builder?.[Symbol.asyncDispose]();
    await proxy?.close();
    await Promise.all([peers?.stop(), gearmand?.kill()]);
    await rm(work, { recursive: true, force: true });
  });

  const upload = (id: string, request: Record<string, unknown>) =>
    client.submit(`image-upload:${id}`, JSON.stringify(request), { timeoutMs: 120_000 });
  const logLines = () => builder.log().split('\n');
  /** The builder's log reaches its file a moment after the client has the answer. */
  const failuresOf = (id: string) => logLines().filter((line) => line.includes(`(image-upload:${id}) failed`));
  /** The failure lines of `id` after the first `skip`, once there are `count` of them. */
  const failuresLogged = (id: string, count: number, skip = 0) =>
    eventually(() => {
      const lines = failuresOf(id).slice(skip);
      return lines.length >= count && lines;
    }, 10_000, `${count} more failure(s) of image-upload:${id} in the log`);

  test('F5: job fields with newlines and escape codes reach the log escaped and cut short; a 60 KB provider is refused', async () => {
    const forged = '\n[builder] WARN forged line \u001b[31mred\u001b[0m';
    expect((await rejection(upload('names-1', { provider: `nowhere${forged}` }), ClientError)).code).toBe('WORK_FAIL');
    expect((await rejection(upload('names-1', { provider: 'p'.repeat(60_000) }), ClientError)).code).toBe('WORK_FAIL');
    const result = await upload('names-1', { provider: 'glance', 'image-name': `named${forged}` });
    const externalId = JSON.parse(Buffer.from(result.data).toString())['external-id'];
    // Glance holds the name as given; only the log escapes it.
    expect((await peers.images('noauth')).find((image) => image.id === externalId)?.name).toBe(`named${forged}`);

    await failuresLogged('names-1', 2);
    const log = builder.log();
    expect(log).toContain('UNKNOWN_PROVIDER');
    expect(log).toContain('BAD_REQUEST');
    expect(log).toContain('"nowhere\\n[builder] WARN forged line \\u001b[31mred\\u001b[0m"');
    expect(log).toContain('"named\\n[builder] WARN forged line \\u001b[31mred\\u001b[0m"');
    expect(log).not.toContain('\u001b');
    expect(logLines().filter((line) => line.startsWith('[builder] WARN forged'))).toEqual([]);
    expect(Math.max(...logLines().map((line) => line.length))).toBeLessThan(2_000);
  });

  test('F6: image-name length is counted in characters: 255 emoji are not refused as too long (Glance has the last word), 256 are', async () => {
    const name = '\u{1F600}'.repeat(255);
    const before = proxy.requests.length;
    const earlier = failuresOf('names-1').length;
    const reached = await rejection(upload('names-1', { provider: 'glance', 'image-name': name }), ClientError);
    expect(reached.code).toBe('WORK_FAIL');
    // Our limit let it through: the create reached Glance, which refuses any 4-byte character.
    const creates = proxy.requests.slice(before).filter((r) => r.method === 'POST');
    expect(creates.map((r) => `${r.path} ${r.status}`)).toEqual(['/v2/images 400']);
    const refused = await rejection(upload('names-1', { provider: 'glance', 'image-name': `${name}\u{1F600}` }), ClientError);
    expect(refused.code).toBe('WORK_FAIL');
    expect(proxy.requests.slice(before).filter((r) => r.method === 'POST')).toHaveLength(1);
    const failures = await failuresLogged('names-1', 2, earlier);
    expect(failures[0]).toContain('CLOUD_REFUSED');
    expect(failures[1]).toContain('BAD_REQUEST: "image-name" must be a non-empty string of at most 255 characters');
  });

  test('F7: a missing local image file fails at once with LOCAL_FILE_UNREADABLE, before anything is created in Glance', async () => {
    await rm(join(builder.imagesDir, 'images', 'vanishing-1', 'tiny.qcow2'));
    const before = proxy.requests.length;
    const failed = await rejection(upload('vanishing-1', { provider: 'glance', 'image-name': 'vanishing' }), ClientError);
    expect(failed.code).toBe('WORK_FAIL');
    const [failure] = await failuresLogged('vanishing-1', 1);
    expect(failure).toContain('LOCAL_FILE_UNREADABLE');
    expect(proxy.requests.slice(before)).toEqual([]);
    expect(builder.log()).not.toMatch(/vanishing.*try 2 of/);
    expect((await peers.images('noauth')).filter((image) => image.nodepool_build_id === 'vanishing-1')).toEqual([]);
  });
});

describe('F8 (stand-in uploader: reports the progress of large images without sending them; gearmand and two CLIs read it)', () => {
  const TEN_GB = 10_000_000_000;
  const ONE_GiB = 1024 ** 3;
  let gearmand: Gearmand;
  let root: string;
  let worker: BuilderWorker;
  let client: Client;
  let letGo: (() => void) | undefined;
  let halfway = false;

  beforeAll(async () => {
    gearmand = await startGearmand();
    root = mkdtempSync(join(tmpdir(), 'defects-18-f8-'));
    const repository = new ImageRepository(join(root, 'images'), captureLogs());
    await repository.recover();
    for (const [id, size] of [['large-1', TEN_GB], ['gib-1', ONE_GiB]] as const) {
      const staging = await repository.stage(id);
      writeFileSync(join(staging.dir, 'stand-in.raw'), 'stand-in');
      const now = new Date().toISOString();
      await repository.commit(staging, {
        id,
        name: 'stand-in',
        formats: { raw: { file: 'stand-in.raw', size, md5: '0'.repeat(32), sha256: '0'.repeat(64) } },
        build: { builder: 'command', builderVersion: undefined, host: 'test', started: now, finished: now, log: '' },
      });
    }
    const config = testBuilderConfig(root, {
      gearmanServers: [{ host: gearmand.host, port: gearmand.port }],
      providers: [testProvider({ name: 'cloud-a', imageFormat: 'raw' })],
    });
    worker = new BuilderWorker(config, {
      logger: captureLogs(),
      repository,
      uploaderFor: () => ({
        async upload(job) {
          job.progress(job.size / 2, job.size);
          halfway = true;
          await new Promise<void>((resolve) => (letGo = resolve));
          halfway = false;
          // A retried transfer starts over: WORK_STATUS must not go back.
          job.progress(1024 * 1024, job.size);
          job.progress(job.size, job.size);
          return { externalId: 'stand-in-glance-id' };
        },
      }),
    });
    await worker.start();
    client = new Client({ servers: config.gearmanServers });
  });

  afterAll(async () => {
    letGo?.();
    await client?.close();
    await worker?.stop(1_000);
    await gearmand?.kill();
    await rm(root, { recursive: true, force: true });
  });

  /** Runs a client command, lets the upload finish once it is halfway, and returns its output. */
  const runThroughHalfway = async (command: string, args: string[]): Promise<{ code: number | null; output: string }> => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await eventually(() => halfway, 20_000, `${command} to start the upload`);
    letGo!();
    return { code: await exited, output };
  };

  test('F8: upload progress goes out in KiB: gearmand keeps the right fraction of a 10 GB upload, and it never decreases', async () => {
    const statuses: Array<[number, number]> = [];
    const upload = client.submit('image-upload:large-1', '{"provider":"cloud-a"}', {
      unique: 'large-upload',
      timeoutMs: 30_000,
      onStatus: (n, d) => statuses.push([n, d]),
    });
    await eventually(() => halfway && statuses.length >= 1, 10_000, 'the upload to be halfway');
    try {
      // What gearmand keeps (32 bits) is what any later client reads.
      const kept = await client.statusByUnique('large-upload');
      expect([kept.numerator, kept.denominator]).toEqual([4_882_812, 9_765_625]);
    } finally {
      letGo!();
      await upload;
    }
    const kib = Math.ceil(TEN_GB / 1024);
    expect(statuses).toEqual([
      [4_882_812, kib],
      [kib, kib],
    ]);
  });

  test('F8: halfway through a 1 GiB upload, the gearman CLI (32-bit arithmetic) and ours both show 50 %', async () => {
    const gearman = await runThroughHalfway('gearman', ['-h', gearmand.host, '-p', String(gearmand.port), '-f', 'image-upload:gib-1', '{"provider":"cloud-a"}']);
    expect(gearman.code).toBe(0);
    expect(gearman.output.match(/\d+% Complete/g)).toEqual(['50% Complete', '100% Complete']);
    const ours = await runThroughHalfway(process.execPath, ['src/cli/main.ts', 'image-upload', 'gib-1', 'cloud-a', '--server', `${gearmand.host}:${gearmand.port}`]);
    expect(ours.code).toBe(0);
    expect(ours.output).toContain(' 50% 512.0/1024.0 MiB');
    expect(ours.output).toContain('100% 1024.0/1024.0 MiB');
  });
});
