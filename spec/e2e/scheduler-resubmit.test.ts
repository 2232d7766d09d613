/**
 * What the scheduler's resume-build / resume-upload rely on (DESIGN §10): a job submitted again
 * under its record's id as the unique, after the submitting client died, attaches to the job
 * still running instead of starting a second one; once the job has ended, the same unique runs
 * again (what ended is then found by the reconciliation, not by gearman). Checked against real
 * gearmand, and against the embedded server.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { eventually } from '../support/run.ts';

describe.each(JOB_SERVERS)('resubmitting under the same unique, against $name', (kind) => {
  let server: JobServer;
  let worker: Worker;
  let runs = 0;
  const held: (() => void)[] = [];

  beforeAll(async () => {
    server = await kind.start();
    worker = new Worker({ servers: [server], slots: { default: 4 } });
    worker.register('image-upload:build-1', async (job) => {
      const run = ++runs;
      await new Promise<void>((resolve) => held.push(resolve));
      return `run ${run} of ${new TextDecoder().decode(job.payload)}`;
    });
    worker.start();
  });

  afterAll(async () => {
    for (const release of held.splice(0)) release();
    await worker.stop(1_000);
    await server[Symbol.asyncDispose]();
  });

  test('after the submitting client died, the same unique attaches to the running job: one run, and the new client gets its result', async () => {
    runs = 0;
    const first = new Client({ servers: [server] });
    const lost = first.submit('image-upload:build-1', 'attempt 1', { unique: 'upload-7' }).catch(() => 'the first client is gone');
    await eventually(() => held.length === 1, 10_000, 'the worker to run the job');
    await first.close(); // the scheduler dies; its socket closes
    expect(await lost).toBe('the first client is gone');

    const second = new Client({ servers: [server] });
    const resumed = second.submit('image-upload:build-1', 'attempt 2', { unique: 'upload-7' });
    await eventually(async () => (await second.statusByUnique('upload-7')).waiting === 1, 10_000, 'the new client to be attached');
    const status = await second.statusByUnique('upload-7');
    expect(status).toMatchObject({ known: true, running: true });
    held.shift()!();
    expect(new TextDecoder().decode((await resumed).data)).toBe('run 1 of attempt 1');
    expect(runs).toBe(1);
    await second.close();
  });

  test('once the job has ended, the same unique runs again', async () => {
    runs = 0;
    const client = new Client({ servers: [server] });
    const once = client.submit('image-upload:build-1', 'a', { unique: 'upload-8' });
    await eventually(() => held.length === 1, 10_000, 'the first run');
    held.shift()!();
    await once;
    const again = client.submit('image-upload:build-1', 'b', { unique: 'upload-8' });
    await eventually(() => held.length === 1, 10_000, 'the second run');
    held.shift()!();
    expect(new TextDecoder().decode((await again).data)).toBe('run 2 of b');
    await client.close();
  });
});
