import { Gauge, type Registry } from 'prom-client';
import type { StateStore, StateTallies } from '../scheduler/state-store.ts';

/**
 * What the state file holds, read at scrape time: the age of the newest ready upload of each
 * (image, provider), and builds and uploads by state (gone records are not counted). Only states
 * that hold records have a series: zeros for every state of 1,000 images × 20 providers would be
 * 80,000 series, most of them 0; a series that goes away is stale to Prometheus at once, so
 * `sum by (state)` and alerts on `state="failed"` read it as gone.
 */
export function registerSchedulerStateMetrics(registry: Registry, store: StateStore, now: () => number): void {
  // A scrape collects the three gauges in one go: they share one reading, dropped right after.
  let tally: StateTallies | undefined;
  const read = (): StateTallies => {
    if (tally === undefined) {
      tally = store.tallies();
      queueMicrotask(() => (tally = undefined));
    }
    return tally;
  };

  new Gauge({
    name: 'nodepool_scheduler_newest_upload_age_seconds',
    help: 'Seconds since the newest ready upload of the image to the provider became ready.',
    labelNames: ['image', 'provider'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const at = now();
      for (const row of read().newestReady) this.set({ image: row.diskimage, provider: row.provider }, Math.max(0, (at - row.readyAt) / 1000));
    },
  });
  new Gauge({
    name: 'nodepool_scheduler_builds',
    help: 'Builds in the state file by image and state (gone builds are not counted).',
    labelNames: ['image', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const row of read().builds) this.set({ image: row.diskimage, state: row.state }, row.count);
    },
  });
  new Gauge({
    name: 'nodepool_scheduler_uploads',
    help: 'Uploads in the state file by image, provider and state (gone uploads are not counted).',
    labelNames: ['image', 'provider', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const row of read().uploads) this.set({ image: row.diskimage, provider: row.provider, state: row.state }, row.count);
    },
  });
}
