import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomUUID } from 'node:crypto';
import type { Client } from '../../../src/protocol/client/client.ts';
import type { OpenStackPeers } from '../../support/openstack/openstack-peers.ts';
import { seedQcow2Image } from '../../support/openstack/seeded-image.ts';
import { testProvider } from '../../support/openstack/upload-job.ts';
import { type GlanceWorkerBed, startGlanceWorkerBed } from './worker-bed.ts';

const PAGE_SIZE = 2;

/** provider-image-list:<p> and provider-image-delete:<p> (issue 14 §2) through gearmand, on a real Glance. */
describe('the scheduler\'s cloud operations on a builder: provider-image-list and provider-image-delete', () => {
  let bed: GlanceWorkerBed;
  let peers: OpenStackPeers;
  let client: Client;
  /** external id → what the listing must say about it. */
  const tagged = new Map<string, Record<string, unknown>>();
  const untagged: string[] = [];
  /** Uploaded for cloud-b, a provider on the same Glance. */
  let cloudB = '';

  /** An image made straight in Glance (queued, no data), as another tool or an earlier run would leave it. */
  const createInGlance = async (fields: Record<string, string>): Promise<string> => {
    const id = randomUUID();
    const response = await fetch(`${peers.glance.url}/v2/images`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, disk_format: 'raw', container_format: 'bare', ...fields }),
    });
    if (response.status !== 201) throw new Error(`Glance answered ${response.status}: ${await response.text()}`);
    return id;
  };

  beforeAll(async () => {
    bed = await startGlanceWorkerBed({
      tempPrefix: 'provider-images-test-',
      clientId: 'cloud-e2e',
      seed: (repository) => seedQcow2Image(repository, 'seed-0001', { randomBytes: 256 * 1024 }),
      providers: [testProvider({ name: 'cloud-a', cloud: 'noauth', imageFormat: 'qcow2' }), testProvider({ name: 'cloud-b', cloud: 'noauth', imageFormat: 'qcow2' })],
      tagBuilder: true,
      listPageSize: PAGE_SIZE,
      serveClouds: true,
    });
    ({ peers, client } = bed);

    // Two uploads for cloud-a, one for cloud-b, three tagged images left by others (from before
    // the provider tag), two images that are not ours: eight in all, over four pages of two.
    for (const uploadId of ['u-1', 'u-2']) {
      const externalId = randomUUID();
      await submit('image-upload:seed-0001', { provider: 'cloud-a', 'image-name': `up-${uploadId}`, 'upload-id': uploadId, 'system-id': 'sys-a', 'external-id': externalId });
      tagged.set(externalId, { name: `up-${uploadId}`, status: 'active', 'upload-id': uploadId, 'build-id': 'seed-0001', 'system-id': 'sys-a', builder: 'cloud-e2e', provider: 'cloud-a' });
    }
    cloudB = String((await submit('image-upload:seed-0001', { provider: 'cloud-b', 'image-name': 'up-b', 'upload-id': 'u-b', 'system-id': 'sys-a' }))['external-id']);
    for (const n of [3, 4, 5]) {
      const fields = { name: `left-${n}`, nodepool_build_id: `b-${n}`, nodepool_upload_id: `u-${n}`, nodepool_system_id: 'sys-b' };
      tagged.set(await createInGlance(fields), { name: `left-${n}`, status: 'queued', 'upload-id': `u-${n}`, 'build-id': `b-${n}`, 'system-id': 'sys-b', builder: null, provider: null });
    }
    untagged.push(await createInGlance({ name: 'someone-else' }), await createInGlance({ name: 'also-not-ours', nodepool_system_id: 'sys-a' }));
  }, 300_000);

  afterAll(async () => {
    await bed?.close();
  });

  async function submit(fn: string, data: unknown): Promise<Record<string, unknown>> {
    const result = await client.submit(fn, typeof data === 'string' ? data : JSON.stringify(data), { timeoutMs: 120_000 });
    return JSON.parse(Buffer.from(result.data).toString()) as Record<string, unknown>;
  }
  const failure = (fn: string, data: unknown) =>
    submit(fn, data).then(
      (result) => ({ unexpected: result }),
      (err: unknown) => err,
    );
  const listed = async (data: unknown) => (await submit('provider-image-list:cloud-a', data)).images as Array<Record<string, unknown>>;
  const inGlance = async (id: string) => (await peers.images('noauth')).find((image) => image.id === id);

  test('the list pages through Glance and returns exactly the tagged images, each with its tags', async () => {
    expect((await peers.images('noauth')).length).toBeGreaterThan(3 * PAGE_SIZE);
    // Two uploads for cloud-a, three tagged images from before the provider tag, one upload for cloud-b, two not ours.
    for (const data of ['', '{}']) {
      const images = await listed(data);
      expect(images.map((image) => image['external-id']).sort()).toEqual([...tagged.keys()].sort());
      for (const image of images) {
        expect(image).toMatchObject(tagged.get(String(image['external-id']))!);
        expect(new Date(String(image['created-at'])).toISOString().slice(0, 19)).toBe(String(image['created-at']).slice(0, 19));
      }
    }
  });

  test('providers sharing one Glance: each lists its own uploads (nodepool_provider_name) and the images older than that tag', async () => {
    const images = (await submit('provider-image-list:cloud-b', '{}')).images as Array<Record<string, unknown>>;
    const legacy = [...tagged].filter(([, image]) => image.provider === null).map(([id]) => id);
    expect(images.map((image) => image['external-id']).sort()).toEqual([cloudB, ...legacy].sort());
    expect(images.find((image) => image['external-id'] === cloudB)).toMatchObject({ provider: 'cloud-b', 'upload-id': 'u-b', status: 'active' });
  });

  test('{"system-id"} lists only the tagged images of that system', async () => {
    const sysA = [...tagged].filter(([, image]) => image['system-id'] === 'sys-a').map(([id]) => id);
    expect((await listed({ 'system-id': 'sys-a' })).map((image) => image['external-id']).sort()).toEqual(sysA.sort());
    expect(await listed({ 'system-id': 'sys-none' })).toEqual([]);
  });

  test('junk list data is WORK_FAIL, and the builder keeps serving', async () => {
    expect(await failure('provider-image-list:cloud-a', { system_id: 'sys-a' })).toMatchObject({ code: 'WORK_FAIL', message: expect.stringContaining('"system-id"') });
    expect(await failure('provider-image-list:cloud-a', '[1]')).toMatchObject({ code: 'WORK_FAIL', message: expect.stringContaining('not a JSON object') });
    expect((await listed('{}')).length).toBe(tagged.size);
  });

  test('delete removes the image from Glance; a second delete says it is already gone', async () => {
    const [id] = [...tagged.keys()];
    expect(await submit('provider-image-delete:cloud-a', { 'external-id': id })).toEqual({});
    expect(await inGlance(id!)).toBeUndefined();
    expect(await submit('provider-image-delete:cloud-a', { 'external-id': id })).toEqual({ 'already-gone': true });
    expect(await submit('provider-image-delete:cloud-a', { 'external-id': randomUUID() })).toEqual({ 'already-gone': true });
    tagged.delete(id!);
    expect((await listed('{}')).map((image) => image['external-id']).sort()).toEqual([...tagged.keys()].sort());
  });

  test('IMAGE_NOT_OURS: an image without our tags is never deleted', async () => {
    expect(await failure('provider-image-delete:cloud-a', { 'external-id': untagged[0] })).toMatchObject({
      code: 'WORK_FAIL',
      message: expect.stringContaining('IMAGE_NOT_OURS'),
    });
    expect(await inGlance(untagged[0]!)).toMatchObject({ name: 'someone-else' });
  });

  test('delete data without a UUID "external-id" is WORK_FAIL', async () => {
    for (const data of ['', '{}', { 'external-id': 'x' }, { 'external-id': untagged[0], extra: 1 }]) {
      expect(await failure('provider-image-delete:cloud-a', data)).toMatchObject({ code: 'WORK_FAIL' });
    }
    expect(await inGlance(untagged[0]!)).toMatchObject({ name: 'someone-else' });
  });
});
