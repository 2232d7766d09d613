import { Buffer } from 'node:buffer';
import { oneLine } from '../errors/thrown.ts';
import { encodePacketBuffer } from '../protocol/codec/encoder.ts';
import { HEADER_SIZE, Type } from '../protocol/codec/packets.ts';
import type { ServerAddress } from '../protocol/transport/connect-address.ts';
import { openSocket, readyEvent } from '../protocol/transport/socket.ts';

const CHECK_TIMEOUT_MS = 10_000;

/**
 * Opens one connection the way this process's own worker or client will, and waits for the
 * server's ECHO_RES: only then has the server accepted the client certificate too (in TLS 1.3
 * the client's handshake ends before the server has judged the certificate). Resolves with
 * nothing, or with why the connection failed.
 */
export function ownConnectionProblem(server: ServerAddress): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = openSocket(server);
    let received = Buffer.alloc(0);
    const finish = (problem: string | undefined) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => finish(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`), CHECK_TIMEOUT_MS);
    socket.once(readyEvent(server), () => socket.write(encodePacketBuffer('REQ', Type.ECHO_REQ, ['own-connection-check'])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < HEADER_SIZE) return;
      finish(received.readUInt32BE(4) === Type.ECHO_RES ? undefined : `the server answered packet type ${received.readUInt32BE(4)}, not ECHO_RES`);
    });
    socket.on('error', (err) => finish(oneLine(err)));
    socket.on('close', () => finish('the server closed the connection'));
  });
}
