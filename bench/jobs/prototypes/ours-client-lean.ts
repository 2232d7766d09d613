/** Our Client exactly as in peers/ours-client.ts, with the lean-submit patch (lean-submit.ts). */
import { installLeanSubmit } from './lean-submit.ts';

installLeanSubmit();
await import('../peers/ours-client.ts');
