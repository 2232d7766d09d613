/**
 * What a large fleet does to a job server: 5 worker processes × 10 connections × 400 functions
 * (20,000 distinct functions, 50 builders × 200 images) against gearmand and our server, each
 * in its own process on a free port, whole scenarios alternating between them. Measures the
 * time until `status` lists every function, `status`/`workers` latency, 10,000 jobs spread over
 * the functions (jobs/s, p99), the server's RSS, and re-registration after a SIGKILL + restart
 * on the same port (the workers reconnect by themselves). Run with `npm run bench:fleet`.
 * Knobs (environment): BENCH_ROUNDS (3), BENCH_PROCESSES (5), BENCH_CONNS (10 a process),
 * BENCH_FUNCTIONS (400 a connection), BENCH_JOBS (10,000), BENCH_WARMUP (20,000), BENCH_RESTARTS (3 a round).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import type { ChildServer } from '../../spec/support/child-server.ts';
import { compiledEmbeddedServer, startEmbeddedServer } from '../../spec/support/embedded-server.ts';
import { startGearmand } from '../../spec/support/gearmand.ts';
import { peakRss, rss } from '../../spec/support/process-stats.ts';
import { Child } from '../jobs/children.ts';
import { cpuMs } from '../jobs/cpu.ts';
import { type ClientReport, DONE, EXIT, GO, READY, RESULT, STOP } from '../jobs/harness/lines.ts';
import { median, percentileSorted } from '../jobs/stats.ts';
import { type FleetShape, clientIdOf, totalConns, totalFunctions } from './fleet.ts';
import type { FleetWorkerArgs } from './worker-main.ts';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const ROUNDS = env('BENCH_ROUNDS', 3);
const JOBS = env('BENCH_JOBS', 10_000);
const RESTARTS = env('BENCH_RESTARTS', 3);
/**
 * Jobs before the timed ones, on the same functions. Bun's JIT compiles our server's job path
 * during its first ~20,000 jobs (server JIT-thread CPU 230-330 ms over jobs 500-10,500, 10-70 ms
 * over the next 10,000: bench/fleet/profile.ts jobs); a job server runs for days, so the figures
 * are taken after that, as bench:jobs does (bench/jobs/settings.ts). gearmand needs no warm-up.
 */
const WARMUP = env('BENCH_WARMUP', 20_000);
const CLIENT_CONNS = 4;
const IN_FLIGHT = 64;
const ADMIN_SAMPLES = 9;
/** Upload slots per builder connection. */
const SLOTS = 4;
/** Short, so the workers' reconnect wait does not hide the server's own work (the builder's default is 200 ms .. 30 s). */
const BACKOFF = { initialDelayMs: 50, maxDelayMs: 250 };
const WAIT_MS = 120_000;
const SHAPE = { processes: env('BENCH_PROCESSES', 5), connsPerProcess: env('BENCH_CONNS', 10), functionsPerConn: env('BENCH_FUNCTIONS', 400) };

// Our server as the product ships it (compiled, bytecode), not bun transpiling its sources on every (re)start.
const buildDir = mkdtempSync(join(os.tmpdir(), 'bench-fleet-'));
process.once('exit', () => rmSync(buildDir, { recursive: true, force: true }));
const executable = await compiledEmbeddedServer(buildDir);

const SERVERS = [
  { name: 'gearmand', start: startGearmand },
  { name: 'ours', start: () => startEmbeddedServer({ executable }) },
] as const;

type Figure = 'register' | 'registerCpu' | 'jobCpu' | 'status' | 'workers' | 'jobsPerSecond' | 'p50' | 'p99' | 'rssEmpty' | 'rssRegistered' | 'rssAfterJobs' | 'hwm' | 'listening' | 'reregister' | 'restart';
type Samples = Record<Figure, number[]>;

const newSamples = (): Samples => ({ register: [], registerCpu: [], jobCpu: [], status: [], workers: [], jobsPerSecond: [], p50: [], p99: [], rssEmpty: [], rssRegistered: [], rssAfterJobs: [], hwm: [], listening: [], reregister: [], restart: [] });

async function timed<T>(action: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await action();
  return [value, performance.now() - t0];
}

