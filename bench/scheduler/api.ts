/** GET /image-list and /image-status over real HTTP from fleet.ts's state: the median of BENCH_ROUNDS (15). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer } from '../../src/api/server.ts';
import { parseConfig } from '../../src/config/load.ts';
import { StateStore } from '../../src/scheduler/state-store.ts';
import { silentLogger } from '../../src/util/log.ts';
import { median } from '../jobs/stats.ts';
import { NOW, builds, names, providers, uploads } from './fleet.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

const dir = mkdtempSync(join(tmpdir(), 'bench-api-'));
const store = StateStore.open(join(dir, 'state.sqlite'));
store.importDocument({ builds, uploads, pauses: [], backoffs: [], buildRequests: [], systemId: 'bench' }, { replace: false });
const config = parseConfig(`${names.map((n) => `[[diskimages]]\nname = "${n}"\nelements = ["vm"]\n`).join('')}${providers.map((p) => `[[providers]]\nname = "${p}"\n`).join('')}`, join(dir, 'bench.toml'));
const api = await startApiServer({ store, config, listen: { host: '127.0.0.1', port: 0 }, tokenFile: undefined, isReady: () => true, logger: silentLogger, clock: () => NOW });

async function timedGet(path: string, accept: string): Promise<{ ms: number; bytes: number }> {
  const start = performance.now();
  const res = await fetch(`${api.url}${path}`, { headers: { accept } });
  const body = await res.arrayBuffer();
  return { ms: performance.now() - start, bytes: body.byteLength };
}

for (const [path, accept] of [
  ['/image-list', 'application/json'],
  ['/image-list', 'text/plain'],
  ['/image-status', 'application/json'],
] as const) {
  await timedGet(path, accept); // warm-up
  const runs = [];
  for (let i = 0; i < ROUNDS; i++) runs.push(await timedGet(path, accept));
  const med = median(runs.map((r) => r.ms));
  const floor = path === '/image-list' ? `; floor 100 ms: ${med <= 100 ? 'met' : 'MISSED'}` : '';
  console.log(`GET ${path} (${accept}), ${uploads.length} uploads, ${(runs[0]!.bytes / 2 ** 20).toFixed(1)} MiB: median ${med.toFixed(1)} ms over ${ROUNDS} (min ${Math.min(...runs.map((r) => r.ms)).toFixed(1)})${floor}`);
}
await api.close();
store.close();
rmSync(dir, { recursive: true, force: true });
