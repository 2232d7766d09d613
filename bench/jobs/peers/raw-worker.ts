/** The practical limit, worker side: raw-worker-link.ts on every connection, `grabs` GRABs deep. */
import { workerMain } from '../harness/worker-main.ts';
import { openRawWorkerLink } from './raw-worker-link.ts';

await workerMain(async (args, counter) => {
  await Promise.all(Array.from({ length: args.conns }, () => openRawWorkerLink(args.host, args.port, args.fn, counter, args.grabs)));
});
