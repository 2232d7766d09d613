import { defineCommand } from 'citty';
import { loadConfig } from '../../config/load.ts';
import { loadTlsFiles } from '../../config/tls-files.ts';
import { JobFailure } from '../../protocol/job-errors.ts';
import { BuilderWorker } from '../../worker/builder-worker.ts';
import { createLogger } from '../logger.ts';

export const runCommand = defineCommand({
  meta: { name: 'run', description: 'Run the builder worker in the foreground (SIGHUP reloads, SIGTERM stops).' },
  args: {
    config: { type: 'string', alias: 'c', description: 'Configuration file (TOML)', required: true, valueHint: 'FILE' },
    debug: { type: 'boolean', description: 'Log at debug level, build output included' },
    'log-json': { type: 'boolean', description: 'Log JSON lines to stderr' },
  },
  async run({ args }) {
    const logger = createLogger({ debug: args.debug === true, json: args['log-json'] === true });
    const config = await loadConfig(args.config);
    if (config.gearmanServers.length === 0) throw new Error(`${config.file}: no [[gearman-servers]] configured`);
    const servers = await Promise.all(config.gearmanServers.map(loadTlsFiles));
    const builder = new BuilderWorker(
      config,
      {
        logger,
        uploaderFor: (provider) => {
          throw new JobFailure('NO_UPLOADER', `no uploader is available for provider ${provider.name}`);
        },
      },
      servers,
    );
    await builder.start();

    process.on('SIGHUP', () => {
      loadConfig(args.config).then(
        (next) => builder.reload(next),
        (err: unknown) => logger.error(`reload refused, the running configuration stays: ${(err as Error).message}`),
      );
    });
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info(`${signal}: stopping`);
        builder.stop().then(resolve, (err: unknown) => {
          logger.error(`stopping: ${(err as Error).message}`);
          resolve();
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    logger.info('stopped');
  },
});
