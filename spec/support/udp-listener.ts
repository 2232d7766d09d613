import { createSocket } from 'node:dgram';

/** A real UDP listener on 127.0.0.1 collecting statsd lines. */
export async function startUdpListener(): Promise<{ port: number; lines: string[]; close(): void }> {
  const socket = createSocket('udp4');
  const lines: string[] = [];
  socket.on('message', (message) => lines.push(...message.toString().split('\n')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { port: socket.address().port, lines, close: () => socket.close() };
}
