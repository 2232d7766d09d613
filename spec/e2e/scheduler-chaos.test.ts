/**
 * Chaos (issue 14): a running image lifecycle (command builder, rebuild-age 3 s, the default
 * keeps 2/2, two providers each with its own real no-auth Glance, real gearmand, one builder
 * process) while `nodepool-builder scheduler` is killed with SIGKILL at seeded random points of
 * the lifecycle and started again, while the builder is killed in the middle of an upload and
 * started again, and while both are killed at once.
 *
 * The bound: after each restart the system converges within CONVERGENCE_LIMIT_MS, polled, where
 * converged means: nothing that was in progress at the kill still is; every image tagged with
 * this system id in a Glance is in `image-list` as ready or in progress; and every ready upload's
 * image is active. Throughout, a watcher holds each Glance to invariant 1 (the newest active
 * upload never leaves while it is the newest); after each convergence no ready upload is lost.
 *
 * CHAOS_SEED=<n> replays a run (the seed is printed). CHAOS_REPORT=<file> appends each round's
 * convergence time there, for the record (the test itself never judges a time).
 *
 * A proxy in front of each Glance paces request bodies (a fault Glance cannot make on demand):
 * an upload of the 192 KiB image takes about a second, so the kills land in uploads too.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { appendFileSync } from 'node:fs';
import { StateStore } from '../../src/scheduler/state-store.ts';
import type { SchedulerState } from '../../src/scheduler/state.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { type NewestUploadWatch, watchNewestUploads } from '../support/newest-upload-watch.ts';
import { eventually } from '../support/run.ts';
import { lostUploads, stillInProgress, tagsAccountedFor } from '../support/scheduler-convergence.ts';
import { type DibImageListRow, type Fleet, type ImageListRow, startFleet } from '../support/scheduler-fleet.ts';
import { seedFromEnv, seededRandom } from '../support/seeded-random.ts';

const PROVIDERS = ['p1', 'p2'];
const KEEP_UPLOADS = 2;
const SCHEDULER_KILLS = 10;
const BOTH_KILLS = 3;
/** The stated bound on convergence after a restart: generous (a few seconds is usual here). */
const CONVERGENCE_LIMIT_MS = 90_000;
/** About how long one cycle's work takes here (build, uploads, deletes): the kill points fall in it. */
const CYCLE_MS = 3_000;
/** Upload pace through the proxies: 192 KiB in about 0.75 s, and about 6 s while a builder kill is aimed. */
const PACE = 256 * 1024;
const SLOW_PACE = 32 * 1024;

const seed = seedFromEnv('CHAOS_SEED');
console.log(`scheduler chaos: CHAOS_SEED=${seed}`);

