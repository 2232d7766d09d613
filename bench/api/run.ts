/** The dashboard over bench/scheduler's state (1,000 diskimages × 20 providers): first load, page weight, data endpoint p99. Knob: BENCH_ROUNDS (200). */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer } from '../../src/api/server.ts';
import { parseConfig } from '../../src/config/load.ts';
import { Activity } from '../../src/dashboard/activity.ts';
import { dashboardPages } from '../../src/dashboard/routes.ts';
import { StateStore } from '../../src/scheduler/state-store.ts';
import { silentLogger } from '../../src/util/log.ts';
import { median, percentileSorted } from '../jobs/stats.ts';
import { NOW, builds, names, providers, uploads } from '../scheduler/fleet.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'bench-dashboard-'));
const store = StateStore.open(join(dir, 'state.sqlite'));
store.importDocument({ builds, uploads, pauses: [], backoffs: [], buildRequests: [], systemId: 'bench' }, { replace: false });
const config = parseConfig(`${names.map((n) => `[[diskimages]]\nname = "${n}"\nelements = ["vm"]\n`).join('')}${providers.map((p) => `[[providers]]\nname = "${p}"\n`).join('')}`, join(dir, 'bench.toml'));
const pages = dashboardPages({ store, config: () => config, activity: new Activity(), clock: () => NOW });
const api = await startApiServer({ store, config, listen: { host: '127.0.0.1', port: 0 }, tokenFile: undefined, isReady: () => true, logger: silentLogger, clock: () => NOW, pages });

async function get(path: string): Promise<{ ms: number; bytes: number }> {
  const start = performance.now();
  const body = await (await fetch(`${api.url}${path}`)).arrayBuffer();
  return { ms: performance.now() - start, bytes: body.byteLength };
}
const stats = (ms: number[]): string => {
  const sorted = [...ms].sort((a, b) => a - b);
  return `median ${median(sorted).toFixed(1)} ms, p99 ${percentileSorted(sorted, 99).toFixed(1)} ms over ${ms.length}`;
};

const first = await get('/');
const assets = [await get('/dashboard.css'), await get('/dashboard.js')];
const weight = first.bytes + assets.reduce((sum, a) => sum + a.bytes, 0);
console.log(`first load of / (${uploads.length} uploads in the state file): ${first.ms.toFixed(0)} ms; page weight ${(weight / 1024).toFixed(0)} KB (HTML ${(first.bytes / 1024).toFixed(0)} KB + CSS + JS); goal 200 KB: ${weight <= 200 * 1024 ? 'met' : 'MISSED'}`);
const data: number[] = [];
const cpu = process.cpuUsage();
for (let i = 0; i < ROUNDS; i++) data.push((await get(`/dashboard/data?page=${1 + (i % 34)}`)).ms);
const { user, system } = process.cpuUsage(cpu);
const p99 = percentileSorted([...data].sort((a, b) => a - b), 99);
console.log(`GET /dashboard/data (a page of 30 diskimages × 20 providers, ${((await get('/dashboard/data')).bytes / 1024).toFixed(0)} KB): ${stats(data)}; goal p99 100 ms: ${p99 <= 100 ? 'met' : 'MISSED'}`);
console.log(`CPU per request (server and client in this process): ${((user + system) / 1000 / ROUNDS).toFixed(1)} ms; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`);
await api.close();
store.close();
rmSync(dir, { recursive: true, force: true });
