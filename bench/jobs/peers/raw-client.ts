/**
 * The practical limit, client side: node:net with TCP_NODELAY and the hand-built protocol of
 * raw-client-core.ts (pipelined SUBMIT_JOB, one write per connection per received chunk).
 */
import type { Buffer } from 'node:buffer';
import type { EchoDriver } from '../harness/batch.ts';
import { clientMain } from '../harness/client-main.ts';
import { createRawClient } from './raw-client-core.ts';
import { connectNoDelay } from './raw-wire.ts';

await clientMain(async (args): Promise<EchoDriver> => {
  const sockets = await Promise.all(Array.from({ length: args.conns }, () => connectNoDelay(args.host, args.port)));
  const client = createRawClient(
    args.fn,
    sockets.map((socket) => (bytes: Buffer) => socket.write(bytes)),
  );
  sockets.forEach((socket, index) => socket.on('data', (chunk: Buffer) => client.onData(index, chunk)));
  return {
    submit: client.submit,
    close() {
      for (const socket of sockets) socket.end();
    },
  };
});
