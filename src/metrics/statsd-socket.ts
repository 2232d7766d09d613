import { type Socket, createSocket } from 'node:dgram';
import type { StatsdConfig } from '../config/schema.ts';

/**
 * Lines per datagram stay under this many bytes: a datagram larger than the path's MTU is
 * fragmented or dropped, and one over 64 KiB cannot be sent at all.
 */
const MAX_DATAGRAM_BYTES = 1400;

/** A key part may not contain statsd's separators. */
export function statsdKeyPart(text: string): string {
  return text.replace(/[.:|@\s]/g, '_');
}

export interface StatsdSocket {
  send(lines: readonly string[]): void;
  close(): void;
}

/** Fire-and-forget statsd lines over UDP, packed into datagrams of at most MAX_DATAGRAM_BYTES. */
export function statsdSocket(config: StatsdConfig): StatsdSocket {
  const socket: Socket = createSocket(config.host.includes(':') ? 'udp6' : 'udp4');
  socket.on('error', () => {});
  socket.unref();
  const flush = (packet: string): void => {
    if (packet) socket.send(packet, config.port, config.host, () => {});
  };
  return {
    send(lines) {
      let packet = '';
      for (const line of lines) {
        const next = packet ? `${packet}\n${line}` : line;
        if (Buffer.byteLength(next) > MAX_DATAGRAM_BYTES && packet) {
          flush(packet);
          packet = line;
        } else packet = next;
      }
      flush(packet);
    },
    close() {
      socket.close();
    },
  };
}
