import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomUUID } from 'node:crypto';
import type { Client } from '../../../src/protocol/client/client.ts';
import type { OpenStackPeers } from '../../support/openstack/openstack-peers.ts';
import { seedQcow2Image } from '../../support/openstack/seeded-image.ts';
import { testProvider } from '../../support/openstack/upload-job.ts';
import { type GlanceWorkerBed, startGlanceWorkerBed } from './worker-bed.ts';

/** image-upload's optional keys from the scheduler (issue 14): the Glance id it chose, and the tags. */
describe('image-upload with "upload-id", "system-id" and "external-id", through gearmand into a real Glance', () => {
  let bed: GlanceWorkerBed;
  let peers: OpenStackPeers;
  let client: Client;

  beforeAll(async () => {
    bed = await startGlanceWorkerBed({
      tempPrefix: 'glance-tags-test-',
      clientId: 'tags-e2e',
      seed: (repository) => seedQcow2Image(repository, 'seed-0001', { randomBytes: 1024 * 1024 }),
      providers: [testProvider({ name: 'cloud-a', cloud: 'noauth', imageFormat: 'qcow2' })],
      tagBuilder: true,
    });
    ({ peers, client } = bed);
  }, 300_000);

  afterAll(async () => {
    await bed?.close();
  });

  const upload = async (data: Record<string, unknown>) => {
    const result = await client.submit('image-upload:seed-0001', JSON.stringify({ provider: 'cloud-a', ...data }), { timeoutMs: 120_000 });
    return JSON.parse(Buffer.from(result.data).toString()) as Record<string, unknown>;
  };
  const glanceImage = async (id: string) => (await peers.images('noauth')).find((i) => i.id === id);

  const chosen = randomUUID().toUpperCase();

  test('the image gets the Glance id the scheduler chose, tagged with nodepool_upload_id and nodepool_system_id', async () => {
    const result = await upload({ 'image-name': 'tagged', 'upload-id': 'upload-0001', 'system-id': 'sys-a', 'external-id': chosen });
    expect(result['external-id']).toBe(chosen.toLowerCase());
    expect(await glanceImage(chosen.toLowerCase())).toMatchObject({
      name: 'tagged',
      status: 'active',
      nodepool_build_id: 'seed-0001',
      nodepool_builder: 'tags-e2e',
      nodepool_upload_id: 'upload-0001',
      nodepool_system_id: 'sys-a',
    });
  });

  test('EXTERNAL_ID_TAKEN: a second upload with the same external-id fails clearly and leaves the first image as it was', async () => {
    const error = await upload({ 'image-name': 'again', 'upload-id': 'upload-0002', 'external-id': chosen }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ code: 'WORK_FAIL', message: expect.stringContaining('EXTERNAL_ID_TAKEN') });
    expect(await glanceImage(chosen.toLowerCase())).toMatchObject({ name: 'tagged', status: 'active', nodepool_upload_id: 'upload-0001' });
  });

  test('without the new keys (nodepool 0.3): a random id and no scheduler tags', async () => {
    const result = await upload({ 'image-name': 'plain' });
    const image = await glanceImage(String(result['external-id']));
    expect(image).toMatchObject({ name: 'plain', status: 'active', nodepool_build_id: 'seed-0001' });
    expect(image).not.toHaveProperty('nodepool_upload_id');
    expect(image).not.toHaveProperty('nodepool_system_id');
  });

  test('a bad "external-id" is refused before anything reaches Glance', async () => {
    const before = (await peers.images('noauth')).length;
    const error = await upload({ 'external-id': 'not-a-uuid' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ code: 'WORK_FAIL', message: expect.stringContaining('"external-id" must be a UUID') });
    expect((await peers.images('noauth')).length).toBe(before);
  });
});
