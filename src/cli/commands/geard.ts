import { defineCommand } from 'citty';
import { GearmanServer, type TlsListenOptions, loadAccessRules } from '../../protocol/server/index.ts';
import { UsageError, runCli } from '../cli-error.ts';
import { readAccessRules } from '../access-rules.ts';
import { createLogger } from '../logger.ts';
import { isLoopback } from '../loopback.ts';
import { integerArg, secondsArg } from '../number-args.ts';
import { waitForStopSignal } from '../signals.ts';
import { checkCa, checkKeyPair, readPem } from '../tls-files.ts';

interface TlsArgs {
  readonly 'tls-cert'?: string | undefined;
  readonly 'tls-key'?: string | undefined;
  readonly 'tls-ca'?: string | undefined;
  readonly 'tls-require-client-cert'?: boolean | undefined;
  readonly acl?: string | undefined;
}

/**
 * The TLS listener the flags ask for, or none when no TLS flag is given. Fails closed: a TLS
 * flag never yields a plain server, and client certificates are checked against --tls-ca alone.
 */
function tlsOptions(args: TlsArgs): TlsListenOptions | undefined {
  const given = (['tls-cert', 'tls-key', 'tls-ca', 'tls-require-client-cert'] as const).filter(
    (flag) => args[flag] !== undefined && args[flag] !== false,
  );
  if (given.length === 0) return undefined;
  const missing = (['tls-cert', 'tls-key'] as const).filter((flag) => !args[flag]);
  if (missing.length > 0) {
    throw new UsageError(`${given.map((f) => `--${f}`).join(' ')} needs ${missing.map((f) => `--${f}`).join(' and ')}: TLS serves with a certificate and its key`);
  }
  const requireClientCert = args['tls-require-client-cert'] === true;
  if (requireClientCert && !args['tls-ca']) {
    throw new UsageError('--tls-require-client-cert needs --tls-ca: the CA that client certificates must come from (no public root is trusted)');
  }
  if (args['tls-ca'] && !requireClientCert && !args.acl) {
    throw new UsageError('--tls-ca needs --tls-require-client-cert or --acl: the CA is only used to check client certificates');
  }
  const cert = { flag: '--tls-cert', path: args['tls-cert']!, pem: readPem('--tls-cert', args['tls-cert']!) };
  const key = { flag: '--tls-key', path: args['tls-key']!, pem: readPem('--tls-key', args['tls-key']!) };
  checkKeyPair(cert, key);
  const ca = args['tls-ca'] ? readPem('--tls-ca', args['tls-ca']) : undefined;
  if (ca !== undefined) checkCa('--tls-ca', args['tls-ca']!, ca);
  return { cert: cert.pem, key: key.pem, ...(ca !== undefined ? { ca } : {}), requireClientCert };
}

export const geardCommand = defineCommand({
  meta: { name: 'geard', description: 'Run the embedded gearman job server (gearmand-compatible) in the foreground.' },
  args: {
    host: { type: 'string', description: 'Address to listen on', default: '127.0.0.1' },
    port: { type: 'string', alias: 'p', description: 'Port to listen on', default: '4730' },
    'tls-cert': { type: 'string', description: 'Serve TLS with this certificate chain (PEM)', valueHint: 'FILE' },
    'tls-key': { type: 'string', description: 'Key of the TLS certificate (PEM)', valueHint: 'FILE' },
    'tls-ca': { type: 'string', description: 'CA bundle for client certificates (PEM)', valueHint: 'FILE' },
    'tls-require-client-cert': { type: 'boolean', description: 'Refuse clients without a certificate from --tls-ca' },
    acl: { type: 'string', description: 'Access rules by client certificate CN (TOML); SIGHUP reloads them', valueHint: 'FILE' },
    'insecure-listen': { type: 'boolean', description: 'Allow a non-loopback --host without TLS (anyone who reaches the port can do anything)' },
    'job-retries': { type: 'string', description: 'Fail a job after its worker was lost this many times (0: retry forever)', default: '0' },
    'shutdown-grace': { type: 'string', description: 'Seconds to finish sending on SIGTERM', default: '5' },
    debug: { type: 'boolean', description: 'Log at debug level' },
    'log-json': { type: 'boolean', description: 'Log JSON lines to stderr' },
  },
  run: ({ args }) =>
    runCli(args.debug === true, async () => {
      const logger = createLogger({ debug: args.debug === true, json: args['log-json'] === true });
      const port = integerArg('--port', args.port, 0, 65535);
      const jobRetries = integerArg('--job-retries', args['job-retries'], 0, 0xffffffff);
      // Checked now, not at SIGTERM: "abc" meant no grace at all.
      const graceMs = secondsArg('--shutdown-grace', args['shutdown-grace']);
      if (args.host.trim() === '') throw new UsageError('--host takes an address to listen on, got ""');
      const tls = tlsOptions(args);
      if (tls === undefined && !isLoopback(args.host)) {
        if (args['insecure-listen'] !== true) {
          throw new UsageError(
            `--host ${args.host} is reachable from the network: serve TLS (--tls-cert, --tls-key) or, knowing that anyone who reaches the port may run and take any job, pass --insecure-listen`,
          );
        }
        logger.warn(`listening on ${args.host} without TLS (--insecure-listen): anyone who reaches the port may submit, take and cancel any job`);
      }
      const aclFile = args.acl;
      const acl = aclFile === undefined ? undefined : readAccessRules(aclFile, '--acl');
      const server = new GearmanServer({ host: args.host, port, logger, jobRetries, ...(tls ? { tls } : {}), ...(acl ? { acl } : {}) });
      await server.listen();
      process.on('SIGHUP', () => {
        if (aclFile === undefined) {
          logger.info('SIGHUP: no --acl file to reload');
          return;
        }
        try {
          server.setAccessRules(loadAccessRules(aclFile));
        } catch (err) {
          logger.error(`SIGHUP: the access rules stay as they were: ${err instanceof Error ? err.message : String(err)}`);
        }
      });
      const signal = await waitForStopSignal();
      logger.info(`${signal}: stopping`);
      await server.close({ graceMs });
    }),
});
