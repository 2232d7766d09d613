import { Buffer } from 'node:buffer';
import { ProtocolError } from './errors.ts';
import { HEADER_SIZE, type Magic, packetSpec } from './packets.ts';

export type Arg = string | Uint8Array;

/**
 * Payloads at least this large are returned as their own chunk instead of being copied
 * behind the header. Below it, one small copy is cheaper than a second write.
 */
export const COPY_THRESHOLD = 16 * 1024;
const MAX_BODY = 0xffffffff;
const MAGIC_BYTE = { REQ: 0x51, RES: 0x53 } as const;

function byteLength(arg: Arg): number {
  return typeof arg === 'string' ? Buffer.byteLength(arg, 'utf8') : arg.length;
}

function hasNul(arg: Arg): boolean {
  return typeof arg === 'string' ? arg.includes('\0') : arg.indexOf(0) >= 0;
}

/**
 * Encodes one packet as one or two chunks: the header with every argument but a large last
 * one, then that last argument as it was given (never copied). Write the chunks in order.
 */
export function encodePacket(magic: Magic, type: number, args: readonly Arg[]): Uint8Array[] {
  const spec = packetSpec(type);
  if (spec === undefined) throw new ProtocolError('UNKNOWN_TYPE', `cannot encode unknown packet type ${type}`);
  const count = spec.args.length;
  if (args.length !== count) {
    throw new ProtocolError(
      'WRONG_ARGUMENT_COUNT',
      `${spec.name} takes ${count} arguments (${spec.args.join(', ')}), got ${args.length}`,
      { type },
    );
  }
  let body = count > 1 ? count - 1 : 0;
  for (let i = 0; i < count; i++) {
    const arg = args[i]!;
    if (i < count - 1 && hasNul(arg)) {
      throw new ProtocolError('BAD_ARGUMENT', `argument ${spec.args[i]} of ${spec.name} contains a NUL byte`, { type });
    }
    body += byteLength(arg);
  }
  if (body > MAX_BODY) throw new ProtocolError('PACKET_TOO_LARGE', `body of ${body} bytes does not fit 32 bits`, { type });

  const last = count > 0 ? args[count - 1]! : undefined;
  const separate = last instanceof Uint8Array && last.length >= COPY_THRESHOLD;
  const headLength = HEADER_SIZE + body - (separate ? last.length : 0);
  const head = Buffer.allocUnsafe(headLength);
  head[0] = 0;
  head[1] = 0x52;
  head[2] = 0x45;
  head[3] = MAGIC_BYTE[magic];
  // By hand: writeUInt32BE checks its arguments on every call, and this runs for every packet.
  head[4] = type >>> 24;
  head[5] = type >>> 16;
  head[6] = type >>> 8;
  head[7] = type;
  head[8] = body >>> 24;
  head[9] = body >>> 16;
  head[10] = body >>> 8;
  head[11] = body;
  let at = HEADER_SIZE;
  const written = separate ? count - 1 : count;
  for (let i = 0; i < written; i++) {
    const arg = args[i]!;
    at += typeof arg === 'string' ? head.write(arg, at, 'utf8') : (head.set(arg, at), arg.length);
    if (i < count - 1) head[at++] = 0;
  }
  return separate ? [head, last] : [head];
}

/** Encodes one packet into a single buffer (copies the payload; for small packets and tests). */
export function encodePacketBuffer(magic: Magic, type: number, args: readonly Arg[]): Uint8Array {
  const chunks = encodePacket(magic, type, args);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Encodes a text (admin protocol) command line. */
export function encodeTextLine(line: string): Uint8Array {
  // A NUL first byte would make the server read a binary packet; gearmand cuts lines at NUL anyway.
  if (line.includes('\n') || line.includes('\0')) {
    throw new ProtocolError('BAD_ARGUMENT', 'an admin command cannot contain a newline or a NUL');
  }
  return Buffer.from(`${line}\r\n`, 'utf8');
}
