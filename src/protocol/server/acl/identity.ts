import { TLSSocket } from 'node:tls';

/**
 * The common name of the client certificate the TLS handshake verified, or undefined: plain TCP,
 * no certificate, a certificate that did not verify, or one without exactly one CN. Only the
 * handshake decides who a connection is; nothing the peer sends later (SET_CLIENT_ID) does.
 */
export function verifiedCommonName(socket: object): string | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined;
  const cn = subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}
