import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { gearadminWorkers } from '../support/gearadmin.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { captureLogs } from '../support/log-capture.ts';
import { eventually } from '../support/run.ts';

const BACKOFF = { initialDelayMs: 100, maxDelayMs: 1000 };

describe.each(JOB_SERVERS)('a $name restart', (kind) => {
  let server: JobServer;
  let worker: Worker;
  const logs = captureLogs();
  let releaseSlowJob: () => void = () => {};
  const slowJobs: { lost: () => boolean }[] = [];

  beforeAll(async () => {
    server = await kind.start();
    worker = new Worker({ servers: [server], slots: { build: 1, upload: 2 }, clientId: 'restart', backoff: BACKOFF, logger: logs });
    worker.register('image-build:tiny', async (job) => {
      slowJobs.push({ lost: () => job.connectionLost });
      await new Promise<void>((resolve) => (releaseSlowJob = resolve));
      return 'built';
    }, { jobClass: 'build' });
    worker.register('image-upload:1', () => 'uploaded', { jobClass: 'upload' });
    worker.start();
    await eventually(async () => (await gearadminWorkers(server)).filter((w) => w.clientId.startsWith('restart/')).length === 2);
  });

  afterAll(async () => {
    releaseSlowJob();
    await worker.stop(1000);
    await server.kill();
  });

  const registered = async (): Promise<string[]> =>
    (await gearadminWorkers(server)).filter((w) => w.clientId.startsWith('restart/')).flatMap((w) => w.functions).sort();

  test('while idle: the worker reconnects and re-registers every function', async () => {
    const before = worker.stats().reconnects;
    await server.restart();
    expect(await eventually(async () => (await registered()).length === 2 && registered())).toEqual([
      'image-build:tiny',
      'image-upload:1',
    ]);
    expect(worker.stats().reconnects).toBe(before + 2);
    const client = new Client({ servers: [server] });
    expect(Buffer.from((await client.submit('image-upload:1', '{}', { timeoutMs: 5000 })).data).toString()).toBe('uploaded');
    await client.close();
  });

  test('while a job runs: the job learns its connection is gone, the worker keeps serving', async () => {
    const client = new Client({ servers: [server] });
    await client.submitBackground('image-build:tiny', '{"image-id":"a"}');
    await eventually(() => slowJobs.length === 1);
    await server.restart();
    await eventually(async () => (await registered()).length === 2);
    expect(slowJobs[0]!.lost()).toBe(true);
    // Uploads still flow while the orphaned build holds the build slot.
    const upload = await new Client({ servers: [server] }).submit('image-upload:1', '{}', { timeoutMs: 5000 });
    expect(Buffer.from(upload.data).toString()).toBe('uploaded');
    releaseSlowJob();
    await eventually(() => logs.at('warn').some((line) => line.includes('WORK_COMPLETE not delivered')));
    expect(worker.stats().busy).toEqual({ build: 0, upload: 0 });
    await client.close();
  });
});
