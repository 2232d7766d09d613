import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { eventually, run } from '../support/run.ts';

describe.each(JOB_SERVERS)('the gearman CLI and our code, via $name', (kind) => {
  let server: JobServer;
  let worker: Worker;
  const backgroundSeen: string[] = [];

  beforeAll(async () => {
    server = await kind.start();
    worker = new Worker({ servers: [server], slots: { default: 4 }, clientId: 'cli-interop' });
    worker.register('reverse', (job) => Buffer.from(job.payload).reverse());
    worker.register('collect', (job) => {
      backgroundSeen.push(Buffer.from(job.payload).toString());
    });
    worker.start();
  });

  afterAll(async () => {
    await worker.stop(1000);
    await server[Symbol.asyncDispose]();
  });

  const cli = (...args: string[]) => ['-h', server.host, '-p', String(server.port), ...args];

  test("the gearman CLI client gets our worker's result", async () => {
    const result = await run('gearman', cli('-f', 'reverse'), 'hello gearman');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('namraeg olleh');
  });

  test('high and low priority submissions from the CLI reach our worker', async () => {
    expect((await run('gearman', cli('-I', '-f', 'reverse'), 'high')).stdout).toBe('hgih');
    expect((await run('gearman', cli('-L', '-f', 'reverse'), 'low')).stdout).toBe('wol');
  });

  test('a background job from the CLI runs on our worker', async () => {
    const result = await run('gearman', cli('-b', '-f', 'collect'), 'in the background');
    expect(result.code).toBe(0);
    await eventually(() => backgroundSeen.includes('in the background'), 5000, 'the background job');
  });

  test('our client drives a gearman -w worker', async () => {
    const cliWorker = spawn('gearman', ['-w', ...cli('-f', 'upper', '--', 'tr', 'a-z', 'A-Z')], { stdio: 'ignore' });
    const client = new Client({ servers: [server] });
    try {
      const result = await client.submit('upper', 'shout this', { timeoutMs: 10_000 });
      expect(Buffer.from(result.data).toString()).toBe('SHOUT THIS');
      expect(result.handle).toMatch(/^H:/);
    } finally {
      cliWorker.kill('SIGKILL');
      await client.close();
    }
  });
});
