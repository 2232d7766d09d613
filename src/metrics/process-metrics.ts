import { readdir } from 'node:fs/promises';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The standard process_* metrics (Prometheus's client guidelines), read at scrape time.
 * prom-client's collectDefaultMetrics is not used: its nodejs_active_*_total gauges fail
 * `promtool check metrics`, and half of its nodejs_* series mean little under Bun.
 */
export function registerProcessMetrics(registry: Registry): void {
  const startedAt = Date.now() / 1000 - process.uptime();
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time of the process, in seconds.',
    registers: [registry],
    collect() {
      const usage = process.cpuUsage();
      this.reset();
      this.inc((usage.user + usage.system) / 1e6);
    },
  });
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory of the process, in bytes.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'process_start_time_seconds',
    help: 'When the process started, in seconds since the Unix epoch.',
    registers: [registry],
    collect() {
      this.set(startedAt);
    },
  });
  new Gauge({
    name: 'process_open_fds',
    help: 'File descriptors the process has open (Linux: /proc/self/fd).',
    registers: [registry],
    async collect() {
      const fds = await readdir('/proc/self/fd').catch(() => undefined);
      // Elsewhere there is no sample rather than a false 0.
      if (fds) this.set(fds.length);
      else this.remove();
    },
  });
}
