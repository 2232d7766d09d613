import type { ConsolaInstance } from 'consola';
import type { BuilderConfig } from '../config/schema.ts';
import { oneLine, toError } from '../errors/thrown.ts';
import { GearmanServer, loadAccessRules } from '../protocol/server/index.ts';
import { type ServerAddress, parseServerAddress } from '../protocol/transport/connect-address.ts';
import { readAccessRules } from './access-rules.ts';
import { UsageError } from './cli-error.ts';

/** The options of `run` and `scheduler` that start the job server in-process. */
export const embeddedServerArgs = {
  geard: { type: 'boolean', description: 'Also run the embedded job server in-process (the default when the config lists no gearman-servers)' },
  'geard-listen': { type: 'string', description: 'Where the embedded job server listens', default: '127.0.0.1:4730', valueHint: 'HOST:PORT' },
} as const;

/**
 * With --geard, or when the config lists no gearman-servers: starts the embedded job server
 * (with the config's geard-acl rules) and adds its address to `servers`.
 */
export async function startEmbeddedJobServer(
  config: BuilderConfig,
  args: { readonly geard?: boolean | undefined; readonly 'geard-listen': string },
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
  const acl = config.geardAcl === undefined ? undefined : readAccessRules(config.geardAcl, 'geard-acl');
  const geard = new GearmanServer({ host: listen.host, port: listen.port, logger: logger.withTag('geard'), ...(acl ? { acl } : {}) });
  const bound = await geard.listen();
  servers.push({ host: bound.host, port: bound.port });
  return geard;
}

/** The embedded server's rules follow the config's `geard-acl`; a bad file keeps the rules in force. */
export function reloadRules(geard: GearmanServer, file: string | undefined, logger: { error(message: string): void }): void {
  try {
    geard.setAccessRules(file === undefined ? undefined : loadAccessRules(file));
  } catch (err) {
    logger.error(`reload: the access rules stay as they were: ${oneLine(err)}`);
  }
}
