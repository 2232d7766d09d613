/**
 * The practical limit, worker side: node:net with TCP_NODELAY and the hand-built protocol of
 * raw-worker-core.ts (one GRAB_JOB_UNIQ outstanding per connection, WORK_COMPLETE + next GRAB
 * in one write).
 */
import { workerMain } from '../harness/worker-main.ts';
import { openRawWorkerLink } from './raw-worker-link.ts';

await workerMain(async (args, counter) => {
  await Promise.all(Array.from({ length: args.conns }, () => openRawWorkerLink(args.host, args.port, args.fn, counter)));
});
