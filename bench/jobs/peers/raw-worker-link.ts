/** One raw worker connection (node:net, TCP_NODELAY) running raw-worker-core.ts's protocol. */
import type { Buffer } from 'node:buffer';
import { connect } from 'node:net';
import type { Counter } from '../harness/worker-main.ts';
import { rawWorkerSession } from './raw-worker-core.ts';

/** `deferWrites` queues each write in a microtask instead of writing inside the 'data' callback. */
export function openRawWorkerLink(host: string, port: number, fn: string, counter: Counter, deferWrites = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const write = (bytes: Buffer) => socket.write(bytes);
    const session = rawWorkerSession(fn, deferWrites ? (bytes) => queueMicrotask(() => write(bytes)) : write, counter);
    socket.on('data', (chunk: Buffer) => session.onData(chunk));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.setNoDelay(true);
      socket.write(session.hello);
      resolve();
    });
  });
}
