/**
 * Metrics end to end (issue 15): a fleet of real gearmand, one builder as a `run` process with
 * `[metrics] listen`, a real no-auth Glance and the scheduler as a process. After the first upload
 * is active, each /metrics output passes `promtool check metrics` (format and lint), the builder's
 * values match what it did, and a real Prometheus, scraping both every second, answers a query
 * for the uploaded image's upload age over its HTTP API.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/ports.ts';
import { type PrometheusServer, startPrometheus } from '../support/prometheus.ts';
import { promtoolCheck, sampleValue } from '../support/prom-text.ts';
import { eventually } from '../support/run.ts';
import { type Fleet, startFleet } from '../support/scheduler-fleet.ts';
import { startUdpListener } from '../support/udp-listener.ts';

describe('metrics of a real scheduler and builder, checked by promtool and scraped by a real Prometheus', () => {
  let fleet: Fleet;
  let builderMetrics: string;
  let prometheus: PrometheusServer | undefined;
  let statsd: Awaited<ReturnType<typeof startUdpListener>>;

  beforeAll(async () => {
    const port = await freePort();
    builderMetrics = `127.0.0.1:${port}`;
    statsd = await startUdpListener();
    fleet = await startFleet({
      builders: 1,
      providers: ['p1'],
      images: ['tiny'],
      builderExtra: () => `[metrics]\nlisten = "${builderMetrics}"`,
      // The scheduler's file only: a [statsd] table after its [scheduler] keys.
      scheduler: { schedulerExtra: `[statsd]\nport = ${statsd.port}\nprefix = "e2e"` },
    });
    await eventually(
      async () => {
        const rows = await fleet.imageList();
        return rows.some((r) => r.provider === 'p1' && r.state === 'ready');
      },
      120_000,
      'the first upload to be ready',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${fleet.logs()}`);
    });
  }, 180_000);

  afterAll(async () => {
    await prometheus?.close();
    await fleet?.close();
    statsd?.close();
  }, 60_000);

  const scrape = async (url: string): Promise<{ status: number; type: string | null; text: string }> => {
    const reply = await fetch(url);
    return { status: reply.status, type: reply.headers.get('content-type'), text: await reply.text() };
  };

  test('the scheduler /metrics passes promtool and shows the ready upload, its age and the finished counters', async () => {
    const reply = await scrape(`${fleet.api}/metrics`);
    expect(reply.status).toBe(200);
    expect(reply.type).toStartWith('text/plain; version=0.0.4');
    expect(await promtoolCheck(reply.text)).toEqual({ code: 0, output: '' });
    expect(sampleValue(reply.text, 'nodepool_scheduler_uploads', { image: 'tiny', provider: 'p1', state: 'ready' })).toBe(1);
    expect(sampleValue(reply.text, 'nodepool_scheduler_newest_upload_age_seconds', { image: 'tiny', provider: 'p1' })).toBeGreaterThanOrEqual(0);
    expect(sampleValue(reply.text, 'nodepool_scheduler_uploads_finished_total', { image: 'tiny', provider: 'p1', result: 'success' })).toBe(1);
    expect(sampleValue(reply.text, 'nodepool_scheduler_builds_finished_total', { image: 'tiny', result: 'success' })).toBe(1);
    expect(sampleValue(reply.text, 'nodepool_scheduler_job_server_up', { server: `127.0.0.1:${fleet.gearmand.port}` })).toBe(1);
    expect(sampleValue(reply.text, 'nodepool_scheduler_passes_total')).toBeGreaterThanOrEqual(1);
  });

  test('the builder /metrics ([metrics] listen) passes promtool and counts its build and upload, the bytes sent, its slots and free space', async () => {
    const reply = await scrape(`http://${builderMetrics}/metrics`);
    expect(reply.status).toBe(200);
    expect(await promtoolCheck(reply.text)).toEqual({ code: 0, output: '' });
    const [build] = fleet.repositories()[0]!;
    const record = JSON.parse(readFileSync(join(fleet.builders[0]!.imagesDir, 'images', build!.id, 'metadata.json'), 'utf8')) as { formats: Record<string, { size: number }> };
    expect(sampleValue(reply.text, 'nodepool_builder_builds_total', { image: 'tiny', result: 'success' })).toBe(1);
    expect(sampleValue(reply.text, 'nodepool_builder_build_duration_seconds_count', { image: 'tiny' })).toBe(1);
    expect(sampleValue(reply.text, 'nodepool_builder_uploads_total', { image: 'tiny', provider: 'p1', result: 'success' })).toBe(1);
    expect(sampleValue(reply.text, 'nodepool_builder_upload_duration_seconds_count', { provider: 'p1' })).toBe(1);
    // The file the builder uploaded: its size as the build recorded it.
    expect(sampleValue(reply.text, 'nodepool_builder_upload_bytes_total', { image: 'tiny', provider: 'p1' })).toBe(record.formats.qcow2!.size);
    expect(sampleValue(reply.text, 'nodepool_builder_slots', { class: 'build', state: 'busy' })).toBe(0);
    expect(sampleValue(reply.text, 'nodepool_builder_slots', { class: 'build', state: 'free' })).toBe(1);
    expect(sampleValue(reply.text, 'nodepool_builder_slots', { class: 'upload', state: 'free' })).toBe(4);
    expect(sampleValue(reply.text, 'nodepool_builder_images_dir_free_bytes')).toBeGreaterThan(0);
    expect(sampleValue(reply.text, 'nodepool_builder_job_server_up', { server: `127.0.0.1:${fleet.gearmand.port}` })).toBe(1);
    expect(sampleValue(reply.text, 'nodepool_builder_job_server_reconnects_total', { server: `127.0.0.1:${fleet.gearmand.port}` })).toBe(0);
    // Only /metrics is served there.
    expect((await scrape(`http://${builderMetrics}/`)).status).toBe(404);
  });

  test('the scheduler process sends statsd (a real UDP listener): the image_update timer and the upload state gauges', async () => {
    await eventually(() => statsd.lines.includes('e2e.provider.p1.uploads.ready:1|g'), 30_000, 'the upload state gauge').catch((err: unknown) => {
      throw new Error(`${String(err)}\n${statsd.lines.join('\n')}`);
    });
    expect(statsd.lines.filter((l) => l.startsWith('e2e.image_update.')).map((l) => l.replace(/:\d+\|ms$/, ''))).toEqual(['e2e.image_update.tiny.p1']);
    expect(statsd.lines).toContain('e2e.image.tiny.builds.building:0|g');
  });

  test('a real Prometheus scraping every second answers the upload-age query for the uploaded image, and the builder is up', async () => {
    const api = new URL(fleet.api);
    prometheus = await startPrometheus([
      { name: 'scheduler', target: `${api.hostname}:${api.port}` },
      { name: 'builder', target: builderMetrics },
    ]);
    const query = 'nodepool_scheduler_newest_upload_age_seconds{image="tiny",provider="p1"}';
    const series = await eventually(async () => {
      const found = await prometheus!.query(query);
      return found.length > 0 ? found : undefined;
    }, 60_000, 'Prometheus to have scraped the upload age').catch((err: unknown) => {
      throw new Error(`${String(err)}\n${prometheus!.log()}`);
    });
    expect(series).toHaveLength(1);
    expect(series[0]!.metric).toMatchObject({ __name__: 'nodepool_scheduler_newest_upload_age_seconds', image: 'tiny', provider: 'p1', job: 'scheduler' });
    expect(series[0]!.value).toBeGreaterThanOrEqual(0);
    // Both targets scraped without errors (up is 1 only for a scrape that parsed).
    const up = await eventually(async () => {
      const found = await prometheus!.query('up');
      return found.length === 2 && found.every((s) => s.value === 1) ? found : undefined;
    }, 30_000, 'both targets up');
    expect(up.map((s) => s.metric.job).sort()).toEqual(['builder', 'scheduler']);
    const uploads = await prometheus!.query('nodepool_builder_uploads_total{result="success"}');
    expect(uploads.map((s) => [s.metric.image, s.metric.provider, s.value])).toEqual([['tiny', 'p1', 1]]);
  }, 120_000);
});
