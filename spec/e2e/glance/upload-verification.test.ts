import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobFailure } from '../../../src/errors/job-failure.ts';
import { createGlanceUploaders } from '../../../src/uploaders/glance/uploaders-by-provider.ts';
import { captureLogs } from '../../support/log-capture.ts';
import { type GlanceServer, launchGlance, prepareGlance } from '../../support/openstack/glance-server.ts';
import { type TestImageFile, randomImageFile, testProvider, uploadJob } from '../../support/openstack/upload-job.ts';

const MiB = 1024 * 1024;

/** Flips every bit of one byte in place: the file keeps its size, only its content changes. */
async function flipByte(path: string, position: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, position);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, position);
  } finally {
    await handle.close();
  }
}

/**
 * By default an upload streams the file unhashed and compares what a real Glance computed of
 * what it stored (checksum, and os_hash_value when the record holds its algorithm) with the
 * build's record. The failure messages show which comparison caught a difference: "… of the file
 * sent" would mean the file was hashed here on its way out.
 */
describe('upload verification against real no-auth Glances', () => {
  let work: string;
  let glance: GlanceServer;
  let sha256Glance: GlanceServer;
  let cloudsFile: string;
  let record: TestImageFile;
  const logs = captureLogs();
  const wrong = (hex: string) => (hex[0] === '0' ? '1' : '0').repeat(hex.length);

  const uploaders = () => createGlanceUploaders({ logger: logs, cloudsFile, env: {} });
  const imagesNamed = async (server: GlanceServer, name: string) => {
    const list = (await (await fetch(`${server.url}/v2/images?limit=1000`)).json()) as { images: Array<Record<string, unknown>> };
    return list.images.filter((image) => image.name === name);
  };
  const failureOf = async (promise: Promise<unknown>) => {
    const err = await promise.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailure);
    return err as JobFailure;
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'upload-verification-'));
    let file: TestImageFile;
    [glance, sha256Glance, file] = await Promise.all([
      prepareGlance(join(work, 'glance')).then(launchGlance),
      prepareGlance(join(work, 'glance-sha256'), { hashingAlgorithm: 'sha256' }).then(launchGlance),
      randomImageFile(work, 4 * MiB + 3, 'built.raw'),
    ]);
    record = file;
    cloudsFile = join(work, 'clouds.yaml');
    await writeFile(
      cloudsFile,
      `clouds:\n  noauth:\n    auth_type: none\n    endpoint: ${glance.url}\n  sha256:\n    auth_type: none\n    endpoint: ${sha256Glance.url}\n`,
    );
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled([glance?.stop(), sha256Glance?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  test("a byte flipped on disk after the build (same size) is caught by Glance's checksum, and no image is left", async () => {
    const copy = join(work, 'corrupted.raw');
    await writeFile(copy, await readFile(record.path));
    await flipByte(copy, 1_234_567);
    const corruptedMd5 = createHash('md5').update(await readFile(copy)).digest('hex');
    const upload = uploaders();
    const provider = testProvider();
    const job = uploadJob({ ...record, path: copy }, provider);
    const failure = await failureOf(upload(provider).upload(job));
    await upload.close();
    expect(failure.code).toBe('VERIFY_FAILED');
    expect(failure.message).toContain(`Glance checksum is ${corruptedMd5}, not ${record.md5}`);
    expect(failure.message).not.toContain('of the file sent');
    expect(job.progressed.at(-1)).toEqual([record.size, record.size]); // every byte went out before the check
    expect(await imagesNamed(glance, job.imageName)).toEqual([]);
  });

  test("the default path hashes nothing: a right file whose record md5 is wrong fails on Glance's checksum alone", async () => {
    const upload = uploaders();
    const provider = testProvider();
    const job = uploadJob({ ...record, md5: wrong(record.md5) }, provider);
    const failure = await failureOf(upload(provider).upload(job));
    await upload.close();
    expect(failure.code).toBe('VERIFY_FAILED');
    expect(failure.message).toContain(`Glance checksum is ${record.md5}, not ${wrong(record.md5)}`);
    expect(failure.message).not.toContain('of the file');
    expect(await imagesNamed(glance, job.imageName)).toEqual([]);
  });

  test('a right file and record: active, with the record\'s md5 as checksum and no warning', async () => {
    logs.lines.length = 0;
    const upload = uploaders();
    const provider = testProvider();
    const job = uploadJob(record, provider);
    const result = await upload(provider).upload(job);
    await upload.close();
    const [image] = await imagesNamed(glance, job.imageName);
    expect(image).toMatchObject({ id: result.externalId, status: 'active', checksum: record.md5, size: record.size, os_hash_algo: 'sha512' });
    expect(logs.at('warn')).toEqual([]);
  });

  test("with Glance's hashing_algorithm = sha256, os_hash_value is compared with the record's sha256", async () => {
    const upload = uploaders();
    const provider = testProvider({ cloud: 'sha256' });
    const job = uploadJob({ ...record, sha256: wrong(record.sha256) }, provider);
    const failure = await failureOf(upload(provider).upload(job));
    expect(failure.code).toBe('VERIFY_FAILED');
    expect(failure.message).toContain(`Glance os_hash_value (sha256) is ${record.sha256}, not ${wrong(record.sha256)}`);
    expect(failure.message).not.toContain('Glance checksum');
    expect(failure.message).not.toContain('of the file');
    expect(await imagesNamed(sha256Glance, job.imageName)).toEqual([]);

    const good = uploadJob(record, provider);
    const result = await upload(provider).upload(good);
    await upload.close();
    const [image] = await imagesNamed(sha256Glance, good.imageName);
    expect(image).toMatchObject({ id: result.externalId, status: 'active', os_hash_algo: 'sha256', os_hash_value: record.sha256 });
  });

  test('upload-hashing = "in-stream" also hashes what was sent: a wrong record fails on both the file sent and Glance', async () => {
    const upload = uploaders();
    const provider = testProvider({ uploadHashing: 'in-stream' });
    const job = uploadJob({ ...record, md5: wrong(record.md5) }, provider);
    const failure = await failureOf(upload(provider).upload(job));
    expect(failure.message).toContain(`md5 of the file sent is ${record.md5}, not ${wrong(record.md5)}`);
    expect(failure.message).toContain(`Glance checksum is ${record.md5}, not ${wrong(record.md5)}`);
    expect(await imagesNamed(glance, job.imageName)).toEqual([]);
    const good = uploadJob(record, provider);
    const result = await upload(provider).upload(good);
    await upload.close();
    expect((await imagesNamed(glance, good.imageName)).map((image) => image.id)).toEqual([result.externalId]);
  });
});
