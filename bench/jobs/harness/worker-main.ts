/**
 * The common shell of the JS echo workers: start, say ready, count jobs, and on "stop" (stdin)
 * or SIGTERM report the count and exit. The workers themselves only open connections and echo.
 */
import { type WorkerArgs, readArgs } from './args.ts';
import { DONE, READY, STOP, waitForLine } from './lines.ts';

export interface Counter {
  jobs: number;
}

export async function workerMain(start: (args: WorkerArgs, counter: Counter) => Promise<void> | void): Promise<void> {
  const args = readArgs<WorkerArgs>();
  const counter: Counter = { jobs: 0 };
  const finish = (): void => {
    process.stdout.write(`${DONE} ${counter.jobs}\n`, () => process.exit(0));
  };
  process.on('SIGTERM', finish);
  await start(args, counter);
  process.stdout.write(`${READY}\n`);
  await waitForLine(STOP);
  finish();
}
