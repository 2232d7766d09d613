/**
 * One probe measurement in a fresh process (so a patched variant never shares JIT state with
 * another): `bun probe/one.ts <worker|client> <variant> <jobs> <warmup>`; prints, as JSON, ns
 * per job after the warm-up: the main thread's time on a CPU (from /proc schedstat, so time
 * spent preempted by other processes does not count) and the wall time.
 */
import { readFileSync } from 'node:fs';
import { type ClientVariant, clientDriver, clientPayloads, runClientJobs } from './client-path.ts';
import { type WorkerVariant, workerStep } from './worker-path.ts';

const [side, variant, jobsArg, warmupArg] = process.argv.slice(2);
const jobs = Number(jobsArg);
const warmup = Number(warmupArg);

/** Nanoseconds this thread has run on a CPU. */
const onCpuNs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);

interface Timing {
  readonly cpu: number;
  readonly wall: number;
}

async function timed(work: () => Promise<void>): Promise<Timing> {
  Bun.gc(true);
  const cpu0 = onCpuNs();
  const t0 = performance.now();
  await work();
  return { cpu: onCpuNs() - cpu0, wall: (performance.now() - t0) * 1e6 };
}

async function timeWorker(): Promise<Timing> {
  const step = await workerStep(variant as WorkerVariant);
  for (let i = 0; i < warmup; i++) await step(i);
  return timed(async () => {
    for (let i = 0; i < jobs; i++) await step(i);
  });
}

async function timeClient(): Promise<Timing> {
  const driver = clientDriver(variant as ClientVariant);
  await runClientJobs(driver, clientPayloads(1, warmup));
  const payloads = clientPayloads(2, jobs);
  return timed(() => runClientJobs(driver, payloads));
}

const t = side === 'worker' ? await timeWorker() : await timeClient();
console.log(JSON.stringify({ cpuNsPerJob: t.cpu / jobs, wallNsPerJob: t.wall / jobs }));
// The Worker over the fake line still has GRABs in flight and their reply timer: done is done.
process.exit(0);
