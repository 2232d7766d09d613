import { readFileSync } from 'node:fs';
import { defineCommand } from 'citty';
import { GearmanServer } from '../../protocol/server/index.ts';
import { UsageError, runCli } from '../cli-error.ts';
import { createLogger } from '../logger.ts';
import { waitForStopSignal } from '../signals.ts';

export const geardCommand = defineCommand({
  meta: { name: 'geard', description: 'Run the embedded gearman job server (gearmand-compatible) in the foreground.' },
  args: {
    host: { type: 'string', description: 'Address to listen on', default: '127.0.0.1' },
    port: { type: 'string', alias: 'p', description: 'Port to listen on', default: '4730' },
    'tls-cert': { type: 'string', description: 'Serve TLS with this certificate chain (PEM)', valueHint: 'FILE' },
    'tls-key': { type: 'string', description: 'Key of the TLS certificate (PEM)', valueHint: 'FILE' },
    'tls-ca': { type: 'string', description: 'CA bundle for client certificates (PEM)', valueHint: 'FILE' },
    'tls-require-client-cert': { type: 'boolean', description: 'Refuse clients without a certificate from --tls-ca' },
    'job-retries': { type: 'string', description: 'Fail a job after its worker was lost this many times (0: retry forever)', default: '0' },
    'shutdown-grace': { type: 'string', description: 'Seconds to finish sending on SIGTERM', default: '5' },
    debug: { type: 'boolean', description: 'Log at debug level' },
    'log-json': { type: 'boolean', description: 'Log JSON lines to stderr' },
  },
  run: ({ args }) =>
    runCli(args.debug === true, async () => {
      const logger = createLogger({ debug: args.debug === true, json: args['log-json'] === true });
      const port = Number(args.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port takes a port number, got ${args.port}`);
      if (Boolean(args['tls-cert']) !== Boolean(args['tls-key'])) throw new UsageError('--tls-cert and --tls-key go together');
      const read = (path: string) => readFileSync(path, 'utf8');
      const tls = args['tls-cert']
        ? {
            cert: read(args['tls-cert']),
            key: read(args['tls-key']!),
            ...(args['tls-ca'] ? { ca: read(args['tls-ca']) } : {}),
            requireClientCert: args['tls-require-client-cert'] === true,
          }
        : undefined;
      const server = new GearmanServer({ host: args.host, port, logger, jobRetries: Number(args['job-retries']), ...(tls ? { tls } : {}) });
      await server.listen();
      const signal = await waitForStopSignal();
      logger.info(`${signal}: stopping`);
      await server.close({ graceMs: Number(args['shutdown-grace']) * 1000 });
    }),
});
