/**
 * One fuzz worker: checks inputs [from, to) of the run and reports failures and counters to the
 * main thread (spec/fuzz/robustness.ts). It writes the index it is on into a shared slot before
 * each input, so the main thread can tell a hang from slowness.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadCorpus } from './corpus.ts';
import { loadDecoderFactory } from './decoder-module.ts';
import { runCase } from './fuzz-case.ts';
import { type FuzzInput, inputAt } from './generator.ts';
import { type WorkerMessage, isWorkerTask } from './messages.ts';
import { count, emptyStats } from './stats.ts';

/** Often enough that a worker stopped early (hang, too many failures) still reports most of its counts. */
const STATS_EVERY = 2_000;

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null || !isWorkerTask(workerData)) throw new Error('robustness-worker.ts runs as a worker of robustness.ts');
  const task = workerData;
  const post = (message: WorkerMessage): void => port.postMessage(message);
  const heartbeat = new Int32Array(task.heartbeat);
  const corpus = await loadCorpus();
  const factory = await loadDecoderFactory(task.decoderModule);
  const stats = emptyStats();

  for (let index = task.from; index < task.to; index++) {
    Atomics.store(heartbeat, task.slot, index);
    const started = performance.now();
    let input: FuzzInput | undefined;
    let violations: readonly string[];
    try {
      input = inputAt(task.seed, index, corpus);
      const result = runCase(input.bytes, input.profile.limits, [{ name: 'split', lengths: input.chunks }], factory);
      violations = result.violations;
      stats.packets += result.packets;
      stats.lines += result.lines;
      if (result.error === undefined) stats.clean++;
      else {
        stats.errored++;
        count(stats.errorCodes, result.error);
      }
    } catch (err) {
      violations = [`the fuzz harness itself threw: ${describe(err)}`];
    }
    const elapsed = performance.now() - started;
    stats.inputs++;
    if (input !== undefined) {
      stats.bytes += input.bytes.length;
      stats.largestInput = Math.max(stats.largestInput, input.bytes.length);
      count(stats.kinds, input.kind);
    }
    if (elapsed > stats.slowestMs) {
      stats.slowestMs = elapsed;
      stats.slowestIndex = index;
    }
    if (violations.length > 0) {
      post({
        type: 'failure',
        failure: {
          index,
          kind: input?.kind ?? 'unknown',
          profile: input?.profile.name ?? 'unknown',
          bytes: input?.bytes.slice() ?? new Uint8Array(0),
          chunks: input?.chunks ?? [],
          violations,
        },
      });
    }
    if (stats.inputs % STATS_EVERY === 0) post({ type: 'stats', stats, done: false });
  }
  post({ type: 'stats', stats, done: true });
}

await main();
