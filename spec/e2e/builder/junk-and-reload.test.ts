import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClientError } from '../../../src/protocol/client/client-errors.ts';
import { useBuilderBed } from '../../support/builder-bed.ts';
import { tinyImage } from '../../support/builder-process.ts';
import { rejection } from '../../support/rejection.ts';
import { eventually } from '../../support/run.ts';

const failureCode = async (promise: Promise<unknown>): Promise<string> => (await rejection(promise, ClientError)).code;

describe('a running builder', () => {
  const bed = useBuilderBed(() => [tinyImage('tiny'), tinyImage('slow', { env: { TINY_ROOT_SLEEP: '4' } })].join('\n'));
  const { registered } = bed;

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
    expect(await failureCode(bed.client.submit('image-build:tiny', data, { timeoutMs: 30_000 }))).toBe('WORK_FAIL');
    expect(readdirSync(join(bed.builder.imagesDir, 'staging'))).toEqual([]);
  });

  test('junk upload and delete data fail cleanly', async () => {
    await bed.client.submit('image-build:tiny', '{"image-id":"junk-target"}', { timeoutMs: 120_000 });
    await eventually(async () => (await registered()).includes('image-upload:junk-target'));
    expect(await failureCode(bed.client.submit('image-upload:junk-target', '{"provider":', { timeoutMs: 10_000 }))).toBe('WORK_FAIL');
    expect(await failureCode(bed.client.submit('image-upload:junk-target', '{"provider":"nowhere"}', { timeoutMs: 10_000 }))).toBe('WORK_FAIL');
    expect(await failureCode(bed.client.submit('image-delete:junk-target', '{"surprise":1}', { timeoutMs: 10_000 }))).toBe('WORK_FAIL');
    expect(existsSync(join(bed.builder.imagesDir, 'images', 'junk-target', 'tiny.qcow2'))).toBe(true);
  });

  test('after all the junk, a good build succeeds', async () => {
    const result = await bed.client.submit('image-build:tiny', '{"image-id":"after-junk"}', { timeoutMs: 120_000 });
    expect(JSON.parse(Buffer.from(result.data).toString())['image-id']).toBe('after-junk');
  });

  test('SIGHUP adds and removes image-build functions while a build runs, and the build completes', async () => {
    const build = bed.client.submit('image-build:slow', '{"image-id":"during-reload"}', { timeoutMs: 120_000 });
    await eventually(() => existsSync(join(bed.builder.imagesDir, 'staging', 'during-reload')), 60_000, 'the build to start');
    bed.builder.writeConfig([tinyImage('tiny'), tinyImage('added')].join('\n'));
    bed.builder.signal('SIGHUP');
    await eventually(async () => (await registered()).includes('image-build:added'), 10_000, 'the added diskimage');
    const result = await build;
    expect(JSON.parse(Buffer.from(result.data).toString())['image-id']).toBe('during-reload');
    // Its CANT_DO waited for the running build (gearmand would have dropped that job).
    await eventually(async () => !(await registered()).includes('image-build:slow'), 10_000, 'the removed diskimage to go');
    await eventually(async () => (await registered()).includes('image-upload:during-reload'), 30_000);
  });

  test('an invalid configuration on SIGHUP is refused and the old one keeps running', async () => {
    bed.builder.writeConfig('build-workers = "many"');
    bed.builder.signal('SIGHUP');
    await eventually(() => bed.builder.log().includes('reload refused'), 10_000);
    expect(await registered()).toContain('image-build:added');
    const result = await bed.client.submit('image-build:tiny', '{"image-id":"still-serving"}', { timeoutMs: 120_000 });
    expect(JSON.parse(Buffer.from(result.data).toString())['image-id']).toBe('still-serving');
  });

  test('SIGTERM stops the builder with exit code 0 and unregisters it', async () => {
    bed.builder.signal('SIGTERM');
    expect(await bed.builder.exited()).toBe(0);
    await eventually(async () => (await registered()).length === 0, 10_000);
  });
});