/** Polls `status` (a fresh admin connection each time: the server may be restarting) until every fleet function has a worker. */
async function whenAllRegistered(server: ChildServer, functions: number): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (let seen = 0; ; await Bun.sleep(10)) {
    const admin = new AdminClient(server, { connectTimeoutMs: 1000, replyTimeoutMs: 10_000 });
    const rows = await admin.status().catch(() => []);
    admin.close();
    seen = rows.filter((row) => row.workers > 0 && row.function.startsWith('image-upload:')).length;
    if (seen >= functions) return;
    if (Date.now() > deadline) throw new Error(`only ${seen} of ${functions} functions registered after ${WAIT_MS} ms`);
  }
}

async function adminLatencies(server: ChildServer, shape: FleetShape, samples: Samples): Promise<void> {
  const admin = new AdminClient(server, { replyTimeoutMs: 60_000 });
  try {
    await admin.version();
    for (let i = 0; i < ADMIN_SAMPLES; i++) {
      const [rows, ms] = await timed(() => admin.status());
      if (rows.length < totalFunctions(shape)) throw new Error(`status listed ${rows.length} functions`);
      samples.status.push(ms);
    }
    for (let i = 0; i < ADMIN_SAMPLES; i++) {
      const [rows, ms] = await timed(() => admin.workers());
      const fleet = rows.filter((row) => row.clientId.startsWith(clientIdOf(0).slice(0, -1)));
      const functions = fleet.reduce((n, row) => n + row.functions.length, 0);
      if (fleet.length !== totalConns(shape) || functions !== totalFunctions(shape)) {
        throw new Error(`workers listed ${fleet.length} fleet connections with ${functions} functions`);
      }
      samples.workers.push(ms);
    }
  } finally {
    admin.close();
  }
}

async function runJobs(shape: FleetShape, runId: number, serverPid: number, samples: Samples): Promise<void> {
  const args = { host: shape.host, port: shape.port, fn: '', conns: CLIENT_CONNS, runId, first: 0, jobs: JOBS, warmup: WARMUP, inflight: IN_FLIGHT, functions: totalFunctions(shape) };
  const client = new Child({ cmd: process.execPath, args: [join(import.meta.dir, 'client-main.ts'), JSON.stringify(args)], label: 'fleet client' });
  try {
    await client.expect(READY, WAIT_MS);
    const cpu = cpuMs(serverPid);
    client.send(GO);
    const report = JSON.parse(await client.expect(RESULT, WAIT_MS * 5)) as ClientReport;
    samples.jobCpu.push(((cpuMs(serverPid) - cpu) * 1000) / report.jobs);
    if (report.bad > 0) throw new Error(`${report.bad} jobs came back with the wrong payload`);
    const latencies = Float64Array.from(report.latUs).sort();
    samples.jobsPerSecond.push((report.jobs * 1000) / (report.endMs - report.startMs));
    samples.p50.push(percentileSorted(latencies, 50) / 1000);
    samples.p99.push(percentileSorted(latencies, 99) / 1000);
    client.send(EXIT);
    await client.exited;
  } finally {
    await client.stop();
  }
}

/** One whole scenario against a fresh server: register, admin, jobs, memory, restarts. */
async function scenario(kind: (typeof SERVERS)[number], round: number, samples: Samples): Promise<void> {
  const server = await kind.start();
  const shape: FleetShape = { host: server.host, port: server.port, ...SHAPE };
  const workers = Array.from({ length: shape.processes }, (_, p) => {
    const args: FleetWorkerArgs = { ...shape, process: p, slots: SLOTS, backoff: BACKOFF };
    return new Child({ cmd: process.execPath, args: [join(import.meta.dir, 'worker-main.ts'), JSON.stringify(args)], label: `fleet worker ${p}` });
  });
  try {
    samples.rssEmpty.push(rss(server.pid));
    await Promise.all(workers.map((w) => w.expect(READY, WAIT_MS)));
    const cpu = cpuMs(server.pid);
    for (const w of workers) w.send(GO);
    samples.register.push((await timed(() => whenAllRegistered(server, totalFunctions(shape))))[1]);
    samples.registerCpu.push(cpuMs(server.pid) - cpu);
    samples.rssRegistered.push(rss(server.pid));
    await adminLatencies(server, shape, samples);
    await runJobs(shape, round + 1, server.pid, samples);
    samples.rssAfterJobs.push(rss(server.pid));
    samples.hwm.push(peakRss(server.pid));
    for (let r = 0; r < RESTARTS; r++) {
      const listening = (await timed(() => server.restart()))[1];
      const reregister = (await timed(() => whenAllRegistered(server, totalFunctions(shape))))[1];
      samples.listening.push(listening);
      samples.reregister.push(reregister);
      samples.restart.push(listening + reregister);
    }
    for (const w of workers) w.send(STOP);
    const done = (await Promise.all(workers.map((w) => w.expect(DONE, WAIT_MS)))).reduce((n, count) => n + Number(count), 0);
    if (done !== JOBS + WARMUP) throw new Error(`the workers ran ${done} jobs, not ${JOBS + WARMUP}`);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server.kill();
  }
}

