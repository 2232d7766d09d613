/**
 * The scheduler's lifecycle end to end (issue 14's tests): real gearmand, two builders as
 * separate `run` processes, two providers each with its own real no-auth Glance, and
 * `nodepool-builder scheduler` as a process, observed only from outside: what each Glance holds,
 * what the builders' repositories hold, and what the CLI reads from the scheduler's API.
 * Builds use the command builder (a tiny qcow2 from qemu-img), not DIB: these tests are about
 * scheduling. Every wait is on a condition; the timeouts only bound a hung test.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type Fleet, type TaggedImage, startFleet } from '../support/scheduler-fleet.ts';
import { eventually } from '../support/run.ts';

const KEEP = 2;

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
        const rows = await fleet.imageList();
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
});
