import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { type FSWatcher, existsSync, watch } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { JobFailedError } from '../../src/protocol/client/client-errors.ts';
import { type BuilderProcess, startBuilder, tinyImage } from '../support/builder-process.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { type OpenStackPeers, startOpenStack } from '../support/openstack/openstack-peers.ts';
import { rejection } from '../support/rejection.ts';
import { eventually } from '../support/run.ts';
import { type SmallFilesystem, mountSmallFilesystem } from '../support/small-filesystem.ts';

const MiB = 1024 * 1024;
const FS_MIB = 64;
const MIN_FREE_MIB = 32;

interface BuildResult {
  readonly 'image-id': string;
  readonly formats: Record<string, { size: number; sha256: string }>;
}

describe('the disk under images-dir fills up', () => {
  let fs: SmallFilesystem;
  let gearmand: Gearmand;
  let peers: OpenStackPeers;
  let builder: BuilderProcess;
  let client: Client;
  let admin: AdminClient;
  let imagesDir: string;
  let dibTmp: string;
  let seedSha256: string;

  const submitBuild = (name: string, id: string) =>
    client.submit(`image-build:${name}`, JSON.stringify({ 'image-id': id }), { timeoutMs: 180_000 });
  const buildResult = (data: Uint8Array) => JSON.parse(Buffer.from(data).toString()) as BuildResult;
  const registered = async () => (await admin.status()).filter((row) => row.workers > 0).map((row) => row.function);
  const sha256Of = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

  beforeAll(async () => {
    fs = await mountSmallFilesystem(FS_MIB);
    imagesDir = join(fs.dir, 'images-dir');
    // DIB builds its root and raw image under TMP_DIR (default /tmp): keep that on the small disk too.
    dibTmp = join(fs.dir, 'dib-tmp');
    await mkdir(dibTmp);
    [gearmand, peers] = await Promise.all([startGearmand(), startOpenStack({ keystone: false })]);
    const body = [
      `clouds-file = "${peers.cloudsFile}"`,
      tinyImage('tiny', { env: { TMP_DIR: dibTmp } }),
      tinyImage('filler', { env: { TMP_DIR: dibTmp, TINY_ROOT_FILL_MB: String(FS_MIB + 36) } }),
      '[[providers]]',
      'name = "glance"',
      'cloud = "noauth"',
      'image-format = "qcow2"',
    ].join('\n');
    builder = await startBuilder(gearmand, body, ['image-build:tiny', 'image-build:filler'], {
      imagesDir,
      minFreeSpace: `${MIN_FREE_MIB}M`,
    });
    client = new Client({ servers: [gearmand] });
    admin = new AdminClient(gearmand);
  }, 300_000);

  afterAll(async () => {
    admin?.close();
    await client?.close();
    // The builder holds files on the small disk: it must be gone before the unmount.
    await builder?.[Symbol.asyncDispose]().catch(() => undefined);
    await fs?.unmount();
    await Promise.all([peers?.stop(), gearmand?.kill()]);
  }, 120_000);

  test('a small build seeds an image on the small disk', async () => {
    const result = buildResult((await submitBuild('tiny', 'seed-1')).data);
    seedSha256 = result.formats.qcow2!.sha256;
    expect(await sha256Of(join(imagesDir, 'images', 'seed-1', 'tiny.qcow2'))).toBe(seedSha256);
    expect(await registered()).toContain('image-upload:seed-1');
  });

  test('a build that fills the disk: WORK_FAIL naming the full disk, staging cleaned, no image registered', async () => {
    const freeBefore = await fs.freeBytes();
    const err = await rejection(submitBuild('filler', 'fill-1'), JobFailedError);
    expect(err.reason).toMatch(/disk is full/);
    expect(err.reason).toMatch(/No space left on device/);

    expect(await readdir(join(imagesDir, 'staging'))).toEqual([]);
    expect(existsSync(join(imagesDir, 'images', 'fill-1'))).toBe(false);
    expect(await registered()).not.toContain('image-upload:fill-1');
    expect(await registered()).not.toContain('image-delete:fill-1');
    // Everything the build wrote is gone again (its log, a few KiB, stays).
    await eventually(async () => (await readdir(dibTmp)).length === 0, 30_000, "DIB's work dirs to be removed");
    await eventually(async () => freeBefore - (await fs.freeBytes()) < MiB, 30_000, 'the space to come back');
    expect(builder.log()).toContain('build filler fill-1 failed: the disk is full');
  });

  test('the image built before the fault is intact', async () => {
    const qcow2 = join(imagesDir, 'images', 'seed-1', 'tiny.qcow2');
    expect(await sha256Of(qcow2)).toBe(seedSha256);
    expect(await readFile(`${qcow2}.sha256`, 'utf8')).toContain(seedSha256);
    expect(await registered()).toEqual(expect.arrayContaining(['image-upload:seed-1', 'image-delete:seed-1']));
  });

  test('below min-free-space a build is refused before DIB starts, and runs once space is freed', async () => {
    const ballast = join(fs.dir, 'ballast');
    await writeFile(ballast, Buffer.alloc((await fs.freeBytes()) - (MIN_FREE_MIB / 2) * MiB));
    expect(await fs.freeBytes()).toBeLessThan(MIN_FREE_MIB * MiB);
    const staged: string[] = [];
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(join(imagesDir, 'staging'), (_event, file) => staged.push(String(file)));
      const err = await rejection(submitBuild('tiny', 'guarded-1'), JobFailedError);
      expect(err.reason).toMatch(/min-free-space/);
      // DIB never ran: nothing was staged and no build log was opened.
      await Bun.sleep(200);
      expect(staged).toEqual([]);
      expect(existsSync(join(imagesDir, 'logs', 'tiny', 'guarded-1.log'))).toBe(false);
      expect(await registered()).not.toContain('image-upload:guarded-1');
    } finally {
      watcher?.close();
      await rm(ballast, { force: true });
    }
    const result = buildResult((await submitBuild('tiny', 'guarded-1')).data);
    expect(result['image-id']).toBe('guarded-1');
  });

  test('after the fault a fresh build succeeds on the same disk', async () => {
    const result = buildResult((await submitBuild('tiny', 'after-1')).data);
    expect(await sha256Of(join(imagesDir, 'images', 'after-1', 'tiny.qcow2'))).toBe(result.formats.qcow2!.sha256);
    expect(await registered()).toContain('image-upload:after-1');
  });

  test('the image from before the fault still uploads to Glance and deletes', async () => {
    const qcow2 = join(imagesDir, 'images', 'seed-1', 'tiny.qcow2');
    const md5 = createHash('md5').update(await readFile(qcow2)).digest('hex');
    const uploaded = await client.submit('image-upload:seed-1', JSON.stringify({ provider: 'glance', 'image-name': 'disk-full-seed' }), {
      timeoutMs: 120_000,
    });
    const externalId = (JSON.parse(Buffer.from(uploaded.data).toString()) as { 'external-id': string })['external-id'];
    const image = (await peers.images('noauth')).find((i) => i.id === externalId);
    expect(image).toMatchObject({ name: 'disk-full-seed', status: 'active', checksum: md5 });
    await fetch(`${peers.glance.url}/v2/images/${externalId}`, { method: 'DELETE' }).then((r) => r.arrayBuffer());

    await client.submit('image-delete:seed-1', '""', { timeoutMs: 60_000 });
    expect(existsSync(join(imagesDir, 'images', 'seed-1'))).toBe(false);
    await eventually(async () => !(await registered()).includes('image-upload:seed-1'), 10_000, 'image-upload:seed-1 to go');
  });
});
