import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '../../../src/protocol/admin-client.ts';
import { Client } from '../../../src/protocol/client.ts';
import { ClientError } from '../../../src/protocol/client-errors.ts';
import { type BuilderProcess, startBuilder, tinyImage } from '../../support/builder-process.ts';
import { type Gearmand, startGearmand } from '../../support/gearmand.ts';
import { eventually } from '../../support/run.ts';

const failureCode = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ClientError) return err.code;
    throw err;
  }
  return 'completed';
};

describe('a running builder', () => {
  let gearmand: Gearmand;
  let builder: BuilderProcess;
  let client: Client;
  let admin: AdminClient;

  beforeAll(async () => {
    gearmand = await startGearmand();
    builder = await startBuilder(gearmand, [tinyImage('tiny'), tinyImage('slow', { env: { TINY_ROOT_SLEEP: '4' } })].join('\n'));
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

  test.each([
    ['not JSON', 'this is not json'],
    ['a JSON array', '[1,2]'],
    ['a missing image-id', '{}'],
    ['an id with a slash', '{"image-id":"a/b"}'],
    ['an id with ..', '{"image-id":"../../etc"}'],
    ['an id starting with a dot', '{"image-id":".hidden"}'],
    ['a non-string id', '{"image-id":42}'],
    ['1 MiB of junk', 'x'.repeat(1024 * 1024)],
  ])('junk build data (%s) fails cleanly without touching the disk', async (_, data) => {
    expect(await failureCode(client.submit('image-build:tiny', data, { timeoutMs: 30_000 }))).toBe('WORK_FAIL');
    expect(readdirSync(join(builder.imagesDir, 'staging'))).toEqual([]);
  });

  test('junk upload and delete data fail cleanly', async () => {
    await client.submit('image-build:tiny', '{"image-id":"junk-target"}', { timeoutMs: 120_000 });
    await eventually(async () => (await registered()).includes('image-upload:junk-target'));
    expect(await failureCode(client.submit('image-upload:junk-target', '{"provider":', { timeoutMs: 10_000 }))).toBe('WORK_FAIL');
    expect(await failureCode(client.submit('image-upload:junk-target', '{"provider":"nowhere"}', { timeoutMs: 10_000 }))).toBe('WORK_FAIL');
    expect(await failureCode(client.submit('image-delete:junk-target', '{"surprise":1}', { timeoutMs: 10_000 }))).toBe('WORK_FAIL');
    expect(existsSync(join(builder.imagesDir, 'images', 'junk-target', 'tiny.qcow2'))).toBe(true);
  });

  test('after all the junk, a good build succeeds', async () => {
    const result = await client.submit('image-build:tiny', '{"image-id":"after-junk"}', { timeoutMs: 120_000 });
    expect(JSON.parse(Buffer.from(result.data).toString())['image-id']).toBe('after-junk');
  });

  test('SIGHUP adds and removes image-build functions while a build runs, and the build completes', async () => {
    const build = client.submit('image-build:slow', '{"image-id":"during-reload"}', { timeoutMs: 120_000 });
    await eventually(() => existsSync(join(builder.imagesDir, 'staging', 'during-reload')), 60_000, 'the build to start');
    builder.writeConfig([tinyImage('tiny'), tinyImage('added')].join('\n'));
    builder.signal('SIGHUP');
    await eventually(async () => {
      const live = await registered();
      return live.includes('image-build:added') && !live.includes('image-build:slow');
    }, 10_000, 'the reload');
    const result = await build;
    expect(JSON.parse(Buffer.from(result.data).toString())['image-id']).toBe('during-reload');
    await eventually(async () => (await registered()).includes('image-upload:during-reload'), 30_000);
  });

  test('an invalid configuration on SIGHUP is refused and the old one keeps running', async () => {
    builder.writeConfig('build-workers = "many"');
    builder.signal('SIGHUP');
    await eventually(() => builder.log().includes('reload refused'), 10_000);
    expect(await registered()).toContain('image-build:added');
    const result = await client.submit('image-build:tiny', '{"image-id":"still-serving"}', { timeoutMs: 120_000 });
    expect(JSON.parse(Buffer.from(result.data).toString())['image-id']).toBe('still-serving');
  });

  test('SIGTERM stops the builder with exit code 0 and unregisters it', async () => {
    builder.signal('SIGTERM');
    expect(await builder.exited()).toBe(0);
    await eventually(async () => (await registered()).length === 0, 10_000);
  });
});
