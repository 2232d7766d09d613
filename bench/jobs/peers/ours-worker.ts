/**
 * Our Worker (src/protocol/worker/worker.ts) echoing jobs. N connections = one Worker with N entries
 * in `servers`, all the same gearmand: one process, one slot pool, N WorkerLinks/sockets.
 */
import { Worker } from '../../../src/protocol/worker/worker.ts';
import { workerMain } from '../harness/worker-main.ts';

/** Slots: enough that the 16 jobs in flight never wait on the worker's own limit. */
const SLOTS = 16;

await workerMain((args, counter) => {
  const servers = Array.from({ length: args.conns }, () => ({ host: args.host, port: args.port }));
  const worker = new Worker({ servers, slots: { echo: SLOTS } });
  worker.register(args.fn, (job) => {
    counter.jobs++;
    return job.payload;
  });
  worker.start();
});
