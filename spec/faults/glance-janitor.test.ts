import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeUnfinishedUploads } from '../../src/uploaders/glance/janitor.ts';
import { type GlanceUploaders, createGlanceUploaders } from '../../src/uploaders/glance/uploaders-by-provider.ts';
import { captureLogs } from '../support/log-capture.ts';
import { type OpenStackPeers, startOpenStack } from '../support/openstack/openstack-peers.ts';
import { randomImageFile, testProvider, uploadJob } from '../support/openstack/upload-job.ts';
import { freePort } from '../support/ports.ts';
import { capturedText, expectNoSecrets } from '../support/secrets.ts';

const ME = 'janitor-test-builder';

describe('the startup janitor against a real Glance', () => {
  let peers: OpenStackPeers;
  let work: string;
  let uploaders: GlanceUploaders;
  const logs = captureLogs();

  /** POST /v2/images only: the image stays queued, as after a builder died between create and upload. */
  const createImage = async (properties: Record<string, string>): Promise<string> => {
    const id = randomUUID();
    const response = await fetch(`${peers.glance.url}/v2/images`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, name: `janitor-${id.slice(0, 8)}`, disk_format: 'raw', container_format: 'bare', ...properties }),
    });
    expect(response.status).toBe(201);
    await response.arrayBuffer();
    return id;
  };
  const putData = async (id: string) => {
    const response = await fetch(`${peers.glance.url}/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: randomBytes(4096),
    });
    expect(response.status).toBe(204);
  };
  const statusOf = async (id: string): Promise<string> => {
    const image = (await peers.images('noauth')).find((i) => i.id === id);
    return image === undefined ? 'gone' : String(image.status);
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'glance-janitor-test-'));
    peers = await startOpenStack({ keystone: false });
    uploaders = createGlanceUploaders({ logger: logs, cloudsFile: peers.cloudsFile, env: {}, uploader: { builderId: ME } });
  }, 300_000);

  afterAll(async () => {
    await uploaders?.close();
    await peers?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('an upload tags its image with the builder and the build', async () => {
    const file = await randomImageFile(work, 64 * 1024);
    const provider = testProvider();
    const result = await uploaders(provider).upload(uploadJob(file, provider, { imageId: 'tagged-0001' }));
    const image = (await peers.images('noauth')).find((i) => i.id === result.externalId);
    expect(image).toMatchObject({ status: 'active', nodepool_builder: ME, nodepool_build_id: 'tagged-0001' });
  });

  test("deletes only this builder's unfinished images, across pages", async () => {
    const mine = { nodepool_builder: ME };
    const leftovers = [
      await createImage({ ...mine, nodepool_build_id: 'crashed-1' }),
      await createImage({ ...mine, nodepool_build_id: 'crashed-2' }),
      await createImage({ ...mine, nodepool_build_id: 'crashed-3' }),
    ];
    const finished = await createImage({ ...mine, nodepool_build_id: 'finished-1' });
    await putData(finished);
    const otherBuilders = await createImage({ nodepool_builder: 'another-builder', nodepool_build_id: 'crashed-1' });
    const operators = await createImage({ os_distro: 'debian' });
    const untaggedBuild = await createImage({ nodepool_build_id: 'crashed-4' });
    for (const id of leftovers) expect(await statusOf(id)).toBe('queued');
    expect(await statusOf(finished)).toBe('active');

    const report = await removeUnfinishedUploads({
      builderId: ME,
      providers: [testProvider({ name: 'one' }), testProvider({ name: 'same-cloud' })],
      service: uploaders.service,
      logger: logs,
      signal: AbortSignal.timeout(60_000),
      // Two per page: the three leftovers and the active one take more than one page.
      pageSize: 2,
    });

    expect(report.failed).toEqual([]);
    expect(report.deleted.map((d) => d.id).sort()).toEqual([...leftovers].sort());
    expect(report.deleted.map((d) => d.buildId).sort()).toEqual(['crashed-1', 'crashed-2', 'crashed-3']);
    for (const id of leftovers) expect(await statusOf(id)).toBe('gone');
    expect(await statusOf(finished)).toBe('active');
    expect(await statusOf(otherBuilders)).toBe('queued');
    expect(await statusOf(operators)).toBe('queued');
    expect(await statusOf(untaggedBuild)).toBe('queued');
    for (const id of leftovers) expect(logs.at('info').some((line) => line.includes(`deleted image ${id}`))).toBe(true);
    expectNoSecrets(capturedText(logs.lines), peers.secrets);
  });

  test('an unreachable cloud is a warning, not an error', async () => {
    const cloudsFile = join(work, 'dead-clouds.yaml');
    await writeFile(cloudsFile, `clouds:\n  dead:\n    auth_type: none\n    endpoint: http://127.0.0.1:${await freePort()}\n`);
    const dead = createGlanceUploaders({ logger: logs, cloudsFile, env: {} });
    try {
      const report = await removeUnfinishedUploads({
        builderId: ME,
        providers: [testProvider({ name: 'dead', cloud: 'dead' }), testProvider({ name: 'missing', cloud: 'not-in-the-file' })],
        service: dead.service,
        logger: logs,
        signal: AbortSignal.timeout(60_000),
      });
      expect(report.deleted).toEqual([]);
      expect(report.failed.map((f) => f.cloud).sort()).toEqual(['dead', 'not-in-the-file']);
      expect(logs.at('warn').some((line) => line.includes('could not look for unfinished uploads in cloud "dead"'))).toBe(true);
    } finally {
      await dead.close();
    }
  });

  test('a cloud that never answers: the sweep gives up when its time is over', async () => {
    const silent: Server = createServer(() => {}); // accepts and never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const cloudsFile = join(work, 'silent-clouds.yaml');
    const { port } = silent.address() as { port: number };
    await writeFile(cloudsFile, `clouds:\n  silent:\n    auth_type: none\n    endpoint: http://127.0.0.1:${port}/v2\n`);
    const hanging = createGlanceUploaders({ logger: logs, cloudsFile, env: {} });
    try {
      const report = await removeUnfinishedUploads({
        builderId: ME,
        providers: [testProvider({ name: 'silent', cloud: 'silent' })],
        service: hanging.service,
        logger: logs,
        signal: AbortSignal.timeout(2_000),
      });
      expect(report.failed).toEqual([{ cloud: 'silent', reason: expect.stringContaining('gave up') }]);
    } finally {
      silent.close();
      await hanging.close();
    }
  });
});
