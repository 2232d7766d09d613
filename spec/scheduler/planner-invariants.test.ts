/**
 * The five invariants of DESIGN §10 over random states (fast-check, seeded and printed on a
 * failure), and a simulated lifecycle through the real state store: idempotent decisions,
 * committed before anything acts on them, converging on keep-uploads and keep-builds.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Action, Plan } from '../../src/scheduler/actions.ts';
import type { PlanConfig } from '../../src/scheduler/plan-config.ts';
import { plan } from '../../src/scheduler/planner.ts';
import { type IdMint, recordDecision } from '../../src/scheduler/record-decision.ts';
import type { BuildRecord, BuildState, SchedulerState, UploadRecord, UploadState } from '../../src/scheduler/state.ts';
import { StateStore } from '../../src/scheduler/state-store.ts';
import type { ListedImage, ProviderView, World } from '../../src/scheduler/world.ts';
import { DAY, HOUR, MINUTE, NOW, agreeingWorld, only, planConfigWith } from './support/plan-fixtures.ts';

const DISKIMAGES = ['debian', 'centos', 'removed'] as const;
const PROVIDERS = ['p1', 'p2', 'p3'] as const;

interface Scenario {
  readonly state: SchedulerState;
  readonly config: PlanConfig;
  readonly world: World;
}

const buildArb = fc.record({
  diskimage: fc.constantFrom(...DISKIMAGES),
  state: fc.constantFrom<BuildState>('building', 'ready', 'ready', 'ready', 'missing', 'deleting', 'gone', 'failed'),
  onDisk: fc.boolean(),
  absentFor: fc.option(fc.integer({ min: 0, max: 2 * HOUR })),
});
const uploadArb = fc.record({
  build: fc.nat(),
  provider: fc.constantFrom(...PROVIDERS),
  state: fc.constantFrom<UploadState>('uploading', 'ready', 'ready', 'ready', 'deleting', 'gone', 'failed'),
  listed: fc.constantFrom<string | undefined>(undefined, 'active', 'active', 'saving', 'killed', 'pending_delete'),
  passes: fc.integer({ min: 1, max: 3 }),
  inFlight: fc.boolean(),
});
const leakArb = fc.record({ provider: fc.constantFrom(...PROVIDERS), status: fc.constantFrom('active', 'queued', 'killed'), passes: fc.integer({ min: 1, max: 4 }) });

const scenarioArb = fc
  .record({
    builds: fc.array(buildArb, { maxLength: 12 }),
    uploads: fc.array(uploadArb, { maxLength: 30 }),
    leaks: fc.array(leakArb, { maxLength: 4 }),
    keepUploads: fc.integer({ min: 1, max: 3 }),
    keepBuilds: fc.integer({ min: 1, max: 3 }),
    leakPasses: fc.integer({ min: 1, max: 3 }),
    pausedPairs: fc.subarray(['debian/p1', 'debian/p2', 'centos/p1', 'centos/p2']),
    pausedBuilds: fc.subarray(['debian', 'centos']),
    backoffPairs: fc.subarray(['debian/p1', 'debian/p2', 'centos/p1', 'centos/p2', 'debian/', 'centos/']),
    cloudless: fc.subarray([...PROVIDERS]),
    unlisted: fc.subarray([...PROVIDERS]),
    buildInFlight: fc.boolean(),
    requests: fc.subarray(['debian', 'centos']),
  })
  .map((r): Scenario => {
    const runningOf = new Set<string>();
    const builds: BuildRecord[] = [];
    const observed = new Map<string, { builders: string[]; diskimage: string; formats: string[] }>();
    const absentSince = new Map<string, number>();
    const inFlight = new Set<string>();
    r.builds.forEach((b, i) => {
      let state = b.state;
      if (state === 'building' && runningOf.has(b.diskimage)) state = 'failed'; // the store allows one running build
      if (state === 'building') runningOf.add(b.diskimage);
      const id = `b${i}`;
      // Distinct times, so "newest" has one meaning.
      const readyAt = state === 'building' || state === 'failed' ? undefined : NOW - (i + 1) * 3 * HOUR;
      builds.push({ id, diskimage: b.diskimage, state, builder: 'builder-1', formats: ['qcow2'], createdAt: NOW - (i + 1) * 3 * HOUR - HOUR, stateAt: NOW - i, readyAt, reason: undefined });
      if (b.onDisk && state !== 'building' && state !== 'failed') observed.set(id, { builders: ['builder-1'], diskimage: b.diskimage, formats: ['qcow2'] });
      else if (b.absentFor !== null) absentSince.set(id, NOW - b.absentFor);
      if (state === 'building' && r.buildInFlight) inFlight.add(id);
    });
    const holders = builds.filter((b) => b.state === 'ready' || b.state === 'missing');
    const uploads: UploadRecord[] = [];
    const images = new Map<string, ListedImage[]>(PROVIDERS.map((p) => [p, []]));
    r.uploads.forEach((u, i) => {
      const build = holders[u.build % Math.max(holders.length, 1)];
      if (!build) return;
      const id = `u${i}`;
      const readyAt = u.state === 'uploading' || u.state === 'failed' ? undefined : build.readyAt! + (i + 1) * MINUTE;
      uploads.push({ id, buildId: build.id, provider: u.provider, state: u.state, externalId: `ext-${id}`, externalName: id, createdAt: build.readyAt! + i, stateAt: NOW - i, readyAt, reason: undefined });
      if (u.listed) images.get(u.provider)!.push({ externalId: `ext-${id}`, uploadId: id, status: u.listed, passes: u.passes });
      if (u.inFlight && (u.state === 'uploading' || u.state === 'deleting')) inFlight.add(id);
    });
    r.leaks.forEach((l, i) => images.get(l.provider)!.push({ externalId: `leak-${i}`, uploadId: i % 2 ? `lost-${i}` : undefined, status: l.status, passes: l.passes }));
    const providers = new Map<string, ProviderView>(
      PROVIDERS.map((p) => [p, { builders: r.cloudless.includes(p) ? [] : ['builder-1'], images: r.unlisted.includes(p) ? undefined : images.get(p)! }]),
    );
    const pairPause = (d: string, p: string) => r.pausedPairs.includes(`${d}/${p}`);
    const config = planConfigWith({
      keepUploads: r.keepUploads,
      keepBuilds: r.keepBuilds,
      leakPasses: r.leakPasses,
      diskimages: [
        { name: 'debian', rebuildAgeMs: DAY, pause: r.pausedBuilds.includes('debian') },
        { name: 'centos', rebuildAgeMs: 6 * HOUR, pause: false },
      ],
      providers: [
        { name: 'p1', diskimages: [{ name: 'debian', pause: pairPause('debian', 'p1') }, { name: 'centos', pause: pairPause('centos', 'p1') }] },
        { name: 'p2', diskimages: [{ name: 'debian', pause: pairPause('debian', 'p2') }, { name: 'centos', pause: pairPause('centos', 'p2') }] },
      ],
    });
    const state: SchedulerState = {
      builds,
      uploads,
      pauses: r.pausedBuilds.includes('centos') ? [{ diskimage: 'centos', provider: undefined, pausedAt: 1 }] : [],
      backoffs: r.backoffPairs.map((pair) => {
        const [diskimage, provider] = pair.split('/') as [string, string];
        return { diskimage, provider: provider || undefined, failures: 3, failedAt: NOW - MINUTE, retryAt: NOW + HOUR, reason: 'refused' };
      }),
      buildRequests: r.requests.map((diskimage) => ({ diskimage, requestedAt: NOW - 1 })),
    };
    const world: World = {
      builds: observed,
      absentSince,
      buildersByDiskimage: new Map([
        ['debian', ['builder-1']],
        ['centos', ['builder-1']],
      ]),
      providers,
      inFlight,
    };
    return { state, config, world };
  });

/** The newest ready upload of each configured (diskimage, provider), found without the planner's code. */
function newestReadyUploads(s: Scenario): Set<string> {
  const newest = new Set<string>();
  const buildOf = new Map(s.state.builds.map((b) => [b.id, b]));
  for (const provider of s.config.providers) {
    for (const entry of provider.diskimages) {
      const ready = s.state.uploads.filter((u) => u.provider === provider.name && u.state === 'ready' && buildOf.get(u.buildId)?.diskimage === entry.name);
      ready.sort((a, b) => buildOf.get(b.buildId)!.readyAt! - buildOf.get(a.buildId)!.readyAt! || b.readyAt! - a.readyAt!);
      if (ready[0]) newest.add(ready[0].id);
    }
  }
  return newest;
}

