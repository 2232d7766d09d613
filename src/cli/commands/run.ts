import { oneLine, toError } from '../../errors/thrown.ts';
import { defineCommand } from 'citty';
import { loadConfig } from '../../config/load.ts';
import { loadTlsFiles } from '../../config/tls-files.ts';
import { ImageRepository } from '../../images/repository.ts';
import { type ServerAddress, parseServerAddress } from '../../protocol/transport/connect-address.ts';
import { GearmanServer, loadAccessRules } from '../../protocol/server/index.ts';
import { createFormatConverter } from '../../uploaders/convert/format-converter.ts';
import { removeUnfinishedUploads } from '../../uploaders/glance/janitor.ts';
import { createGlanceUploaders } from '../../uploaders/glance/uploaders-by-provider.ts';
import { BuilderWorker } from '../../worker/builder-worker.ts';
import { UsageError, runCli } from '../cli-error.ts';
import { readAccessRules } from '../access-rules.ts';
import { createLogger } from '../logger.ts';
import { waitForStopSignal } from '../signals.ts';

/** How long startup waits for the sweep of unfinished uploads; a slow cloud must not keep the builder from serving. */
const JANITOR_TIMEOUT_MS = 10_000;

/** The embedded server's rules follow the config's `geard-acl`; a bad file keeps the rules in force. */
function reloadRules(geard: GearmanServer, file: string | undefined, logger: { error(message: string): void }): void {
  try {
    geard.setAccessRules(file === undefined ? undefined : loadAccessRules(file));
  } catch (err) {
    logger.error(`reload: the access rules stay as they were: ${oneLine(err)}`);
  }
}

export const runCommand = defineCommand({
  meta: {
    name: 'run',
    description: 'Run the builder worker in the foreground (SIGHUP reloads the config, SIGTERM stops it).',
  },
  args: {
    config: { type: 'string', alias: 'c', description: 'Configuration file (TOML)', required: true, valueHint: 'FILE' },
    geard: { type: 'boolean', description: 'Also run the embedded job server in-process (the default when the config lists no gearman-servers)' },
    'geard-listen': { type: 'string', description: 'Where the embedded job server listens', default: '127.0.0.1:4730', valueHint: 'HOST:PORT' },
    debug: { type: 'boolean', description: 'Log at debug level, build output included' },
    'log-json': { type: 'boolean', description: 'Log JSON lines to stderr' },
  },
  run: ({ args }) =>
    runCli(args.debug === true, async () => {
      const logger = createLogger({ debug: args.debug === true, json: args['log-json'] === true });
      const config = await loadConfig(args.config);
      const servers: ServerAddress[] = await Promise.all(config.gearmanServers.map(loadTlsFiles));

      let geard: GearmanServer | undefined;
      if (args.geard || servers.length === 0) {
        const listen = (() => {
          try {
            return parseServerAddress(args['geard-listen']);
          } catch (err) {
            throw new UsageError(`--geard-listen: ${toError(err).message}`, { cause: err });
          }
        })();
        const acl = config.geardAcl === undefined ? undefined : readAccessRules(config.geardAcl, 'geard-acl');
        geard = new GearmanServer({ host: listen.host, port: listen.port, logger: logger.withTag('geard'), ...(acl ? { acl } : {}) });
        const bound = await geard.listen();
        servers.push({ host: bound.host, port: bound.port });
      }

      // clouds.yaml is read on the first upload, so a host that only builds needs none.
      const uploaders = createGlanceUploaders({
        logger: logger.withTag('glance'),
        cloudsFile: config.cloudsFile,
        uploader: { builderId: config.clientId },
      });
      // Before any upload job can arrive: an upload of this process would look like a leftover.
      if (config.providers.length > 0) {
        await removeUnfinishedUploads({
          builderId: config.clientId,
          providers: config.providers,
          service: uploaders.service,
          logger: logger.withTag('janitor'),
          signal: AbortSignal.timeout(JANITOR_TIMEOUT_MS),
        });
      }
      const repository = new ImageRepository(config.imagesDir, logger);
      const builder = new BuilderWorker(
        config,
        {
          logger,
          repository,
          uploaderFor: uploaders,
          prepareFormat: createFormatConverter({ repository, logger: logger.withTag('convert') }),
        },
        servers,
      );
      await builder.start();

      process.on('SIGHUP', () => {
        loadConfig(args.config).then(
          (next) => {
            if (geard !== undefined) reloadRules(geard, next.geardAcl, logger);
            return builder.reload(next);
          },
          (err: unknown) => logger.error(`reload refused, the running configuration stays: ${oneLine(err)}`),
        );
      });
      const signal = await waitForStopSignal();
      logger.info(`${signal}: stopping`);
      await builder.stop();
      await uploaders.close();
      await geard?.close({ graceMs: 5_000 });
      logger.info('stopped');
    }),
});
