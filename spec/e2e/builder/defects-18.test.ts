/**
 * Regression tests for issue 18 (defects found by running the builder as a hostile operator
 * would), each named after its defect and run against a real gearmand.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../../src/protocol/client/client.ts';
import { ClientError } from '../../../src/protocol/client/client-errors.ts';
import type { UploadJob } from '../../../src/uploaders/uploader.ts';
import { ImageRepository } from '../../../src/images/repository.ts';
import { BuilderWorker } from '../../../src/worker/builder-worker.ts';
import { useBuilderBed } from '../../support/builder-bed.ts';
import { testBuilderConfig } from '../../support/builder-config.ts';
import { tinyImage } from '../../support/builder-process.ts';
import { gearadminStatus } from '../../support/gearadmin.ts';
import { type Gearmand, startGearmand } from '../../support/gearmand.ts';
import { captureLogs } from '../../support/log-capture.ts';
import { testProvider } from '../../support/openstack/upload-job.ts';
import { rejection } from '../../support/rejection.ts';
import { eventually } from '../../support/run.ts';
import { seedStandInImages } from '../../support/stand-in-images.ts';

const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe('F1 (stalling test uploader: it holds the upload until the test lets it go)', () => {
  let gearmand: Gearmand;
  let root: string;
  let worker: BuilderWorker;
  let client: Client;
  const logs = captureLogs();
  let stalled: UploadJob | undefined;
  let letGo: (() => void) | undefined;

  beforeAll(async () => {
    gearmand = await startGearmand();
    root = mkdtempSync(join(tmpdir(), 'defects-18-f1-'));
    await seedStandInImages(join(root, 'images'), ['doomed-1']);
    const config = testBuilderConfig(root, {
      uploadWorkers: 4,
      gearmanServers: [{ host: gearmand.host, port: gearmand.port }],
      providers: [testProvider({ name: 'cloud-a', imageFormat: 'qcow2' })],
    });
    worker = new BuilderWorker(config, {
      logger: logs,
      repository: new ImageRepository(config.imagesDir, logs),
      uploaderFor: () => ({
        async upload(job) {
          stalled = job;
          await new Promise<void>((resolve) => (letGo = resolve));
          return { externalId: 'stand-in-glance-id' };
        },
      }),
    });
    await worker.start();
    client = new Client({ servers: config.gearmanServers });
  });

  afterAll(async () => {
    letGo?.();
    await client?.close();
    await worker?.stop(1_000);
    await gearmand?.kill();
    await rm(root, { recursive: true, force: true });
  });

  test('F1: a second image-delete during an upload registers nothing; after the delete no function of the image is left', async () => {
    const workersOf = async (fn: string) => (await gearadminStatus(gearmand)).get(fn)?.workers ?? 0;
    await eventually(async () => (await workersOf('image-upload:doomed-1')) === 1, 10_000, 'the seeded image to be registered');
    const upload = client.submit('image-upload:doomed-1', '{"provider":"cloud-a"}', { timeoutMs: 30_000 });
    await eventually(() => stalled !== undefined, 10_000, 'the upload to start');
    const first = client.submit('image-delete:doomed-1', '""', { timeoutMs: 30_000 });
    // The first delete took image-upload away (its CANT_DO waits for the running upload) and waits.
    await eventually(() => !worker.registered().includes('image-upload:doomed-1'), 10_000, 'the first delete to begin');
    const second = await rejection(client.submit('image-delete:doomed-1', '""', { timeoutMs: 30_000 }), ClientError);
    expect(second.code).toBe('WORK_FAIL');
    expect(logs.at('warn').some((line) => line.includes('IMAGE_DELETING'))).toBe(true);
    letGo!();
    expect(JSON.parse(Buffer.from((await upload).data).toString())['external-id']).toBe('stand-in-glance-id');
    expect(Buffer.from((await first).data).toString()).toBe('{}');
    expect(existsSync(join(root, 'images', 'images', 'doomed-1'))).toBe(false);
    const status = await gearadminStatus(gearmand);
    expect(status.get('image-upload:doomed-1')?.workers ?? 0).toBe(0);
    expect(status.get('image-delete:doomed-1')?.workers ?? 0).toBe(0);
    expect(worker.registered().filter((fn) => fn.endsWith(':doomed-1'))).toEqual([]);
  });
});

describe('F2 (a builder process on gearmand, reloaded with SIGHUP)', () => {
  const bed = useBuilderBed(() => tinyImage('tiny'));

  test('F2: a SIGHUP sends CAN_DO only for new functions and CANT_DO only for removed ones', async () => {
    for (let reloads = 1; reloads <= 3; reloads++) {
      bed.builder.signal('SIGHUP');
      await eventually(() => count(bed.builder.log(), 'configuration reloaded') === reloads, 10_000, `reload ${reloads}`);
    }
    // Packets of one connection are handled in order: once gearmand has the new function,
    // it has also seen whatever the three reloads before sent.
    bed.builder.writeConfig([tinyImage('tiny'), tinyImage('added')].join('\n'));
    bed.builder.signal('SIGHUP');
    await eventually(async () => (await gearadminStatus(bed.gearmand)).get('image-build:added')?.workers === 1, 10_000, 'the added diskimage');
    let status = await gearadminStatus(bed.gearmand);
    expect(status.get('image-build:tiny')?.workers).toBe(1);
    expect(status.get('image-build:added')?.workers).toBe(1);

    bed.builder.writeConfig(tinyImage('added'));
    bed.builder.signal('SIGHUP');
    await eventually(async () => ((await gearadminStatus(bed.gearmand)).get('image-build:tiny')?.workers ?? 0) === 0, 10_000, 'tiny to go');
    status = await gearadminStatus(bed.gearmand);
    expect(status.get('image-build:added')?.workers).toBe(1);
  });
});
