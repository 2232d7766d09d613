import { Counter, Gauge, type Registry } from 'prom-client';

/** One job server as this process's connections see it (the gearman client's or worker's stats). */
export interface JobServerView {
  readonly server: string;
  readonly connected: boolean;
  readonly reconnects: number;
}

/**
 * `<prefix>_job_server_up{server}` and `<prefix>_job_server_reconnects_total{server}`, read from
 * the connections at scrape time.
 */
export function registerJobServerMetrics(registry: Registry, prefix: string, servers: () => readonly JobServerView[]): void {
  new Gauge({
    name: `${prefix}_job_server_up`,
    help: '1 when every connection of this process to the gearman job server is up, 0 otherwise.',
    labelNames: ['server'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const view of servers()) this.set({ server: view.server }, view.connected ? 1 : 0);
    },
  });
  new Counter({
    name: `${prefix}_job_server_reconnects_total`,
    help: 'Times a connection to the gearman job server was lost and made again, since the process started.',
    labelNames: ['server'] as const,
    registers: [registry],
    collect() {
      // The connections count; the counter shows their count.
      this.reset();
      for (const view of servers()) this.inc({ server: view.server }, view.reconnects);
    },
  });
}
