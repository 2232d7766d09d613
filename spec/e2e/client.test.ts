import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client } from '../../src/protocol/client/client.ts';
import { ClientError, JobFailedError } from '../../src/protocol/client/client-errors.ts';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { rejection } from '../support/rejection.ts';
import { eventually } from '../support/run.ts';

const errorOf = (promise: Promise<unknown>) => rejection(promise, ClientError);

describe.each(JOB_SERVERS)('the client against $name', (kind) => {
  let server: JobServer;
  let worker: Worker;
  let client: Client;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    for (const resolve of waiting.splice(0)) resolve();
  };

  beforeAll(async () => {
    server = await kind.start();
    worker = new Worker({ servers: [server], slots: { default: 8 } });
    worker.register('wait', async (job) => {
      await job.status(1, 4);
      await new Promise<void>((resolve) => waiting.push(resolve));
      return 'released';
    });
    worker.register('progress', async (job) => {
      for (let i = 1; i <= 3; i++) await job.status(i, 3);
      await job.data('chunk');
      await job.warning('careful');
      return job.payload;
    });
    worker.register('refuse', () => {
      throw new JobFailure('NO_SPACE', 'the disk is full');
    });
    worker.register('boom', () => {
      throw new TypeError('bad input');
    });
    worker.start();
    client = new Client({ servers: [server] });
  });

  afterAll(async () => {
    release();
    await client.close();
    await worker.stop(1000);
    await server.kill();
  });

  test('WORK_STATUS, WORK_DATA and WORK_WARNING reach the submitter, in order, before the result', async () => {
    const seen: string[] = [];
    const result = await client.submit('progress', 'payload', {
      onStatus: (n, d) => seen.push(`status ${n}/${d}`),
      onData: (chunk) => seen.push(`data ${Buffer.from(chunk).toString()}`),
      onWarning: (chunk) => seen.push(`warning ${Buffer.from(chunk).toString()}`),
      priority: 'high',
    });
    expect(seen).toEqual(['status 1/3', 'status 2/3', 'status 3/3', 'data chunk', 'warning careful']);
    expect(Buffer.from(result.data).toString()).toBe('payload');
  });

  test('WORK_EXCEPTION carries the worker\'s one-line message and the caller\'s stack', async () => {
    const err = await errorOf(client.submit('boom', ''));
    expect(err.code).toBe('WORK_EXCEPTION');
    expect(err.message).toContain('TypeError: bad input');
    expect(err.stack).toContain('client.test.ts');
    // Taken when the job failed, from the async stack of whoever awaited submit(): no client frames.
    expect(err.stack).not.toContain('src/protocol/client/');
  });

  test('WORK_FAIL carries the reason the worker sent just before it as WORK_WARNING', async () => {
    const warnings: string[] = [];
    const err = await rejection(client.submit('refuse', '', { onWarning: (w) => warnings.push(Buffer.from(w).toString()) }), JobFailedError);
    expect(err.code).toBe('WORK_FAIL');
    expect(err.reason).toBe('the disk is full');
    expect(err.message).toStartWith('the job failed: the disk is full (refuse H:');
    expect(warnings).toEqual(['the disk is full']);
  });

  test('GET_STATUS and GET_STATUS_UNIQUE describe a running background job', async () => {
    const job = await client.submitBackground('wait', '', { unique: 'status-probe', priority: 'low' });
    const running = await eventually(async () => {
      const status = await client.status(job);
      return status.numerator === 1 && status;
    });
    expect(running).toEqual({ known: true, running: true, numerator: 1, denominator: 4 });
    const byUnique = await client.statusByUnique('status-probe');
    expect(byUnique).toMatchObject({ known: true, running: true, numerator: 1, denominator: 4 });
    release();
    await eventually(async () => !(await client.status(job)).known);
  });

  test('a timeout rejects with TIMEOUT and names the job', async () => {
    const err = await errorOf(client.submit('wait', '', { timeoutMs: 150 }));
    expect(err.code).toBe('TIMEOUT');
    expect(err.handle).toMatch(/^H:/);
    release();
  });

  test('an abort signal cancels the wait', async () => {
    const controller = new AbortController();
    const pending = client.submit('wait', '', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect((await errorOf(pending)).code).toBe('ABORTED');
    release();
  });

  test('a server that disconnects mid-job gives CONNECTION_LOST with the handle', async () => {
    const pending = errorOf(client.submit('wait', ''));
    await Bun.sleep(100);
    await server.restart();
    const err = await pending;
    expect(err.code).toBe('CONNECTION_LOST');
    expect(err.handle).toMatch(/^H:/);
    expect(err.message).toContain(`${server.port}`);
    release();
  });

  test('no reachable server gives NO_SERVER after the connect timeout', async () => {
    const lonely = new Client({ servers: [{ host: '127.0.0.1', port: 1 }], connectTimeoutMs: 300 });
    expect((await errorOf(lonely.submit('anything', ''))).code).toBe('NO_SERVER');
    await lonely.close();
  });
});
