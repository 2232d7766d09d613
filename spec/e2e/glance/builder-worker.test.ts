import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '../../../src/protocol/client/client.ts';
import type { BuilderWorker } from '../../../src/worker/builder-worker.ts';
import type { OpenStackPeers } from '../../support/openstack/openstack-peers.ts';
import { seedQcow2Image } from '../../support/openstack/seeded-image.ts';
import { testProvider } from '../../support/openstack/upload-job.ts';
import { eventually } from '../../support/run.ts';
import { type GlanceWorkerBed, startGlanceWorkerBed } from './worker-bed.ts';

describe('image-upload through gearmand, the BuilderWorker, the converter and a real Glance', () => {
  let bed: GlanceWorkerBed;
  let peers: OpenStackPeers;
  let root: string;
  let worker: BuilderWorker;
  let client: Client;

  beforeAll(async () => {
    bed = await startGlanceWorkerBed({
      tempPrefix: 'glance-worker-test-',
      clientId: 'glance-e2e',
      // The build happened earlier: seed the repository as a build leaves it.
      seed: (repository) => seedQcow2Image(repository, 'seed-0001', { randomBytes: 4 * 1024 * 1024 }),
      providers: [
        testProvider({ name: 'cloud-qcow2', cloud: 'noauth', imageFormat: 'qcow2', meta: { hw_disk_bus: 'scsi' } }),
        testProvider({ name: 'cloud-raw', cloud: 'noauth', imageFormat: 'raw' }),
      ],
      convertFormats: true,
    });
    ({ peers, root, worker, client } = bed);
  }, 300_000);

  afterAll(async () => {
    await bed?.close();
  });

  const submitUpload = async (provider: string, imageName: string) => {
    const statuses: Array<[number, number]> = [];
    const result = await client.submit('image-upload:seed-0001', JSON.stringify({ provider, 'image-name': imageName }), {
      timeoutMs: 120_000,
      onStatus: (n, d) => statuses.push([n, d]),
    });
    return { result: JSON.parse(Buffer.from(result.data).toString()) as Record<string, unknown>, statuses };
  };

  test('the qcow2 the build made: WORK_COMPLETE {"external-id"}, and Glance holds it active with our checksum', async () => {
    const record = worker.repository.get('seed-0001')!;
    const { result, statuses } = await submitUpload('cloud-qcow2', 'seed-from-gearman');
    const id = result['external-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(result).toMatchObject({ checksum: record.formats.qcow2!.md5, size: record.formats.qcow2!.size, format: 'qcow2' });
    const image = (await peers.images('noauth')).find((i) => i.id === id);
    expect(image).toMatchObject({
      name: 'seed-from-gearman',
      status: 'active',
      disk_format: 'qcow2',
      checksum: record.formats.qcow2!.md5,
      nodepool_build_id: 'seed-0001',
      hw_disk_bus: 'scsi',
    });
    // WORK_STATUS counts KiB (the wire contract).
    const kib = Math.ceil(record.formats.qcow2!.size / 1024);
    expect(statuses.at(-1)).toEqual([kib, kib]);
  });

  test('a provider wanting raw: converted by qemu-img, recorded in metadata.json, then uploaded', async () => {
    const { result } = await submitUpload('cloud-raw', 'seed-raw-from-gearman');
    const raw = worker.repository.get('seed-0001')!.formats.raw!;
    expect(raw).toMatchObject({ file: 'tiny.raw', size: 4 * 1024 * 1024, converted: true });
    const onDisk = JSON.parse(await readFile(join(root, 'images', 'images', 'seed-0001', 'metadata.json'), 'utf8'));
    expect(onDisk.formats.raw).toEqual(raw);
    const image = (await peers.images('noauth')).find((i) => i.id === result['external-id']);
    expect(image).toMatchObject({ status: 'active', disk_format: 'raw', checksum: raw.md5, size: raw.size });
  });

  test('image-delete removes the converted file with the rest of the image', async () => {
    await client.submit('image-delete:seed-0001', '""', { timeoutMs: 60_000 });
    await eventually(() => worker.repository.get('seed-0001') === undefined, 10_000, 'the image to go');
    expect(await readFile(join(root, 'images', 'images', 'seed-0001', 'tiny.raw')).catch(() => 'gone')).toBe('gone');
  });
});
