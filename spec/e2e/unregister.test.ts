import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { eventually } from '../support/run.ts';

// gearmand drops a worker's running jobs of a function it gets CANT_DO for; a result sent
// after that is answered JOB_NOT_FOUND and the client never hears back.
describe.each(JOB_SERVERS)('unregistering a function while its job runs, via $name', (kind) => {
  let server: JobServer;
  let worker: Worker;
  let client: Client;
  let admin: AdminClient;

  beforeAll(async () => {
    server = await kind.start();
    worker = new Worker({ servers: [server], slots: { default: 2 } });
    client = new Client({ servers: [server] });
    admin = new AdminClient(server);
    worker.start();
  });

  afterAll(async () => {
    admin.close();
    await client.close();
    await worker.stop(500);
    await server.kill();
  });

  test('the running job still delivers its result, and the function is gone afterwards', async () => {
    let release: (() => void) | undefined;
    worker.register('image-delete:x', async () => {
      worker.unregister('image-delete:x');
      await new Promise<void>((resolve) => (release = resolve));
      return '{}';
    });
    const pending = client.submit('image-delete:x', '', { timeoutMs: 10_000 });
    await eventually(() => release !== undefined, 5000, 'the job to start');
    // The server still has the worker down for the function while its job runs.
    expect((await admin.status()).find((row) => row.function === 'image-delete:x')).toMatchObject({ running: 1, workers: 1 });
    release!();
    expect(Buffer.from((await pending).data).toString()).toBe('{}');
    await eventually(async () => !(await admin.status()).some((row) => row.function === 'image-delete:x' && row.workers > 0));
  });
});
