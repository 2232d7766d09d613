import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { Client } from '../../src/protocol/client/client.ts';
import type { ImageRecord } from '../../src/images/image-record.ts';
import { ImageRepository } from '../../src/images/repository.ts';
import { type BuilderProcess, startBuilder } from '../support/builder-process.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { captureLogs } from '../support/log-capture.ts';
import { type OpenStackPeers, startOpenStack } from '../support/openstack/openstack-peers.ts';
import { seedQcow2Image } from '../support/openstack/seeded-image.ts';
import { fdCount, rss } from '../support/process-stats.ts';
import { eventually } from '../support/run.ts';

const MiB = 1024 * 1024;
const UPLOAD_WORKERS = 4;
const JOBS = 200;
const SEEDED = 4;
const RSS_LIMIT = 250 * MiB;
/** Descriptors the builder may hold after the run beyond its warmed-up count (a pooled connection opened late). */
const FD_MARGIN = 3;

interface LoadSamples {
  maxRunning: number;
  maxSaving: number;
  maxRss: number;
}

describe('200 uploads queued against upload-workers = 4', () => {
  let root: string;
  let gearmand: Gearmand;
  let peers: OpenStackPeers;
  let builder: BuilderProcess;
  let client: Client;
  let admin: AdminClient;
  const seeded: ImageRecord[] = [];
  const externalIds: string[] = [];

  const upload = async (imageId: string, imageName: string): Promise<string> => {
    const result = await client.submit(`image-upload:${imageId}`, JSON.stringify({ provider: 'glance', 'image-name': imageName }), {
      timeoutMs: 900_000,
    });
    return (JSON.parse(Buffer.from(result.data).toString()) as { 'external-id': string })['external-id'];
  };

  /** Uploads running on gearmand and images Glance is receiving, and the builder's RSS, until `done`. */
  const sample = (done: () => boolean): Promise<LoadSamples> => {
    const samples: LoadSamples = { maxRunning: 0, maxSaving: 0, maxRss: 0 };
    const gearman = (async () => {
      while (!done()) {
        const running = (await admin.status())
          .filter((row) => row.function.startsWith('image-upload:'))
          .reduce((sum, row) => sum + row.running, 0);
        samples.maxRunning = Math.max(samples.maxRunning, running);
        samples.maxRss = Math.max(samples.maxRss, rss(builder.pid));
        await Bun.sleep(50);
      }
    })();
    const glance = (async () => {
      while (!done()) {
        const response = await fetch(`${peers.glance.url}/v2/images?status=saving&limit=1000`);
        const saving = ((await response.json()) as { images: unknown[] }).images.length;
        samples.maxSaving = Math.max(samples.maxSaving, saving);
        await Bun.sleep(500);
      }
    })();
    return Promise.all([gearman, glance]).then(() => samples);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'upload-load-test-'));
    const imagesDir = join(root, 'images');
    [gearmand, peers] = await Promise.all([startGearmand(), startOpenStack({ keystone: false })]);
    // Seeded before the builder starts, so it finds them on disk and registers their uploads.
    const repository = new ImageRepository(imagesDir, captureLogs());
    await repository.recover();
    for (let i = 0; i < SEEDED; i++) {
      seeded.push((await seedQcow2Image(repository, `load-${i}`, { randomBytes: 2 * MiB + i * 4096 })).record);
    }
    const body = [
      `upload-workers = ${UPLOAD_WORKERS}`,
      `clouds-file = "${peers.cloudsFile}"`,
      '[[providers]]',
      'name = "glance"',
      'cloud = "noauth"',
      'image-format = "qcow2"',
    ].join('\n');
    builder = await startBuilder(
      gearmand,
      body,
      seeded.map((image) => `image-upload:${image.id}`),
      { imagesDir },
    );
    client = new Client({ servers: [gearmand] });
    admin = new AdminClient(gearmand);
  }, 300_000);

  afterAll(async () => {
    admin?.close();
    await client?.close();
    await builder?.[Symbol.asyncDispose]();
    await Promise.all([peers?.stop(), gearmand?.kill()]);
    if (root) await rm(root, { recursive: true, force: true });
  }, 120_000);

  test('all complete with distinct ids, never more than 4 at once, bounded RSS, no descriptor leak', async () => {
    // Warm up every upload slot once, so connections the builder keeps open on purpose are in the baseline.
    externalIds.push(...(await Promise.all(seeded.map((image) => upload(image.id, `warmup-${image.id}`)))));
    const settle = async () => {
      await Bun.sleep(2_000);
      return fdCount(builder.pid);
    };
    const fdsBefore = await settle();

    let finished = false;
    const sampling = sample(() => finished);
    const jobs = Array.from({ length: JOBS }, (_, i) => seeded[i % SEEDED]!);
    let ids: string[];
    try {
      ids = await Promise.all(jobs.map((image, i) => upload(image.id, `load-${i}`)));
    } finally {
      finished = true;
    }
    externalIds.push(...ids);
    const samples = await sampling;

    expect(new Set(ids).size).toBe(JOBS);
    const inGlance = new Map((await peers.images('noauth')).map((image) => [image.id as string, image]));
    jobs.forEach((image, i) => {
      const qcow2 = image.formats.qcow2!;
      expect(inGlance.get(ids[i]!)).toMatchObject({ name: `load-${i}`, status: 'active', checksum: qcow2.md5, size: qcow2.size });
    });
    expect([...inGlance.values()].filter((image) => String(image.name).startsWith('load-') && image.status === 'active').length).toBe(JOBS);

    // With 200 queued, every slot fills; none beyond them ever runs.
    expect(samples.maxRunning).toBe(UPLOAD_WORKERS);
    expect(samples.maxSaving).toBeLessThanOrEqual(UPLOAD_WORKERS);
    expect(samples.maxRss).toBeLessThan(RSS_LIMIT);
    const fdsAfter = await eventually(
      async () => {
        const count = await settle();
        return count <= fdsBefore + FD_MARGIN ? count : undefined;
      },
      30_000,
      `the builder's descriptors to come back near ${fdsBefore}`,
    );
    expect(fdsAfter).toBeLessThanOrEqual(fdsBefore + FD_MARGIN);
  }, 900_000);

  test('the builder still serves uploads after the load', async () => {
    const id = await upload(seeded[0]!.id, 'after-load');
    externalIds.push(id);
    expect((await peers.images('noauth')).find((image) => image.id === id)).toMatchObject({ status: 'active' });
  });

  test('the Glance images are deleted again', async () => {
    for (let i = 0; i < externalIds.length; i += 8) {
      await Promise.all(
        externalIds.slice(i, i + 8).map(async (id) => {
          const response = await fetch(`${peers.glance.url}/v2/images/${id}`, { method: 'DELETE' });
          await response.arrayBuffer();
          expect(response.status).toBe(204);
        }),
      );
    }
    expect(await peers.images('noauth')).toEqual([]);
  }, 300_000);
});
