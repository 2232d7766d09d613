/**
 * The common shell of the JS echo clients: connect (through the driver factory), run the
 * warm-up, say ready, wait for "go", run the timed batch, print the report, wait for "exit".
 */
import type { Buffer } from 'node:buffer';
import { payload } from '../payload.ts';
import { type ClientArgs, readArgs } from './args.ts';
import { type EchoDriver, runBatch } from './batch.ts';
import { type ClientReport, EXIT, GO, READY, RESULT, waitForLine } from './lines.ts';

const payloads = (runId: number, first: number, count: number): Buffer[] =>
  Array.from({ length: count }, (_, i) => payload(runId, first + i));

export async function clientMain(connect: (args: ClientArgs) => Promise<EchoDriver>): Promise<void> {
  const args = readArgs<ClientArgs>();
  const driver = await connect(args);
  // Warm-up jobs use a negative run id so they can never pass for timed ones.
  const warm = await runBatch(driver, payloads(-args.runId, args.first, args.warmup), args.inflight);
  if (warm.bad > 0) throw new Error(`${warm.bad} wrong results during the warm-up`);
  const timed = payloads(args.runId, args.first, args.jobs);
  process.stdout.write(`${READY}\n`);
  await waitForLine(GO);
  const result = await runBatch(driver, timed, args.inflight);
  const report: ClientReport = {
    jobs: args.jobs,
    bad: result.bad,
    startMs: result.startMs,
    endMs: result.endMs,
    latUs: Array.from(result.latUs, (v) => Math.round(v)),
  };
  process.stdout.write(`${RESULT} ${JSON.stringify(report)}\n`);
  await waitForLine(EXIT);
  await driver.close();
  process.exit(0);
}
