/** One plan() pass over fleet.ts's state (every image listed), the state file's import and snapshot, and RSS. Knob: BENCH_ROUNDS (15). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plan } from '../../src/scheduler/planner.ts';
import { StateStore } from '../../src/scheduler/state-store.ts';
import type { World } from '../../src/scheduler/world.ts';
import { median } from '../jobs/stats.ts';
import { NOW, builds, names, providers, uploads } from './fleet.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const state = { builds, uploads, pauses: [], backoffs: [], buildRequests: [] };
const config = {
  diskimages: names.map((name) => ({ name, rebuildAgeMs: 86_400_000, pause: false })),
  providers: providers.map((name) => ({ name, diskimages: names.map((d) => ({ name: d, pause: false })) })),
  ...{ keepBuilds: 2, keepUploads: 2, leakPasses: 2, missingBuildGraceMs: 600_000 },
};
const world: World = {
  builds: new Map(builds.map((b) => [b.id, { builders: ['b1'], diskimage: b.diskimage, formats: b.formats }])),
  absentSince: new Map(),
  buildersByDiskimage: new Map(names.map((d) => [d, ['b1']])),
  providers: new Map(providers.map((p) => [p, { builders: ['b1'], images: uploads.filter((u) => u.provider === p).map((u) => ({ externalId: u.externalId!, uploadId: u.id, status: 'active', passes: 3 })) }])),
  inFlight: new Set(),
};

const rssMiB = (): number => {
  Bun.gc(true);
  return process.memoryUsage().rss / 2 ** 20;
};
const dataRss = rssMiB();
const timed = (fn: () => unknown): number => {
  const start = performance.now();
  fn();
  return performance.now() - start;
};
const planMs = Array.from({ length: ROUNDS }, () => timed(() => plan(state, config, world, NOW)));
const actions = plan(state, config, world, NOW).actions.length;
const planRss = rssMiB();
const dir = mkdtempSync(join(tmpdir(), 'bench-scheduler-'));
const store = StateStore.open(join(dir, 'state.sqlite'));
const importMs = timed(() => store.importDocument({ ...state, systemId: 'bench' }, { replace: false }));
const snapshotMs = Array.from({ length: 5 }, () => timed(() => store.snapshot()));
store.close();
rmSync(dir, { recursive: true, force: true });
const med = median(planMs);
console.log(`plan: ${builds.length} builds, ${uploads.length} uploads, ${actions} actions: median ${med.toFixed(1)} ms over ${ROUNDS} (min ${Math.min(...planMs).toFixed(1)}, max ${Math.max(...planMs).toFixed(1)}); floor 200 ms: ${med <= 200 ? 'met' : 'MISSED'}`);
console.log(`state file: import ${importMs.toFixed(0)} ms, snapshot median ${median(snapshotMs).toFixed(1)} ms`);
console.log(`RSS (after a full GC): ${dataRss.toFixed(0)} MiB holding the state and world, ${planRss.toFixed(0)} MiB after planning, ${rssMiB().toFixed(0)} MiB after the state file; floor 200 MB`);
