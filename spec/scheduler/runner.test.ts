/**
 * The scheduler runner against real gearmand, with stand-in builders (our Worker, in-process,
 * registering a builder's functions over a stand-in cloud: spec/scheduler/support/stand-in-builder.ts)
 * and an injected clock. Jobs and admin listings go through the daemon's own gearman ports.
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gearmanFleet, gearmanJobs } from '../../src/cli/scheduler-gearman.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { BuilderConfig, SchedulerConfig } from '../../src/config/schema.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { Activity } from '../../src/dashboard/activity.ts';
import { SchedulerRunner } from '../../src/scheduler/runner.ts';
import type { JobBuilder, RunnerEvents } from '../../src/scheduler/runner-events.ts';
import type { FleetListings, FleetPort, JobOutcome, JobPort } from '../../src/scheduler/runner-ports.ts';
import { StateStore } from '../../src/scheduler/state-store.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { type JobSeen, StandInBuilder } from './support/stand-in-builder.ts';
import { runnerConfigText } from './support/runner-config.ts';

const HOUR = 3_600_000;
const SYSTEM_ID = 'runner-test';

function configText(dir: string, scheduler = ''): string {
  return runnerConfigText(dir, SYSTEM_ID, scheduler);
}

describe('the scheduler runner, on gearmand with a stand-in builder', () => {
  let gearmand: Gearmand;
  let dir: string;
  let config: BuilderConfig;
  let scheduler: SchedulerConfig;
  let store: StateStore;
  let client: Client;
  let builder: StandInBuilder;
  let now: number;
  const runners: SchedulerRunner[] = [];
  const fleets: { close(): void }[] = [];

  function newRunner(fleet?: FleetPort, jobs?: JobPort, events: readonly RunnerEvents[] = []): SchedulerRunner {
    const gearman = gearmanFleet([gearmand]);
    fleets.push(gearman);
    const runner = new SchedulerRunner({ store, config, scheduler, jobs: jobs ?? gearmanJobs(client), fleet: fleet ?? gearman, clock: { now: () => now }, timers: false, events, ...(process.env.RUNNER_DEBUG ? { logger: console } : {}) });
    runners.push(runner);
    return runner;
  }

  /** Passes until nothing runs and nothing new is decided. */
  async function settle(runner: SchedulerRunner): Promise<void> {
    await runner.kick();
    await runner.idle();
  }

  beforeEach(async () => {
    gearmand = await startGearmand();
    dir = mkdtempSync(join(tmpdir(), 'runner-test-'));
    config = parseConfig(configText(dir), join(dir, 'scheduler.toml'));
    scheduler = config.scheduler!;
    store = StateStore.open(scheduler.stateFile);
    client = new Client({ servers: [gearmand] });
    builder = new StandInBuilder(gearmand, 'stand-in-1', ['debian'], ['p1', 'p2']);
    builder.start();
    now = 1_000 * HOUR;
    // Registration reaches gearmand before the first pass looks.
    const admin = gearmanFleet([gearmand]);
    for (;;) {
      const { listings } = await admin.workers();
      if (listings.flat().some((w) => w.functions.includes('provider-image-delete:p2'))) break;
      await Bun.sleep(10);
    }
    admin.close();
  });

  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
    for (const fleet of fleets.splice(0)) fleet.close();
    await client.close();
    await builder.stop();
    store.close();
    await gearmand[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  test('from nothing: one build, then its upload to every provider, each upload job carrying its upload id, the system id and the external id recorded before', async () => {
    const runner = newRunner();
    await settle(runner);
    const state = store.snapshot();
    expect(state.builds.map((b) => [b.diskimage, b.state, b.formats])).toEqual([['debian', 'ready', ['qcow2']]]);
    const buildId = state.builds[0]!.id;
    expect(state.uploads.map((u) => [u.provider, u.state, u.buildId]).sort()).toEqual([
      ['p1', 'ready', buildId],
      ['p2', 'ready', buildId],
    ]);
    const uploads = builder.seen.filter((s) => s.functionName === `image-upload:${buildId}`);
    expect(uploads).toHaveLength(2);
    for (const upload of state.uploads) {
      const job = uploads.find((s) => s.data.provider === upload.provider)!;
      expect(job.unique).toBe(upload.id);
      expect(job.data).toMatchObject({ 'upload-id': upload.id, 'system-id': SYSTEM_ID, 'external-id': upload.externalId, 'image-name': upload.externalName });
      expect(builder.cloud(upload.provider).map((i) => [i.externalId, i.status, i.uploadId])).toEqual([[upload.externalId!, 'active', upload.id]]);
    }
    // The build job went out under the build's id, as its image id and its unique.
    expect(builder.seen.find((s) => s.functionName === 'image-build:debian')).toMatchObject({ unique: buildId, data: { 'image-id': buildId } });
    expect(runner.status().reconciled).toBe(true);
  });

  test('invariant 3: each upload is on disk as uploading before its job reaches the builder', async () => {
    const onDisk: (string | undefined)[] = [];
    builder.onUploadStart = (job: JobSeen) => {
      const reader = StateStore.open(scheduler.stateFile);
      onDisk.push(reader.upload(job.unique)?.state);
      reader.close();
    };
    await settle(newRunner());
    expect(onDisk).toEqual(['uploading', 'uploading']);
  });

  test('a rebuild past rebuild-age supersedes the old build: each provider keeps keep-uploads (1) images, the builder keep-builds (1); the deleted build’s registration lingering on a job server is not taken for a stray', async () => {
    const runner = newRunner();
    await settle(runner);
    const first = store.snapshot().builds[0]!.id;
    now += 2 * HOUR;
    await settle(runner);
    const state = store.snapshot();
    const second = state.builds.find((b) => b.state === 'ready')!.id;
    expect(second).not.toBe(first);
    expect(state.builds.find((b) => b.id === first)?.state).toBe('gone');
    expect([...builder.builds]).toEqual([second]);
    for (const provider of ['p1', 'p2']) {
      expect(builder.cloud(provider).map((i) => i.buildId)).toEqual([second]);
      expect(state.uploads.filter((u) => u.provider === provider).map((u) => [u.buildId, u.state]).sort()).toEqual(
        [
          [first, 'gone'],
          [second, 'ready'],
        ].sort(),
      );
    }
  });

  test('invariant 5: a provider whose uploads fail backs off on its own; the other is uploaded, and the failed one catches up after the backoff', async () => {
    builder.failingProviders.add('p2');
    const runner = newRunner();
    await settle(runner);
    let state = store.snapshot();
    expect(state.uploads.find((u) => u.provider === 'p1')?.state).toBe('ready');
    expect(state.uploads.find((u) => u.provider === 'p2')).toMatchObject({ state: 'failed', reason: expect.stringContaining('stand-in cloud p2 refuses the image') });
    expect(state.backoffs).toEqual([expect.objectContaining({ diskimage: 'debian', provider: 'p2', failures: 1, retryAt: now + 5 * 60_000 })]);

    // Within the backoff, passes submit nothing to p2.
    const tries = () => builder.seen.filter((s) => s.functionName.startsWith('image-upload:') && s.data.provider === 'p2').length;
    await settle(runner);
    expect(tries()).toBe(1);
    expect(runner.status().waits).toContainEqual(expect.objectContaining({ provider: 'p2', why: 'backoff' }));

    builder.failingProviders.delete('p2');
    now += 5 * 60_000;
    await settle(runner);
    state = store.snapshot();
    expect(tries()).toBe(2);
    expect(state.uploads.filter((u) => u.provider === 'p2').map((u) => u.state).sort()).toEqual(['failed', 'ready']);
    expect(state.backoffs).toEqual([]);
  });

  test('invariant 2: an image tagged with this system id that the state does not know is deleted after two listings in a row, not after one; another system\'s image is left alone', async () => {
    const runner = newRunner();
    await settle(runner);
    const cloud = builder.clouds.get('p1')!;
    const leak = { externalId: 'leaked-image', name: 'x', status: 'active', uploadId: 'unknown-upload', buildId: null, systemId: SYSTEM_ID };
    const foreign = { ...leak, externalId: 'foreign-image', systemId: 'another-system' };
    cloud.set(leak.externalId, { ...leak });
    cloud.set(foreign.externalId, { ...foreign });
    await runner.kick();
    await runner.idle();
    // The pass after the first listing found nothing to do, so only one listing has seen it.
    expect(cloud.has('leaked-image')).toBe(true);
    await runner.kick();
    await runner.idle();
    expect(cloud.has('leaked-image')).toBe(false);
    expect(cloud.has('foreign-image')).toBe(true);
    expect(builder.seen.filter((s) => s.functionName === 'provider-image-delete:p1').map((s) => s.data['external-id'])).toEqual(['leaked-image']);
  });

  test('a scheduler stopped mid-upload: the upload finishes on the builder, and the next runner over the same state adopts it from the listing', async () => {
    let open: () => void = () => {};
    builder.uploadGate = new Promise<void>((resolve) => (open = resolve));
    const first = newRunner();
    await first.kick();
    // Passes follow the build's end; wait until both uploads are running on the builder.
    for (let i = 0; i < 500 && builder.seen.filter((s) => s.functionName.startsWith('image-upload:')).length < 2; i++) await Bun.sleep(10);
    expect(store.snapshot().uploads.map((u) => u.state)).toEqual(['uploading', 'uploading']);
    await first.stop();
    await client.close();
    open();
    for (let i = 0; i < 500 && builder.cloud('p1').concat(builder.cloud('p2')).some((image) => image.status !== 'active'); i++) await Bun.sleep(10);
    expect(store.snapshot().uploads.map((u) => u.state)).toEqual(['uploading', 'uploading']);

    client = new Client({ servers: [gearmand] });
    const second = newRunner();
    await settle(second);
    const state = store.snapshot();
    expect(state.uploads.map((u) => u.state)).toEqual(['ready', 'ready']);
    // Adopted, not uploaded again: still two upload jobs in all, and one image per provider.
    expect(builder.seen.filter((s) => s.functionName.startsWith('image-upload:'))).toHaveLength(2);
    expect(builder.cloud('p1')).toHaveLength(1);
    expect(builder.cloud('p2')).toHaveLength(1);
  });

  test('an upload whose result was lost (its client connection closed) is left alone for cleanup-interval, then submitted again under its id and attached to the run still going: one run, recorded ready', async () => {
    let open: () => void = () => {};
    builder.uploadGate = new Promise<void>((resolve) => (open = resolve));
    const direct = gearmanJobs(client);
    let cut: string | undefined;
    let lostReturned = false;
    const submissions: string[] = [];
    // The first upload to p1 goes out on a client of its own that is closed under it.
    const jobs: JobPort = {
      async run(functionName, data, unique, timeoutMs): Promise<JobOutcome> {
        submissions.push(unique);
        if (cut !== undefined || !functionName.startsWith('image-upload:') || !data.includes('"p1"')) return direct.run(functionName, data, unique, timeoutMs);
        cut = unique;
        const doomed = new Client({ servers: [gearmand] });
        const lost = doomed.submit(functionName, data, { unique }).catch(() => undefined);
        for (let i = 0; i < 500 && !builder.seen.some((s) => s.unique === unique); i++) await Bun.sleep(10);
        await doomed.close();
        await lost;
        setTimeout(() => (lostReturned = true));
        return { kind: 'lost', reason: 'the connection was closed (test)' };
      },
    };
    const runner = newRunner(undefined, jobs);
    await runner.kick();
    for (let i = 0; i < 500 && !lostReturned; i++) await Bun.sleep(10);
    for (let i = 0; i < 500 && builder.seen.filter((s) => s.functionName.startsWith('image-upload:')).length < 2; i++) await Bun.sleep(10);
    // Passes within cleanup-interval do not submit it again.
    await runner.kick();
    await runner.kick();
    const runsOf = (unique: string) => builder.seen.filter((s) => s.unique === unique).length;
    const submitted = (unique: string) => submissions.filter((u) => u === unique).length;
    expect(submitted(cut!)).toBe(1);
    expect(runsOf(cut!)).toBe(1);
    expect(store.upload(cut!)?.state).toBe('uploading');

    now += scheduler.cleanupIntervalMs;
    await runner.kick();
    expect(submitted(cut!)).toBe(2);
    // Attached at gearmand (a client waits on the unique) before the run is let finish.
    for (let i = 0; i < 500 && (await client.statusByUnique(cut!)).waiting < 1; i++) await Bun.sleep(10);
    open();
    await runner.idle();
    expect(store.upload(cut!)?.state).toBe('ready');
    expect(runsOf(cut!)).toBe(1);
    expect(builder.cloud('p1').map((i) => [i.uploadId, i.status])).toEqual([[cut!, 'active']]);
  });

  test('a reload (SIGHUP) that adds a provider: the next pass uploads the newest build there, without a rebuild', async () => {
    const onlyP1 = parseConfig(configText(dir).replace('[[providers]]\nname = "p2"\n', ''), join(dir, 'scheduler.toml'));
    expect(onlyP1.providers.map((p) => p.name)).toEqual(['p1']);
    const fleet = gearmanFleet([gearmand]);
    fleets.push(fleet);
    const runner = new SchedulerRunner({ store, config: onlyP1, scheduler: onlyP1.scheduler!, jobs: gearmanJobs(client), fleet, clock: { now: () => now }, timers: false });
    runners.push(runner);
    await settle(runner);
    expect(store.snapshot().uploads.map((u) => u.provider)).toEqual(['p1']);
    runner.reload(config, scheduler);
    await runner.kick();
    await runner.idle();
    const state = store.snapshot();
    expect(state.uploads.map((u) => [u.provider, u.state]).sort()).toEqual([
      ['p1', 'ready'],
      ['p2', 'ready'],
    ]);
    expect(state.builds).toHaveLength(1);
  });

  test('I5: a listing that hangs holds up no pass: the pass goes on without it (the build and both uploads go out), and its end brings a pass that uses it', async () => {
    const direct = gearmanJobs(client);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let p2Listings = 0;
    const jobs: JobPort = {
      async run(functionName, data, unique, timeoutMs, onProgress) {
        if (functionName === 'provider-image-list:p2' && ++p2Listings === 1) await held;
        return direct.run(functionName, data, unique, timeoutMs, onProgress);
      },
    };
    const passes: number[] = [];
    const fleet = gearmanFleet([gearmand]);
    fleets.push(fleet);
    const runner = new SchedulerRunner({ store, config, scheduler, jobs, fleet, clock: { now: () => now }, timers: false, listingWaitMs: 20, events: [{ passEnded: () => passes.push(p2Listings) }] });
    runners.push(runner);
    await settle(runner);
    // Everything went on while p2's first listing hung; no second listing of p2 was started meanwhile.
    expect(store.snapshot().uploads.map((u) => [u.provider, u.state]).sort()).toEqual([
      ['p1', 'ready'],
      ['p2', 'ready'],
    ]);
    expect(p2Listings).toBe(1);
    const before = passes.length;
    release();
    // Nobody kicks: the listing's end brings a pass of its own, which lists p2 afresh after using it.
    for (let i = 0; i < 500 && passes.length === before; i++) await Bun.sleep(10);
    expect(passes.length).toBeGreaterThan(before);
    // That pass used the listing that hung: it started no other.
    expect(passes[before]).toBe(1);
  });

  test('C1 (chaos): a build whose delete ended on its builder while the scheduler was down is recorded gone by the first pass after the restart, not after missing-build-grace', async () => {
    const first = newRunner();
    await settle(first);
    const old = store.snapshot().builds[0]!.id;
    now += 2 * HOUR;
    // The scheduler dies once image-delete:<old> went out: the builder deletes, nobody records the result.
    const direct = gearmanJobs(client);
    const dying: JobPort = {
      run: (functionName, data, unique, timeoutMs) =>
        functionName === `image-delete:${old}` ? direct.run(functionName, data, unique, timeoutMs).then(() => new Promise<JobOutcome>(() => {})) : direct.run(functionName, data, unique, timeoutMs),
    };
    const doomed = newRunner(undefined, dying);
    await doomed.kick();
    for (let i = 0; i < 1000 && (builder.builds.has(old) || !builder.seen.some((s) => s.functionName === `image-delete:${old}`)); i++) await Bun.sleep(10);
    expect(builder.builds.has(old)).toBe(false);
    await doomed.stop();
    expect(store.snapshot().builds.find((b) => b.id === old)?.state).toBe('deleting');

    const restarted = newRunner();
    await restarted.kick();
    expect(store.snapshot().builds.find((b) => b.id === old)?.state).toBe('gone');
  });

  test('D3 (chaos): an upload that fails EXTERNAL_ID_TAKEN (gearman ran its job again after its builder died, and the image id is spent) is not the provider\'s failure: no backoff, and a new upload under a new image id goes out at once', async () => {
    let rerun: string | undefined;
    builder.uploadFailure = (job) => {
      if (job.data.provider !== 'p1' || rerun !== undefined) return undefined;
      rerun = job.unique;
      return new JobFailure('EXTERNAL_ID_TAKEN', `EXTERNAL_ID_TAKEN: cloud "p1" already has (or had) an image ${String(job.data['external-id'])}; the upload did not start`);
    };
    const runner = newRunner();
    await settle(runner);
    const state = store.snapshot();
    expect(state.uploads.find((u) => u.id === rerun)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^EXTERNAL_ID_TAKEN:/) });
    expect(state.backoffs).toEqual([]);
    // Within the same moment (the injected clock never moved): p1 got a new upload, with a new image id.
    const p1 = state.uploads.filter((u) => u.provider === 'p1');
    expect(p1.map((u) => u.state).sort()).toEqual(['failed', 'ready']);
    expect(new Set(p1.map((u) => u.externalId)).size).toBe(2);
    expect(runner.status().waits).not.toContainEqual(expect.objectContaining({ provider: 'p1', why: 'backoff' }));
  });

  test('passes never overlap: many kicks at once run one pass at a time, and each kick is served by a pass that began after it', async () => {
    const gearman = gearmanFleet([gearmand]);
    fleets.push(gearman);
    let active = 0;
    let most = 0;
    let passes = 0;
    const counting: FleetPort = {
      async workers(): Promise<FleetListings> {
        active++;
        passes++;
        most = Math.max(most, active);
        try {
          return await gearman.workers();
        } finally {
          active--;
        }
      },
    };
    const runner = newRunner(counting);
    await Promise.all([runner.kick(), runner.kick(), runner.kick(), runner.kick()]);
    await runner.idle();
    expect(most).toBe(1);
    const before = passes;
    await runner.kick();
    expect(passes).toBeGreaterThan(before);
  });

  test('observers see each job start, its WORK_STATUS progress, and its end after its result is recorded, and each pass with its decisions; an observer that throws changes nothing', async () => {
    const seen: string[] = [];
    const watcher: RunnerEvents = {
      jobStarted: (job) => seen.push(`start ${job.kind} ${job.id}`),
      jobProgress: (p) => seen.push(`progress ${p.kind} ${p.id} ${p.numerator}/${p.denominator}`),
      jobEnded: (job) => {
        const record = job.kind === 'upload' ? store.upload(job.id)?.state : store.snapshot().builds.find((b) => b.id === job.id)?.state;
        seen.push(`end ${job.kind} ${job.id} ${job.outcome.kind} recorded ${record}`);
      },
      passEnded: (pass) => seen.push(`pass ${pass.actions.map((a) => a.kind).join(',')}`),
    };
    const thrower: RunnerEvents = {
      jobStarted: () => { throw new RangeError('observer bug'); },
      jobProgress: () => { throw new RangeError('observer bug'); },
      jobEnded: () => { throw new RangeError('observer bug'); },
      passEnded: () => { throw new RangeError('observer bug'); },
    };
    await settle(newRunner(undefined, undefined, [thrower, watcher]));
    const state = store.snapshot();
    const buildId = state.builds[0]!.id;
    expect(state.uploads.map((u) => u.state)).toEqual(['ready', 'ready']);
    // A pass's jobs start as it commits each decision; the pass ends after the last.
    expect(seen.slice(0, 2)).toEqual([`start build ${buildId}`, 'pass start-build']);
    expect(seen).toContain(`end build ${buildId} complete recorded ready`);
    expect(seen).toContain('pass start-upload,start-upload');
    for (const upload of state.uploads) {
      const order = [`start upload ${upload.id}`, `progress upload ${upload.id} 512/1024`, `end upload ${upload.id} complete recorded ready`].map((line) => seen.indexOf(line));
      expect(order.every((i) => i >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
    }
  });

  test('cloud-job-timeout and job-timeout-margin ([scheduler]) are the timeouts the runner gives its jobs', async () => {
    config = parseConfig(configText(dir, 'cloud-job-timeout = "7m"\njob-timeout-margin = "3m"'), join(dir, 'scheduler.toml'));
    scheduler = config.scheduler!;
    const gearman = gearmanJobs(client);
    const timeouts = new Map<string, number>();
    const recording: JobPort = {
      run(functionName, data, unique, timeoutMs, onProgress) {
        timeouts.set(functionName.replace(/:.*/, ''), timeoutMs);
        return gearman.run(functionName, data, unique, timeoutMs, onProgress);
      },
    };
    await settle(newRunner(undefined, recording));
    const buildTimeout = config.diskimages[0]!.buildTimeoutMs;
    const uploadTimeout = config.providers[0]!.uploadTimeoutMs;
    expect(Object.fromEntries(timeouts)).toEqual({
      'provider-image-list': 7 * 60_000,
      'image-build': buildTimeout + 3 * 60_000,
      'image-upload': uploadTimeout + 3 * 60_000,
    });
  });

  test('history-retention: gone records older than it are pruned from the state file by the passes; recent history stays', async () => {
    config = parseConfig(configText(dir, 'history-retention = "1d"'), join(dir, 'scheduler.toml'));
    scheduler = config.scheduler!;
    const runner = newRunner();
    await settle(runner);
    const first = store.snapshot().builds[0]!.id;
    const firstUploads = store.snapshot().uploads.map((u) => u.id);
    now += 2 * HOUR;
    await settle(runner);
    const second = store.snapshot().builds.find((b) => b.state === 'ready')!.id;
    // Gone, and younger than a day: kept for the history.
    expect(store.build(first)?.state).toBe('gone');
    expect(firstUploads.map((id) => store.upload(id)?.state)).toEqual(['gone', 'gone']);
    now += 25 * HOUR;
    await settle(runner);
    // A day after: the first build and its uploads are out of the file; the second, gone just now, is history still.
    expect(store.build(first)).toBeUndefined();
    expect(firstUploads.map((id) => store.upload(id))).toEqual([undefined, undefined]);
    expect(store.build(second)?.state).toBe('gone');
    expect(store.snapshot().builds.map((b) => b.state).sort()).toEqual(['gone', 'ready']);
  });

  /** Waits until gearmand's workers listing shows every one of these functions. */
  async function registered(...functions: string[]): Promise<void> {
    const admin = gearmanFleet([gearmand]);
    for (;;) {
      const { listings } = await admin.workers();
      const all = listings.flat().flatMap((w) => w.functions);
      if (functions.every((f) => all.includes(f))) break;
      await Bun.sleep(10);
    }
    admin.close();
  }

  test("a running build's builder is known before it ends: a diskimage only one builder registers runs there, at once", async () => {
    let release = () => {};
    builder.buildGate = new Promise<void>((resolve) => (release = resolve));
    const activity = new Activity();
    const runner = newRunner(undefined, undefined, [activity]);
    await runner.kick();
    const [build] = activity.running();
    expect(build).toMatchObject({ kind: 'build', functionName: 'image-build:debian', builder: 'stand-in-1' });
    release();
    await runner.idle();
    expect(store.build(build!.id)?.builder).toBe('stand-in-1');
  });

  test("a running build's builder is known before it ends: with two builders of its diskimage, the next pass asks their builder-image-list for what they are building", async () => {
    const second = new StandInBuilder(gearmand, 'stand-in-2', ['debian'], []);
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    builder.buildGate = gate;
    second.buildGate = gate;
    builder.serveListing();
    second.serveListing();
    second.start();
    try {
      await registered('builder-image-list:stand-in-1', 'builder-image-list:stand-in-2', 'image-build:debian');
      const admin = gearmanFleet([gearmand]);
      fleets.push(admin);
      while ((await admin.workers()).listings.flat().filter((w) => w.functions.includes('image-build:debian')).length < 2) await Bun.sleep(10);
      const told: JobBuilder[] = [];
      const activity = new Activity();
      const runner = newRunner(undefined, undefined, [activity, { jobBuilder: (job) => told.push(job) }]);
      await runner.kick();
      const [build] = activity.running();
      expect(build).toMatchObject({ kind: 'build', builder: undefined });
      const id = build!.id;
      while (!builder.building.has(id) && !second.building.has(id)) await Bun.sleep(10);
      const taker = builder.building.has(id) ? builder : second;
      await runner.kick();
      expect(told).toEqual([{ id, kind: 'build', builder: taker.name }]);
      expect(activity.running().find((j) => j.id === id)?.builder).toBe(taker.name);
      release();
      await runner.idle();
      expect(store.build(id)?.builder).toBe(taker.name);
    } finally {
      release();
      await second.stop();
    }
  });
});
