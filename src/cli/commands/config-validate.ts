import { defineCommand } from 'citty';
import { loadConfig } from '../../config/load.ts';
import { runCli } from '../cli-error.ts';

export const configValidateCommand = defineCommand({
  meta: { name: 'config-validate', description: 'Check a configuration file and exit non-zero on the first problem.' },
  args: {
    config: { type: 'string', alias: 'c', description: 'Configuration file (TOML)', required: true, valueHint: 'FILE' },
    debug: { type: 'boolean', description: 'Show stack traces' },
  },
  run: ({ args }) =>
    runCli(args.debug === true, async () => {
      const config = await loadConfig(args.config);
      process.stdout.write(
        `${config.file}: OK (${config.diskimages.length} diskimage(s), ${config.providers.length} provider(s), ${config.gearmanServers.length} gearman server(s))\n`,
      );
    }),
});