describe(`the scheduler under chaos (command builder, CHAOS_SEED=${seed})`, () => {
  let fleet: Fleet;
  const proxies: FaultProxy[] = [];
  let store: StateStore;
  let watch: NewestUploadWatch;
  const random = seededRandom(seed);

  const state = (): SchedulerState => store.snapshot();
  const pace = (bytesPerSecond: number): void => proxies.forEach((proxy) => proxy.throttle(bytesPerSecond));
  const tagged = (provider: string) => fleet.tagged(provider);
  const read = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${fleet.api}${path}`);
    if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
    return (await response.json()) as T;
  };
  const context = (): string => `CHAOS_SEED=${seed}\n${fleet.logs().slice(-60_000)}`;
  const report = (line: string): void => {
    if (process.env.CHAOS_REPORT) appendFileSync(process.env.CHAOS_REPORT, `${line}\n`);
  };
  const withContext = (err: unknown): never => {
    throw new Error(`${String(err)}\n${context()}`);
  };

  /** Polls (the API, for speed) until the system converged after a crash at `atCrash`. */
  const converge = async (atCrash: SchedulerState, what: string): Promise<void> => {
    let problems: string[] = [];
    await eventually(
      async () => {
        const [uploads, builds] = await Promise.all([read<ImageListRow[]>('/image-list'), read<DibImageListRow[]>('/dib-image-list')]);
        problems = [...stillInProgress(atCrash, uploads, builds), ...(await tagsAccountedFor(PROVIDERS, tagged, () => read<ImageListRow[]>('/image-list')))];
        if (problems.length === 0) return true;
        await Bun.sleep(250);
        return undefined;
      },
      CONVERGENCE_LIMIT_MS,
      `convergence after ${what}`,
    ).catch((err: unknown) => withContext(`${String(err)}\nstill wrong:\n  ${problems.join('\n  ')}`));
  };

  /** What must hold once converged; the operator's CLI (`image-list --json`) lists the uploads. */
  const expectInvariants = async (readyBefore: SchedulerState['uploads']): Promise<void> => {
    expect(await tagsAccountedFor(PROVIDERS, tagged, () => fleet.imageList())).toEqual([]);
    expect(lostUploads(readyBefore, state(), KEEP_UPLOADS)).toEqual([]);
    expect(watch.violations).toEqual([]);
  };

  beforeAll(async () => {
    fleet = await startFleet({
      builders: 1,
      providers: PROVIDERS,
      systemId: 'e2e-chaos',
      cleanupInterval: '1s',
      scheduler: { images: [{ name: 'tiny', rebuildAge: '3s' }], schedulerExtra: `keep-uploads = ${KEEP_UPLOADS}\nkeep-builds = 2` },
      startScheduler: false,
      glanceEndpoint: async (_provider, url) => {
        const proxy = await startFaultProxy(url);
        proxy.throttle(PACE);
        proxies.push(proxy);
        return proxy.url;
      },
    });
    store = StateStore.open(fleet.stateFile);
    watch = watchNewestUploads({ providers: PROVIDERS, tagged, buildReadyAt: (id) => store.build(id)?.readyAt });
  }, 300_000);

  afterAll(async () => {
    await watch?.stop();
    store?.close();
    await fleet?.close();
    for (const proxy of proxies) await proxy.close();
  }, 60_000);

  test(`kill -9 of the scheduler at ${SCHEDULER_KILLS} seeded random points of a lifecycle: each restart converges, nothing leaks, no ready upload is lost, the newest is never deleted`, async () => {
    await fleet.startScheduler();
    await eventually(() => state().uploads.some((u) => u.state === 'ready'), 120_000, 'a first ready upload').catch(withContext);
    const killedIn: string[] = [];
    for (let round = 1; round <= SCHEDULER_KILLS; round++) {
      // A point of the next cycle (a build, its uploads, the deletes of what they supersede): a seeded delay from its start.
      const seen = new Set(state().builds.map((b) => b.id));
      await eventually(() => state().builds.some((b) => !seen.has(b.id)), 60_000, `a new build (round ${round})`).catch(withContext);
      await Bun.sleep(random.between(0, CYCLE_MS));
      await fleet.stopScheduler('SIGKILL');
      const atKill = state();
      const inProgress = [
        ...atKill.builds.filter((b) => b.state === 'building' || b.state === 'deleting').map((b) => `build ${b.state}`),
        ...atKill.uploads.filter((u) => u.state === 'uploading' || u.state === 'deleting').map((u) => `upload ${u.state}`),
      ];
      killedIn.push(inProgress.join(' + ') || 'between jobs');
      await Bun.sleep(random.between(0, 1_000));
      const restarted = Date.now();
      await fleet.startScheduler();
      await converge(atKill, `scheduler kill ${round} (${killedIn.at(-1)})`);
      report(`seed ${seed} scheduler kill ${round} during [${killedIn.at(-1)}]: converged ${Date.now() - restarted} ms after the restart began`);
      await expectInvariants(atKill.uploads.filter((u) => u.state === 'ready'));
    }
    // The watcher watched: uploads were the newest in turn while the kills went on.
    expect(watch.newestSeen.size).toBeGreaterThanOrEqual(2 * PROVIDERS.length);
    expect(killedIn).toHaveLength(SCHEDULER_KILLS);
  }, 300_000);

  test('kill -9 of the builder mid-upload (its image queued or saving in Glance), then a restart: it converges, nothing leaks, no ready upload is lost', async () => {
    if (!fleet.schedulerRunning()) await fleet.startScheduler();
    const builder = fleet.builders[0]!;
    pace(SLOW_PACE);
    const known = new Set(state().uploads.map((u) => u.id));
    // An upload job running on the builder: its image is in a Glance and not active yet.
    const inFlight = await eventually(
      async () => {
        for (const provider of PROVIDERS) {
          const image = (await tagged(provider)).find((i) => (i.status === 'queued' || i.status === 'saving') && !known.has(i.uploadId));
          if (image) return { provider, image };
        }
        await Bun.sleep(100);
        return undefined;
      },
      120_000,
      'an upload under way in a Glance',
    ).catch(withContext);
    builder.signal('SIGKILL');
    await builder.exited();
    const atKill = state();
    expect(atKill.uploads.find((u) => u.id === inFlight.image.uploadId)?.state).toBe('uploading');
    pace(PACE);
    const restarted = Date.now();
    await builder.start();
    await converge(atKill, 'the builder kill');
    report(`seed ${seed} builder kill mid-upload (${inFlight.image.status}): converged ${Date.now() - restarted} ms after the restart began`);
    await expectInvariants(atKill.uploads.filter((u) => u.state === 'ready'));
    // The upload cut off is settled: it became ready (adopted or attached to), or it failed and its image is gone.
    const settled = state().uploads.find((u) => u.id === inFlight.image.uploadId)!;
    report(`seed ${seed} the upload cut off by the builder kill ended ${settled.state}${settled.reason ? `: ${settled.reason}` : ''}`);
    const left = (await tagged(inFlight.provider)).find((i) => i.id === inFlight.image.id);
    if (settled.state === 'failed') expect(left).toBeUndefined();
    else expect(settled.readyAt).toBeDefined();
    if (settled.state === 'ready') expect(left?.status).toBe('active');
    // And the lifecycle goes on: a newer upload becomes ready after the restart.
    await eventually(() => state().uploads.some((u) => u.state === 'ready' && !known.has(u.id) && u.id !== settled.id), 120_000, 'a new ready upload after the builder restart').catch(withContext);
  }, 300_000);

  test(`kill -9 of the scheduler and the builder together at ${BOTH_KILLS} seeded random points, both restarted: each time it converges, nothing leaks, no ready upload is lost`, async () => {
    if (!fleet.schedulerRunning()) await fleet.startScheduler();
    const builder = fleet.builders[0]!;
    for (let round = 1; round <= BOTH_KILLS; round++) {
      const seen = new Set(state().builds.map((b) => b.id));
      await eventually(() => state().builds.some((b) => !seen.has(b.id)), 60_000, `a new build (round ${round})`).catch(withContext);
      await Bun.sleep(random.between(0, CYCLE_MS));
      builder.signal('SIGKILL');
      await Promise.all([fleet.stopScheduler('SIGKILL'), builder.exited()]);
      const atKill = state();
      const restarted = Date.now();
      // The builder first or the scheduler first, as the seed says.
      if (random.next() < 0.5) {
        await builder.start();
        await fleet.startScheduler();
      } else {
        await fleet.startScheduler();
        await builder.start();
      }
      await converge(atKill, `scheduler and builder kill ${round}`);
      report(`seed ${seed} scheduler+builder kill ${round}: converged ${Date.now() - restarted} ms after the restarts began`);
      await expectInvariants(atKill.uploads.filter((u) => u.state === 'ready'));
    }
  }, 300_000);
});
