/**
 * An in-memory stand-in for one socket under a src Connection: the connection believes it is
 * connected, its writes land here, and bytes pushed here go through a real src Decoder into the
 * connection, exactly as a socket's 'data' would. No syscalls, no other process.
 */
import type { Buffer } from 'node:buffer';
import type { Connection } from '../../../src/protocol/transport/connection.ts';
import { type Packet, Decoder } from '../../../src/protocol/codec/decoder.ts';

interface ConnectionInternals {
  ready: boolean;
  socket: unknown;
  readonly handlers: { connected(): void };
  receive(packet: Packet): void;
}

export interface FakeLine {
  /** Bytes from the "server". */
  push(chunk: Buffer): void;
  /** Writes made so far. */
  readonly writes: number;
}

/** Brings `connection` up over a fake socket; `onWrite` sees every chunk it writes. */
export function attach(connection: Connection, onWrite: (chunk: Uint8Array) => void): FakeLine {
  const internals = connection as unknown as ConnectionInternals;
  const decoder = new Decoder({ packet: (p) => internals.receive(p), text: () => {} }, { expect: 'RES' });
  const line = { writes: 0, push: (chunk: Buffer) => decoder.push(chunk) };
  internals.socket = {
    writableNeedDrain: false,
    write(chunk: Uint8Array): boolean {
      line.writes++;
      onWrite(chunk);
      return true;
    },
  };
  internals.ready = true;
  internals.handlers.connected();
  return line;
}
