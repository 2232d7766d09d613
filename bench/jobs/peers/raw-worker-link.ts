/** One raw worker connection (node:net, TCP_NODELAY) running raw-worker-core.ts's protocol. */
import type { Buffer } from 'node:buffer';
import { type Socket, connect } from 'node:net';
import type { Counter } from '../harness/worker-main.ts';
import { rawWorkerSession } from './raw-worker-core.ts';

export function openRawWorkerLink(host: string, port: number, fn: string, counter: Counter): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const session = rawWorkerSession(fn, (bytes: Buffer) => socket.write(bytes), counter);
    socket.on('data', (chunk: Buffer) => session.onData(chunk));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.setNoDelay(true);
      socket.write(session.hello);
      resolve(socket);
    });
  });
}
