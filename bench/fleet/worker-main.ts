/**
 * One worker process of the fleet: `connsPerProcess` Workers (one connection each), each
 * registering its own `functionsPerConn` functions, echoing jobs. Says "ready" once set up,
 * connects on "go", reports `done <jobs>` on "stop".
 *   bun bench/fleet/worker-main.ts '<FleetWorkerArgs as JSON>'
 */
import { Worker } from '../../src/protocol/worker/worker.ts';
import { readArgs } from '../jobs/harness/args.ts';
import { DONE, GO, READY, STOP, waitForLine } from '../jobs/harness/lines.ts';
import { type FleetShape, clientIdOf, functionName } from './fleet.ts';

export interface FleetWorkerArgs extends FleetShape {
  /** This process's index, 0 .. processes - 1. */
  readonly process: number;
  readonly slots: number;
  readonly backoff: { readonly initialDelayMs: number; readonly maxDelayMs: number };
}

const args = readArgs<FleetWorkerArgs>();
let jobs = 0;
const workers = Array.from({ length: args.connsPerProcess }, (_, k) => {
  const conn = args.process * args.connsPerProcess + k;
  const worker = new Worker({ servers: [args], clientId: clientIdOf(conn), slots: { upload: args.slots }, backoff: args.backoff });
  for (let i = 0; i < args.functionsPerConn; i++) {
    worker.register(functionName(conn * args.functionsPerConn + i), (job) => {
      jobs++;
      return job.payload;
    });
  }
  return worker;
});
process.stdout.write(`${READY}\n`);
await waitForLine(GO);
for (const worker of workers) worker.start();
await waitForLine(STOP);
process.stdout.write(`${DONE} ${jobs}\n`, () => process.exit(0));
