import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildImage, type BuildEnvironment } from '../../src/builders/build-image.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { DiskImageConfig } from '../../src/config/schema.ts';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { ImageRepository } from '../../src/images/repository.ts';
import { captureLogs } from '../support/log-capture.ts';
import { rejection } from '../support/rejection.ts';
import { run } from '../support/run.ts';

const FAKE = resolve('fixtures/builders/fake-image.sh');

function image(extra: string): DiskImageConfig {
  const config = parseConfig(`[[diskimages]]\nname = "fake"\nbuilder = "command"\ncommand = ["${FAKE}"]\n${extra}`, 'test.toml');
  return config.diskimages[0]!;
}

const failureOf = (promise: Promise<unknown>) => rejection(promise, JobFailure);

describe('buildImage with the command builder', () => {
  let root: string;
  let env: BuildEnvironment;
  let repository: ImageRepository;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'build-image-'));
    repository = new ImageRepository(root, captureLogs());
    await repository.recover();
    env = { repository, logDir: join(root, 'logs'), minFreeSpace: 0, host: { elementsPath: [], dibImageCache: undefined }, logger: captureLogs() };
  });

  afterEach(() => {
    expect(readdirSync(join(root, 'staging'))).toEqual([]);
  });

  test('runs the command with IMAGE_NAME, IMAGE_ID, OUTPUT_DIR and FORMATS, and records checksums', async () => {
    const record = await buildImage(env, image('formats = ["qcow2", "raw"]'), 'fake-1');
    const dir = join(root, 'images', 'fake-1');
    const raw = readFileSync(join(dir, 'fake.raw'));
    expect(record.formats.raw).toEqual({
      file: 'fake.raw',
      size: 65536,
      md5: createHash('md5').update(raw).digest('hex'),
      sha256: createHash('sha256').update(raw).digest('hex'),
    });
    expect(record.formats.qcow2?.file).toBe('fake.qcow2');
    expect(record.build.builder).toBe('command');
    const log = readFileSync(record.build.log, 'utf8');
    expect(log).toContain(`building fake (fake-1) into ${join(root, 'staging', 'fake-1')} as qcow2,raw`);
    expect(JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'))).toEqual(record);
  });

  test('a missing output fails the build and nothing is committed', async () => {
    const err = await failureOf(buildImage(env, image('formats = ["qcow2", "raw"]\nenv-vars = { FAKE_MODE = "skip-last" }'), 'fake-2'));
    expect(err.code).toBe('MISSING_OUTPUT');
    expect(err.message).toContain('fake.raw');
    expect(repository.get('fake-2')).toBeUndefined();
    expect(readdirSync(join(root, 'images'))).toEqual([]);
  });

  test('a non-zero exit is a BUILD_FAILED with the exit code', async () => {
    const err = await failureOf(buildImage(env, image('env-vars = { FAKE_MODE = "fail" }'), 'fake-3'));
    expect(err.code).toBe('BUILD_FAILED');
    expect(err.message).toContain('exited with 7');
  });

  test('a qcow2 that is not a qcow2 is refused', async () => {
    const liar = parseConfig(
      `[[diskimages]]\nname = "fake"\nbuilder = "command"\ncommand = ["sh", "-c", "echo nope > $OUTPUT_DIR/fake.qcow2"]`,
      't.toml',
    ).diskimages[0]!;
    expect((await failureOf(buildImage(env, liar, 'fake-4'))).code).toBe('BAD_OUTPUT');
  });

  test.each([
    ['a qcow2 with a backing file', 'qcow2', 'qemu-img create -q -f qcow2 -b /etc/passwd -F raw $OUTPUT_DIR/fake.qcow2 1M', 'UNSAFE_IMAGE', 'has a backing file (/etc/passwd)'],
    ['a raw that is a qcow2', 'raw', 'qemu-img create -q -f qcow2 $OUTPUT_DIR/fake.raw 1M', 'BAD_IMAGE', 'declared raw but is a qcow2 image'],
    ['a vmdk that is not one', 'vmdk', 'head -c 65536 /dev/zero > $OUTPUT_DIR/fake.vmdk', 'BAD_IMAGE', 'not a readable vmdk image'],
  ])('H1: %s is refused at build verification, and nothing is committed', async (_, format, script, code, why) => {
    const hostile = parseConfig(
      `[[diskimages]]\nname = "fake"\nbuilder = "command"\nformats = ["${format}"]\ncommand = ["sh", "-c", "${script}"]`,
      't.toml',
    ).diskimages[0]!;
    const err = await failureOf(buildImage(env, hostile, 'fake-h1'));
    expect([err.code, err.message]).toEqual([code, expect.stringContaining(why)]);
    expect(repository.get('fake-h1')).toBeUndefined();
    expect(readdirSync(join(root, 'images'))).toEqual([]);
  });

  test('the build timeout kills the whole process group', async () => {
    const err = await failureOf(buildImage(env, image('build-timeout = "1s"\nenv-vars = { FAKE_MODE = "hang" }'), 'fake-5'));
    expect(err.code).toBe('BUILD_TIMEOUT');
    const { stdout } = await run('ps', ['-eo', 'args']);
    expect(stdout.split('\n').filter((line) => line === 'sleep 300')).toEqual([]);
  });

  test('an abort (shutdown) kills the build and discards it', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const err = await failureOf(buildImage(env, image('env-vars = { FAKE_MODE = "hang" }'), 'fake-6', { signal: controller.signal }));
    expect(err.code).toBe('BUILD_ABORTED');
  });

  test('min-free-space refuses the build before it starts', async () => {
    const err = await failureOf(buildImage({ ...env, minFreeSpace: 2 ** 60 }, image(''), 'fake-7'));
    expect(err.code).toBe('NO_SPACE');
    expect(err.message).toContain('min-free-space');
  });

  test('an id that exists is refused', async () => {
    await buildImage(env, image(''), 'fake-8');
    expect((await failureOf(buildImage(env, image(''), 'fake-8'))).code).toBe('IMAGE_EXISTS');
  });
});
