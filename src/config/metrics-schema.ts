import { type ListenAddress, readListen } from './scheduler-schema.ts';
import type { TableReader } from './table-reader.ts';

/** `[metrics]`: where a builder serves Prometheus's GET /metrics. */
export interface MetricsConfig {
  readonly listen: ListenAddress;
}

export function readMetrics(reader: TableReader): MetricsConfig {
  return { listen: readListen(reader, 'required') };
}
