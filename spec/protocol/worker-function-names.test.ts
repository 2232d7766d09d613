/**
 * The worker decodes a job's function name only when its bytes differ from the last job's. Jobs
 * that alternate between names of the same length, or differ only in a multi-byte character,
 * must still each reach their own handler. Through a real gearmand.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';

let gearmand: Gearmand;
beforeAll(async () => {
  gearmand = await startGearmand();
});
afterAll(async () => {
  await gearmand.kill();
});

test('jobs alternating between functions whose names have the same length each run their own handler', async () => {
  const names = ['image-upload:aaaa', 'image-upload:aaab', 'image-upload:bbbb', 'image-upload:aaé', 'image-upload:aaè'];
  const worker = new Worker({ servers: [gearmand] });
  for (const name of names) worker.register(name, (job) => `${name} ran ${job.functionName} for ${new TextDecoder().decode(job.payload)}`);
  worker.start();
  const client = new Client({ servers: [gearmand] });
  try {
    const submitted = Array.from({ length: 60 }, (_, k) => names[(k * 3) % names.length]!);
    const results = await Promise.all(submitted.map((name, k) => client.submit(name, `job ${k}`, { timeoutMs: 30_000 })));
    expect(results.map((r) => new TextDecoder().decode(r.data))).toEqual(submitted.map((name, k) => `${name} ran ${name} for job ${k}`));
  } finally {
    await client.close();
    await worker.stop(100);
  }
});

test('default uniques differ between submits and between clients: identical jobs are not coalesced', async () => {
  let runs = 0;
  const worker = new Worker({ servers: [gearmand] });
  worker.register('same-payload', async () => {
    runs++;
    await Bun.sleep(20);
    return `run ${runs}`;
  });
  worker.start();
  const clients = [new Client({ servers: [gearmand] }), new Client({ servers: [gearmand] })];
  try {
    const results = await Promise.all(clients.flatMap((client) => [1, 2, 3].map(() => client.submit('same-payload', 'x', { timeoutMs: 30_000 }))));
    expect(new Set(results.map((r) => r.handle)).size).toBe(6);
    expect(runs).toBe(6);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await worker.stop(100);
  }
});
