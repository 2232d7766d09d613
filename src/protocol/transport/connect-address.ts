export interface TlsSettings {
  /** PEM CA bundle to verify the server with; the system store when absent. */
  readonly ca?: string | Uint8Array;
  /** PEM client certificate and key, for servers that require one. */
  readonly cert?: string | Uint8Array;
  readonly key?: string | Uint8Array;
  /** Name to verify the certificate against; the host by default. */
  readonly servername?: string;
  /** Verification is on unless this is explicitly false. */
  readonly rejectUnauthorized?: boolean;
}

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  readonly tls?: TlsSettings;
}

export const DEFAULT_PORT = 4730;

export function describeServer(server: ServerAddress): string {
  const host = server.host.includes(':') ? `[${server.host}]` : server.host;
  return `${server.tls ? 'tls://' : ''}${host}:${server.port}`;
}

/** Parses "host", "host:port" or "[v6]:port". */
export function parseServerAddress(text: string): ServerAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? DEFAULT_PORT : Number(match[3]);
  if (!host || port < 1 || port > 65535) {
    throw new TypeError(`not a gearman server address: "${text}" (expected host[:port])`);
  }
  return { host, port };
}
