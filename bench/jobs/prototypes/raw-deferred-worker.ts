/**
 * The raw worker with one change: its write happens in a queued microtask (as src Connection
 * flushes), not inside the socket's 'data' callback. Isolates what that deferral costs in Bun.
 */
import { workerMain } from '../harness/worker-main.ts';
import { openRawWorkerLink } from '../peers/raw-worker-link.ts';

await workerMain(async (args, counter) => {
  await Promise.all(Array.from({ length: args.conns }, () => openRawWorkerLink(args.host, args.port, args.fn, counter, true)));
});
