import { defineCommand, runMain } from 'citty';
import pkg from '../../package.json' with { type: 'json' };

export const main = defineCommand({
  meta: {
    name: 'nodepool-builder',
    version: pkg.version,
    description: 'Builds cloud images with diskimage-builder and uploads them to Glance, as a gearman worker.',
  },
});

await runMain(main);
