import { AbortReason } from '../../../src/errors/abort-reason.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobFailure } from '../../../src/errors/job-failure.ts';
import { createFormatConverter } from '../../../src/uploaders/convert/format-converter.ts';
import { createGlanceUploaders } from '../../../src/uploaders/glance/uploaders-by-provider.ts';
import { ImageRepository } from '../../../src/images/repository.ts';
import { captureLogs } from '../../support/log-capture.ts';
import { type OpenStackPeers, startOpenStack } from '../../support/openstack/openstack-peers.ts';
import { qemuImgInfo, seedQcow2Image } from '../../support/openstack/seeded-image.ts';
import { type TestImageFile, randomImageFile, testProvider, uploadJob } from '../../support/openstack/upload-job.ts';

const MiB = 1024 * 1024;
const SIZE_CAP = 100 * MiB;

describe('uploads to a no-auth Glance', () => {
  let peers: OpenStackPeers;
  let work: string;
  let small: TestImageFile;
  let big: TestImageFile;
  const logs = captureLogs();
  const uploaders = () => createGlanceUploaders({ logger: logs, cloudsFile: peers.cloudsFile, env: {} });
  const named = async (name: string) => (await peers.images('noauth')).filter((image) => image.name === name);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'glance-noauth-test-'));
    [peers, small, big] = await Promise.all([
      startOpenStack({ keystone: false, imageSizeCap: SIZE_CAP }),
      randomImageFile(work, 3 * MiB + 17, 'small.raw'),
      randomImageFile(work, 60 * MiB, 'big.raw'),
    ]);
  }, 300_000);

  afterAll(async () => {
    await peers?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('PUT: active, our checksum, our metadata, progress up to the total', async () => {
    const upload = uploaders();
    const provider = testProvider({ meta: { hw_disk_bus: 'scsi', os_distro: 'debian' } });
    const job = uploadJob(small, provider, { imageId: 'noauth-0001' });
    const result = await upload(provider).upload(job);
    await upload.close();
    const [image] = await named(job.imageName);
    expect(image).toMatchObject({
      id: result.externalId,
      status: 'active',
      checksum: small.md5,
      size: small.size,
      visibility: 'private',
      hw_disk_bus: 'scsi',
      os_distro: 'debian',
      nodepool_build_id: 'noauth-0001',
      'owner_specified.openstack.sha256': small.sha256,
    });
    expect(job.progressed.length).toBeGreaterThan(0);
    expect(job.progressed.at(-1)).toEqual([small.size, small.size]);
  });

  test('qcow2 → raw and qcow2 → vpc: converted once into the image directory, recorded, uploaded', async () => {
    const repository = new ImageRepository(join(work, 'repo'), logs);
    await repository.recover();
    const { record, rawMd5 } = await seedQcow2Image(repository, 'convert-0001', { randomBytes: 8 * MiB });
    const convert = createFormatConverter({ repository, logger: logs });
    const signal = AbortSignal.timeout(60_000);
    const withRaw = await convert(record, 'raw', signal);
    const withVhd = await convert(withRaw, 'vhd', signal);

    expect(withVhd.formats.raw).toMatchObject({ file: 'tiny.raw', size: 8 * MiB, md5: rawMd5, converted: true });
    expect(withVhd.formats.vhd).toMatchObject({ file: 'tiny.vhd', converted: true });
    expect(repository.get('convert-0001')?.formats).toEqual(withVhd.formats);
    expect(await qemuImgInfo(repository.pathOf('convert-0001', 'tiny.raw'))).toMatchObject({ format: 'raw', 'virtual-size': 8 * MiB });
    // force_size: the VHD's virtual size is the disk's, not rounded up to a CHS geometry.
    expect(await qemuImgInfo(repository.pathOf('convert-0001', 'tiny.vhd'))).toMatchObject({ format: 'vpc', 'virtual-size': 8 * MiB });

    const upload = uploaders();
    for (const format of ['raw', 'vhd'] as const) {
      const file = withVhd.formats[format]!;
      const provider = testProvider({ imageFormat: format });
      const path = repository.pathOf('convert-0001', file.file);
      const result = await upload(provider).upload(uploadJob({ path, size: file.size, md5: file.md5, sha256: file.sha256 }, provider));
      const [image] = (await peers.images('noauth')).filter((i) => i.id === result.externalId);
      expect(image).toMatchObject({ status: 'active', disk_format: format, checksum: file.md5, size: file.size });
    }
    await upload.close();
  });

  test("an image over Glance's size cap is a WORK_FAIL with Glance's 413 message, and no image stays", async () => {
    const over = await randomImageFile(work, SIZE_CAP + 5 * MiB, 'over.raw');
    const upload = uploaders();
    const provider = testProvider();
    const job = uploadJob(over, provider);
    const failure = (await upload(provider).upload(job).catch((err: unknown) => err)) as JobFailure;
    await upload.close();
    expect(failure).toBeInstanceOf(JobFailure);
    expect(failure.code).toBe('TOO_LARGE');
    expect(failure.message).toContain('413');
    expect(await named(job.imageName)).toEqual([]);
    await rm(over.path);
  });

  test("a reserved property is a WORK_FAIL carrying Glance's 403 message", async () => {
    const upload = uploaders();
    const provider = testProvider({ meta: { os_glance_mine: 'x' } });
    const job = uploadJob(small, provider);
    const failure = (await upload(provider).upload(job).catch((err: unknown) => err)) as JobFailure;
    await upload.close();
    expect(failure).toBeInstanceOf(JobFailure);
    expect(failure.code).toBe('FORBIDDEN');
    expect(failure.message).toContain('os_glance_mine');
    expect(await named(job.imageName)).toEqual([]);
  });

  test('upload-timeout mid-upload: WORK_FAIL, and the image is deleted', async () => {
    const upload = uploaders();
    const provider = testProvider({ uploadTimeoutMs: 30_000 });
    const stop = new AbortController();
    const job = uploadJob(big, provider, {
      signal: stop.signal,
      onProgress: (sent) => sent > 4 * MiB && stop.abort(new AbortReason('UPLOAD_TIMEOUT', 'timed out')),
    });
    const failure = (await upload(provider).upload(job).catch((err: unknown) => err)) as JobFailure;
    await upload.close();
    expect(failure).toBeInstanceOf(JobFailure);
    expect(failure.code).toBe('UPLOAD_ABORTED');
    expect(failure.message).toContain('upload-timeout (30 s) expired');
    expect(await named(job.imageName)).toEqual([]);
  });

  test('glance-api killed mid-upload: WORK_FAIL or a successful retry; after a restart no image of the job is left over', async () => {
    const upload = createGlanceUploaders({
      logger: logs,
      cloudsFile: peers.cloudsFile,
      env: {},
      uploader: { retry: { attempts: 4, baseDelayMs: 300, maxDelayMs: 2_000 } },
    });
    const provider = testProvider();
    let restarted: Promise<void> | undefined;
    const job = uploadJob(big, provider, {
      onProgress: (sent) => {
        if (sent > 8 * MiB && !restarted) restarted = peers.glance.kill().then(() => peers.glance.restart());
      },
    });
    const outcome = await upload(provider).upload(job).catch((err: unknown) => err);
    await restarted;
    await upload.close();
    const left = await named(job.imageName);
    if (outcome instanceof Error) {
      expect(outcome).toBeInstanceOf(JobFailure);
      expect(left).toEqual([]);
    } else {
      expect(left.map((i) => [i.id, i.status])).toEqual([[(outcome as { externalId: string }).externalId, 'active']]);
    }
  }, 120_000);
});
