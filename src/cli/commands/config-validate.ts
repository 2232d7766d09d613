import { defineCommand } from 'citty';
import { loadConfig } from '../../config/load.ts';
import { checkProviderClouds } from '../../uploaders/glance/uploaders-by-provider.ts';
import { UsageError, runCli } from '../cli-error.ts';
import { readAccessRules } from '../access-rules.ts';
import { readEmbeddedTls } from '../embedded-job-server.ts';
import { createLogger } from '../logger.ts';

export const configValidateCommand = defineCommand({
  meta: { name: 'config-validate', description: 'Check a configuration file and the clouds its providers name; exit non-zero on a problem.' },
  args: {
    config: { type: 'string', alias: 'c', description: 'Configuration file (TOML)', required: true, valueHint: 'FILE' },
    debug: { type: 'boolean', description: 'Show stack traces' },
  },
  run: ({ args }) =>
    runCli(args.debug === true, async () => {
      const config = await loadConfig(args.config);
      if (config.geardAcl !== undefined) readAccessRules(config.geardAcl, 'geard-acl');
      if (config.geardTls !== undefined) readEmbeddedTls(config.geardTls);
      const problems = await checkProviderClouds(config.providers, { logger: createLogger({ debug: args.debug === true }), cloudsFile: config.cloudsFile });
      if (problems.length > 0) throw new UsageError(`${config.file}: ${problems.join('\n  ')}`);
      process.stdout.write(
        `${config.file}: OK (${config.diskimages.length} diskimage(s), ${config.providers.length} provider(s) with their clouds, ${config.gearmanServers.length} gearman server(s))\n`,
      );
    }),
});
