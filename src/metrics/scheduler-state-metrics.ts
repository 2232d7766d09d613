import { Gauge, type Registry } from 'prom-client';
import { BUILD_STATES, UPLOAD_STATES } from '../scheduler/state.ts';
import type { StateStore, StateTallies } from '../scheduler/state-store.ts';

/** Every state but gone: gone records are history, and their count only grows. */
const BUILD_GAUGE_STATES = BUILD_STATES.filter((s) => s !== 'gone');
const UPLOAD_GAUGE_STATES = UPLOAD_STATES.filter((s) => s !== 'gone');

/**
 * What the state file holds, read at scrape time (one GROUP BY per table): the age of the newest
 * ready upload of each (image, provider), and builds and uploads by state. A series is shown for
 * every state of each image (and provider) that has a record, 0 included, so a state emptying
 * reads 0 rather than vanishing.
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
      const rows = read().builds;
      for (const image of new Set(rows.map((r) => r.diskimage))) for (const state of BUILD_GAUGE_STATES) this.set({ image, state }, 0);
      for (const row of rows) this.set({ image: row.diskimage, state: row.state }, row.count);
    },
  });
  new Gauge({
    name: 'nodepool_scheduler_uploads',
    help: 'Uploads in the state file by image, provider and state (gone uploads are not counted).',
    labelNames: ['image', 'provider', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const rows = read().uploads;
      const pairs = new Map(rows.map((r) => [`${r.diskimage}\n${r.provider}`, r]));
      for (const { diskimage, provider } of pairs.values()) for (const state of UPLOAD_GAUGE_STATES) this.set({ image: diskimage, provider, state }, 0);
      for (const row of rows) this.set({ image: row.diskimage, provider: row.provider, state: row.state }, row.count);
    },
  });
}
