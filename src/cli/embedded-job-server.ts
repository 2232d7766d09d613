import { X509Certificate } from 'node:crypto';
import type { ConsolaInstance } from 'consola';
import type { BuilderConfig, EmbeddedServerTls } from '../config/schema.ts';
import { oneLine, toError } from '../errors/thrown.ts';
import { GearmanServer, type TlsListenOptions, loadAccessRules } from '../protocol/server/index.ts';
import { type ServerAddress, type TlsSettings, describeServer, parseServerAddress } from '../protocol/transport/connect-address.ts';
import { readAccessRules } from './access-rules.ts';
import { UsageError } from './cli-error.ts';
import { isLoopback } from './loopback.ts';
import { ownConnectionProblem } from './own-connection-check.ts';
import { checkCa, checkKeyPair, readPem } from './tls-files.ts';

/** The options of `run` and `scheduler` that start the job server in-process. */
export const embeddedServerArgs = {
  geard: { type: 'boolean', description: 'Also run the embedded job server in-process (the default when the config lists no gearman-servers)' },
  'geard-listen': { type: 'string', description: 'Where the embedded job server listens', default: '127.0.0.1:4730', valueHint: 'HOST:PORT' },
  'geard-insecure-listen': {
    type: 'boolean',
    description: 'Allow a non-loopback --geard-listen without geard-tls-cert (anyone who reaches the port can do anything)',
  },
} as const;

interface EmbeddedTls {
  /** What the listener serves with. */
  readonly listen: TlsListenOptions;
  /** How this process's own worker or client connects: with the server's certificate, checking the server against the CA. */
  readonly own: TlsSettings;
  /** The name access rules see for this process's own connections. */
  readonly ownName: string;
}

/** Reads and checks the geard-tls-* files; a problem names the key and the file (a UsageError). */
export function readEmbeddedTls(files: EmbeddedServerTls): EmbeddedTls {
  const cert = { flag: 'geard-tls-cert', path: files.cert, pem: readPem('geard-tls-cert', files.cert) };
  const key = { flag: 'geard-tls-key', path: files.key, pem: readPem('geard-tls-key', files.key) };
  checkKeyPair(cert, key);
  const ca = readPem('geard-tls-ca', files.ca);
  checkCa('geard-tls-ca', files.ca, ca);
  const x509 = new X509Certificate(cert.pem);
  // The check of the server's name needs one the certificate holds; with no DNS name, the address is checked.
  const dnsName = x509.subjectAltName
    ?.split(', ')
    .find((entry) => entry.startsWith('DNS:'))
    ?.slice('DNS:'.length);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x509.subject)?.[1] ?? '(no CN: anonymous)';
  return {
    listen: { cert: cert.pem, key: key.pem, ca, requireClientCert: files.requireClientCert },
    own: { ca, cert: cert.pem, key: key.pem, ...(dnsName === undefined ? {} : { servername: dnsName }) },
    ownName: cn,
  };
}

/** Where this process reaches its own listener: a wildcard address is reached over loopback. */
function ownHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

/**
 * With --geard, or when the config lists no gearman-servers: starts the embedded job server
 * (with the config's geard-acl rules and geard-tls-* listener) and adds its address to `servers`.
 */
export async function startEmbeddedJobServer(
  config: BuilderConfig,
  args: { readonly geard?: boolean | undefined; readonly 'geard-listen': string; readonly 'geard-insecure-listen'?: boolean | undefined },
  servers: ServerAddress[],
  logger: ConsolaInstance,
): Promise<GearmanServer | undefined> {
  if (!args.geard && servers.length > 0) return undefined;
  const listen = (() => {
    try {
      return parseServerAddress(args['geard-listen']);
    } catch (err) {
      throw new UsageError(`--geard-listen: ${toError(err).message}`, { cause: err });
    }
  })();
  const tls = config.geardTls === undefined ? undefined : readEmbeddedTls(config.geardTls);
  if (tls === undefined && !isLoopback(listen.host)) {
    if (args['geard-insecure-listen'] !== true) {
      throw new UsageError(
        `--geard-listen ${args['geard-listen']} is reachable from the network: serve TLS (geard-tls-cert, geard-tls-key, geard-tls-ca in ${config.file}) or, knowing that anyone who reaches the port may run and take any job, pass --geard-insecure-listen`,
      );
    }
    logger.warn(`the embedded job server listens on ${listen.host} without TLS (--geard-insecure-listen): anyone who reaches the port may submit, take and cancel any job`);
  }
  const acl = config.geardAcl === undefined ? undefined : readAccessRules(config.geardAcl, 'geard-acl');
  const geard = new GearmanServer({
    host: listen.host,
    port: listen.port,
    logger: logger.withTag('geard'),
    ...(tls ? { tls: tls.listen } : {}),
    ...(acl ? { acl } : {}),
  });
  const bound = await geard.listen();
  const own: ServerAddress = { host: ownHost(bound.host), port: bound.port, ...(tls ? { tls: tls.own } : {}) };
  if (tls !== undefined) {
    // Found now rather than as an endless reconnect loop: a certificate that cannot also be a client's.
    const problem = await ownConnectionProblem(own);
    if (problem !== undefined) {
      await geard.close();
      throw new UsageError(
        `geard-tls-cert ${config.geardTls!.cert}: this process's own connection to its job server (${describeServer(own)}) failed: ${problem}. ` +
          'It connects with that certificate, so the certificate must come from geard-tls-ca, name the host it is reached by, and allow serverAuth and clientAuth (extendedKeyUsage)',
      );
    }
    logger.info(`embedded job server on ${describeServer(own)}: this process's own connections are CN=${tls.ownName}`);
  }
  servers.push(own);
  return geard;
}

/**
 * On SIGHUP: the embedded server's rules follow the config's `geard-acl` (a bad file keeps the
 * rules in force); its listener stays as started.
 */
export function reloadEmbeddedJobServer(
  geard: GearmanServer,
  started: BuilderConfig,
  next: BuilderConfig,
  logger: { error(message: string): void; warn(message: string): void },
): void {
  if (JSON.stringify(started.geardTls) !== JSON.stringify(next.geardTls)) {
    logger.warn('reload: geard-tls-* changes take a restart; the embedded job server keeps its listener');
  }
  try {
    geard.setAccessRules(next.geardAcl === undefined ? undefined : loadAccessRules(next.geardAcl));
  } catch (err) {
    logger.error(`reload: the access rules stay as they were: ${oneLine(err)}`);
  }
}
