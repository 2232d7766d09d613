import { Buffer } from 'node:buffer';
import { type Server, type Socket, createServer } from 'node:net';
import { Type } from '../../src/protocol/codec/packets.ts';

/** What the fake server does to every worker connection it accepts. */
export type Misbehaviour =
  /** A header whose magic is neither \0REQ nor \0RES. */
  | 'bad-magic'
  /** A JOB_ASSIGN_UNIQ header declaring 4 GiB - 1 of body, then a little of it. */
  | 'huge-header'
  /** A well-formed header of a packet type that does not exist. */
  | 'unknown-type'
  /** JOB_ASSIGN_UNIQ whose body has no NUL separators between handle, function, unique and data. */
  | 'missing-nuls'
  /** NOOPs as fast as the socket takes them, for `floodMs`, then a clean close. */
  | 'noop-flood'
  /** Seeded pseudo-random bytes, 1 MiB, then a clean close. */
  | 'random-bytes'
  /** A valid JOB_ASSIGN_UNIQ header declaring 64 KiB, then its body one byte every `trickleMs`. */
  | 'slowloris'
  /** Half of a valid JOB_ASSIGN_UNIQ, then a TCP reset. */
  | 'reset-mid-packet'
  /** Takes the connection and never says a word (a hung server): GRABs go unanswered. */
  | 'silent';

export interface HostileServer {
  readonly host: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Bytes written to peers so far. */
  readonly bytesSent: number;
  /** Misbehaviour for connections from now on; open connections are reset so the worker comes back. */
  play(misbehaviour: Misbehaviour): void;
  close(): Promise<void>;
}

export interface HostileServerOptions {
  readonly floodMs?: number;
  /** Delay between slowloris bytes. */
  readonly trickleMs?: number;
}

function header(magic: string, type: number, size: number): Buffer {
  const out = Buffer.alloc(12);
  out.write(magic, 0, 'latin1');
  out.writeUInt32BE(type, 4);
  out.writeUInt32BE(size, 8);
  return out;
}

/** A packet with a RES header over `body` taken as-is (no separators added). */
function rawPacket(type: number, body: Buffer): Buffer {
  return Buffer.concat([header('\0RES', type, body.length), body]);
}

function validJobAssign(payloadSize: number): Buffer {
  const body = Buffer.concat([Buffer.from('H:hostile:1\0image-build:x\0unique-1\0', 'latin1'), Buffer.alloc(payloadSize, 0x61)]);
  return rawPacket(Type.JOB_ASSIGN_UNIQ, body);
}

/** xorshift32: the same "random" stream on every run, so a failure reproduces. */
function pseudoRandomBytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const RANDOM_STREAM = pseudoRandomBytes(1024 * 1024, 0x5eed);

/** A fake gearman job server for faults no real server produces on demand. */
export async function startHostileServer(initial: Misbehaviour, options: HostileServerOptions = {}): Promise<HostileServer> {
  const floodMs = options.floodMs ?? 3_000;
  const trickleMs = options.trickleMs ?? 5;
  let misbehaviour = initial;
  let connections = 0;
  let bytesSent = 0;
  const open = new Set<Socket>();

  const write = (socket: Socket, bytes: Buffer): boolean => {
    if (socket.destroyed) return false;
    bytesSent += bytes.length;
    return socket.write(bytes);
  };
  const drained = (socket: Socket): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.once('drain', done);
      socket.once('close', done);
    });

  const plays: Record<Misbehaviour, (socket: Socket) => Promise<void> | void> = {
    'bad-magic': (socket) => void write(socket, Buffer.concat([header('\0RXS', Type.NOOP, 0)])),
    'huge-header': (socket) => void write(socket, Buffer.concat([header('\0RES', Type.JOB_ASSIGN_UNIQ, 0xffffffff), Buffer.alloc(4096, 0x62)])),
    'unknown-type': (socket) => void write(socket, header('\0RES', 999, 0)),
    'missing-nuls': (socket) => void write(socket, rawPacket(Type.JOB_ASSIGN_UNIQ, Buffer.from('H:hostile:1 image-build:x unique-1 {}', 'latin1'))),
    'noop-flood': async (socket) => {
      const chunk = Buffer.concat(Array.from({ length: 4096 }, () => header('\0RES', Type.NOOP, 0)));
      const until = Date.now() + floodMs;
      while (!socket.destroyed && Date.now() < until) {
        if (!write(socket, chunk)) await drained(socket);
      }
      socket.end();
    },
    'random-bytes': async (socket) => {
      for (let at = 0; at < RANDOM_STREAM.length && !socket.destroyed; at += 64 * 1024) {
        if (!write(socket, RANDOM_STREAM.subarray(at, at + 64 * 1024))) await drained(socket);
      }
      socket.end();
    },
    slowloris: async (socket) => {
      const packet = validJobAssign(64 * 1024);
      write(socket, packet.subarray(0, 12));
      for (let at = 12; at < packet.length && !socket.destroyed; at++) {
        write(socket, packet.subarray(at, at + 1));
        await Bun.sleep(trickleMs);
      }
    },
    'reset-mid-packet': async (socket) => {
      const packet = validJobAssign(64 * 1024);
      write(socket, packet.subarray(0, packet.length >> 1));
      // Let the half packet reach the peer before the RST discards what is unsent.
      await Bun.sleep(50);
      if (!socket.destroyed) socket.resetAndDestroy();
    },
    silent: () => {},
  };

  const server: Server = createServer((socket) => {
    connections++;
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => {});
    // Whatever the worker sends (SET_CLIENT_ID, CAN_DO, GRAB_JOB_UNIQ) is read and dropped.
    socket.on('data', () => {});
    void plays[misbehaviour](socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the hostile server has no TCP address');

  return {
    host: '127.0.0.1',
    port: address.port,
    get connections() {
      return connections;
    },
    get bytesSent() {
      return bytesSent;
    },
    play(next) {
      misbehaviour = next;
      for (const socket of open) socket.destroy();
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
