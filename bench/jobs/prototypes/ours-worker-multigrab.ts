/** Our Worker as in peers/ours-worker.ts, with the multi-grab patch (multi-grab.ts). */
import { readArgs } from '../harness/args.ts';
import { installMultiGrab } from './multi-grab.ts';

const args = readArgs<{ conns: number; grabs?: number }>();
installMultiGrab(args.grabs ?? Math.max(1, Math.floor(16 / args.conns)));
await import('../peers/ours-worker.ts');
