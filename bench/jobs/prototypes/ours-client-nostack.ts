/** Our Client exactly as in peers/ours-client.ts, with stack capture switched off (see no-stack.ts). */
import { installNoStack } from './no-stack.ts';

installNoStack();
await import('../peers/ours-client.ts');
