/**
 * The npm `gearman` package (2.x). It parses in two steps, both driven here without a socket:
 *  1. lib/packet-factory.js `addBytes(chunk)` cuts whole packets out of the byte stream;
 *  2. index.js `_decodePacket` reads the header and `_parsePacket(body, format)` splits the
 *     arguments (both reachable through `exposeInternals`; the socket object is never connected).
 * `_handlePacket` would then turn the leading arguments into strings; to materialize the same
 * thing as the others (views), every argument is asked for as 'B' (a Buffer slice), which is
 * cheaper for it than what the package really does.
 */
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { Type } from '../../../src/protocol/codec/packets.ts';
import { type SmallPacket, type Tally, emptyTally } from '../workload.ts';
import type { DecodeContender, EncodeContender } from './types.ts';

const require = createRequire(import.meta.url);

interface PacketFactory {
  addBytes(chunk: Buffer): Buffer[];
}
interface Decoded {
  type: number;
  size: number;
  inputData: Buffer;
}
interface Internals {
  _decodePacket(packet: Buffer): Decoded;
  _parsePacket(body: Buffer, format: string): Record<string, Buffer>;
  _encodePacket(type: number, data?: Buffer | string | null, encoding?: string): Buffer;
}
interface Put {
  put(b: Buffer): Put;
  word8(x: number): Put;
  buffer(): Buffer;
}

const packetFactory = require('gearman/lib/packet-factory') as () => PacketFactory;
const gearman = require('gearman') as (host: string, port: number, options: object) => Internals;
const put = require('put') as () => Put;

const internals = gearman('127.0.0.1', 4730, { exposeInternals: true });

// The argument layout of each type the mix holds, all as Buffers ('B').
const FORMAT: Record<number, string> = {
  [Type.JOB_ASSIGN_UNIQ]: 'BBBB',
  [Type.WORK_COMPLETE]: 'BB',
};

export const gearmanDecode: DecodeContender = {
  name: 'gearman 2.1.0',
  decode(chunks) {
    const t: Tally = emptyTally();
    const factory = packetFactory();
    for (let c = 0; c < chunks.length; c++) {
      const packets = factory.addBytes(chunks[c]!);
      for (let i = 0; i < packets.length; i++) {
        const decoded = internals._decodePacket(packets[i]!);
        t.packets++;
        t.typeSum += decoded.type;
        const format = FORMAT[decoded.type];
        if (format === undefined) continue;
        const args = internals._parsePacket(decoded.inputData, format);
        for (let a = 0; a < format.length; a++) {
          t.args++;
          t.argBytes += args[a]!.length;
        }
      }
    }
    return t;
  },
};

/** Builds the body the way the package's own senders do (`_sendPacketSB`, `submitJob`): with put. */
function body(strings: readonly string[], data: Buffer | undefined): Buffer | null {
  if (strings.length === 0 && data === undefined) return null;
  let p = put();
  for (let i = 0; i < strings.length; i++) {
    p = p.put(Buffer.from(strings[i]!, 'ascii'));
    if (i < strings.length - 1 || data !== undefined) p = p.word8(0);
  }
  if (data !== undefined) p = p.put(data);
  return p.buffer();
}

export function gearmanEncoder(packets: readonly SmallPacket[]): EncodeContender {
  const n = packets.length;
  return {
    name: 'gearman 2.1.0',
    encodeSmall(count) {
      let bytes = 0;
      for (let i = 0, k = 0; i < count; i++, k = k + 1 === n ? 0 : k + 1) {
        const p = packets[k]!;
        bytes += internals._encodePacket(p.type, body(p.strings, p.data)).length;
      }
      return bytes;
    },
    encodeLarge(handle, payload, reps) {
      let bytes = 0;
      for (let i = 0; i < reps; i++) {
        bytes += internals._encodePacket(Type.WORK_COMPLETE, body([handle], payload)).length;
      }
      return bytes;
    },
  };
}
