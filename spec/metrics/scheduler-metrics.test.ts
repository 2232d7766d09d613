/**
 * The scheduler's metrics from a real state file and real runner events: the runner on gearmand
 * with a stand-in builder (as spec/scheduler/runner.test.ts) and an injected clock. What the
 * metrics show is read as Prometheus reads it (the text at /metrics) and as statsd receives it
 * (a real UDP listener).
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gearmanFleet, gearmanJobs } from '../../src/cli/scheduler-gearman.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { BuilderConfig, SchedulerConfig, StatsdConfig } from '../../src/config/schema.ts';
import { type SchedulerMetrics, schedulerMetrics } from '../../src/metrics/scheduler-metrics.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { SchedulerRunner } from '../../src/scheduler/runner.ts';
import type { JobPort } from '../../src/scheduler/runner-ports.ts';
import { StateStore } from '../../src/scheduler/state-store.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { promtoolCheck, sampleValue } from '../support/prom-text.ts';
import { eventually } from '../support/run.ts';
import { startUdpListener } from '../support/udp-listener.ts';
import { StandInBuilder } from '../scheduler/support/stand-in-builder.ts';
import { runnerConfigText } from '../scheduler/support/runner-config.ts';

const HOUR = 3_600_000;
const SYSTEM_ID = 'metrics-test';

function configText(dir: string): string {
  return runnerConfigText(dir, SYSTEM_ID);
}

describe('the scheduler metrics, from the runner on gearmand with a stand-in builder', () => {
  let gearmand: Gearmand;
  let dir: string;
  let config: BuilderConfig;
  let scheduler: SchedulerConfig;
  let store: StateStore;
  let client: Client;
  let builder: StandInBuilder;
  let now: number;
  let statsd: StatsdConfig | undefined;
  let passes: number;
  const closers: (() => unknown)[] = [];

  function start(jobs?: JobPort): { runner: SchedulerRunner; metrics: SchedulerMetrics } {
    const fleet = gearmanFleet([gearmand]);
    const metrics = schedulerMetrics({ store, jobServers: () => client.servers(), statsd: () => statsd, now: () => now });
    const counter = { passEnded: () => void passes++ };
    const runner = new SchedulerRunner({ store, config, scheduler, jobs: jobs ?? gearmanJobs(client), fleet, clock: { now: () => now }, timers: false, events: [...metrics.events, counter] });
    closers.push(() => runner.stop(), () => fleet.close(), () => metrics.close());
    return { runner, metrics };
  }

  async function settle(runner: SchedulerRunner): Promise<void> {
    await runner.kick();
    await runner.idle();
  }

  beforeEach(async () => {
    gearmand = await startGearmand();
    dir = mkdtempSync(join(tmpdir(), 'scheduler-metrics-'));
    config = parseConfig(configText(dir), join(dir, 'scheduler.toml'));
    scheduler = config.scheduler!;
    store = StateStore.open(scheduler.stateFile);
    client = new Client({ servers: [gearmand] });
    builder = new StandInBuilder(gearmand, 'stand-in-1', ['debian'], ['p1', 'p2']);
    builder.start();
    now = 1_000 * HOUR;
    statsd = undefined;
    passes = 0;
    const admin = gearmanFleet([gearmand]);
    for (;;) {
      const { listings } = await admin.workers();
      if (listings.flat().some((w) => w.functions.includes('provider-image-delete:p2'))) break;
      await Bun.sleep(10);
    }
    admin.close();
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await client.close();
    await builder.stop();
    store.close();
    await gearmand[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  test('after a build and its uploads: finished counters, states, the newest upload age by the clock, passes, the job server up; promtool passes it', async () => {
    const { runner, metrics } = start();
    await settle(runner);
    const readyAt = now;
    now += 90_000;
    const text = await metrics.registry.metrics();
    expect(sampleValue(text, 'nodepool_scheduler_builds_finished_total', { image: 'debian', result: 'success' })).toBe(1);
    for (const provider of ['p1', 'p2']) {
      expect(sampleValue(text, 'nodepool_scheduler_uploads_finished_total', { image: 'debian', provider, result: 'success' })).toBe(1);
      expect(sampleValue(text, 'nodepool_scheduler_upload_duration_seconds_count', { provider })).toBe(1);
      expect(sampleValue(text, 'nodepool_scheduler_uploads', { image: 'debian', provider, state: 'ready' })).toBe(1);
      // Only states that hold records have a series.
      expect(sampleValue(text, 'nodepool_scheduler_uploads', { image: 'debian', provider, state: 'uploading' })).toBeUndefined();
      expect(sampleValue(text, 'nodepool_scheduler_newest_upload_age_seconds', { image: 'debian', provider })).toBe((now - readyAt) / 1000);
    }
    expect(sampleValue(text, 'nodepool_scheduler_builds', { image: 'debian', state: 'ready' })).toBe(1);
    expect(sampleValue(text, 'nodepool_scheduler_builds', { image: 'debian', state: 'building' })).toBeUndefined();
    expect(sampleValue(text, 'nodepool_scheduler_builds', { image: 'debian', state: 'gone' })).toBeUndefined();
    expect(sampleValue(text, 'nodepool_scheduler_passes_total')).toBe(passes);
    expect(passes).toBeGreaterThanOrEqual(3);
    const server = `${gearmand.host}:${gearmand.port}`;
    expect(sampleValue(text, 'nodepool_scheduler_job_server_up', { server })).toBe(1);
    expect(sampleValue(text, 'nodepool_scheduler_job_server_reconnects_total', { server })).toBe(0);
    // The process's own (this test's process): a Bun process holds tens of MiB.
    expect(sampleValue(text, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 2 ** 20);
    expect(sampleValue(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    const startedAt = sampleValue(text, 'process_start_time_seconds')!;
    expect(startedAt).toBeLessThanOrEqual(Date.now() / 1000);
    expect(startedAt).toBeGreaterThanOrEqual(Date.now() / 1000 - process.uptime() - 1);
    expect(sampleValue(text, 'process_open_fds')).toBeGreaterThan(2);
    expect(await promtoolCheck(text)).toEqual({ code: 0, output: '' });
  });

  test('the state gauges follow each commit, this connection\'s and another\'s to the same file (the scrape reads again only after one)', async () => {
    const { runner, metrics } = start();
    expect(sampleValue(await metrics.registry.metrics(), 'nodepool_scheduler_builds', { image: 'debian', state: 'ready' })).toBeUndefined();
    await settle(runner);
    const before = await metrics.registry.metrics();
    expect(sampleValue(before, 'nodepool_scheduler_uploads', { image: 'debian', provider: 'p1', state: 'ready' })).toBe(1);
    // An operator's delete through another connection (as import-state or a second process would write).
    const other = StateStore.open(scheduler.stateFile);
    const upload = other.snapshot().uploads.find((u) => u.provider === 'p1')!;
    other.requestUploadDelete(upload.id, now);
    other.close();
    const after = await metrics.registry.metrics();
    expect(sampleValue(after, 'nodepool_scheduler_uploads', { image: 'debian', provider: 'p1', state: 'deleting' })).toBe(1);
    expect(sampleValue(after, 'nodepool_scheduler_uploads', { image: 'debian', provider: 'p1', state: 'ready' })).toBeUndefined();
    expect(sampleValue(after, 'nodepool_scheduler_newest_upload_age_seconds', { image: 'debian', provider: 'p1' })).toBeUndefined();
    expect(sampleValue(after, 'nodepool_scheduler_uploads', { image: 'debian', provider: 'p2', state: 'ready' })).toBe(1);
  });

  test('upload durations run from submission to result by the runner\'s clock: 90 s lands in the 120 s bucket, and statsd gets the same 90,000 ms', async () => {
    const udp = await startUdpListener();
    closers.push(() => udp.close());
    statsd = { host: '127.0.0.1', port: udp.port, prefix: 'np' };
    let open = (): void => {};
    builder.uploadGate = new Promise<void>((resolve) => (open = resolve));
    const { runner, metrics } = start();
    void runner.kick();
    await eventually(() => builder.seen.filter((s) => s.functionName.startsWith('image-upload:')).length === 2, 10_000, 'both uploads running');
    now += 90_000;
    open();
    await runner.idle();
    const text = await metrics.registry.metrics();
    for (const provider of ['p1', 'p2']) {
      expect(sampleValue(text, 'nodepool_scheduler_upload_duration_seconds_sum', { provider })).toBe(90);
      expect(sampleValue(text, 'nodepool_scheduler_upload_duration_seconds_bucket', { provider, le: '60' })).toBe(0);
      expect(sampleValue(text, 'nodepool_scheduler_upload_duration_seconds_bucket', { provider, le: '120' })).toBe(1);
    }
    await eventually(() => udp.lines.filter((l) => l.startsWith('np.image_update.')).length === 2, 5_000, 'the timers');
    expect(udp.lines.filter((l) => l.startsWith('np.image_update.')).sort()).toEqual(['np.image_update.debian.p1:90000|ms', 'np.image_update.debian.p2:90000|ms']);
  });

  test('an upload WORK_FAIL counts as a failure and stays out of the duration histogram; the other provider counts its success', async () => {
    builder.failingProviders.add('p2');
    const { runner, metrics } = start();
    await settle(runner);
    const text = await metrics.registry.metrics();
    expect(sampleValue(text, 'nodepool_scheduler_uploads_finished_total', { image: 'debian', provider: 'p2', result: 'failure' })).toBe(1);
    expect(sampleValue(text, 'nodepool_scheduler_uploads_finished_total', { image: 'debian', provider: 'p2', result: 'success' })).toBeUndefined();
    expect(sampleValue(text, 'nodepool_scheduler_upload_duration_seconds_count', { provider: 'p2' })).toBeUndefined();
    expect(sampleValue(text, 'nodepool_scheduler_uploads', { image: 'debian', provider: 'p2', state: 'failed' })).toBe(1);
    expect(sampleValue(text, 'nodepool_scheduler_uploads_finished_total', { image: 'debian', provider: 'p1', result: 'success' })).toBe(1);
    expect(sampleValue(text, 'nodepool_scheduler_newest_upload_age_seconds', { image: 'debian', provider: 'p2' })).toBeUndefined();
  });

  test('a fake job port that loses every upload (no result, as after a lost connection): the uploads count as lost', async () => {
    const real = gearmanJobs(client);
    const losing: JobPort = {
      run: (functionName, data, unique, timeoutMs, onProgress) =>
        functionName.startsWith('image-upload:') ? Promise.resolve({ kind: 'lost', reason: 'connection lost (fake)' }) : real.run(functionName, data, unique, timeoutMs, onProgress),
    };
    const { runner, metrics } = start(losing);
    await settle(runner);
    const text = await metrics.registry.metrics();
    expect(sampleValue(text, 'nodepool_scheduler_uploads_finished_total', { image: 'debian', provider: 'p1', result: 'lost' })).toBe(1);
    expect(sampleValue(text, 'nodepool_scheduler_uploads', { image: 'debian', provider: 'p1', state: 'uploading' })).toBe(1);
  });

  test('a leaked image deleted after two sweeps counts once, under its provider', async () => {
    const { runner, metrics } = start();
    await settle(runner);
    const leak = { externalId: 'leaked-image', name: 'x', status: 'active', uploadId: 'unknown-upload', buildId: null, systemId: SYSTEM_ID };
    builder.clouds.get('p1')!.set(leak.externalId, { ...leak });
    await settle(runner);
    expect(sampleValue(await metrics.registry.metrics(), 'nodepool_scheduler_leaked_images_deleted_total', { provider: 'p1' })).toBeUndefined();
    await settle(runner);
    expect(builder.clouds.get('p1')!.has('leaked-image')).toBe(false);
    const text = await metrics.registry.metrics();
    expect(sampleValue(text, 'nodepool_scheduler_leaked_images_deleted_total', { provider: 'p1' })).toBe(1);
    expect(sampleValue(text, 'nodepool_scheduler_leaked_images_deleted_total', { provider: 'p2' })).toBeUndefined();
  });

  test('statsd (a real UDP listener): image_update.<image>.<provider> timers and the build and upload state gauges', async () => {
    const udp = await startUdpListener();
    closers.push(() => udp.close());
    statsd = { host: '127.0.0.1', port: udp.port, prefix: 'np' };
    const { runner } = start();
    await settle(runner);
    await eventually(() => udp.lines.some((l) => l.startsWith('np.image_update.debian.p2:')), 5_000, 'the timers');
    // The last gauges sent (after the last pass) hold the settled state.
    const last = (key: string): string | undefined => udp.lines.filter((l) => l.startsWith(`${key}:`)).at(-1);
    await eventually(() => last('np.provider.p2.uploads.ready') === 'np.provider.p2.uploads.ready:1|g', 5_000, 'the gauges after the last pass');
    expect(udp.lines.filter((l) => l.startsWith('np.image_update.')).map((l) => l.replace(/:\d+\|ms$/, ':N|ms')).sort()).toEqual(['np.image_update.debian.p1:N|ms', 'np.image_update.debian.p2:N|ms']);
    expect(last('np.builds.ready')).toBe('np.builds.ready:1|g');
    expect(last('np.builds.building')).toBe('np.builds.building:0|g');
    expect(last('np.image.debian.builds.ready')).toBe('np.image.debian.builds.ready:1|g');
    expect(last('np.uploads.ready')).toBe('np.uploads.ready:2|g');
    expect(last('np.uploads.uploading')).toBe('np.uploads.uploading:0|g');
    expect(last('np.provider.p1.uploads.ready')).toBe('np.provider.p1.uploads.ready:1|g');
    expect(last('np.image.debian.uploads.ready')).toBe('np.image.debian.uploads.ready:2|g');
    expect(udp.lines.some((l) => l.includes('.gone:'))).toBe(false);
  });

  test('without [statsd] nothing is sent', async () => {
    const udp = await startUdpListener();
    closers.push(() => udp.close());
    const { runner } = start();
    await settle(runner);
    // A datagram sent to the listener after everything: once it arrives, any earlier one would have.
    const probe = (await import('node:dgram')).createSocket('udp4');
    probe.send('probe:1|c', udp.port, '127.0.0.1');
    await eventually(() => udp.lines.includes('probe:1|c'), 5_000, 'the probe');
    probe.close();
    expect(udp.lines).toEqual(['probe:1|c']);
  });
});
