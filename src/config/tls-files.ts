import { readFile } from 'node:fs/promises';
import type { ServerAddress } from '../protocol/transport/connect-address.ts';

/** The config names PEM files; this reads them into the server's TLS settings. */
export async function loadTlsFiles(server: ServerAddress): Promise<ServerAddress> {
  const { tls } = server;
  if (!tls) return server;
  const pem = async (value: string | Uint8Array): Promise<string | Uint8Array> => (typeof value === 'string' ? readFile(value, 'utf8') : value);
  return {
    ...server,
    tls: {
      ...tls,
      ...(tls.ca ? { ca: await pem(tls.ca) } : {}),
      ...(tls.cert ? { cert: await pem(tls.cert) } : {}),
      ...(tls.key ? { key: await pem(tls.key) } : {}),
    },
  };
}