const RUNS = { numRuns: 3_000 };
const providerOf = (a: Action | { provider?: string | undefined }): string | undefined => ('provider' in a ? a.provider : undefined);

describe('the five invariants over 3,000 random states each', () => {
  test('invariant 1: the newest ready upload of a configured (diskimage, provider) is never deleted', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const newest = newestReadyUploads(s);
        for (const action of plan(s.state, s.config, s.world, NOW).actions) {
          if (action.kind === 'delete-upload') expect(newest.has(action.uploadId)).toBe(false);
          if (action.kind === 'delete-leak') expect(s.state.uploads.some((u) => u.externalId === action.externalId && newest.has(u.id))).toBe(false);
        }
      }),
      RUNS,
    );
  });

  test('invariant 2: a tagged image is kept while its upload is recorded uploading or ready, and deleted after leak-passes sweeps otherwise', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const result = plan(s.state, s.config, s.world, NOW);
        const leaks = new Set(only(result.actions, 'delete-leak').map((a) => (a.kind === 'delete-leak' ? `${a.provider}/${a.externalId}` : '')));
        const adopted = new Set(only(result.actions, 'adopt-upload').map((a) => (a.kind === 'adopt-upload' ? `${a.provider}/${a.externalId}` : '')));
        for (const [provider, view] of s.world.providers) {
          for (const image of view.images ?? []) {
            const upload = s.state.uploads.find((u) => u.provider === provider && u.externalId === image.externalId);
            const accounted = upload !== undefined && ['uploading', 'ready', 'deleting'].includes(upload.state);
            const key = `${provider}/${image.externalId}`;
            if (accounted || image.passes < s.config.leakPasses) expect(leaks.has(key)).toBe(false);
            const due = !accounted && image.passes >= s.config.leakPasses && view.builders.length > 0 && !['deleted', 'pending_delete'].includes(image.status);
            if (due && !s.world.inFlight.has(image.externalId) && !(upload && s.world.inFlight.has(upload.id))) {
              expect(leaks.has(key) || adopted.has(key)).toBe(true);
            }
          }
        }
      }),
      RUNS,
    );
  });

  test('invariant 4: at most one build of a diskimage at a time', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const starts = only(plan(s.state, s.config, s.world, NOW).actions, 'start-build').map((a) => (a.kind === 'start-build' ? a.diskimage : ''));
        expect(new Set(starts).size).toBe(starts.length);
        for (const diskimage of starts) expect(s.state.builds.some((b) => b.diskimage === diskimage && b.state === 'building')).toBe(false);
      }),
      RUNS,
    );
  });

  test('invariant 5: whatever fails, pauses or backs off in p1 changes nothing the plan does or waits for in p2', () => {
    const troubleArb = fc.record({ failures: fc.integer({ min: 0, max: 5 }), cloudless: fc.boolean(), unlisted: fc.boolean(), paused: fc.boolean(), backoff: fc.boolean() });
    fc.assert(
      fc.property(scenarioArb, troubleArb, (s, trouble) => {
        const p1Build = s.state.builds.find((b) => b.state === 'ready');
        const failed: UploadRecord[] = p1Build
          ? Array.from({ length: trouble.failures }, (_, i) => ({ id: `f${i}`, buildId: p1Build.id, provider: 'p1', state: 'failed', externalId: `ext-f${i}`, externalName: undefined, createdAt: NOW - i, stateAt: NOW - i, readyAt: undefined, reason: 'Glance 503' }))
          : [];
        const troubled: Scenario = {
          config: s.config,
          state: {
            ...s.state,
            uploads: [...s.state.uploads, ...failed],
            pauses: trouble.paused ? [...s.state.pauses, { diskimage: 'debian', provider: 'p1', pausedAt: 1 }, { diskimage: 'centos', provider: 'p1', pausedAt: 1 }] : s.state.pauses,
            backoffs: trouble.backoff
              ? [...s.state.backoffs.filter((b) => b.provider !== 'p1'), ...['debian', 'centos'].map((d) => ({ diskimage: d, provider: 'p1', failures: 30, failedAt: NOW, retryAt: NOW + DAY, reason: 'down' }))]
              : s.state.backoffs,
          },
          world: {
            ...s.world,
            providers: new Map([...s.world.providers, ['p1', { builders: trouble.cloudless ? [] : s.world.providers.get('p1')!.builders, images: trouble.unlisted ? undefined : s.world.providers.get('p1')!.images }]]),
          },
        };
        const p2 = (result: Plan) => ({ actions: result.actions.filter((a) => providerOf(a) === 'p2'), waits: result.waits.filter((w) => w.provider === 'p2') });
        expect(p2(plan(troubled.state, troubled.config, troubled.world, NOW))).toEqual(p2(plan(s.state, s.config, s.world, NOW)));
      }),
      RUNS,
    );
  });

  test('the same inputs give the same plan', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        expect(plan(s.state, s.config, s.world, NOW)).toEqual(plan(s.state, s.config, s.world, NOW));
      }),
      { numRuns: 500 },
    );
  });
});

