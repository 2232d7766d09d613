import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClientError } from '../../../src/protocol/client/client-errors.ts';
import { useBuilderBed } from '../../support/builder-bed.ts';
import { type BuilderProcess, tinyImage } from '../../support/builder-process.ts';
import { rejection } from '../../support/rejection.ts';
import { eventually, run } from '../../support/run.ts';

const failure = (promise: Promise<unknown>) => rejection(promise, ClientError);

/** disk-image-create processes still running for a staging directory of this builder. */
async function dibProcesses(builder: BuilderProcess): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'pid,args']);
  return stdout.split('\n').filter((line) => line.includes('disk-image-create') && line.includes(builder.imagesDir));
}

describe('builds that fail', () => {
  const bed = useBuilderBed(() =>
    [
      tinyImage('broken', { env: { TINY_ROOT_FAIL: '1' } }),
      // Sleeps far past the client's wait: a WORK_FAIL can only come from the build-timeout kill.
      tinyImage('slow', { env: { TINY_ROOT_SLEEP: '3600' }, extra: 'build-timeout = "3s"' }),
      tinyImage('tiny'),
    ].join('\n'),
  );

  const leftovers = () => [
    ...readdirSync(join(bed.builder.imagesDir, 'staging')),
    ...readdirSync(join(bed.builder.imagesDir, 'images')),
  ];

  test('a failing element gives WORK_FAIL and leaves no files', async () => {
    const err = await failure(bed.client.submit('image-build:broken', JSON.stringify({ 'image-id': 'broken-1' }), { timeoutMs: 120_000 }));
    expect(err.code).toBe('WORK_FAIL');
    expect(leftovers()).toEqual([]);
    await eventually(() => /build broken broken-1 failed: .*exited with 3/.test(bed.builder.log()), 5000, 'the failure in the log');
    expect(bed.builder.log()).toContain('tiny-root: failing because TINY_ROOT_FAIL=1');
    expect((await bed.admin.status()).some((row) => row.function === 'image-upload:broken-1')).toBe(false);
  });

  test('a build past its build-timeout is killed with its whole process group', async () => {
    const err = await failure(bed.client.submit('image-build:slow', JSON.stringify({ 'image-id': 'slow-1' }), { timeoutMs: 120_000 }));
    expect(err.code).toBe('WORK_FAIL');
    await eventually(() => bed.builder.log().includes('the build timed out after 3000 ms'), 5000, 'the timeout in the log');
    expect(leftovers()).toEqual([]);
    await eventually(async () => (await dibProcesses(bed.builder)).length === 0, 15_000, 'DIB processes to be gone');
  });

  test('the build slot is free again: a good build runs after the failures', async () => {
    const result = await bed.client.submit('image-build:tiny', JSON.stringify({ 'image-id': 'good-1' }), { timeoutMs: 120_000 });
    expect(JSON.parse(Buffer.from(result.data).toString())).toMatchObject({ 'image-id': 'good-1' });
    expect(existsSync(join(bed.builder.imagesDir, 'images', 'good-1', 'tiny.qcow2'))).toBe(true);
  });

  test('a build id that exists is refused and the image is not touched', async () => {
    const err = await failure(bed.client.submit('image-build:tiny', JSON.stringify({ 'image-id': 'good-1' }), { timeoutMs: 30_000 }));
    expect(err.code).toBe('WORK_FAIL');
    await eventually(() => bed.builder.log().includes('image id exists: good-1'), 5000, 'the refusal in the log');
    expect(existsSync(join(bed.builder.imagesDir, 'images', 'good-1', 'tiny.qcow2'))).toBe(true);
  });
});
