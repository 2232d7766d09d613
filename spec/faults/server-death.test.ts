import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { JobFailedError } from '../../src/protocol/client/client-errors.ts';
import { Client } from '../../src/protocol/client/client.ts';
import type { ServerAddress } from '../../src/protocol/transport/connect-address.ts';
import { type BuilderProcess, startBuilder, tinyImage } from '../support/builder-process.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { rejection } from '../support/rejection.ts';
import { eventually } from '../support/run.ts';

const JOB_TIMEOUT_MS = 240_000;

describe('one of two gearmands dies for good (real gearmands, real builder process)', () => {
  let survivor: Gearmand;
  let doomed: Gearmand;
  let builder: BuilderProcess;
  const clients: Client[] = [];

  beforeAll(async () => {
    [survivor, doomed] = await Promise.all([startGearmand(), startGearmand()]);
    // startBuilder appends the survivor's table; the doomed server is listed first.
    builder = await startBuilder(survivor, [tinyImage('tiny'), '[[gearman-servers]]', `host = "${doomed.host}"`, `port = ${doomed.port}`].join('\n'));
    await eventually(async () => (await functionsOn(doomed)).includes('image-build:tiny'), 30_000, 'the builder on the second gearmand');
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await builder?.[Symbol.asyncDispose]();
    await Promise.all([survivor?.kill(), doomed?.kill()]);
  });

  async function functionsOn(server: ServerAddress): Promise<string[]> {
    const admin = new AdminClient(server);
    try {
      return (await admin.workers()).filter((w) => w.clientId.startsWith('e2e-builder/')).flatMap((w) => w.functions);
    } finally {
      admin.close();
    }
  }

  function clientOf(...servers: ServerAddress[]): Client {
    const client = new Client({ servers, backoff: { initialDelayMs: 100, maxDelayMs: 1_000 } });
    clients.push(client);
    return client;
  }

  async function cycle(client: Client, id: string): Promise<void> {
    const built = await client.submit('image-build:tiny', JSON.stringify({ 'image-id': id }), { timeoutMs: JOB_TIMEOUT_MS });
    expect(JSON.parse(Buffer.from(built.data).toString())['image-id']).toBe(id);
    expect(existsSync(join(builder.imagesDir, 'images', id, 'tiny.qcow2'))).toBe(true);
    await eventually(async () => (await functionsOn(survivor)).includes(`image-upload:${id}`), 30_000, `image-upload:${id} on the survivor`);

    // An upload the builder must refuse (no such provider): the refusal travels back as WORK_FAIL.
    const refused = await rejection(client.submit(`image-upload:${id}`, JSON.stringify({ provider: 'nowhere' }), { timeoutMs: 60_000 }), JobFailedError);
    expect(refused.reason).toContain('no provider "nowhere"');

    await client.submit(`image-delete:${id}`, '""', { timeoutMs: 60_000 });
    expect(existsSync(join(builder.imagesDir, 'images', id))).toBe(false);
    await eventually(async () => !(await functionsOn(survivor)).some((fn) => fn.endsWith(`:${id}`)), 30_000, `${id}'s functions to go`);
  }

  test('before the death: both gearmands carry every function', async () => {
    expect(await functionsOn(survivor)).toContain('image-build:tiny');
    expect(await functionsOn(doomed)).toContain('image-build:tiny');
  });

  test('after the death: build, refused upload and delete go through the survivor (client knows both servers)', async () => {
    await doomed.kill();
    await cycle(clientOf(doomed, survivor), 'after-death-both');
  }, JOB_TIMEOUT_MS * 2);

  test('after the death: the same through a client that knows only the survivor, and the builder is still up', async () => {
    await cycle(clientOf(survivor), 'after-death-one');
    await cycle(clientOf(survivor), 'after-death-again');
    expect(await functionsOn(survivor)).toContain('image-build:tiny');
    expect(builder.log()).toContain(`${doomed.port}`);
  }, JOB_TIMEOUT_MS * 3);
});
