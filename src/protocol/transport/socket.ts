import { type Socket, isIP, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ServerAddress } from './connect-address.ts';

/** The event that says a socket from openSocket is ready for traffic. */
export function readyEvent(server: ServerAddress): 'secureConnect' | 'connect' {
  return server.tls ? 'secureConnect' : 'connect';
}

/** Opens a TCP or TLS socket to a gearman server. Certificate verification is on by default. */
export function openSocket(server: ServerAddress): Socket {
  if (!server.tls) return tcpConnect({ host: server.host, port: server.port });
  // SNI may not carry an IP address; the certificate is still checked against the IP.
  const servername = server.tls.servername ?? (isIP(server.host) ? undefined : server.host);
  return tlsConnect({
    host: server.host,
    port: server.port,
    ca: server.tls.ca,
    cert: server.tls.cert,
    key: server.tls.key,
    ...(servername ? { servername } : {}),
    rejectUnauthorized: server.tls.rejectUnauthorized ?? true,
  });
}
