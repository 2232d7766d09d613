import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { type HostileServer, startHostileServer } from '../support/hostile-server.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { type RunResult, eventually, run } from '../support/run.ts';

const cli = (...args: string[]): Promise<RunResult> => run('env', ['NO_COLOR=1', process.execPath, 'src/cli/main.ts', ...args], '', 60_000);

function cliInBackground(...args: string[]): { child: ChildProcess; done: Promise<RunResult> } {
  const child = spawn(process.execPath, ['src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<RunResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

describe.each(JOB_SERVERS)('client commands against $name', (kind) => {
  let server: JobServer;
  let address: string;
  let worker: Worker;
  /** The image ids the one-slot "builder" started, in order. */
  const started: string[] = [];
  const waiting = new Map<string, () => void>();
  const release = (id: string): void => {
    waiting.get(id)?.();
    waiting.delete(id);
  };

  beforeAll(async () => {
    server = await kind.start();
    address = `${server.host}:${server.port}`;
    // One slot, like build-workers = 1: a second build queues behind the first.
    worker = new Worker({ servers: [server], slots: { default: 1 } });
    worker.register('image-build:tiny', async (job) => {
      const id = String((JSON.parse(Buffer.from(job.payload).toString()) as { 'image-id': string })['image-id']);
      started.push(id);
      await new Promise<void>((resolve) => waiting.set(id, resolve));
      return JSON.stringify({ 'image-id': id });
    });
    worker.start();
    await eventually(async () => (await cli('status', '-s', address, '--json')).stdout.includes('image-build:tiny'));
  });

  afterAll(async () => {
    for (const id of [...waiting.keys()]) release(id);
    await worker.stop(1000);
    await server.kill();
  });

  test('G5: --timeout on a queued job says plainly that it is cancelled, and it never runs', async () => {
    const first = cliInBackground('image-build', 'tiny', '--id', 'first', '-s', address);
    await eventually(() => started.includes('first'), 20_000, 'the first build to start');
    const second = await cli('image-build', 'tiny', '--id', 'second', '--timeout', '1', '-s', address);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain('gave up waiting after 1 s; the job was still queued and is cancelled (image-build:tiny H:');
    release('first');
    expect((await first.done).code).toBe(0);
    // A job queued after it: had "second" survived, the one slot would take it first.
    const client = new Client({ servers: [server] });
    const third = client.submit('image-build:tiny', JSON.stringify({ 'image-id': 'third' }));
    await eventually(() => started.includes('third'), 20_000, 'the third build to start');
    release('third');
    await third;
    await client.close();
    expect(started).toEqual(['first', 'third']);
  }, 60_000);

  test('G5: --timeout on a running job says it goes on, and it does', async () => {
    const result = await (async () => {
      const pending = cli('image-build', 'tiny', '--id', 'running', '--timeout', '2', '-s', address);
      await eventually(() => started.includes('running'), 20_000, 'the build to start');
      return pending;
    })();
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('gave up waiting after 2 s; the job is running and goes on');
    expect(waiting.has('running')).toBe(true);
    release('running');
  }, 60_000);

  test('G4: a --timeout beyond what a timer holds (2147484 s, 1e308) still waits for the result', async () => {
    for (const [id, timeout] of [['long', '2147484'], ['huge', '1e308']] as const) {
      const pending = cli('image-build', 'tiny', '--id', id, '--timeout', timeout, '-s', address);
      await eventually(() => started.includes(id), 20_000, `build ${id} to start`);
      release(id);
      const result = await pending;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`built tiny as ${id}\n`);
    }
  }, 60_000);

  test('G6: a function no worker registers is refused at once, exit 1, unless --wait', async () => {
    const deleted = await cli('image-delete', 'does-not-exist', '-s', address);
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toContain('no worker registers image-delete:does-not-exist');
    const built = await cli('image-build', 'nosuch', '-s', address);
    expect(built.code).toBe(1);
    expect(built.stderr).toContain('no worker registers image-build:nosuch');
    const waited = await cli('image-delete', 'does-not-exist', '--wait', '--timeout', '1', '-s', address);
    expect(waited.code).toBe(3);
    expect(waited.stderr).toContain('gave up waiting after 1 s; the job was still queued and is cancelled');
  }, 60_000);
});

describe('client commands against a server that accepts and never answers (fake: gearmand always answers)', () => {
  let silent: HostileServer;

  beforeAll(async () => {
    silent = await startHostileServer('silent');
  });

  afterAll(async () => {
    await silent.close();
  });

  test('G6: every client command gives up instead of waiting forever for JOB_CREATED', async () => {
    const at = `${silent.host}:${silent.port}`;
    const results = await Promise.all([
      cli('image-build', 'tiny', '--wait', '-s', at),
      cli('image-delete', 'some-id', '--wait', '-s', at),
      cli('image-upload', 'some-id', 'cloud', '--wait', '-s', at),
      cli('image-update', 'tiny', '--provider', 'cloud', '--wait', '-s', at),
      cli('image-delete', 'some-id', '-s', at),
    ]);
    for (const result of results.slice(0, 4)) {
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('the server sent no JOB_CREATED within 10000 ms');
    }
    expect(results[4]!.code).toBe(3);
    expect(results[4]!.stderr).toContain('no admin reply within 10000 ms');
  }, 60_000);
});

test('G6: --timeout also bounds the wait for a server to connect', async () => {
  const result = await cli('image-delete', 'some-id', '--wait', '--timeout', '1', '-s', '127.0.0.1:1');
  expect(result.code).toBe(3);
  const waited = /no gearman server reachable within (\d+) ms \(127\.0\.0\.1:1: connect ECONNREFUSED/.exec(result.stderr);
  expect(waited).not.toBeNull();
  expect(Number(waited![1])).toBeLessThanOrEqual(1000);
}, 60_000);
