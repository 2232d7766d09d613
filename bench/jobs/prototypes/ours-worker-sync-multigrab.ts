/** Our Worker with both the sync-settle and the multi-grab patches. */
import { readArgs } from '../harness/args.ts';
import { installMultiGrab } from './multi-grab.ts';
import { installSyncSettle } from './sync-settle.ts';

const args = readArgs<{ conns: number; grabs?: number }>();
installSyncSettle();
installMultiGrab(args.grabs ?? Math.max(1, Math.floor(16 / args.conns)));
await import('../peers/ours-worker.ts');
