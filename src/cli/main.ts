import { defineCommand, runMain } from 'citty';
import pkg from '../../package.json' with { type: 'json' };
import { configValidateCommand } from './commands/config-validate.ts';
import { runCommand } from './commands/run.ts';

export const main = defineCommand({
  meta: {
    name: 'nodepool-builder',
    version: pkg.version,
    description: 'Builds cloud images with diskimage-builder and uploads them to Glance, as a gearman worker.',
  },
  subCommands: {
    run: runCommand,
    'config-validate': configValidateCommand,
  },
});

await runMain(main);
