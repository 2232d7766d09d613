import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Metrics } from '../worker/metrics.ts';
import { BUILD_SECONDS_BUCKETS, UPLOAD_SECONDS_BUCKETS } from './buckets.ts';

/**
 * The builder's job reports as Prometheus counters and histograms (beside statsd, through
 * allMetrics). An upload of an image not on this host is labelled image="" (it has no name here).
 */
export function registerBuilderJobMetrics(registry: Registry): Metrics {
  const builds = new Counter({
    name: 'nodepool_builder_builds_total',
    help: 'Builds this builder ran, by image and result (success, failure).',
    labelNames: ['image', 'result'] as const,
    registers: [registry],
  });
  const buildSeconds = new Histogram({
    name: 'nodepool_builder_build_duration_seconds',
    help: 'Seconds a build took (successful or not), by image.',
    labelNames: ['image'] as const,
    buckets: BUILD_SECONDS_BUCKETS,
    registers: [registry],
  });
  const imageBytes = new Gauge({
    name: 'nodepool_builder_image_size_bytes',
    help: 'Size of the newest successful build of the image, by format.',
    labelNames: ['image', 'format'] as const,
    registers: [registry],
  });
  const uploads = new Counter({
    name: 'nodepool_builder_uploads_total',
    help: 'Uploads this builder ran, by image, provider and result (success, failure).',
    labelNames: ['image', 'provider', 'result'] as const,
    registers: [registry],
  });
  const uploadBytes = new Counter({
    name: 'nodepool_builder_upload_bytes_total',
    help: 'Bytes of the image files this builder uploaded successfully, by image and provider.',
    labelNames: ['image', 'provider'] as const,
    registers: [registry],
  });
  const uploadSeconds = new Histogram({
    name: 'nodepool_builder_upload_duration_seconds',
    help: 'Seconds a successful upload took (format conversion included), by provider.',
    labelNames: ['provider'] as const,
    buckets: UPLOAD_SECONDS_BUCKETS,
    registers: [registry],
  });
  return {
    buildFinished(image, rc, durationMs, sizes) {
      builds.inc({ image, result: rc === 0 ? 'success' : 'failure' });
      buildSeconds.observe({ image }, durationMs / 1000);
      for (const [format, size] of Object.entries(sizes)) imageBytes.set({ image, format }, size);
    },
    uploadFinished(image, provider, durationMs, bytes) {
      uploads.inc({ image, provider, result: 'success' });
      uploadBytes.inc({ image, provider }, bytes);
      uploadSeconds.observe({ provider }, durationMs / 1000);
    },
    uploadFailed(image, provider) {
      uploads.inc({ image: image ?? '', provider, result: 'failure' });
    },
    // Slots and connections are read at scrape time (builder-host-metrics.ts, job-server-metrics.ts).
    workerState() {},
    close() {},
  };
}
