/** The scheduler's GET /metrics over fleet.ts's state (40,000 ready uploads): the median of BENCH_ROUNDS (15). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schedulerMetrics } from '../../src/metrics/scheduler-metrics.ts';
import { StateStore } from '../../src/scheduler/state-store.ts';
import { median } from '../jobs/stats.ts';
import { NOW, builds, uploads } from './fleet.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

const dir = mkdtempSync(join(tmpdir(), 'bench-metrics-'));
const store = StateStore.open(join(dir, 'state.sqlite'));
store.importDocument({ builds, uploads, pauses: [], backoffs: [], buildRequests: [], systemId: 'bench' }, { replace: false });
const metrics = schedulerMetrics({ store, jobServers: () => [], statsd: () => undefined, now: () => NOW + 60_000 });

await metrics.registry.metrics(); // warm-up
const runs: { ms: number; bytes: number }[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const start = performance.now();
  const text = await metrics.registry.metrics();
  runs.push({ ms: performance.now() - start, bytes: Buffer.byteLength(text) });
}
console.log(
  `scheduler /metrics, ${uploads.length} uploads of ${builds.length / 2} diskimages: median ${median(runs.map((r) => r.ms)).toFixed(1)} ms over ${ROUNDS} (min ${Math.min(...runs.map((r) => r.ms)).toFixed(1)}), ${(runs[0]!.bytes / 2 ** 20).toFixed(1)} MiB`,
);
metrics.close();
store.close();
rmSync(dir, { recursive: true, force: true });
