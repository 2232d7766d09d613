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
import { eventually } from '../support/run.ts';
import { tagsAccountedFor } from '../support/scheduler-convergence.ts';
import { type Fleet, startFleet } from '../support/scheduler-fleet.ts';

describe('a builder host gone for good (command builder)', () => {
  let fleet: Fleet;
  let store: StateStore;

  beforeAll(async () => {
    fleet = await startFleet({
      builders: 2,
      providers: ['p1'],
      systemId: 'e2e-host-loss',
      cleanupInterval: '1s',
      scheduler: { schedulerExtra: 'missing-build-grace = "3s"' },
    });
    store = StateStore.open(fleet.stateFile);
  }, 300_000);

  afterAll(async () => {
    store?.close();
    await fleet?.close();
  }, 60_000);

  test('its ready build is marked missing after missing-build-grace, and the image is rebuilt and uploaded on the other builder', async () => {
    const withLogs = (err: unknown): never => {
      throw new Error(`${String(err)}\n${fleet.logs()}`);
    };
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
    const lost = fleet.builders[holder]!;
    const survivor = 1 - holder;
    lost.signal('SIGKILL');
    await lost.exited();

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
    // The new upload is active in Glance; the lost build's image is still there and still ready; nothing is unaccounted for.
    const images = await fleet.tagged('p1');
    expect(images.find((image) => image.id === rebuilt.upload['external-id'])?.status).toBe('active');
    expect(images.find((image) => image.id === first['external-id'])?.status).toBe('active');
    expect(await tagsAccountedFor(['p1'], (p) => fleet.tagged(p), () => fleet.imageList())).toEqual([]);
  }, 300_000);
});
