/**
 * A builder host gone for good (issue 14): two builders (processes, command builder) that can
 * both build the image, real gearmand, a real no-auth Glance, the scheduler as a process with a
 * short missing-build-grace. The builder holding the ready build is killed with SIGKILL and never
 * comes back: once the grace is over its build is marked missing, and the image is built again on
 * the other builder and uploaded; the Glance image of the lost build stays (nothing is wrong with
 * it), and every tagged image is in image-list.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { StateStore } from '../../src/scheduler/state-store.ts';
import type { BuilderProcess } from '../support/builder-process.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { eventually } from '../support/run.ts';
import { tagsAccountedFor } from '../support/scheduler-convergence.ts';
import { type Fleet, startFleet } from '../support/scheduler-fleet.ts';

/** Upload pace through the proxy in front of Glance: 192 KiB in well under a second; about 6 s while a kill is aimed at an upload. */
const PACE = 1024 * 1024;
const SLOW_PACE = 32 * 1024;

describe('a builder host gone for good (command builder)', () => {
  let fleet: Fleet;
  let store: StateStore;
  let proxy: FaultProxy | undefined;
  /** The builder the first test kills for good. */
  let lost: BuilderProcess | undefined;
  const withLogs = (err: unknown): never => {
    throw new Error(`${String(err)}\n${fleet.logs()}`);
  };

  beforeAll(async () => {
    fleet = await startFleet({
      builders: 2,
      providers: ['p1'],
      systemId: 'e2e-host-loss',
      cleanupInterval: '1s',
      scheduler: { schedulerExtra: 'missing-build-grace = "3s"' },
      // A pacing proxy (a fault Glance cannot make on demand), so that a kill can land in an upload.
      glanceEndpoint: async (_provider, url) => {
        proxy = await startFaultProxy(url);
        proxy.throttle(PACE);
        return proxy.url;
      },
    });
    store = StateStore.open(fleet.stateFile);
  }, 300_000);

  afterAll(async () => {
    store?.close();
    await fleet?.close();
    await proxy?.close();
  }, 60_000);

  test('its ready build is marked missing after missing-build-grace, and the image is rebuilt and uploaded on the other builder', async () => {
    const first = await eventually(
      async () => {
        const ready = (await fleet.imageList()).find((row) => row.state === 'ready');
        return ready && (await fleet.tagged('p1')).some((image) => image.id === ready['external-id'] && image.status === 'active') ? ready : undefined;
      },
      120_000,
      'a first build uploaded to p1',
    ).catch(withLogs);
    const holder = fleet.repositories().findIndex((builds) => builds.some((b) => b.id === first['build-id']));
    expect(holder).toBeGreaterThanOrEqual(0);
    lost = fleet.builders[holder]!;
    const survivor = 1 - holder;
    lost.signal('SIGKILL');
    await lost!.exited();

    const rebuilt = await eventually(
      async () => {
        const builds = await fleet.dibImageList();
        const missing = builds.find((b) => b.id === first['build-id'] && b.state === 'missing');
        const fresh = builds.find((b) => b.id !== first['build-id'] && b.state === 'ready');
        const upload = fresh && (await fleet.imageList()).find((row) => row['build-id'] === fresh.id && row.state === 'ready');
        return missing && fresh && upload ? { missing, fresh, upload } : undefined;
      },
      120_000,
      'the lost build marked missing, and a new build uploaded',
    ).catch(withLogs);

    expect(rebuilt.missing.reason).toContain(`image-upload:${first['build-id']} absent from every job server`);
    // Built again because the build went missing, not before: the new build was decided after.
    const lostRecord = store.build(first['build-id'])!;
    const freshRecord = store.build(rebuilt.fresh.id)!;
    expect(freshRecord.createdAt).toBeGreaterThanOrEqual(lostRecord.stateAt);
    // On the other builder, which holds it; the lost one's disk never saw it.
    const repositories = fleet.repositories();
    expect(repositories[survivor]!.map((b) => b.id)).toContain(rebuilt.fresh.id);
    expect(repositories[holder]!.map((b) => b.id)).not.toContain(rebuilt.fresh.id);
    expect(rebuilt.fresh.builder).toBe(`fleet-builder-${survivor + 1}`);
    // The new upload is active in Glance; the lost build's image is still there and still ready; nothing is unaccounted for.
    const images = await fleet.tagged('p1');
    expect(images.find((image) => image.id === rebuilt.upload['external-id'])?.status).toBe('active');
    expect(images.find((image) => image.id === first['external-id'])?.status).toBe('active');
    expect(await tagsAccountedFor(['p1'], (p) => fleet.tagged(p), () => fleet.imageList())).toEqual([]);
  }, 300_000);

  test('D2: a host gone for good in the middle of an upload: once its build is missing the upload is given up (failed) and its unfinished image leaves Glance (or, active after all, is adopted), instead of both waiting out upload-timeout', async () => {
    // Two builders again: the one lost above comes back (and its build is adopted).
    await lost!.start();
    const known = new Set(store.snapshot().uploads.map((u) => u.id));
    proxy!.throttle(SLOW_PACE);
    const request = await fleet.write('image-build-request', 'tiny');
    expect(request.code).toBe(0);
    const cut = await eventually(
      async () => {
        const image = (await fleet.tagged('p1')).find((i) => (i.status === 'queued' || i.status === 'saving') && !known.has(i.uploadId));
        if (!image) await Bun.sleep(100);
        return image;
      },
      120_000,
      'an upload under way in Glance',
    ).catch(withLogs);
    const holder = fleet.repositories().findIndex((builds) => builds.some((b) => b.id === cut.buildId));
    expect(holder).toBeGreaterThanOrEqual(0);
    const gone = fleet.builders[holder]!;
    gone.signal('SIGKILL');
    await gone.exited();
    proxy!.throttle(PACE);
    expect(store.upload(cut.uploadId)?.state).toBe('uploading');

    await eventually(
      async () => {
        const builds = await fleet.dibImageList();
        const upload = store.upload(cut.uploadId);
        const images = await fleet.tagged('p1');
        const replaced = (await fleet.imageList()).some((row) => row.state === 'ready' && !known.has(row['upload-id']) && row['upload-id'] !== cut.uploadId);
        // Given up, its image deleted; or, when all its bytes were on their way to Glance before the
        // kill and the image became active after all, given up and then adopted from the listing.
        const settled =
          (upload?.state === 'failed' && !images.some((i) => i.id === cut.id)) || (upload?.state === 'ready' && images.some((i) => i.id === cut.id && i.status === 'active'));
        return builds.find((b) => b.id === cut.buildId)?.state === 'missing' && settled && replaced;
      },
      120_000,
      'the cut-off upload given up (or adopted), its build missing, and a new build uploaded',
    ).catch((err: unknown) => withLogs(`${String(err)}\nthe cut-off upload: ${JSON.stringify(store.upload(cut.uploadId))}`));
    expect(fleet.schedulerLog()).toContain(`abandon-upload uploadId=${cut.uploadId} provider=p1 why=build-unavailable`);
    expect(await tagsAccountedFor(['p1'], (p) => fleet.tagged(p), () => fleet.imageList())).toEqual([]);
  }, 300_000);
});
