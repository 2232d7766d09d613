/** One raw worker connection (node:net, TCP_NODELAY) running raw-worker-core.ts's protocol. */
import type { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import type { Counter } from '../harness/worker-main.ts';
import { rawWorkerSession } from './raw-worker-core.ts';
import { connectNoDelay } from './raw-wire.ts';

export async function openRawWorkerLink(host: string, port: number, fn: string, counter: Counter): Promise<Socket> {
  const socket = await connectNoDelay(host, port);
  const session = rawWorkerSession(fn, (bytes: Buffer) => socket.write(bytes), counter);
  socket.on('data', (chunk: Buffer) => session.onData(chunk));
  socket.write(session.hello);
  return socket;
}
