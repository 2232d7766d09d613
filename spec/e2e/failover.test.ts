import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { gearadminWorkers } from '../support/gearadmin.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { captureLogs } from '../support/log-capture.ts';
import { eventually } from '../support/run.ts';

const FAST_BACKOFF = { initialDelayMs: 50, maxDelayMs: 400 };

describe.each(JOB_SERVERS)('two $name servers, one of them dies', (kind) => {
  let a: JobServer;
  let b: JobServer;
  let worker: Worker;
  let client: Client;
  const logs = captureLogs();

  beforeAll(async () => {
    [a, b] = await Promise.all([kind.start(), kind.start()]);
    const servers = [a, b].map(({ host, port }) => ({ host, port }));
    worker = new Worker({ servers, slots: { default: 4 }, clientId: 'failover', backoff: FAST_BACKOFF, logger: logs });
    worker.register('double', (job) => String(Number(Buffer.from(job.payload).toString()) * 2));
    worker.start();
    client = new Client({ servers, backoff: FAST_BACKOFF, connectTimeoutMs: 5000 });
  });

  afterAll(async () => {
    await client.close();
    await worker.stop(1000);
    await Promise.all([a.kill(), b.kill()]);
  });

  const submitMany = async (count: number): Promise<string[]> => {
    const results: string[] = [];
    for (let i = 0; i < count; i++) {
      const { data } = await client.submit('double', String(i), { timeoutMs: 5000 });
      results.push(Buffer.from(data).toString());
    }
    return results;
  };

  test('jobs flow through both servers', async () => {
    await eventually(async () => (await gearadminWorkers(a)).some((w) => w.functions.includes('double')));
    await eventually(async () => (await gearadminWorkers(b)).some((w) => w.functions.includes('double')));
    expect(await submitMany(10)).toEqual(Array.from({ length: 10 }, (_, i) => String(i * 2)));
  });

  test('with one server killed, every job still completes through the other', async () => {
    await a.kill();
    expect(await submitMany(20)).toEqual(Array.from({ length: 20 }, (_, i) => String(i * 2)));
  });

  test('the restarted server sees the worker registered again', async () => {
    await a.restart();
    const workers = await eventually(async () => {
      const list = await gearadminWorkers(a);
      return list.some((w) => w.clientId === 'failover/default' && w.functions.includes('double')) && list;
    });
    expect(workers.length).toBeGreaterThan(0);
    expect(await submitMany(6)).toEqual(Array.from({ length: 6 }, (_, i) => String(i * 2)));
    expect(worker.stats().reconnects).toBeGreaterThanOrEqual(1);
  });
});