const ROWS: readonly (readonly [Figure, string, 'ms' | 'µs' | 'MiB' | 'jobs/s'])[] = [
  ['register', 'all functions listed by status, from connect', 'ms'],
  ['registerCpu', 'server CPU until then (status polls included)', 'ms'],
  ['status', '`status` (median)', 'ms'],
  ['workers', '`workers` (median)', 'ms'],
  ['jobsPerSecond', `${JOBS.toLocaleString('en')} jobs spread over the functions`, 'jobs/s'],
  ['p50', 'job latency p50', 'ms'],
  ['p99', 'job latency p99', 'ms'],
  ['jobCpu', 'server CPU per job', 'µs'],
  ['rssEmpty', 'RSS before the fleet connects', 'MiB'],
  ['rssRegistered', 'RSS with the fleet registered', 'MiB'],
  ['rssAfterJobs', 'RSS after the jobs', 'MiB'],
  ['hwm', 'peak RSS (VmHWM)', 'MiB'],
  ['listening', 'SIGKILL + restart until listening', 'ms'],
  ['reregister', 'from listening until status lists all again', 'ms'],
  ['restart', 're-registration: SIGKILL until status lists all again', 'ms'],
];

function printTable(results: ReadonlyMap<string, Samples>): void {
  const gearmand = results.get('gearmand')!;
  const ours = results.get('ours')!;
  const show = (value: number, unit: string): string =>
    unit === 'MiB' ? (value / 2 ** 20).toFixed(1) : unit === 'jobs/s' ? Math.round(value).toLocaleString('en') : value.toFixed(1);
  console.log('\n| figure | unit | gearmand | ours | ours / gearmand | ours at least as good |');
  console.log('|---|---|---:|---:|---:|:---:|');
  for (const [figure, label, unit] of ROWS) {
    const [theirs, mine] = [median(gearmand[figure]), median(ours[figure])];
    const better = unit === 'jobs/s' ? mine >= theirs : mine <= theirs;
    console.log(`| ${label} | ${unit} | ${show(theirs, unit)} | ${show(mine, unit)} | ${(mine / theirs).toFixed(2)}× | ${better ? 'yes' : 'no'} |`);
  }
}

const load = (): string => os.loadavg().map((n) => n.toFixed(2)).join(', ');
console.log(
  `fleet bench: ${SHAPE.processes} worker processes × ${SHAPE.connsPerProcess} connections × ${SHAPE.functionsPerConn} functions ` +
    `(${(SHAPE.processes * SHAPE.connsPerProcess * SHAPE.functionsPerConn).toLocaleString('en')}), ${ROUNDS} rounds, ${RESTARTS} restarts a round, ` +
    `${JOBS.toLocaleString('en')} timed jobs after ${WARMUP.toLocaleString('en')} warm-up jobs; ` +
    `${os.cpus().length} CPUs, bun ${Bun.version}; load average ${load()}`,
);
const results = new Map<string, Samples>(SERVERS.map((s) => [s.name, newSamples()]));
for (let round = 0; round < ROUNDS; round++) {
  // Alternate who goes first, so drift hits both alike.
  for (const kind of round % 2 === 0 ? SERVERS : [...SERVERS].reverse()) {
    await scenario(kind, round, results.get(kind.name)!);
    process.stdout.write(`round ${round + 1}: ${kind.name} done\n`);
  }
}
printTable(results);
console.log(`\nload average at the end: ${load()}`);
for (const [name, samples] of results) {
  console.log(`${name}: register ${samples.register.map((n) => n.toFixed(0)).join(', ')} ms; after a restart ${samples.restart.map((n) => n.toFixed(0)).join(', ')} ms; jobs/s ${samples.jobsPerSecond.map((n) => n.toFixed(0)).join(', ')}`);
}
