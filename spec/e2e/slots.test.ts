import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { gearadminStatus } from '../support/gearadmin.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { eventually } from '../support/run.ts';

describe.each(JOB_SERVERS)('slot-aware grabbing, via $name', (kind) => {
  let server: JobServer;
  let worker: Worker;
  let client: Client;
  const started: string[] = [];
  const release: (() => void)[] = [];

  beforeAll(async () => {
    server = await kind.start();
    worker = new Worker({ servers: [server], slots: { build: 1, upload: 4 } });
    worker.register('image-build:slow', async (job) => {
      started.push(Buffer.from(job.payload).toString());
      await new Promise<void>((resolve) => release.push(resolve));
      return 'built';
    }, { jobClass: 'build' });
    worker.register('image-upload:x', (job) => job.payload, { jobClass: 'upload' });
    worker.start();
    client = new Client({ servers: [server] });
  });

  afterAll(async () => {
    for (const r of release) r();
    await client.close();
    await worker.stop(1000);
    await server.kill();
  });

  test('a second build waits on the server while the build slot is busy, and uploads keep flowing', async () => {
    const first = client.submit('image-build:slow', 'first', { timeoutMs: 20_000 });
    const second = client.submit('image-build:slow', 'second', { timeoutMs: 20_000 });
    await eventually(() => started.length === 1);
    await Bun.sleep(200);
    expect(started).toHaveLength(1);
    const status = await gearadminStatus(server);
    expect(status.get('image-build:slow')).toEqual({ total: 2, running: 1, workers: 1 });

    const uploads = await Promise.all(
      Array.from({ length: 12 }, (_, i) => client.submit('image-upload:x', `u${i}`, { timeoutMs: 5000 })),
    );
    expect(uploads.map((u) => Buffer.from(u.data).toString())).toEqual(Array.from({ length: 12 }, (_, i) => `u${i}`));
    expect(started).toHaveLength(1);

    release.shift()!();
    expect(Buffer.from((await first).data).toString()).toBe('built');
    await eventually(() => started.length === 2);
    release.shift()!();
    expect(Buffer.from((await second).data).toString()).toBe('built');
  });

  test('the upload class never runs more jobs at once than its slots', async () => {
    let running = 0;
    let peak = 0;
    worker.register('image-upload:counted', async () => {
      peak = Math.max(peak, ++running);
      await Bun.sleep(30);
      running--;
      return 'ok';
    }, { jobClass: 'upload' });
    await Promise.all(Array.from({ length: 20 }, () => client.submit('image-upload:counted', '', { timeoutMs: 10_000 })));
    expect(peak).toBe(4);
  });
});
