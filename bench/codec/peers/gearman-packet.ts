/**
 * `gearman-packet` 1.1.0 (abraxas's codec). Its Parser is a readable-stream Transform: bytes in,
 * packet objects out. Leading arguments come out as strings (it always calls toString on
 * them); a packet with a payload carries it as `body`, a PassThrough stream the consumer reads.
 * The adapter feeds the same chunks, honours backpressure, and reads every body.
 * Its Emitter is the matching Transform: packet objects in, bytes out.
 */
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { type EventEmitter, once as onceEvent } from 'node:events';
import { Type } from '../../../src/protocol/codec/packets.ts';
import { type SmallPacket, type Tally, emptyTally } from '../workload.ts';
import type { DecodeContender, EncodeContender } from './types.ts';

const require = createRequire(import.meta.url);

interface TypeData {
  readonly id: number;
  readonly name: string;
  readonly args: readonly string[];
  readonly body?: boolean;
}
interface Body extends EventEmitter {
  read(): Buffer | null;
}
interface ParsedPacket {
  kind: 'request' | 'response' | 'admin';
  type: TypeData;
  args: Record<string, string | undefined>;
  body?: Body;
}
interface Transform extends EventEmitter {
  write(chunk: unknown, cb?: (err?: Error | null) => void): boolean;
  end(): void;
}
interface GearmanPacket {
  Parser: new (options?: object) => Transform;
  Emitter: new (options?: object) => Transform;
  types: Record<string, TypeData>;
}

const gp = require('gearman-packet') as GearmanPacket;

/** Resolves on `event`, rejects on 'error'; leaves no listener behind either way. */
const once = (e: EventEmitter, event: string): Promise<unknown> => onceEvent(e, event);

/** Writes every chunk, waiting for 'drain' when the stream asks. */
async function feed(stream: Transform, chunks: readonly unknown[]): Promise<void> {
  for (let i = 0; i < chunks.length; i++) {
    if (!stream.write(chunks[i])) await once(stream, 'drain');
  }
}

export const gearmanPacketDecode: DecodeContender = {
  name: 'gearman-packet 1.1.0',
  async decode(chunks) {
    const t: Tally = emptyTally();
    const parser = new gp.Parser();
    let bodies = 0;
    let bodiesEnded = 0;
    parser.on('data', (p: ParsedPacket) => {
      t.packets++;
      t.typeSum += p.type.id;
      const names = p.type.args;
      for (let i = 0; i < names.length; i++) {
        const arg = p.args[names[i]!];
        if (arg !== undefined) {
          t.args++;
          t.argBytes += arg.length; // the mix's leading arguments are ASCII: chars = bytes
        }
      }
      const body = p.body;
      if (body !== undefined) {
        bodies++;
        t.args++;
        body.on('data', (b: Buffer) => {
          t.argBytes += b.length;
        });
        body.on('end', () => {
          bodiesEnded++;
        });
      }
    });
    const ended = once(parser, 'end');
    await feed(parser, chunks);
    parser.end();
    await ended;
    // Bodies are streams: let the last ones flush.
    for (let spins = 0; bodiesEnded < bodies && spins < 1000; spins++) await new Promise((r) => setImmediate(r));
    return t;
  },
};

const byId = new Map<number, TypeData>(Object.values(gp.types).map((d) => [d.id, d]));

interface OutPacket {
  kind: 'response' | 'request';
  type: TypeData;
  args: Record<string, string>;
  body?: Buffer;
}

function outPacket(p: SmallPacket): OutPacket {
  const type = byId.get(p.type)!;
  const args: Record<string, string> = {};
  p.strings.forEach((s, i) => (args[type.args[i]!] = s));
  return p.data === undefined ? { kind: 'response', type, args } : { kind: 'response', type, args, body: p.data };
}

/** Pushes `count` packet objects through a fresh Emitter and counts the bytes it emits. */
async function emit(next: (i: number) => OutPacket, count: number): Promise<number> {
  const emitter = new gp.Emitter();
  let bytes = 0;
  emitter.on('data', (b: Buffer) => {
    bytes += b.length;
  });
  const ended = once(emitter, 'end');
  for (let i = 0; i < count; i++) {
    if (!emitter.write(next(i))) await once(emitter, 'drain');
  }
  emitter.end();
  await ended;
  return bytes;
}

export function gearmanPacketEncoder(packets: readonly SmallPacket[]): EncodeContender {
  const prepared = packets.map(outPacket);
  const n = prepared.length;
  return {
    name: 'gearman-packet 1.1.0',
    encodeSmall(count) {
      return emit((i) => prepared[i % n]!, count);
    },
    encodeLarge(handle, payload, reps) {
      const type = byId.get(Type.WORK_COMPLETE)!;
      return emit(() => ({ kind: 'request', type, args: { job: handle }, body: payload }), reps);
    },
  };
}
