import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '../../../src/protocol/admin-client.ts';
import { Client } from '../../../src/protocol/client.ts';
import { type BuilderProcess, startBuilder, tinyImage } from '../../support/builder-process.ts';
import { type Gearmand, startGearmand } from '../../support/gearmand.ts';
import { eventually } from '../../support/run.ts';

describe('a builder killed with SIGKILL in the middle of a build', () => {
  let gearmand: Gearmand;
  let builder: BuilderProcess;
  let client: Client;
  let admin: AdminClient;

  beforeAll(async () => {
    gearmand = await startGearmand();
    builder = await startBuilder(gearmand, [tinyImage('tiny'), tinyImage('slow', { env: { TINY_ROOT_SLEEP: '30' } })].join('\n'));
    client = new Client({ servers: [gearmand] });
    admin = new AdminClient(gearmand);
  });

  afterAll(async () => {
    admin.close();
    await client.close();
    await builder[Symbol.asyncDispose]();
    await gearmand.kill();
  });

  const registered = async () => (await admin.status()).filter((row) => row.workers > 0).map((row) => row.function);

  test('after a restart staging is clean, the partial image has no functions, complete images are back', async () => {
    await client.submit('image-build:tiny', JSON.stringify({ 'image-id': 'done-1' }), { timeoutMs: 120_000 });
    await client.submitBackground('image-build:slow', JSON.stringify({ 'image-id': 'partial-1' }));
    await eventually(() => existsSync(join(builder.imagesDir, 'staging', 'partial-1')), 30_000, 'the slow build to start');

    builder.signal('SIGKILL');
    await builder.exited();
    await eventually(async () => !(await registered()).includes('image-upload:done-1'), 10_000, 'the dead worker to be forgotten');

    await builder.start();
    await eventually(async () => (await registered()).includes('image-upload:done-1'), 20_000, 'the complete image to be registered');
    const live = await registered();
    expect(live).toContain('image-delete:done-1');
    expect(live.some((fn) => fn.endsWith(':partial-1'))).toBe(false);
    expect(builder.log()).toContain('removing the unfinished build partial-1');
    expect(existsSync(join(builder.imagesDir, 'images', 'partial-1'))).toBe(false);
    // gearmand requeued the killed build; the restarted builder runs it from scratch.
    await eventually(() => readdirSync(join(builder.imagesDir, 'staging')).length <= 1);
  });
});
