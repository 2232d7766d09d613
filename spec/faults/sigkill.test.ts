import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { type BuilderProcess, startBuilder, tinyImage } from '../support/builder-process.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { type OpenStackPeers, startOpenStack } from '../support/openstack/openstack-peers.ts';
import { eventually } from '../support/run.ts';
import { expectNoSecrets } from '../support/secrets.ts';

const MiB = 1024 * 1024;

/** Live processes whose command line mentions `path` (zombies have none). */
async function processesMentioning(path: string): Promise<Array<{ pid: number; cmdline: string }>> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
    if (cmdline.includes(path)) found.push({ pid, cmdline });
  }
  return found;
}

/**
 * A submitter that goes away before the worker dies: gearmand then drops the job instead of
 * handing it to the restarted builder, so what the restart finds is only what the crash left.
 */
async function abandonedSubmit(server: Gearmand, fn: string, payload: object): Promise<{ abandon(): Promise<void> }> {
  const client = new Client({ servers: [server] });
  client.submit(fn, JSON.stringify(payload), { timeoutMs: 600_000 }).catch(() => undefined);
  return { abandon: () => client.close() };
}

describe('the builder process SIGKILLed and restarted', () => {
  let gearmand: Gearmand;
  let peers: OpenStackPeers;
  let proxy: FaultProxy;
  let builder: BuilderProcess;
  let client: Client;
  let admin: AdminClient;
  let work: string | undefined;

  const registered = async () => (await admin.status()).filter((row) => row.workers > 0).map((row) => row.function);
  const glanceImagesOf = async (buildId: string) => (await peers.images('noauth')).filter((i) => i.nodepool_build_id === buildId);
  const kill = async () => {
    builder.signal('SIGKILL');
    await builder.exited();
  };

  beforeAll(async () => {
    [gearmand, peers] = await Promise.all([startGearmand(), startOpenStack({ keystone: false })]);
    proxy = await startFaultProxy(peers.glance.url);
    work = await mkdtemp(join(tmpdir(), 'sigkill-test-'));
    const cloudsFile = join(work, 'clouds.yaml');
    await writeFile(
      cloudsFile,
      `clouds:\n  direct:\n    auth_type: none\n    endpoint: ${peers.glance.url}\n  through-proxy:\n    auth_type: none\n    endpoint: ${proxy.url}\n`,
    );
    const body = [
      `clouds-file = "${cloudsFile}"`,
      tinyImage('tiny'),
      tinyImage('slow', { env: { TINY_ROOT_SLEEP: '600' } }),
      '[[providers]]',
      'name = "slow-glance"',
      'cloud = "through-proxy"',
      'image-format = "raw"',
      '[[providers]]',
      'name = "direct-glance"',
      'cloud = "direct"',
      'image-format = "raw"',
    ].join('\n');
    builder = await startBuilder(gearmand, body, ['image-build:tiny', 'image-build:slow']);
    client = new Client({ servers: [gearmand] });
    admin = new AdminClient(gearmand);
  }, 300_000);

  afterAll(async () => {
    admin?.close();
    await client?.close();
    await builder?.[Symbol.asyncDispose]();
    await proxy?.close();
    await Promise.all([peers?.stop(), gearmand?.kill()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('mid-build: no partial image, staging clean, no stray DIB process, and the next build succeeds', async () => {
    const staging = join(builder.imagesDir, 'staging');
    const doomed = await abandonedSubmit(gearmand, 'image-build:slow', { 'image-id': 'killed-build-1' });
    const dib = await eventually(
      async () => {
        const found = await processesMentioning(join(staging, 'killed-build-1'));
        return found.length > 0 ? found : undefined;
      },
      60_000,
      'disk-image-create to run for killed-build-1',
    );
    expect(dib.some((p) => p.cmdline.includes('disk-image-create'))).toBe(true);
    await doomed.abandon();
    await kill();
    // The crash leaves DIB running in its own process group, still writing into staging.
    expect((await processesMentioning(staging)).length).toBeGreaterThan(0);
    expect(existsSync(join(staging, 'killed-build-1'))).toBe(true);

    await builder.start();
    await eventually(async () => (await processesMentioning(staging)).length === 0, 30_000, 'the stray DIB processes to be gone');
    // A killed process drops its command line before it turns zombie: wait for each to get there.
    const ended = async (pid: number): Promise<boolean> => {
      const state = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => 'gone');
      return state === 'gone' || state.slice(state.lastIndexOf(')') + 2).startsWith('Z');
    };
    await eventually(async () => (await Promise.all(dib.map(({ pid }) => ended(pid)))).every(Boolean), 30_000, 'the killed DIB processes to end');
    expect(readdirSync(staging)).toEqual([]);
    expect(existsSync(join(builder.imagesDir, 'images', 'killed-build-1'))).toBe(false);
    expect((await registered()).filter((fn) => fn.endsWith(':killed-build-1'))).toEqual([]);
    expect(builder.log()).toContain('removing the unfinished build killed-build-1');

    const done = await client.submit('image-build:tiny', JSON.stringify({ 'image-id': 'after-kill-1' }), { timeoutMs: 180_000 });
    expect(JSON.parse(Buffer.from(done.data).toString())).toMatchObject({ 'image-id': 'after-kill-1' });
    await eventually(async () => (await registered()).includes('image-upload:after-kill-1'), 20_000, 'the new image to be registered');
    expect(readdirSync(staging)).toEqual([]);
    expect((await registered()).filter((fn) => fn.endsWith(':killed-build-1'))).toEqual([]);
    expectNoSecrets(builder.log(), peers.secrets);
  });

  test('mid-upload: the restart deletes the unfinished Glance image, and the next upload succeeds', async () => {
    await client.submit('image-build:tiny', JSON.stringify({ 'image-id': 'upload-src-1' }), { timeoutMs: 180_000 });
    await eventually(async () => (await registered()).includes('image-upload:upload-src-1'), 20_000, 'the image to be registered');
    // The raw image is 0.1 GB: at 2 MiB/s its upload takes almost a minute.
    proxy.throttle(2 * MiB);
    const doomed = await abandonedSubmit(gearmand, 'image-upload:upload-src-1', { provider: 'slow-glance', 'image-name': 'killed-upload' });
    const [inFlight] = await eventually(
      async () => {
        const images = await glanceImagesOf('upload-src-1');
        const putting = proxy.requests.some((r) => r.method === 'PUT' && r.forwarded > 0);
        return putting && images.length === 1 && images[0]!.status === 'saving' ? images : undefined;
      },
      120_000,
      'Glance to show the upload saving',
    );
    expect(inFlight).toMatchObject({ nodepool_builder: 'e2e-builder', name: 'killed-upload' });
    await doomed.abandon();
    await kill();
    proxy.throttle(undefined);
    // Nothing cleaned up after the crash: the image is still there, unfinished.
    const left = await glanceImagesOf('upload-src-1');
    expect(left.map((i) => i.id)).toEqual([inFlight!.id]);
    expect(['saving', 'queued']).toContain(String(left[0]!.status));

    await builder.start();
    await eventually(async () => (await glanceImagesOf('upload-src-1')).length === 0, 30_000, 'the orphan to be deleted');
    expect(builder.log()).toContain(`deleted image ${String(inFlight!.id)}`);

    const result = await client.submit('image-upload:upload-src-1', JSON.stringify({ provider: 'direct-glance', 'image-name': 'after-kill' }), {
      timeoutMs: 180_000,
    });
    const externalId = String(JSON.parse(Buffer.from(result.data).toString())['external-id']);
    const images = await glanceImagesOf('upload-src-1');
    expect(images.map((i) => [i.id, i.status])).toEqual([[externalId, 'active']]);
    expectNoSecrets(builder.log(), [...peers.secrets, ...proxy.tokens]);
  });
});
