import { Registry } from 'prom-client';
import type { Metrics } from '../worker/metrics.ts';
import { type SlotView, registerBuilderHostMetrics } from './builder-host-metrics.ts';
import { registerBuilderJobMetrics } from './builder-job-metrics.ts';
import { type JobServerView, registerJobServerMetrics } from './job-server-metrics.ts';
import { registerProcessMetrics } from './process-metrics.ts';

/** What the builder's Prometheus metrics read at scrape time: its worker's stats, once it has one. */
export type BuilderWorkerView = SlotView & { readonly servers: readonly JobServerView[] };

export interface BuilderPrometheus {
  /** This process's registry (never prom-client's global one). */
  readonly registry: Registry;
  /** The job reports, to combine with statsd (allMetrics). */
  readonly metrics: Metrics;
}

/** The builder's Prometheus metrics, served on `[metrics] listen`. */
export function builderPrometheus(imagesDir: string, worker: () => BuilderWorkerView | undefined): BuilderPrometheus {
  const registry = new Registry();
  const metrics = registerBuilderJobMetrics(registry);
  registerBuilderHostMetrics(registry, imagesDir, worker);
  registerJobServerMetrics(registry, 'nodepool_builder', () => worker()?.servers ?? []);
  registerProcessMetrics(registry);
  return { registry, metrics };
}
