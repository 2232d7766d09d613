/**
 * One server alone under the fleet's load (5 × 10 connections × 400 functions), to find where
 * its CPU goes, one phase at a time:
 *   bun bench/fleet/profile.ts register|status|workers|jobs [profile dir]
 * register: the fleet connects and registers while `status` is polled (the bench's first figure);
 * status, workers: then 100 `status` or `workers`; jobs: then 3 × 10,000 jobs. Prints the server's CPU per phase and
 * thread (JIT, GC, main user/sys) and its RSS. Our server runs with bun's CPU profiler (markdown
 * in the directory, written when it exits on SIGTERM). Environment: PROFILE=0 (no profiler) or
 * json (.cpuprofile); SERVER=gearmand; SERVER_EXE=<compiled embedded server>; STRACE=1 (syscall counts of the second job round in
 * /tmp/strace-<server>.txt); HEAP_PROBE=1 (our server logs its heap after a full GC per phase).
 * Not a bench: compare figures with `npm run bench:fleet`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { startGearmand } from '../../spec/support/gearmand.ts';
import { freePort } from '../../spec/support/ports.ts';
import { rss } from '../../spec/support/process-stats.ts';
import { Child } from '../jobs/children.ts';
import { cpuMs, threadCpuMs, threadDelta } from '../jobs/cpu.ts';
import { DONE, EXIT, GO, READY, RESULT, STOP } from '../jobs/harness/lines.ts';
import { type FleetShape, totalFunctions } from './fleet.ts';
import type { FleetWorkerArgs } from './worker-main.ts';

const phase = process.argv[2] ?? 'register';
const dir = process.argv[3] ?? '/tmp/fleet-prof';
const port = await freePort();
const main = join(import.meta.dir, '../../spec/support/embedded-server-main.ts');
const profile = process.env.PROFILE === '0' ? [] : [process.env.PROFILE === 'json' ? '--cpu-prof' : '--cpu-prof-md', '--cpu-prof-interval=100', `--cpu-prof-dir=${dir}`];
const gearmand = process.env.SERVER === 'gearmand' ? await startGearmand() : undefined;
const exe = process.env.SERVER_EXE;
const server = gearmand
  ? undefined
  : exe !== undefined
    ? spawn(exe, [String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, [...profile, ...(process.env.SERVER_FLAGS?.split(' ').filter(Boolean) ?? []), main, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
if (server) await new Promise<void>((resolve) => server.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('READY') && resolve()));
const pid = gearmand?.pid ?? server!.pid!;
const shape: FleetShape = { host: '127.0.0.1', port: gearmand?.port ?? port, processes: 5, connsPerProcess: 10, functionsPerConn: 400 };
const workers = Array.from({ length: shape.processes }, (_, p) => {
  const args: FleetWorkerArgs = { ...shape, process: p, slots: 4, backoff: { initialDelayMs: 50, maxDelayMs: 250 } };
  return new Child({ cmd: process.execPath, args: [join(import.meta.dir, 'worker-main.ts'), JSON.stringify(args)], label: `worker ${p}` });
});
await Promise.all(workers.map((w) => w.expect(READY, 60_000)));
let threads = threadCpuMs(pid);
const report = (what: string, since: number): void => {
  if (process.env.HEAP_PROBE === '1') process.kill(pid, 'SIGUSR2');
  const now = threadCpuMs(pid);
  const split = [...threadDelta([threads], [now])].filter(([, ms]) => ms > 0).map(([name, ms]) => `${name} ${ms}`).join(', ');
  threads = now;
  if (process.env.SMAPS === '1') console.log(smapsSummary(pid));
  console.log(`${what}: server CPU ${cpuMs(pid) - since} ms (${split}), RSS ${(rss(pid) / 2 ** 20).toFixed(1)} MiB`);
};

let cpu = cpuMs(pid);
threads = threadCpuMs(pid);
const t0 = performance.now();
for (const w of workers) w.send(GO);
for (;;) {
  const admin = new AdminClient(shape, { replyTimeoutMs: 10_000 });
  const rows = await admin.status();
  admin.close();
  if (rows.filter((r) => r.workers > 0).length >= totalFunctions(shape)) break;
  await Bun.sleep(Number(process.env.POLL_MS ?? 10));
}
console.log(`registered in ${(performance.now() - t0).toFixed(0)} ms`);
report('register', cpu);

if (phase === 'workers' || phase === 'status') {
  const admin = new AdminClient(shape, { replyTimeoutMs: 10_000 });
  cpu = cpuMs(pid);
  threads = threadCpuMs(pid);
  for (let i = 0; i < 100; i++) await (phase === 'status' ? admin.status() : admin.workers());
  report(`100 ${phase}`, cpu);
  admin.close();
}
if (phase === 'jobs') {
  for (let round = 1; round <= 3; round++) {
    const args = { host: shape.host, port: shape.port, fn: '', conns: 4, runId: round, first: 0, jobs: 10_000, warmup: 500, inflight: 64, functions: totalFunctions(shape) };
    const client = new Child({ cmd: process.execPath, args: [join(import.meta.dir, 'client-main.ts'), JSON.stringify(args)], label: 'client' });
    await client.expect(READY, 60_000);
    const strace = process.env.STRACE === '1' && round === 2 ? spawn('strace', ['-c', '-f', '-o', `/tmp/strace-${process.env.SERVER ?? 'ours'}.txt`, '-p', String(pid)], { stdio: 'inherit' }) : undefined;
    if (strace) await Bun.sleep(500);
    cpu = cpuMs(pid);
    threads = threadCpuMs(pid);
    client.send(GO);
    await client.expect(RESULT, 300_000);
    if (strace) {
      strace.kill('SIGINT');
      await new Promise((resolve) => strace.once('exit', resolve));
    }
    report(`10,000 jobs (round ${round})`, cpu);
    if (process.env.SETTLE_MS) {
      await Bun.sleep(Number(process.env.SETTLE_MS));
      console.log(`  RSS ${process.env.SETTLE_MS} ms later: ${(rss(pid) / 2 ** 20).toFixed(1)} MiB`);
    }
    client.send(EXIT);
    await client.exited;
  }
}
for (const w of workers) w.send(STOP);
await Promise.all(workers.map((w) => w.expect(DONE, 60_000)));
if (gearmand) await gearmand.kill();
else {
  server!.kill('SIGTERM');
  await new Promise((resolve) => server!.once('exit', resolve));
}

/** Resident memory by kind of mapping: where RSS that the JS heap does not explain lives. */
function smapsSummary(of: number): string {
  const sizes = new Map<string, number>();
  let kind = '';
  for (const line of readFileSync(`/proc/${of}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) kind = `${head[1]} ${head[2] || '[anon]'}`.replace(/\/.*\//, '');
    const rssLine = /^Rss:\s+(\d+) kB/.exec(line);
    if (rssLine) sizes.set(kind, (sizes.get(kind) ?? 0) + Number(rssLine[1]));
  }
  return [...sizes].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, kb]) => `${k} ${(kb / 1024).toFixed(1)}`).join(' | ');
}
