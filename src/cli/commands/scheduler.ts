import { defineCommand } from 'citty';
import { startApiServer } from '../../api/server.ts';
import { loadConfig } from '../../config/load.ts';
import { Activity } from '../../dashboard/activity.ts';
import { dashboardPages } from '../../dashboard/routes.ts';
import type { BuilderConfig, SchedulerConfig } from '../../config/schema.ts';
import { loadTlsFiles } from '../../config/tls-files.ts';
import { oneLine } from '../../errors/thrown.ts';
import { schedulerMetrics } from '../../metrics/scheduler-metrics.ts';
import { Client } from '../../protocol/client/client.ts';
import type { ServerAddress } from '../../protocol/transport/connect-address.ts';
import { SchedulerRunner } from '../../scheduler/runner.ts';
import { StateStore } from '../../scheduler/state-store.ts';
import { UsageError, runCli } from '../cli-error.ts';
import { embeddedServerArgs, reloadEmbeddedJobServer, startEmbeddedJobServer } from '../embedded-job-server.ts';
import { createLogger } from '../logger.ts';
import { gearmanFleet, gearmanJobs } from '../scheduler-gearman.ts';
import { waitForStopSignal } from '../signals.ts';

/** The `[scheduler]` table, which the scheduler needs (it may be empty: every key has a default). */
export function schedulerTable(config: BuilderConfig): SchedulerConfig {
  if (config.scheduler === undefined) throw new UsageError(`${config.file} has no [scheduler] table (an empty one takes every default)`);
  return config.scheduler;
}

export const schedulerCommand = defineCommand({
  meta: {
    name: 'scheduler',
    description: 'Run the image lifecycle scheduler in the foreground (SIGHUP reloads the config, SIGTERM stops it).',
  },
  args: {
    config: { type: 'string', alias: 'c', description: 'Configuration file (TOML) with a [scheduler] table', required: true, valueHint: 'FILE' },
    ...embeddedServerArgs,
    debug: { type: 'boolean', description: 'Log at debug level' },
    'log-json': { type: 'boolean', description: 'Log JSON lines to stderr' },
  },
  run: ({ args }) =>
    runCli(args.debug === true, async () => {
      const logger = createLogger({ debug: args.debug === true, json: args['log-json'] === true });
      const config = await loadConfig(args.config);
      const scheduler = schedulerTable(config);
      const servers: ServerAddress[] = await Promise.all(config.gearmanServers.map(loadTlsFiles));
      const geard = await startEmbeddedJobServer(config, args, servers, logger);
      const store = StateStore.open(scheduler.stateFile);
      const client = new Client({ servers, logger: logger.withTag('gearman') });
      const fleet = gearmanFleet(servers);
      const activity = new Activity();
      let current = { config, scheduler };
      const metrics = schedulerMetrics({ store, jobServers: () => client.servers(), statsd: () => current.config.statsd });
      const runner = new SchedulerRunner({ store, config, scheduler, jobs: gearmanJobs(client), fleet, logger: logger.withTag('scheduler'), events: [...metrics.events, activity] });
      const api = await startApiServer({
        store,
        config: () => current.config,
        listen: scheduler.listen,
        tokenFile: () => current.scheduler.apiTokenFile,
        isReady: () => runner.status().reconciled,
        waits: () => runner.status().waits,
        onWrite: () => void runner.kick(),
        logger: logger.withTag('api'),
        pages: new Map([metrics.route, ...dashboardPages({ store, config: () => current.config, activity })]),
      });
      logger.info(`scheduler: state ${store.file}, system id ${runner.systemId}, ${servers.length} job server(s), API on ${api.url}`);
      runner.start();

      process.on('SIGHUP', () => {
        loadConfig(args.config).then(
          (next) => {
            const table = schedulerTable(next);
            if (table.stateFile !== scheduler.stateFile) logger.warn(`reload: state-file changes take a restart; still using ${scheduler.stateFile}`);
            if (geard !== undefined) reloadEmbeddedJobServer(geard, config, next, logger);
            if (table.listen.host !== scheduler.listen.host || table.listen.port !== scheduler.listen.port) logger.warn(`reload: listen changes take a restart; the API stays on ${api.url}`);
            current = { config: next, scheduler: { ...table, stateFile: scheduler.stateFile } };
            runner.reload(current.config, current.scheduler);
            logger.info(`configuration reloaded: ${next.diskimages.length} diskimage(s), ${next.providers.length} provider(s)`);
          },
          (err: unknown) => logger.error(`reload refused, the running configuration stays: ${oneLine(err)}`),
        ).catch((err: unknown) => logger.error(`reload refused, the running configuration stays: ${oneLine(err)}`));
      });
      const signal = await waitForStopSignal();
      logger.info(`${signal}: stopping (running jobs go on on the builders; the next start finds their results)`);
      const passDone = runner.stop();
      await api.close();
      // Closing the connections ends a pass waiting on a listing; jobs' results are no longer recorded.
      await client.close();
      fleet.close();
      metrics.close();
      await passDone;
      store.close();
      await geard?.close({ graceMs: 5_000 });
      logger.info('stopped');
    }),
});
