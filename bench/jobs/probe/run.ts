/**
 * In-memory probe of the per-job CPU paths (no gearmand, no sockets, no other process): how
 * much JavaScript each side spends per echo job, ours against the raw yardstick and against the
 * prototype patches, plus the separate per-submit pieces. Not part of `npm run bench:jobs`; run
 * `bun run bench/jobs/probe/run.ts`. Knobs: PROBE_ROUNDS (5), PROBE_JOBS (100000), PROBE_WARMUP (20000).
 * Each measurement runs in a fresh process (patched variants never share JIT state), rounds
 * interleaved; medians shown.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median } from '../stats.ts';
import { CLIENT_VARIANTS } from './client-path.ts';
import { PIECES, timePiece } from './pieces.ts';
import { WORKER_VARIANTS } from './worker-path.ts';

const ROUNDS = Number(process.env.PROBE_ROUNDS ?? 5);
const JOBS = Number(process.env.PROBE_JOBS ?? 100_000);
const WARMUP = Number(process.env.PROBE_WARMUP ?? 20_000);
const one = fileURLToPath(new URL('./one.ts', import.meta.url));

/** Main-thread on-CPU ns per job (see one.ts). */
function measure(side: string, variant: string): number {
  const out = spawnSync(process.execPath, [one, side, variant, String(JOBS), String(WARMUP)], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${side} ${variant} failed:\n${out.stderr}`);
  return (JSON.parse(out.stdout.trim().split('\n').pop()!) as { cpuNsPerJob: number }).cpuNsPerJob;
}

const cases = [...WORKER_VARIANTS.map((v) => ['worker', v] as const), ...CLIENT_VARIANTS.map((v) => ['client', v] as const)];
const samples = new Map<string, number[]>(cases.map(([s, v]) => [`${s} ${v}`, []]));

console.log(`probe: ${ROUNDS} rounds × ${JOBS.toLocaleString('en')} jobs after ${WARMUP.toLocaleString('en')} warm-up, bun ${Bun.version}`);
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < cases.length; k++) {
    const [side, variant] = cases[(r + k) % cases.length]!;
    samples.get(`${side} ${variant}`)!.push(measure(side, variant));
  }
}

const us = (ns: number): string => (ns / 1000).toFixed(2).padStart(8);
for (const side of ['worker', 'client'] as const) {
  const raw = median(samples.get(`${side} raw`)!);
  console.log(`\n${side} path, µs of main-thread CPU per job (median; min .. max)   minus raw`);
  for (const [s, v] of cases) {
    if (s !== side) continue;
    const xs = samples.get(`${s} ${v}`)!;
    const m = median(xs);
    console.log(`  ${v.padEnd(22)}${us(m)}   ${us(Math.min(...xs))} ..${us(Math.max(...xs))}   ${v === 'raw' ? '' : `+${us(m - raw).trim()}`}`);
  }
}

console.log('\nper-submit pieces, alone (ns per call, median of 5 passes of 200,000)');
for (const piece of PIECES) {
  await timePiece(piece, 50_000);
  const passes: number[] = [];
  for (let i = 0; i < 5; i++) passes.push(await timePiece(piece, 200_000));
  console.log(`  ${piece.name.padEnd(42)}${median(passes).toFixed(0).padStart(7)} ns`);
}