describe('a simulated lifecycle through the real state store', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'planner-lifecycle-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Kinds that submit a job: planning again after recording them must not repeat one. */
  const SUBMITTING = ['start-build', 'resume-build', 'start-upload', 'resume-upload', 'delete-upload', 'delete-build', 'delete-leak', 'delete-stray-build'] as const;

  test('ten rebuilds: decisions are committed before they are acted on, planning again submits nothing new, and the system converges on keep-uploads and keep-builds', () => {
    const file = join(dir, 'lifecycle.sqlite');
    const store = StateStore.open(file);
    const observer = StateStore.open(file); // a second connection: sees only what was committed
    const config = planConfigWith({ diskimages: [{ name: 'debian', rebuildAgeMs: DAY, pause: false }, { name: 'centos', rebuildAgeMs: DAY, pause: false }] });
    const policy = { baseMs: MINUTE, capMs: HOUR };
    let counter = 0;
    const mint: IdMint = {
      buildId: () => `build-${++counter}`,
      upload: (build, provider) => ({ id: `upload-${++counter}`, externalId: `glance-${counter}`, externalName: `${build.diskimage}-${provider}-${counter}` }),
    };
    const running = new Map<string, Action>(); // jobs "submitted" and not yet ended
    let now = NOW;
    let builds = 0;

    for (let step = 0; step < 10 * 25; step++) {
      const before = store.snapshot();
      const newest = newestReadyUploads({ state: before, config, world: agreeingWorld(before, config) });
      const decided = plan(before, config, agreeingWorld(before, config, { inFlight: new Set(running.keys()) }), now);
      for (const action of decided.actions) {
        if (action.kind === 'delete-upload') expect(newest.has(action.uploadId)).toBe(false); // invariant 1
        const record = recordDecision(store, action, now, mint, policy);
        if (record) expect('buildId' in record ? observer.upload(record.id) : observer.build(record.id)).toEqual(record); // invariant 3
        const id = record?.id ?? ('uploadId' in action ? action.uploadId : 'buildId' in action ? action.buildId : undefined);
        if (id && (SUBMITTING as readonly string[]).includes(action.kind)) running.set(id, action);
      }
      // Idempotency: with the decisions recorded and their jobs running, planning again submits nothing.
      const after = store.snapshot();
      const again = plan(after, config, agreeingWorld(after, config, { inFlight: new Set(running.keys()) }), now);
      expect(only(again.actions, ...SUBMITTING)).toEqual([]);
      // Every job ends well; its result is recorded.
      for (const [id, action] of running) {
        if (action.kind === 'start-build') {
          store.recordBuildReady(id, { builder: 'builder-1', formats: ['qcow2'] }, now);
          builds++;
        } else if (action.kind === 'start-upload') store.recordUploadReady(id, store.upload(id)!.externalId!, now);
        else if (action.kind === 'delete-upload') store.recordUploadGone(id, now);
        else if (action.kind === 'delete-build') store.recordBuildGone(id, now);
      }
      running.clear();
      const s = store.snapshot();
      for (const diskimage of ['debian', 'centos']) {
        expect(s.builds.filter((b) => b.diskimage === diskimage && b.state === 'building').length).toBeLessThanOrEqual(1);
        expect(s.builds.filter((b) => b.diskimage === diskimage && b.state === 'ready').length).toBeLessThanOrEqual(config.keepBuilds + 1);
        for (const provider of ['p1', 'p2']) {
          const ready = s.uploads.filter((u) => u.provider === provider && u.state === 'ready' && s.builds.find((b) => b.id === u.buildId)?.diskimage === diskimage);
          expect(ready.length).toBeLessThanOrEqual(config.keepUploads + 1);
        }
      }
      now += HOUR;
    }
    // Settle: plan and complete without time passing until nothing is left to do.
    for (let i = 0; i < 3; i++) {
      const s = store.snapshot();
      for (const action of plan(s, config, agreeingWorld(s, config), now).actions) {
        const record = recordDecision(store, action, now, mint, policy);
        if (action.kind === 'delete-upload') store.recordUploadGone(action.uploadId, now);
        if (action.kind === 'delete-build') store.recordBuildGone(action.buildId, now);
        expect(record?.state ?? 'none').not.toBe('building');
      }
    }
    const final = store.snapshot();
    expect(builds).toBe(2 * 11); // a first build and ten rebuilds of each
    for (const diskimage of ['debian', 'centos']) {
      expect(final.builds.filter((b) => b.diskimage === diskimage && b.state === 'ready')).toHaveLength(config.keepBuilds);
      for (const provider of ['p1', 'p2']) {
        expect(final.uploads.filter((u) => u.provider === provider && u.state === 'ready' && final.builds.find((b) => b.id === u.buildId)?.diskimage === diskimage)).toHaveLength(config.keepUploads);
      }
    }
    const s = store.snapshot();
    expect(plan(s, config, agreeingWorld(s, config), now)).toEqual({ actions: [], waits: [] });
    observer.close();
    store.close();
  });
});
