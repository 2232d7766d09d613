/**
 * The builder's Prometheus metrics: the job reports as the BuilderWorker makes them, the slots
 * from a real protocol Worker on gearmand with a job held in its handler, and images-dir's free
 * space on a tmpfs of a known size. Read as Prometheus reads them (the registry's text).
 */
import { afterEach, describe, expect, test } from 'bun:test';
import { builderPrometheus } from '../../src/metrics/builder-metrics.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { allMetrics, noMetrics } from '../../src/worker/metrics.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { promtoolCheck, sampleValue } from '../support/prom-text.ts';
import { eventually } from '../support/run.ts';
import { mountSmallFilesystem } from '../support/small-filesystem.ts';

describe('the builder Prometheus metrics', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  test('builds and uploads by result, build and upload durations, upload bytes and image sizes follow the reports; promtool passes it', async () => {
    const { registry, metrics } = builderPrometheus('/nonexistent-images-dir', () => undefined);
    const both = allMetrics([noMetrics, metrics]);
    both.buildFinished('debian', 0, 125_000, { qcow2: 300_000_000, raw: 2_000_000_000 });
    both.buildFinished('debian', 1, 4_000, {});
    both.uploadFinished('debian', 'p1', 42_000, 300_000_000);
    both.uploadFinished('debian', 'p1', 58_000, 300_000_000);
    both.uploadFailed('debian', 'p2', 1_000);
    both.uploadFailed(undefined, 'p2', 10);
    const text = await registry.metrics();
    expect(sampleValue(text, 'nodepool_builder_builds_total', { image: 'debian', result: 'success' })).toBe(1);
    expect(sampleValue(text, 'nodepool_builder_builds_total', { image: 'debian', result: 'failure' })).toBe(1);
    expect(sampleValue(text, 'nodepool_builder_build_duration_seconds_count', { image: 'debian' })).toBe(2);
    expect(sampleValue(text, 'nodepool_builder_build_duration_seconds_sum', { image: 'debian' })).toBe(129);
    expect(sampleValue(text, 'nodepool_builder_build_duration_seconds_bucket', { image: 'debian', le: '120' })).toBe(1);
    expect(sampleValue(text, 'nodepool_builder_image_size_bytes', { image: 'debian', format: 'raw' })).toBe(2_000_000_000);
    expect(sampleValue(text, 'nodepool_builder_uploads_total', { image: 'debian', provider: 'p1', result: 'success' })).toBe(2);
    expect(sampleValue(text, 'nodepool_builder_uploads_total', { image: 'debian', provider: 'p2', result: 'failure' })).toBe(1);
    expect(sampleValue(text, 'nodepool_builder_uploads_total', { image: '', provider: 'p2', result: 'failure' })).toBe(1);
    expect(sampleValue(text, 'nodepool_builder_upload_bytes_total', { image: 'debian', provider: 'p1' })).toBe(600_000_000);
    expect(sampleValue(text, 'nodepool_builder_upload_duration_seconds_sum', { provider: 'p1' })).toBe(100);
    expect(sampleValue(text, 'nodepool_builder_upload_duration_seconds_bucket', { provider: 'p1', le: '60' })).toBe(2);
    expect(sampleValue(text, 'nodepool_builder_upload_duration_seconds_count', { provider: 'p2' })).toBeUndefined();
    // An images-dir that cannot be read shows no sample; the scrape still succeeds.
    expect(sampleValue(text, 'nodepool_builder_images_dir_free_bytes')).toBeUndefined();
    expect(await promtoolCheck(text)).toEqual({ code: 0, output: '' });
  });

  test('slots busy and free and the job server connection come from a real worker on gearmand; free space from a 16 MiB tmpfs', async () => {
    const gearmand: Gearmand = await startGearmand();
    cleanups.push(() => gearmand[Symbol.asyncDispose]());
    const disk = await mountSmallFilesystem(16);
    cleanups.push(() => disk.unmount());
    const worker = new Worker({ servers: [gearmand], slots: { build: 1, upload: 3 }, clientId: 'metrics-test' });
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    worker.register('hold', async () => {
      started++;
      await held;
      return 'done';
    }, { jobClass: 'upload' });
    worker.start();
    cleanups.push(() => worker.stop(1_000));
    const client = new Client({ servers: [gearmand] });
    cleanups.push(() => client.close());
    const { registry } = builderPrometheus(disk.dir, () => worker.stats());
    const server = `${gearmand.host}:${gearmand.port}`;

    await eventually(async () => sampleValue(await registry.metrics(), 'nodepool_builder_job_server_up', { server }) === 1, 10_000, 'the worker connected');
    const jobs = [client.submit('hold', ''), client.submit('hold', '')];
    await eventually(() => started === 2, 10_000, 'two jobs running');
    const text = await registry.metrics();
    expect(sampleValue(text, 'nodepool_builder_slots', { class: 'upload', state: 'busy' })).toBe(2);
    expect(sampleValue(text, 'nodepool_builder_slots', { class: 'upload', state: 'free' })).toBe(1);
    expect(sampleValue(text, 'nodepool_builder_slots', { class: 'build', state: 'busy' })).toBe(0);
    expect(sampleValue(text, 'nodepool_builder_slots', { class: 'build', state: 'free' })).toBe(1);
    expect(sampleValue(text, 'nodepool_builder_images_dir_free_bytes')).toBe(16 * 1024 * 1024);
    expect(sampleValue(text, 'nodepool_builder_job_server_reconnects_total', { server })).toBe(0);
    expect(await promtoolCheck(text)).toEqual({ code: 0, output: '' });
    release();
    await Promise.all(jobs);
    expect(sampleValue(await registry.metrics(), 'nodepool_builder_slots', { class: 'upload', state: 'busy' })).toBe(0);
  });
});
