import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '../../../src/protocol/client/admin-client.ts';
import { type BuilderProcess, startBuilder, tinyImage } from '../../support/builder-process.ts';
import { type Gearmand, startGearmand } from '../../support/gearmand.ts';
import { eventually, run } from '../../support/run.ts';
import { startUdpListener } from '../../support/udp-listener.ts';

describe('the build → register → delete cycle, driven by the gearman CLI', () => {
  let gearmand: Gearmand;
  let builder: BuilderProcess;
  let admin: AdminClient;
  let statsd: Awaited<ReturnType<typeof startUdpListener>>;

  beforeAll(async () => {
    gearmand = await startGearmand();
    statsd = await startUdpListener();
    builder = await startBuilder(gearmand, `[statsd]\nport = ${statsd.port}\n${tinyImage('tiny')}`);
    admin = new AdminClient(gearmand);
  });

  afterAll(async () => {
    statsd.close();
    admin.close();
    await builder[Symbol.asyncDispose]();
    await gearmand.kill();
  });

  const gearman = (fn: string, data: string) => run('gearman', ['-h', gearmand.host, '-p', String(gearmand.port), '-f', fn], data, 120_000);
  const functions = async () => (await admin.status()).filter((row) => row.workers > 0).map((row) => row.function);

  test('image-build leaves the image and its metadata on disk and registers upload and delete', async () => {
    const result = await gearman('image-build:tiny', JSON.stringify({ 'image-id': 'cycle-1' }));
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ 'image-id': 'cycle-1' });

    const dir = join(builder.imagesDir, 'images', 'cycle-1');
    expect(readdirSync(dir).sort()).toEqual(['metadata.json', 'tiny.qcow2', 'tiny.qcow2.md5', 'tiny.qcow2.sha256']);
    expect(readFileSync(join(dir, 'tiny.qcow2')).subarray(0, 4).toString('latin1')).toBe('QFI\xfb');
    const metadata = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
    const md5 = readFileSync(join(dir, 'tiny.qcow2.md5'), 'utf8').split(/\s+/)[0];
    expect(metadata).toMatchObject({
      id: 'cycle-1',
      name: 'tiny',
      formats: { qcow2: { file: 'tiny.qcow2', md5 } },
      build: { builder: 'dib', builderVersion: expect.stringMatching(/\d+\.\d+/) },
    });
    expect(existsSync(metadata.build.log)).toBe(true);
    expect(readdirSync(join(builder.imagesDir, 'staging'))).toEqual([]);

    await eventually(async () => (await functions()).includes('image-upload:cycle-1'));
    expect(await functions()).toContain('image-delete:cycle-1');
    await eventually(() => statsd.lines.includes('nodepool.dib_image_build.tiny.status.rc:0|g'), 5000, 'the statsd build status');
    expect(statsd.lines).toContain(`nodepool.dib_image_build.tiny.qcow2.size:${metadata.formats.qcow2.size}|g`);
  });

  test('image-delete with nodepool 0.3\'s "" removes every file and both functions', async () => {
    const result = await gearman('image-delete:cycle-1', '""');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({});
    expect(existsSync(join(builder.imagesDir, 'images', 'cycle-1'))).toBe(false);
    await eventually(async () => {
      const live = await functions();
      return !live.includes('image-upload:cycle-1') && !live.includes('image-delete:cycle-1');
    });
    expect(await functions()).toContain('image-build:tiny');
  });
});
