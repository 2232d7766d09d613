import { defineCommand, runMain } from 'citty';
import pkg from '../../package.json' with { type: 'json' };
import { imageBuildCommand, imageDeleteCommand, imageUploadCommand } from './commands/client-commands.ts';
import { configValidateCommand } from './commands/config-validate.ts';
import { dibImageListCommand } from './commands/dib-image-list.ts';
import { geardCommand } from './commands/geard.ts';
import { imageUpdateCommand } from './commands/image-update.ts';
import { runCommand } from './commands/run.ts';
import { statusCommand } from './commands/status.ts';

export const main = defineCommand({
  meta: {
    name: 'nodepool-builder',
    version: pkg.version,
    description: 'Builds cloud images with diskimage-builder and uploads them to Glance, as a gearman worker.',
  },
  subCommands: {
    run: runCommand,
    geard: geardCommand,
    'image-build': imageBuildCommand,
    'image-upload': imageUploadCommand,
    'image-delete': imageDeleteCommand,
    'image-update': imageUpdateCommand,
    status: statusCommand,
    'dib-image-list': dibImageListCommand,
    'config-validate': configValidateCommand,
  },
});

await runMain(main);
