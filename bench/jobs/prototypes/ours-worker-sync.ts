/** Our Worker exactly as in peers/ours-worker.ts, with the sync-settle patch (sync-settle.ts). */
import { installSyncSettle } from './sync-settle.ts';

installSyncSettle();
await import('../peers/ours-worker.ts');
