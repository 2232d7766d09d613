import { afterAll, beforeAll, expect, test } from 'bun:test';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { type HostileServer, startHostileServer } from '../support/hostile-server.ts';
import { captureLogs } from '../support/log-capture.ts';
import { eventually } from '../support/run.ts';

let gearmand: Gearmand;
let silent: HostileServer;
let worker: Worker;
let client: Client;
const release: Array<() => void> = [];
let running = 0;

beforeAll(async () => {
  [gearmand, silent] = await Promise.all([startGearmand(), startHostileServer('silent')]);
  // The grab timeout stays far beyond the test: only the pipelining rule may keep slots free.
  worker = new Worker({ servers: [silent, gearmand], slots: { default: 4 }, grabTimeoutMs: 600_000, logger: captureLogs() });
  worker.register('hold', async () => {
    running++;
    await new Promise<void>((resolve) => release.push(resolve));
    running--;
    return 'released';
  });
  worker.start();
  client = new Client({ servers: [gearmand] });
});

afterAll(async () => {
  for (const resolve of release.splice(0)) resolve();
  await client?.close();
  await worker?.stop(1000);
  await Promise.all([gearmand?.kill(), silent?.close()]);
});

test('(fake silent server) a server that takes GRABs and never answers holds one slot; the other three serve gearmand at once', async () => {
  await eventually(() => silent.connections > 0, 10_000, 'the worker to connect to the silent server');
  // Each NO_JOB from gearmand frees a slot; without the rule it went to the silent server's link.
  await eventually(() => worker.registered().length > 0, 10_000, 'registration');
  const jobs = [1, 2, 3].map((n) => client.submit('hold', String(n), { timeoutMs: 60_000 }));
  await eventually(() => running === 3, 20_000, `three hold jobs running at once (running: ${running})`);
  for (const resolve of release.splice(0)) resolve();
  expect((await Promise.all(jobs)).map((r) => Buffer.from(r.data).toString())).toEqual(['released', 'released', 'released']);
}, 60_000);
