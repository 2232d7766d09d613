import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageFile, ImageRecord } from '../../../src/images/image-record.ts';
import { ImageRepository } from '../../../src/images/repository.ts';
import type { Client } from '../../../src/protocol/client/client.ts';
import { JobFailedError } from '../../../src/protocol/client/client-errors.ts';
import type { OpenStackPeers } from '../../support/openstack/openstack-peers.ts';
import { testProvider } from '../../support/openstack/upload-job.ts';
import { run } from '../../support/run.ts';
import { type GlanceWorkerBed, startGlanceWorkerBed } from './worker-bed.ts';

async function qemuImg(...args: string[]): Promise<void> {
  const result = await run('qemu-img', args, '', 60_000);
  if (result.code !== 0) throw new Error(`qemu-img ${args.join(' ')}: ${result.stderr}`);
}

async function fileRecord(path: string, file: string): Promise<ImageFile> {
  const bytes = await readFile(path);
  return { file, size: bytes.length, md5: createHash('md5').update(bytes).digest('hex'), sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Commits an image straight into the repository, the way one built before the build-time
 * check (or by a builder that got past it) would sit there: `write` makes its one file.
 */
async function seedImage(repository: ImageRepository, id: string, format: string, file: string, write: (path: string) => Promise<void>): Promise<void> {
  const staging = await repository.stage(id);
  const path = join(staging.dir, file);
  await write(path);
  const record: ImageRecord = {
    id,
    name: 'hostile',
    formats: { [format]: await fileRecord(path, file) },
    build: { builder: 'command', builderVersion: undefined, host: 'test', started: new Date().toISOString(), finished: new Date().toISOString(), log: '' },
  };
  await repository.commit(staging, record);
}

describe('H1: images that refer to host files never reach Glance (real qemu-img, gearmand and Glance)', () => {
  let bed: GlanceWorkerBed;
  let peers: OpenStackPeers;
  let root: string;
  let client: Client;

  beforeAll(async () => {
    bed = await startGlanceWorkerBed({
      tempPrefix: 'self-contained-test-',
      clientId: 'self-contained-e2e',
      seed: async (seeding, bedRoot) => {
        await seedImage(seeding, 'backing-passwd', 'qcow2', 'disk.qcow2', (path) => qemuImg('create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', path, '1M'));
        const dataFile = join(bedRoot, 'outside-data.raw');
        await seedImage(seeding, 'data-file', 'qcow2', 'disk.qcow2', (path) => qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${dataFile}`, path, '1M'));
        await seedImage(seeding, 'vmdk-extent', 'vmdk', 'disk.vmdk', (path) =>
          writeFile(
            path,
            '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 8 FLAT "/etc/passwd" 0\n\nddb.virtualHWVersion = "4"\n',
          ),
        );
        await seedImage(seeding, 'clean-0001', 'qcow2', 'disk.qcow2', (path) => qemuImg('create', '-q', '-f', 'qcow2', path, '1M'));
        await seedImage(seeding, 'raw-disguised', 'raw', 'disk.raw', (path) => qemuImg('create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', path, '1M'));
      },
      providers: [
        testProvider({ name: 'cloud-raw', cloud: 'noauth', imageFormat: 'raw' }),
        testProvider({ name: 'cloud-qcow2', cloud: 'noauth', imageFormat: 'qcow2' }),
        testProvider({ name: 'cloud-vmdk', cloud: 'noauth', imageFormat: 'vmdk' }),
      ],
      convertFormats: true,
    });
    ({ peers, root, client } = bed);
  }, 300_000);

  afterAll(async () => {
    await bed?.close();
  });

  /** The reason of the job's WORK_FAIL; a WORK_COMPLETE fails the test with what Glance got. */
  const failureOf = async (imageId: string, provider: string): Promise<string> => {
    const name = `${imageId}-to-${provider}`;
    try {
      const result = await client.submit(`image-upload:${imageId}`, JSON.stringify({ provider, 'image-name': name }), { timeoutMs: 120_000 });
      throw new Error(`the upload of ${imageId} to ${provider} completed: ${Buffer.from(result.data).toString()}`);
    } catch (err) {
      if (err instanceof JobFailedError) return err.reason ?? '';
      throw err;
    }
  };

  const imageFiles = (id: string) => readdir(join(root, 'images', 'images', id));

  test.each([
    ['backing-passwd', 'cloud-raw', 'has a backing file (/etc/passwd)'],
    ['backing-passwd', 'cloud-qcow2', 'has a backing file (/etc/passwd)'],
    ['data-file', 'cloud-raw', 'has an external data file'],
    ['data-file', 'cloud-qcow2', 'has an external data file'],
    ['vmdk-extent', 'cloud-raw', 'has an extent in another file (/etc/passwd)'],
    ['vmdk-extent', 'cloud-vmdk', 'has an extent in another file (/etc/passwd)'],
    ['raw-disguised', 'cloud-raw', 'is declared raw but is a qcow2 image'],
    ['raw-disguised', 'cloud-qcow2', 'is declared raw but is a qcow2 image'],
  ])('H1: image %s to provider %s is WORK_FAIL (%s), and Glance gets nothing', async (imageId, provider, why) => {
    const before = await imageFiles(imageId);
    const reason = await failureOf(imageId, provider);
    expect(reason).toContain(why);
    expect(reason).toContain('refused');
    expect(await peers.images('noauth')).toEqual([]);
    // No conversion output either: qemu-img convert never ran on it.
    expect(await imageFiles(imageId)).toEqual(before);
  });

  test('H1: a self-contained qcow2 still goes up to both providers', async () => {
    for (const provider of ['cloud-qcow2', 'cloud-raw']) {
      const result = await client.submit('image-upload:clean-0001', JSON.stringify({ provider, 'image-name': `clean-${provider}` }), { timeoutMs: 120_000 });
      const id = JSON.parse(Buffer.from(result.data).toString())['external-id'];
      expect((await peers.images('noauth')).find((i) => i.id === id)).toMatchObject({ status: 'active', name: `clean-${provider}` });
    }
  });
});
