import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { CLEANUP_RETRY } from '../../src/uploaders/glance/glance-uploader.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { type OpenStackPeers, startOpenStack } from '../support/openstack/openstack-peers.ts';
import { testProvider } from '../support/openstack/upload-job.ts';
import { eventually } from '../support/run.ts';
import { capturedText, expectNoSecrets } from '../support/secrets.ts';
import { type UploadBed, type UploadOutcome, startUploadBed } from './upload-bed.ts';

const MiB = 1024 * 1024;

describe('Glance faults during image-upload jobs (gearmand, BuilderWorker, real Glance)', () => {
  let peers: OpenStackPeers;
  let proxy: FaultProxy;
  let bed: UploadBed;

  const named = async (name: string) => (await peers.images('noauth')).filter((image) => image.name === name);
  const expectOneActive = async (name: string, outcome: UploadOutcome) => {
    expect(outcome).toMatchObject({ ok: true });
    const images = await named(name);
    const { md5 } = bed.image().formats.qcow2!;
    expect(images.map((i) => [i.id, i.status, i.checksum])).toEqual([[(outcome as { externalId: string }).externalId, 'active', md5]]);
  };
  const whileSaving = (name: string) =>
    eventually(
      async () => {
        const images = await named(name);
        const putting = proxy.requests.some((r) => r.method === 'PUT' && r.forwarded > 0);
        return putting && images.length === 1 && images[0]!.status === 'saving' ? images[0]! : undefined;
      },
      120_000,
      `Glance to show "${name}" saving`,
    );
  const expectNoSecretsLogged = () => expectNoSecrets(capturedText(bed.logs.lines), peers.secrets);

  beforeAll(async () => {
    peers = await startOpenStack({ keystone: false });
    proxy = await startFaultProxy(peers.glance.url);
    bed = await startUploadBed({
      clientId: 'glance-faults',
      clouds: `clouds:\n  direct:\n    auth_type: none\n    endpoint: ${peers.glance.url}\n  through-proxy:\n    auth_type: none\n    endpoint: ${proxy.url}\n`,
      providers: [
        testProvider({ name: 'via-proxy', cloud: 'through-proxy', imageFormat: 'qcow2', uploadTimeoutMs: 300_000 }),
        testProvider({ name: 'via-proxy-5s', cloud: 'through-proxy', imageFormat: 'qcow2', uploadTimeoutMs: 5_000 }),
        testProvider({ name: 'direct', cloud: 'direct', imageFormat: 'qcow2' }),
      ],
      imageBytes: 32 * MiB,
    });
  }, 300_000);

  afterAll(async () => {
    await bed?.stop();
    await proxy?.close();
    await peers?.stop();
  });

  test('glance-api killed mid-upload: the job fails or retries, Glance keeps no image of it, and the next upload succeeds', async () => {
    proxy.throttle(2 * MiB);
    const outcome = bed.upload('via-proxy', 'glance-killed');
    const saving = await whileSaving('glance-killed');
    await peers.glance.kill();
    proxy.throttle(undefined);
    await peers.glance.restart();
    const result = await outcome;

    const left = await named('glance-killed');
    if (result.ok) {
      expect(left.map((i) => [i.id, i.status])).toEqual([[result.externalId, 'active']]);
    } else {
      // "broke off" when the PUT itself fails; under load the restart can outlast the status check's retries instead.
      expect(result.reason).toContain(String(saving.id));
      expect(left).toEqual([]);
      expect(bed.logs.at('info').some((line) => line.includes(`deleted image ${String(saving.id)}`))).toBe(true);
    }
    await expectOneActive('after-glance-kill', await bed.upload('via-proxy', 'after-glance-kill'));
    expectNoSecretsLogged();
  });

  test('(fake 503 proxy) Glance answering 503 for a while: the upload retries with backoff and succeeds', async () => {
    const before = proxy.requests.length;
    proxy.failFor(2_500);
    await expectOneActive('after-503s', await bed.upload('via-proxy', 'after-503s'));
    const seen = proxy.requests.slice(before);
    expect(seen.filter((r) => r.injected).length).toBeGreaterThanOrEqual(2);
    expect(seen.at(-1)).toMatchObject({ injected: false, status: 200 });
    expect(bed.logs.at('warn').some((line) => line.includes('answered 503') && line.includes('try 2 of'))).toBe(true);
    expectNoSecretsLogged();
  });

  test('(fake 503 proxy) the image data PUT answered 503 twice: sent again while Glance holds the image queued', async () => {
    const before = proxy.requests.length;
    proxy.failNext(2, 503, ({ method, path }) => method === 'PUT' && path.endsWith('/file'));
    await expectOneActive('after-put-503s', await bed.upload('via-proxy', 'after-put-503s'));
    const puts = proxy.requests.slice(before).filter((r) => r.method === 'PUT');
    expect(puts.map((r) => [r.injected, r.status])).toEqual([
      [true, 503],
      [true, 503],
      [false, 204],
    ]);
    expect(puts[2]!.forwarded).toBe(bed.image().formats.qcow2!.size);
    expectNoSecretsLogged();
  });

  test('slowed beyond upload-timeout: WORK_FAIL naming the timeout, no orphan image, and a direct upload succeeds', async () => {
    proxy.throttle(256 * 1024);
    try {
      const outcome = await bed.upload('via-proxy-5s', 'too-slow');
      expect(outcome).toMatchObject({ ok: false, reason: expect.stringContaining('upload-timeout (5 s) expired') });
    } finally {
      proxy.throttle(undefined);
    }
    expect(await named('too-slow')).toEqual([]);
    expect(proxy.requests.some((r) => r.method === 'DELETE' && r.status === 204)).toBe(true);
    await expectOneActive('after-too-slow', await bed.upload('direct', 'after-too-slow'));
    expectNoSecretsLogged();
  });

  test('H9 (fake 500 proxy): against a Glance answering 500 to everything, the cleanup of the failed create is a few DELETEs, not minutes of them', async () => {
    let failing = true;
    const before = proxy.requests.length;
    // Every image call; version discovery at / still passes, so the create is reached.
    proxy.failFor(3_600_000, 500, ({ path }) => failing && path.startsWith('/v2/images'));
    let outcome: UploadOutcome;
    try {
      outcome = await bed.upload('via-proxy', 'all-500');
    } finally {
      failing = false;
    }
    expect(outcome).toMatchObject({ ok: false, reason: expect.stringContaining('500') });
    const seen = proxy.requests.slice(before).filter((r) => r.path.startsWith('/v2/images')).map((r) => r.method);
    // Five tries at the create, then the eight the cleanup is allowed; nothing after the job's end.
    expect(CLEANUP_RETRY.attempts).toBe(8);
    expect(seen).toEqual([...Array<string>(5).fill('POST'), ...Array<string>(8).fill('DELETE')]);
    expect(bed.logs.at('error').some((line) => line.includes('of a failed upload is still in cloud "through-proxy"') && line.includes('the sweep at the next start deletes it'))).toBe(true);
    expect(await named('all-500')).toEqual([]);
    expectNoSecretsLogged();
  });
});
