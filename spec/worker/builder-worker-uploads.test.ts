import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { ClientError } from '../../src/protocol/client/client-errors.ts';
import type { UploadJob } from '../../src/uploaders/uploader.ts';
import { BuilderWorker } from '../../src/worker/builder-worker.ts';
import type { Metrics } from '../../src/worker/metrics.ts';
import { ImageRepository } from '../../src/images/repository.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { captureLogs } from '../support/log-capture.ts';
import { rejection } from '../support/rejection.ts';
import { eventually } from '../support/run.ts';

// The upload path through the uploader interface, with a test uploader standing in for Glance
// (the real one has its own e2e tests against Glance).
describe('image-upload and image-delete through the uploader interface (test uploader)', () => {
  let gearmand: Gearmand;
  let worker: BuilderWorker;
  let client: Client;
  let admin: AdminClient;
  let imagesDir: string;
  const uploads: UploadJob[] = [];
  let releaseUpload: (() => void) | undefined;
  /** What the worker reported to its metrics (statsd, Prometheus), durations left out. */
  const reports: string[] = [];
  const recorder: Metrics = {
    buildFinished: (image, rc) => void reports.push(`build ${image} ${rc}`),
    uploadFinished: (image, provider, _ms, bytes) => void reports.push(`upload ${image} ${provider} ok ${bytes} bytes`),
    uploadFailed: (image, provider) => void reports.push(`upload ${image} ${provider} failed`),
    workerState: () => {},
    close: () => {},
  };

  beforeAll(async () => {
    gearmand = await startGearmand();
    imagesDir = mkdtempSync(join(tmpdir(), 'uploads-'));
    // One image already on disk, as a previous build would have left it.
    const seed = new ImageRepository(imagesDir, captureLogs());
    await seed.recover();
    const staging = await seed.stage('seeded-1');
    writeFileSync(join(staging.dir, 'tiny.qcow2'), 'not really an image');
    await seed.commit(staging, {
      id: 'seeded-1',
      name: 'tiny',
      formats: { qcow2: { file: 'tiny.qcow2', size: 19, md5: 'aa', sha256: 'bb' } },
      build: { builder: 'dib', builderVersion: '3.13.0', host: 'h', started: '2026-01-01T00:00:00Z', finished: '2026-01-01T00:00:01Z', log: '/x' },
    });
    const config = parseConfig(
      [
        `images-dir = "${imagesDir}"`,
        'client-id = "uploads-test"',
        '[[providers]]',
        'name = "cloud-a"',
        'cloud = "test"',
        'image-name-format = "{image_name}-{image_id}"',
        '[[providers]]',
        'name = "cloud-raw"',
        'cloud = "test"',
        'image-format = "raw"',
      ].join('\n'),
      join(imagesDir, 'builder.toml'),
    );
    const logs = captureLogs();
    worker = new BuilderWorker(
      config,
      {
        logger: logs,
        repository: new ImageRepository(imagesDir, logs),
        metrics: recorder,
        uploaderFor: () => ({
          async upload(job) {
            uploads.push(job);
            job.progress(0, job.size);
            if (job.imageName.includes('slow')) await new Promise<void>((resolve) => (releaseUpload = resolve));
            job.progress(job.size, job.size);
            return { externalId: `glance-${uploads.length}`, extras: { size: job.size } };
          },
        }),
      },
      [gearmand],
    );
    await worker.start();
    client = new Client({ servers: [gearmand] });
    admin = new AdminClient(gearmand);
  });

  afterAll(async () => {
    admin.close();
    await client.close();
    await worker.stop(1000);
    await gearmand.kill();
  });

  const registered = async () => (await admin.status()).filter((row) => row.workers > 0).map((row) => row.function);

  test('an image found on disk at startup is registered, and its upload returns the external id', async () => {
    await eventually(async () => (await registered()).includes('image-upload:seeded-1'));
    const statuses: string[] = [];
    const result = await client.submit('image-upload:seeded-1', '{"provider":"cloud-a"}', {
      timeoutMs: 10_000,
      onStatus: (n, d) => statuses.push(`${n}/${d}`),
    });
    expect(JSON.parse(Buffer.from(result.data).toString())).toEqual({ 'external-id': 'glance-1', size: 19 });
    // WORK_STATUS counts KiB (the wire contract): 19 bytes are 1 KiB, rounded up.
    expect(statuses).toEqual(['0/1', '1/1']);
    expect(uploads[0]).toMatchObject({ imageId: 'seeded-1', imageName: 'tiny-seeded-1', format: 'qcow2', size: 19, path: join(imagesDir, 'images', 'seeded-1', 'tiny.qcow2') });
  });

  test('a provider whose format the image lacks fails cleanly when no converter is configured', async () => {
    const err = await rejection(client.submit('image-upload:seeded-1', '{"provider":"cloud-raw"}', { timeoutMs: 10_000 }), ClientError);
    expect(err.code).toBe('WORK_FAIL');
  });

  test('the metrics get each upload: a success with the file\'s bytes, a failure with its image and provider', () => {
    expect(reports).toEqual(['upload tiny cloud-a ok 19 bytes', 'upload tiny cloud-raw failed']);
  });

  test('a delete during an upload waits for it, refuses new uploads, then removes the image and both functions', async () => {
    const upload = client.submit('image-upload:seeded-1', '{"provider":"cloud-a","image-name":"slow-one"}', { timeoutMs: 10_000 });
    await eventually(() => releaseUpload !== undefined);
    const deletion = client.submit('image-delete:seeded-1', '""', { timeoutMs: 10_000 });
    await Bun.sleep(200);
    expect(existsSync(join(imagesDir, 'images', 'seeded-1', 'tiny.qcow2'))).toBe(true);
    releaseUpload!();
    expect(JSON.parse(Buffer.from((await upload).data).toString())['external-id']).toBe('glance-2');
    expect(Buffer.from((await deletion).data).toString()).toBe('{}');
    expect(existsSync(join(imagesDir, 'images', 'seeded-1'))).toBe(false);
    await eventually(async () => !(await registered()).some((fn) => fn.endsWith(':seeded-1')));
  });
});
