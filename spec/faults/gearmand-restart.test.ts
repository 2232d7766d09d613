import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { ClientError } from '../../src/protocol/client/client-errors.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { type BuilderProcess, startBuilder, tinyImage } from '../support/builder-process.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { type OpenStackPeers, startOpenStack } from '../support/openstack/openstack-peers.ts';
import { rejection } from '../support/rejection.ts';
import { eventually } from '../support/run.ts';

const BUILD_TIMEOUT_MS = 240_000;

/** A tiny-root diskimage written as raw and half a GiB large, so its upload takes a while. */
const BIG_RAW_IMAGE = [
  '[[diskimages]]',
  'name = "big"',
  'elements = ["tiny-root"]',
  'formats = ["raw"]',
  'dib-trace = false',
  'no-tmpfs = true',
  'dib-args = ["-n", "--image-size", "0.5"]',
  'env-vars = { DIB_JOURNAL_SIZE = "4" }',
].join('\n');

describe('gearmand restarts under a running builder (real gearmand, real builder process, real Glance)', () => {
  let gearmand: Gearmand;
  let peers: OpenStackPeers;
  let builder: BuilderProcess;
  let client: Client;

  beforeAll(async () => {
    [gearmand, peers] = await Promise.all([startGearmand(), startOpenStack({ keystone: false })]);
    builder = await startBuilder(
      gearmand,
      [
        `clouds-file = "${peers.cloudsFile}"`,
        'upload-workers = 2',
        tinyImage('tiny'),
        tinyImage('slow', { env: { TINY_ROOT_SLEEP: '12' } }),
        BIG_RAW_IMAGE,
        '[[providers]]',
        'name = "glance"',
        'cloud = "noauth"',
        'image-format = "raw"',
      ].join('\n'),
      ['image-build:tiny', 'image-build:slow', 'image-build:big'],
    );
    client = new Client({ servers: [gearmand], backoff: { initialDelayMs: 100, maxDelayMs: 1_000 }, connectTimeoutMs: 30_000 });
  }, 300_000);

  afterAll(async () => {
    await client?.close();
    await builder?.[Symbol.asyncDispose]();
    await Promise.all([gearmand?.kill(), peers?.stop()]);
  });

  /** Functions the builder has registered on the gearmand running now (a fresh admin connection each time). */
  async function builderFunctions(): Promise<string[]> {
    const admin = new AdminClient(gearmand);
    try {
      const workers = await admin.workers();
      return workers.filter((w) => w.clientId.startsWith('e2e-builder/')).flatMap((w) => w.functions);
    } finally {
      admin.close();
    }
  }

  const registered = (...names: string[]) =>
    eventually(async () => {
      const functions = await builderFunctions();
      return names.every((name) => functions.includes(name));
    }, 60_000, `${names.join(', ')} registered on the restarted gearmand`);

  async function build(name: string, id: string): Promise<void> {
    const result = await client.submit(`image-build:${name}`, JSON.stringify({ 'image-id': id }), { timeoutMs: BUILD_TIMEOUT_MS });
    expect(JSON.parse(Buffer.from(result.data).toString())['image-id']).toBe(id);
  }

  async function upload(id: string, imageName: string): Promise<string> {
    const result = await client.submit(`image-upload:${id}`, JSON.stringify({ provider: 'glance', 'image-name': imageName }), {
      timeoutMs: BUILD_TIMEOUT_MS,
    });
    return JSON.parse(Buffer.from(result.data).toString())['external-id'] as string;
  }

  const onDisk = (id: string) => existsSync(join(builder.imagesDir, 'images', id, 'metadata.json'));
  const glanceImagesNamed = async (name: string) => (await peers.images('noauth')).filter((image) => image.name === name);

  test('while idle: the builder re-registers on the restarted gearmand and a build works', async () => {
    await gearmand.kill();
    await gearmand.restart();
    await registered('image-build:tiny', 'image-build:slow', 'image-build:big');
    await build('tiny', 'after-idle-restart');
    expect(onDisk('after-idle-restart')).toBe(true);
    await registered('image-upload:after-idle-restart', 'image-delete:after-idle-restart');
  }, BUILD_TIMEOUT_MS + 60_000);

  test('while a build runs: the build finishes, its image is committed and registered after the reconnect', async () => {
    const submitted = client.submit('image-build:slow', JSON.stringify({ 'image-id': 'built-through-restart' }), { timeoutMs: BUILD_TIMEOUT_MS });
    await eventually(() => existsSync(join(builder.imagesDir, 'staging', 'built-through-restart')), 120_000, 'the build to start');
    // Watched before the kill: the client may see the connection drop before kill() returns.
    const lost = rejection(submitted, ClientError);
    await gearmand.kill();
    // gearmand keeps no queue: the submitter loses the job. The builder must not lose the image.
    expect((await lost).code).toBe('CONNECTION_LOST');
    expect(existsSync(join(builder.imagesDir, 'staging', 'built-through-restart'))).toBe(true);
    await gearmand.restart();
    await eventually(() => onDisk('built-through-restart'), BUILD_TIMEOUT_MS, 'the image to be committed');
    expect(readdirSync(join(builder.imagesDir, 'images', 'built-through-restart'))).toContain('slow.qcow2');
    expect(readdirSync(join(builder.imagesDir, 'staging'))).toEqual([]);
    await registered('image-upload:built-through-restart', 'image-delete:built-through-restart', 'image-build:slow');
    // Served: a fresh job through the restarted gearmand.
    await build('tiny', 'after-build-restart');
  }, BUILD_TIMEOUT_MS * 2);

  test('while an upload runs: Glance ends with one active image or none, never a partial one; uploads still work', async () => {
    await build('big', 'big-1');
    await registered('image-upload:big-1');
    const imageName = `through-restart-${Date.now()}`;
    let killing: Promise<void> | undefined;
    const uploading = client.submit('image-upload:big-1', JSON.stringify({ provider: 'glance', 'image-name': imageName }), {
      timeoutMs: BUILD_TIMEOUT_MS,
      onStatus: (sent, total) => {
        if (sent < total) killing ??= gearmand.kill();
      },
    });
    const outcome = await uploading.then(
      () => 'completed before the kill' as const,
      (err: unknown) => err,
    );
    if (outcome !== 'completed before the kill') {
      expect(outcome instanceof ClientError && outcome.code).toBe('CONNECTION_LOST');
    }
    await killing;
    await gearmand.restart();
    // The upload goes on (or is cleaned up) on the builder's side; wait for Glance to settle.
    const settled = await eventually(
      async () => {
        const images = await glanceImagesNamed(imageName);
        return images.every((image) => image.status === 'active') && images;
      },
      BUILD_TIMEOUT_MS,
      `no queued or saving image named ${imageName}`,
    );
    expect(settled.length).toBeLessThanOrEqual(1);
    for (const image of settled) expect(image).toMatchObject({ status: 'active', nodepool_build_id: 'big-1' });

    await registered('image-upload:big-1', 'image-delete:big-1');
    expect(onDisk('big-1')).toBe(true);
    const again = `after-restart-${Date.now()}`;
    const externalId = await upload('big-1', again);
    expect(await glanceImagesNamed(again)).toEqual([expect.objectContaining({ id: externalId, status: 'active' })]);
    // Nothing in Glance is left half-written.
    expect((await peers.images('noauth')).filter((image) => image.status !== 'active')).toEqual([]);
    expect(peers.secrets.filter((secret) => builder.log().includes(secret))).toEqual([]);
  }, BUILD_TIMEOUT_MS * 3);
});
