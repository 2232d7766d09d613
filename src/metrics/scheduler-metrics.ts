import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import type { StatsdConfig } from '../config/schema.ts';
import type { RunnerEvents } from '../scheduler/runner-events.ts';
import type { StateStore } from '../scheduler/state-store.ts';
import { metricsRoute } from './http-route.ts';
import { type JobServerView, registerJobServerMetrics } from './job-server-metrics.ts';
import { registerProcessMetrics } from './process-metrics.ts';
import { registerSchedulerJobMetrics } from './scheduler-job-metrics.ts';
import { registerSchedulerStateMetrics } from './scheduler-state-metrics.ts';
import { schedulerStatsd } from './scheduler-statsd.ts';

export interface SchedulerMetricsOptions {
  readonly store: StateStore;
  /** The gearman client's connections. */
  readonly jobServers: () => readonly JobServerView[];
  /** `[statsd]` of the running config (follows reloads); undefined sends nothing. */
  readonly statsd: () => StatsdConfig | undefined;
  readonly now?: () => number;
}

export interface SchedulerMetrics {
  /** This process's registry (never prom-client's global one). */
  readonly registry: Registry;
  /** The runner's observers: the Prometheus counters and statsd. */
  readonly events: readonly RunnerEvents[];
  /** The API server's page for GET /metrics. */
  readonly route: [path: '/metrics', (raw: IncomingMessage, res: ServerResponse) => Promise<void>];
  close(): void;
}

/** The scheduler's metrics: Prometheus at /metrics of its API, and statsd when configured. */
export function schedulerMetrics(options: SchedulerMetricsOptions): SchedulerMetrics {
  const registry = new Registry();
  registerSchedulerStateMetrics(registry, options.store, options.now ?? Date.now);
  const jobs = registerSchedulerJobMetrics(registry, options.store);
  registerJobServerMetrics(registry, 'nodepool_scheduler', options.jobServers);
  registerProcessMetrics(registry);
  const statsd = schedulerStatsd(options.store, options.statsd);
  return {
    registry,
    events: [jobs, statsd],
    route: ['/metrics', metricsRoute(registry)],
    close: () => statsd.close(),
  };
}
