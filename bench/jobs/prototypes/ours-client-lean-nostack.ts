/** Our Client with both the lean-submit patch and stack capture off (no-stack.ts). */
import { installLeanSubmit } from './lean-submit.ts';
import { installNoStack } from './no-stack.ts';

installNoStack();
installLeanSubmit();
await import('../peers/ours-client.ts');
