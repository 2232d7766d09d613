/**
 * Server-side TLS on accepted TCP sockets. The server owns each handshake: it counts the
 * sockets still handshaking (they hold a descriptor like any connection) and closes one that
 * has not finished in time. Bun's own `handshakeTimeout` only reports the timeout and leaves
 * the socket open, so a peer that never sends a ClientHello would be held forever.
 */
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { Logger } from '../../util/log.ts';

export interface HandshakeOptions {
  readonly context: SecureContext;
  readonly requireClientCert: boolean;
  /** Ask for a client certificate; one that is shown must verify, even where none is required. */
  readonly requestClientCert: boolean;
}

export class TlsHandshakes {
  private readonly pending = new Map<TLSSocket, Socket>();

  constructor(
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** Sockets accepted whose handshake has not finished. */
  get size(): number {
    return this.pending.size;
  }

  /** Starts the handshake on `raw`; `secured` gets the socket once it is done (and the client certificate checked). */
  start(raw: Socket, options: HandshakeOptions, secured: (socket: TLSSocket) => void): void {
    const from = (raw.remoteAddress ?? '-').replace(/^::ffff:/, '');
    const socket = new TLSSocket(raw, {
      isServer: true,
      secureContext: options.context,
      requestCert: options.requestClientCert,
      rejectUnauthorized: options.requireClientCert,
    });
    this.pending.set(socket, raw);
    const refuse = (reason: string): void => {
      if (!this.forget(socket)) return;
      this.logger.info(`TLS handshake from ${from} refused: ${reason}`);
      socket.destroy();
      raw.destroy();
    };
    const timer = setTimeout(() => refuse(`not finished within ${this.timeoutMs} ms`), this.timeoutMs);
    const cleanup = (): void => clearTimeout(timer);
    socket.once('secure', () => {
      cleanup();
      // rejectUnauthorized already refuses an unverified certificate; checked again so that no
      // runtime difference can let one through.
      if (options.requireClientCert && !socket.authorized) {
        refuse(`client certificate not accepted (${String(socket.authorizationError ?? 'none sent')})`);
        return;
      }
      // A certificate that does not verify never passes as "no certificate".
      if (options.requestClientCert && !socket.authorized && hasCertificate(socket)) {
        refuse(`client certificate not accepted (${String(socket.authorizationError ?? 'unverified')})`);
        return;
      }
      if (!this.forget(socket)) return;
      secured(socket);
    });
    socket.on('error', (err) => {
      cleanup();
      refuse(err.message);
    });
    socket.once('close', () => {
      cleanup();
      this.forget(socket);
    });
    raw.once('close', () => {
      cleanup();
      if (this.pending.has(socket)) refuse('connection closed during the handshake');
    });
  }

  /** Closes every socket still handshaking (the server is shutting down). */
  destroyAll(): void {
    for (const [socket, raw] of this.pending) {
      socket.destroy();
      raw.destroy();
    }
    this.pending.clear();
  }

  private forget(socket: TLSSocket): boolean {
    return this.pending.delete(socket);
  }
}

function hasCertificate(socket: TLSSocket): boolean {
  const cert = socket.getPeerCertificate();
  return cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
}
