import { toError } from '../errors/thrown.ts';
import { type ServerAddress, parseServerAddress } from '../protocol/transport/connect-address.ts';
import { UsageError } from './cli-error.ts';
import { checkCa, checkKeyPair, readPem } from './tls-files.ts';

/** Options every command that talks to job servers takes. */
export const serverArgs = {
  server: {
    type: 'string',
    alias: 's',
    description: 'Job server host[:port]; repeat it (or separate with commas) for several',
    valueHint: 'HOST:PORT',
  },
  'tls-ca': { type: 'string', description: 'Verify servers with this CA bundle (turns TLS on)', valueHint: 'FILE' },
  'tls-cert': { type: 'string', description: 'Client certificate for servers that require one', valueHint: 'FILE' },
  'tls-key': { type: 'string', description: 'Key of the client certificate', valueHint: 'FILE' },
  json: { type: 'boolean', description: 'Print the result as JSON' },
  debug: { type: 'boolean', description: 'Show stack traces and debug logs' },
} as const;

/** citty keeps only the last --server; gather every occurrence from the raw arguments. */
export function repeated(rawArgs: readonly string[], ...names: string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    for (const name of names) {
      if (arg === name && i + 1 < rawArgs.length) values.push(rawArgs[++i]!);
      else if (arg.startsWith(`${name}=`)) values.push(arg.slice(name.length + 1));
    }
  }
  return values.flatMap((v) => v.split(',')).filter(Boolean);
}

export interface ServerArgValues {
  readonly 'tls-ca'?: string | undefined;
  readonly 'tls-cert'?: string | undefined;
  readonly 'tls-key'?: string | undefined;
}

export function serversFrom(args: ServerArgValues, rawArgs: readonly string[]): ServerAddress[] {
  const texts = repeated(rawArgs, '--server', '-s');
  // An empty --server must not quietly become the default server.
  if (texts.length === 0 && rawArgs.some((arg, i) => ['--server', '-s'].includes(arg) ? rawArgs[i + 1] !== undefined : /^(--server|-s)=/.test(arg))) {
    throw new UsageError('--server takes HOST[:PORT], got ""');
  }
  const file = (flag: '--tls-ca' | '--tls-cert' | '--tls-key', path: string | undefined) =>
    path ? { flag, path, pem: readPem(flag, path) } : undefined;
  const ca = file('--tls-ca', args['tls-ca']);
  const cert = file('--tls-cert', args['tls-cert']);
  const key = file('--tls-key', args['tls-key']);
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (cert && key) checkKeyPair(cert, key);
  if (ca) checkCa(ca.flag, ca.path, ca.pem);
  const tls = ca || cert ? { ...(ca ? { ca: ca.pem } : {}), ...(cert ? { cert: cert.pem } : {}), ...(key ? { key: key.pem } : {}) } : undefined;
  try {
    return (texts.length ? texts : ['127.0.0.1:4730']).map((text) => ({ ...parseServerAddress(text), ...(tls ? { tls } : {}) }));
  } catch (err) {
    throw new UsageError(toError(err).message, { cause: err });
  }
}
