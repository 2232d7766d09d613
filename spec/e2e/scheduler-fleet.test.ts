/**
 * The scheduler's lifecycle end to end (issue 14's tests): real gearmand, two builders as
 * separate `run` processes, two providers each with its own real no-auth Glance, and
 * `nodepool-builder scheduler` as a process, observed only from outside: what each Glance holds,
 * what the builders' repositories hold, and what the CLI reads from the scheduler's API.
 * Builds use the command builder (a tiny qcow2 from qemu-img), not DIB: these tests are about
 * scheduling. Every wait is on a condition; the timeouts only bound a hung test. The tests run in
 * order on one fleet, each starting from where the one before left it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type Fleet, type ProviderStatus, type StatusFailures, type TaggedImage, startFleet } from '../support/scheduler-fleet.ts';
import { eventually } from '../support/run.ts';

const KEEP = 2;
/** The fleet's backoff-base and backoff-cap. */
const BACKOFF = { baseMs: 1_000, capMs: 4_000 };

/** A provider's row of image-status for a diskimage. */
async function providerStatus(fleet: Fleet, image: string, provider: string): Promise<ProviderStatus | undefined> {
  return (await fleet.imageStatus()).find((s) => s.image === image)?.providers.find((p) => p.provider === provider);
}

/** Waits, adding every log to the failure. */
function waitFor<T>(fleet: Fleet, check: () => Promise<T | undefined | false>, what: string, timeoutMs = 90_000): Promise<T> {
  return eventually(check, timeoutMs, what).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.logs()}`);
  });
}

/** Each provider's tagged images, or undefined while a Glance does not answer. */
async function taggedByProvider(fleet: Fleet, providers: readonly string[]): Promise<Map<string, TaggedImage[]>> {
  return new Map(await Promise.all(providers.map(async (p) => [p, await fleet.tagged(p)] as const)));
}

describe('the lifecycle with two builders and two providers (command-built images, real Glances)', () => {
  let fleet: Fleet;
  const providers = ['p1', 'p2'];

  beforeAll(async () => {
    fleet = await startFleet({ builders: 2, providers, images: ['tiny'], scheduler: { images: [{ name: 'tiny', rebuildAge: '4s' }] } });
  }, 120_000);

  afterAll(async () => {
    await fleet?.close();
  }, 60_000);

  test('after 3 rebuilds with the default keeps: each Glance holds exactly keep-uploads, the builders keep-builds, and image-list shows every tagged image', async () => {
    // Every build that reached each Glance, seen over the polls.
    const uploaded = new Map(providers.map((p) => [p, new Set<string>()]));
    await waitFor(
      fleet,
      async () => {
        for (const [provider, images] of await taggedByProvider(fleet, providers)) {
          for (const image of images) if (image.status === 'active') uploaded.get(provider)!.add(image.buildId);
        }
        return providers.every((p) => uploaded.get(p)!.size >= 4);
      },
      'a first build and 3 rebuilds uploaded to both providers',
    );
    // Rebuilding stops; what is left must settle to the keeps.
    fleet.reload({ images: [{ name: 'tiny', rebuildAge: '1h' }] });
    const settled = await waitFor(
      fleet,
      async () => {
        // A failed upload (a slow machine) is retried: only what is in progress must be over.
        const rows = (await fleet.imageList()).filter((r) => r.state !== 'failed');
        if (rows.some((r) => r.state !== 'ready')) return undefined;
        const tagged = await taggedByProvider(fleet, providers);
        if (![...tagged.values()].every((images) => images.length === KEEP && images.every((i) => i.status === 'active'))) return undefined;
        const builds = fleet.repositories().flat();
        return builds.length === KEEP ? { rows, tagged, builds } : undefined;
      },
      'each provider to settle at keep-uploads and the builders at keep-builds',
    );
    // The builds kept are the ones uploaded, in both providers: the newest two.
    const kept = settled.builds.map((b) => b.id).sort();
    for (const provider of providers) {
      expect(settled.tagged.get(provider)!.map((i) => i.buildId).sort()).toEqual(kept);
    }
    // Every tagged image in each Glance is in image-list, ready, under its provider and ids.
    const listed = settled.rows.map((r) => `${r.provider} ${r['external-id']} ${r['build-id']} ${r['upload-id']} ${r.state}`).sort();
    const inGlance = [...settled.tagged].flatMap(([provider, images]) => images.map((i) => `${provider} ${i.id} ${i.buildId} ${i.uploadId} ready`)).sort();
    expect(listed).toEqual(inGlance);
    // And dib-image-list shows the same two builds, ready.
    const dib = (await fleet.dibImageList()).filter((b) => b.state !== 'gone');
    expect(dib.map((b) => `${b.id} ${b.state}`).sort()).toEqual(kept.map((id) => `${id} ready`));
  }, 240_000);

  test('one provider\'s Glance goes down: the other still gets a rebuild, the broken one backs off with its reason shown, and catches up once its Glance is back', async () => {
    const before = new Set(fleet.repositories().flat().map((b) => b.id));
    await fleet.glances.get('p2')!.kill();
    const requested = await fleet.write('image-build-request', 'tiny');
    expect(requested.code).toBe(0);
    // p1 gets the new build while p2 is down.
    const fresh = await waitFor(
      fleet,
      async () => (await fleet.tagged('p1')).find((i) => i.status === 'active' && !before.has(i.buildId)),
      'the rebuild uploaded to p1 while p2 is down',
    );
    // p2's uploads fail, each failure waits out a growing backoff, and the reason is shown.
    const seen = new Map<number, StatusFailures>();
    await waitFor(
      fleet,
      async () => {
        const failures = (await providerStatus(fleet, 'tiny', 'p2'))?.failures;
        if (failures) seen.set(failures.count, failures);
        return seen.size >= 2;
      },
      "p2's uploads failing twice in a row",
    );
    for (const [count, failures] of seen) {
      expect(failures.reason.length).toBeGreaterThan(0);
      // The recorded wait after each failure is backoff-base doubled per failure in a row, up to the cap.
      expect(Date.parse(failures['retry-at']) - Date.parse(failures['failed-at'])).toBe(Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** (count - 1)));
    }
    const failedRows = (await fleet.imageList()).filter((r) => r.provider === 'p2' && r.state === 'failed');
    expect(failedRows.length).toBeGreaterThan(0);
    expect(failedRows.every((r) => typeof r.reason === 'string' && r.reason.length > 0)).toBe(true);
    // p1 is unaffected: the rebuild is its newest ready upload.
    expect((await providerStatus(fleet, 'tiny', 'p1'))?.failures).toBeNull();

    await fleet.glances.get('p2')!.restart();
    const caughtUp = await waitFor(
      fleet,
      async () => {
        const p2 = await fleet.tagged('p2');
        const status = await providerStatus(fleet, 'tiny', 'p2');
        const newest = p2.find((i) => i.buildId === fresh.buildId && i.status === 'active');
        return newest && status?.failures === null && p2.length === KEEP ? { p2, newest } : undefined;
      },
      'p2 to catch up with the newest build once its Glance is back',
    );
    const rows = await fleet.imageList();
    const ready = rows.find((r) => r.provider === 'p2' && r['external-id'] === caughtUp.newest.id);
    expect(ready?.state).toBe('ready');
    expect(ready?.['build-id']).toBe(fresh.buildId);
  }, 240_000);

  test('I5: one provider\'s Glance hanging (SIGSTOP) holds up no other provider: a requested rebuild reaches p1 while p2 does not answer, and p2 catches up after SIGCONT', async () => {
    const before = new Set(fleet.repositories().flat().map((b) => b.id));
    const p2 = fleet.glances.get('p2')!;
    process.kill(p2.pid, 'SIGSTOP');
    try {
      expect((await fleet.write('image-build-request', 'tiny')).code).toBe(0);
      await waitFor(
        fleet,
        async () => (await fleet.tagged('p1')).find((i) => i.status === 'active' && !before.has(i.buildId)),
        'the rebuild uploaded to p1 while p2 hangs',
      );
    } finally {
      process.kill(p2.pid, 'SIGCONT');
    }
    const newest = (await fleet.dibImageList()).find((b) => !before.has(b.id) && b.state === 'ready')!;
    await waitFor(fleet, async () => (await fleet.tagged('p2')).some((i) => i.buildId === newest.id && i.status === 'active'), 'p2 to catch up after SIGCONT');
  }, 240_000);

  /** The build ids each provider's Glance holds, and the builds the builders hold. */
  const snapshot = async () => ({
    p1: (await fleet.tagged('p1')).map((i) => i.id).sort(),
    p2: (await fleet.tagged('p2')).map((i) => i.id).sort(),
    builds: fleet.repositories().flat().map((b) => b.id).sort(),
  });

  /** Waits for the scheduler to settle: nothing in progress in image-list or dib-image-list. */
  const settled = () =>
    waitFor(
      fleet,
      async () => (await fleet.imageList()).every((r) => r.state === 'ready' || r.state === 'failed') && (await fleet.dibImageList()).every((b) => b.state === 'ready' || b.state === 'failed'),
      'nothing in progress',
    );

  test('image-pause NAME: a requested build waits (image-status says paused) and the image keeps what it has; image-unpause: the build happens', async () => {
    await settled();
    const before = await snapshot();
    expect((await fleet.write('image-pause', 'tiny')).code).toBe(0);
    expect((await fleet.write('image-build-request', 'tiny')).code).toBe(0);
    const status = await waitFor(
      fleet,
      async () => (await fleet.imageStatus()).find((s) => s.image === 'tiny' && s.waiting?.why === 'paused' && s['build-requested'] !== null),
      'the requested build to wait on the pause',
    );
    expect(status).toMatchObject({ paused: true, 'paused-by': 'operator' });
    // The pass that saw the request left everything as it was.
    expect(await snapshot()).toEqual(before);
    expect((await fleet.write('image-unpause', 'tiny')).code).toBe(0);
    await waitFor(fleet, async () => fleet.repositories().flat().some((b) => !before.builds.includes(b.id)), 'the requested build once unpaused');
  }, 120_000);

  test('image-pause NAME --provider p1: a new build reaches p2 only, p1 waits paused with its images kept; unpause: p1 catches up', async () => {
    await settled();
    const before = await snapshot();
    expect((await fleet.write('image-pause', 'tiny', '--provider', 'p1')).code).toBe(0);
    expect((await fleet.write('image-build-request', 'tiny')).code).toBe(0);
    const fresh = await waitFor(
      fleet,
      async () => (await fleet.tagged('p2')).find((i) => i.status === 'active' && !before.builds.includes(i.buildId)),
      'the new build uploaded to p2',
    );
    const p1Status = await waitFor(
      fleet,
      async () => (await fleet.imageStatus()).find((s) => s.image === 'tiny')?.providers.find((p) => p.provider === 'p1' && p.waiting?.why === 'paused'),
      'p1 waiting on its pause',
    );
    expect(p1Status).toMatchObject({ paused: true, 'paused-by': 'operator' });
    expect((await snapshot()).p1).toEqual(before.p1);
    expect((await fleet.write('image-unpause', 'tiny', '--provider', 'p1')).code).toBe(0);
    await waitFor(fleet, async () => (await fleet.tagged('p1')).some((i) => i.buildId === fresh.buildId && i.status === 'active'), 'p1 to catch up once unpaused');
  }, 120_000);

  test('the diskimage removed from p2\'s diskimages + SIGHUP: its uploads are deleted from p2\'s Glance, p1 keeps its own', async () => {
    await settled();
    const before = await snapshot();
    expect(before.p2.length).toBeGreaterThan(0);
    fleet.reload({ providers: [{ name: 'p1' }, { name: 'p2', diskimages: '[]' }] });
    await waitFor(fleet, async () => (await fleet.tagged('p2')).length === 0 && !(await fleet.imageList()).some((r) => r.provider === 'p2' && r.state !== 'failed'), "p2's uploads deleted");
    expect((await snapshot()).p1).toEqual(before.p1);
  }, 120_000);

  test('the diskimage removed from the file + SIGHUP: its uploads and its builds are deleted', async () => {
    await settled();
    expect((await snapshot()).builds.length).toBeGreaterThan(0);
    fleet.reload({ images: [], providers: [{ name: 'p1' }, { name: 'p2', diskimages: '[]' }] });
    await waitFor(
      fleet,
      async () => (await fleet.tagged('p1')).length === 0 && fleet.repositories().flat().length === 0 && (await fleet.imageList()).every((r) => r.state === 'failed'),
      'every upload and build of the removed diskimage deleted',
    );
    expect(await snapshot()).toEqual({ p1: [], p2: [], builds: [] });
  }, 120_000);
});
