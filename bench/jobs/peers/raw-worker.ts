/**
 * The practical limit, worker side: node:net with TCP_NODELAY and the hand-built protocol of
 * raw-worker-core.ts (one GRAB_JOB_UNIQ outstanding per connection, WORK_COMPLETE + next GRAB
 * in one write).
 */
import type { Buffer } from 'node:buffer';
import { connect } from 'node:net';
import { type Counter, workerMain } from '../harness/worker-main.ts';
import { rawWorkerSession } from './raw-worker-core.ts';

function openLink(host: string, port: number, fn: string, counter: Counter): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const session = rawWorkerSession(fn, (bytes) => socket.write(bytes), counter);
    socket.on('data', (chunk: Buffer) => session.onData(chunk));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.setNoDelay(true);
      socket.write(session.hello);
      resolve();
    });
  });
}

await workerMain(async (args, counter) => {
  await Promise.all(Array.from({ length: args.conns }, () => openLink(args.host, args.port, args.fn, counter)));
});
