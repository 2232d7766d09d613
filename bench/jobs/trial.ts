/**
 * One run of one contender: start its worker process(es), wait until gearmand lists every
 * worker connection, start its client process(es) (they connect and warm up), say "go" to all
 * at once, collect their reports, then stop the workers and check that every job was done
 * exactly once and echoed right.
 */
import { functionStatus, waitForWorkers } from './admin.ts';
import { Child } from './children.ts';
import type { Contender } from './contenders.ts';
import type { ClientArgs } from './harness/args.ts';
import { type ClientReport, DONE, EXIT, GO, READY, RESULT, STOP } from './harness/lines.ts';
import { cpuMs, threadCpuMs, threadDelta } from './cpu.ts';
import { percentileSorted } from './stats.ts';

export interface RunSpec extends Omit<ClientArgs, 'fn' | 'first'> {
  /** gearmand's pid, to charge its CPU time to the run. */
  readonly serverPid: number;
}

export interface RunResult {
  readonly jobsPerSecond: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** CPU time (user + system) per timed job, microseconds, summed over the side's processes. */
  readonly cpuUsPerJob: { readonly worker: number; readonly client: number; readonly server: number };
  /** The same per thread name (main thread, JIT, GC helpers...), per side. */
  readonly threadUsPerJob: { readonly worker: ReadonlyMap<string, number>; readonly client: ReadonlyMap<string, number> };
}

const cpuOf = (children: readonly Child[]): number => children.reduce((n, c) => n + cpuMs(c.pid), 0);
const threadsOf = (children: readonly Child[]): Map<string, number>[] => children.map((c) => threadCpuMs(c.pid));

const START_MS = 30_000;
/** Generous: the slowest contender must finish its batch within this. */
const BATCH_MS = 600_000;

export async function runOnce(contender: Contender, spec: RunSpec): Promise<RunResult> {
  const fn = `bench-echo-${contender.name.replace(/\W+/g, '-')}-${spec.conns}c-${spec.runId}`;
  const base = { host: spec.host, port: spec.port, fn, conns: spec.conns };
  const clientArgs: ClientArgs = { ...base, runId: spec.runId, first: 0, jobs: spec.jobs, warmup: spec.warmup, inflight: spec.inflight };
  const workers = contender.workers(base).map((c) => new Child(c));
  const clients: Child[] = [];
  try {
    await Promise.all(workers.map((w) => w.expect(READY, START_MS)));
    await waitForWorkers(spec.host, spec.port, fn, spec.conns);
    clients.push(...contender.clients(clientArgs).map((c) => new Child(c)));
    await Promise.all(clients.map((c) => c.expect(READY, START_MS + BATCH_MS)));
    const before = { worker: cpuOf(workers), client: cpuOf(clients), server: cpuMs(spec.serverPid) };
    const threadsBefore = { worker: threadsOf(workers), client: threadsOf(clients) };
    for (const c of clients) c.send(GO);
    const reports = await Promise.all(clients.map(async (c) => JSON.parse(await c.expect(RESULT, BATCH_MS)) as ClientReport));
    const perJob = (ms: number): number => (ms * 1000) / spec.jobs;
    const cpuUsPerJob = {
      worker: perJob(cpuOf(workers) - before.worker),
      client: perJob(cpuOf(clients) - before.client),
      server: perJob(cpuMs(spec.serverPid) - before.server),
    };
    const perJobThreads = (delta: Map<string, number>): Map<string, number> => new Map([...delta].map(([name, ms]) => [name, perJob(ms)]));
    const threadUsPerJob = {
      worker: perJobThreads(threadDelta(threadsBefore.worker, threadsOf(workers))),
      client: perJobThreads(threadDelta(threadsBefore.client, threadsOf(clients))),
    };
    for (const c of clients) c.send(EXIT);
    await Promise.all(clients.map((c) => c.exited));
    for (const w of workers) {
      if (contender.stop === 'stdin') w.send(STOP);
      else w.signal('SIGTERM');
    }
    const handled = (await Promise.all(workers.map((w) => w.expect(DONE, START_MS)))).reduce((n, s) => n + Number(s), 0);
    // Let them exit on their own; stop() kills what is left after START_MS.
    await within(Promise.all(workers.map((w) => w.exited)), START_MS);
    const left = await functionStatus(spec.host, spec.port, fn);
    const notes = workers.map((w) => w.stderrTail.trim()).filter(Boolean);
    return { ...summarize(contender.name, spec, reports, handled, left?.total ?? 0, notes), cpuUsPerJob, threadUsPerJob };
  } finally {
    await Promise.all([...clients, ...workers].map((c) => c.stop()));
  }
}

/** Waits for `promise`, at most `ms`, leaving no timer behind. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function summarize(
  name: string,
  spec: RunSpec,
  reports: readonly ClientReport[],
  handled: number,
  queued: number,
  workerStderr: readonly string[],
): Omit<RunResult, 'cpuUsPerJob' | 'threadUsPerJob'> {
  const jobs = reports.reduce((n, r) => n + r.jobs, 0);
  const bad = reports.reduce((n, r) => n + r.bad, 0);
  const latencies = reports.flatMap((r) => r.latUs);
  if (jobs !== spec.jobs || latencies.length !== spec.jobs) throw new Error(`${name}: ${jobs} jobs reported (${latencies.length} timed), expected ${spec.jobs}`);
  if (bad !== 0) throw new Error(`${name}: ${bad} results were not the echo of their job`);
  if (handled !== spec.jobs + spec.warmup) {
    const said = workerStderr.length ? `; the workers said:\n${workerStderr.join('\n')}` : '';
    throw new Error(`${name}: the workers handled ${handled} jobs, expected ${spec.jobs + spec.warmup}${said}`);
  }
  if (queued !== 0) throw new Error(`${name}: gearmand still holds ${queued} jobs of the run`);
  const start = Math.min(...reports.map((r) => r.startMs));
  const end = Math.max(...reports.map((r) => r.endMs));
  const sorted = Float64Array.from(latencies).sort();
  return {
    jobsPerSecond: spec.jobs / ((end - start) / 1000),
    p50Us: percentileSorted(sorted, 50),
    p99Us: percentileSorted(sorted, 99),
  };
}
