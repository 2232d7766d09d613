import { oneLine } from '../../errors/thrown.ts';
import { defineCommand } from 'citty';
import { loadConfig } from '../../config/load.ts';
import type { BuilderConfig } from '../../config/schema.ts';
import { loadTlsFiles } from '../../config/tls-files.ts';
import { ImageRepository } from '../../images/repository.ts';
import type { ServerAddress } from '../../protocol/transport/connect-address.ts';
import { createFormatConverter } from '../../uploaders/convert/format-converter.ts';
import { removeUnfinishedUploads } from '../../uploaders/glance/janitor.ts';
import { createGlanceUploaders } from '../../uploaders/glance/uploaders-by-provider.ts';
import { builderPrometheus } from '../../metrics/builder-metrics.ts';
import { startMetricsServer } from '../../metrics/metrics-server.ts';
import { BuilderWorker } from '../../worker/builder-worker.ts';
import { allMetrics, configuredStatsd } from '../../worker/metrics.ts';
import { runCli } from '../cli-error.ts';
import { embeddedServerArgs, reloadEmbeddedJobServer, startEmbeddedJobServer } from '../embedded-job-server.ts';
import { createLogger } from '../logger.ts';
import { waitForStopSignal } from '../signals.ts';

/** How long startup waits for the sweep of unfinished uploads; a slow cloud must not keep the builder from serving. */
const JANITOR_TIMEOUT_MS = 10_000;

export const runCommand = defineCommand({
  meta: {
    name: 'run',
    description: 'Run the builder worker in the foreground (SIGHUP reloads the config, SIGTERM stops it).',
  },
  args: {
    config: { type: 'string', alias: 'c', description: 'Configuration file (TOML)', required: true, valueHint: 'FILE' },
    ...embeddedServerArgs,
    debug: { type: 'boolean', description: 'Log at debug level, build output included' },
    'log-json': { type: 'boolean', description: 'Log JSON lines to stderr' },
  },
  run: ({ args }) =>
    runCli(args.debug === true, async () => {
      const logger = createLogger({ debug: args.debug === true, json: args['log-json'] === true });
      const config = await loadConfig(args.config);
      const servers: ServerAddress[] = await Promise.all(config.gearmanServers.map(loadTlsFiles));

      const geard = await startEmbeddedJobServer(config, args, servers, logger);

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
      // [metrics]: Prometheus beside statsd; the slots and connections are read from the worker at scrape time.
      let worker: BuilderWorker | undefined;
      const prometheus = config.metrics && builderPrometheus(config.imagesDir, () => worker?.stats());
      const builder = new BuilderWorker(
        config,
        {
          logger,
          repository,
          uploaderFor: uploaders,
          prepareFormat: createFormatConverter({ repository, logger: logger.withTag('convert') }),
          cloudImages: uploaders.images,
          ...(prometheus && { metrics: allMetrics([configuredStatsd(config), prometheus.metrics]) }),
        },
        servers,
      );
      worker = builder;
      const metricsServer = config.metrics && prometheus && (await startMetricsServer(config.metrics.listen, prometheus.registry, logger.withTag('metrics')));
      if (metricsServer) logger.info(`metrics: Prometheus on ${metricsServer.url}`);
      // The scheduler's cloud operations, for each provider this host has credentials for.
      const serveClouds = async (providers: BuilderConfig['providers']): Promise<void> => {
        const clouds = await uploaders.resolveClouds(providers);
        for (const problem of clouds.problems) logger.warn(`no provider-image-list/-delete: ${problem}`);
        builder.serveClouds(clouds.providers);
      };
      await serveClouds(config.providers);
      await builder.start();

      // One reload at a time: a second SIGHUP waits for the first, so registrations follow the last file.
      let reloading: Promise<void> = Promise.resolve();
      process.on('SIGHUP', () => {
        reloading = reloading.then(() =>
          loadConfig(args.config).then(
            async (next) => {
              if (geard !== undefined) reloadEmbeddedJobServer(geard, config, next, logger);
              if (JSON.stringify(next.metrics) !== JSON.stringify(config.metrics)) logger.warn('reload: [metrics] changes take a restart');
              builder.reload(next);
              uploaders.forgetCloudFiles();
              await serveClouds(next.providers);
            },
            (err: unknown) => logger.error(`reload refused, the running configuration stays: ${oneLine(err)}`),
          ),
        ).catch((err: unknown) => logger.error(`reload: ${oneLine(err)}`));
      });
      const signal = await waitForStopSignal();
      logger.info(`${signal}: stopping`);
      await builder.stop();
      await metricsServer?.close();
      await uploaders.close();
      await geard?.close({ graceMs: 5_000 });
      logger.info('stopped');
    }),
});
