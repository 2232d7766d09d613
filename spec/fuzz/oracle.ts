/**
 * A reference decoder for the fuzz checks: it reads a whole stream at once, straight from the
 * packet table and DESIGN.md §5, in a different shape from the incremental decoder on purpose.
 * It says which frames a stream holds and how the stream must end, and for an error, between
 * which stream positions the streaming decoder may report it. An error whose `latest` lies past
 * the end of the stream may or may not be reported (the stream proves the frame bad, but a
 * decoder may wait for one more byte).
 */
import type { ProtocolErrorCode } from '../../src/protocol/codec/errors.ts';
import { HEADER_SIZE, type Magic, allowsMagic, packetSpec } from '../../src/protocol/codec/packets.ts';
import type { Limits } from './profiles.ts';

/** A byte range [start, end) of the stream. */
export type Span = readonly [start: number, end: number];

export type Frame =
  | {
      readonly kind: 'packet';
      readonly start: number;
      readonly end: number;
      readonly magic: Magic;
      readonly type: number;
      readonly args: readonly Span[];
    }
  | { readonly kind: 'line'; readonly start: number; readonly end: number; readonly text: string };

export type Ending =
  /** The stream ends at a boundary, or in the middle of a frame that is still valid so far. */
  | { readonly kind: 'clean'; readonly consumed: number }
  /**
   * The frame at `offset` is malformed. The decoder must throw once at least `latest` bytes were
   * pushed, and must not throw before `earliest` bytes were pushed.
   */
  | {
      readonly kind: 'error';
      readonly code: ProtocolErrorCode;
      readonly offset: number;
      readonly earliest: number;
      readonly latest: number;
    };

export interface Expected {
  readonly frames: readonly Frame[];
  readonly ending: Ending;
}

const LF = 0x0a;
const CR = 0x0d;
const MAGIC_TAIL = [0x52, 0x45] as const; // "RE", then 'Q' or 'S'
// Lines are reported exactly as sent: a leading BOM is kept, invalid UTF-8 becomes U+FFFD.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

type Step = Frame | Ending;

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function headerError(code: ProtocolErrorCode, offset: number): Ending {
  // A header fault may be noticed as soon as its bytes arrive, and must be by the 12th.
  return { kind: 'error', code, offset, earliest: offset + 1, latest: offset + HEADER_SIZE };
}

/**
 * A line's limit counts its content: the "\r" of a "\r\n" is not part of it. So a line is
 * provably too long once it holds `max + 1` bytes of which the last is not a "\r", or `max + 2`
 * bytes; the decoder may refuse it from the first point on and must by the second (it buffers at
 * most `max + 1` bytes waiting for a "\n").
 */
function readLine(bytes: Uint8Array, start: number, limits: Limits): Step {
  const max = limits.maxLineLength;
  const nl = bytes.indexOf(LF, start);
  const hasCr = nl > start && bytes[nl - 1] === CR;
  const content = nl < 0 ? bytes.length - start : nl - start - (hasCr ? 1 : 0);
  const tooLong = nl < 0 ? content > max + 1 || (content === max + 1 && bytes[start + max] !== CR) : content > max;
  if (tooLong) {
    const earliest = start + max + (bytes[start + max] === CR ? 2 : 1);
    return { kind: 'error', code: 'LINE_TOO_LONG', offset: start, earliest, latest: start + max + 2 };
  }
  if (nl < 0) return { kind: 'clean', consumed: start };
  return { kind: 'line', start, end: nl + 1, text: utf8.decode(bytes.subarray(start, hasCr ? nl - 1 : nl)) };
}

function readPacket(bytes: Uint8Array, start: number, limits: Limits): Step {
  if (bytes.length - start < HEADER_SIZE) return { kind: 'clean', consumed: start };
  const last = bytes[start + 3];
  if (bytes[start + 1] !== MAGIC_TAIL[0] || bytes[start + 2] !== MAGIC_TAIL[1] || (last !== 0x51 && last !== 0x53)) {
    return headerError('BAD_MAGIC', start);
  }
  const magic: Magic = last === 0x51 ? 'REQ' : 'RES';
  const type = u32(bytes, start + 4);
  const size = u32(bytes, start + 8);
  const spec = packetSpec(type);
  if (spec === undefined) return headerError('UNKNOWN_TYPE', start);
  if (!allowsMagic(spec, magic) || (limits.expect !== 'ANY' && limits.expect !== magic)) {
    return headerError('UNEXPECTED_MAGIC', start);
  }
  if (size > limits.maxPacketSize) return headerError('PACKET_TOO_LARGE', start);
  if (spec.args.length === 0 && size > 0) return headerError('UNEXPECTED_BODY', start);

  const end = start + HEADER_SIZE + size;
  if (bytes.length < end) return { kind: 'clean', consumed: start };
  const args: Span[] = [];
  let from = start + HEADER_SIZE;
  for (let i = 0; i < spec.args.length - 1; i++) {
    let nul = from;
    while (nul < end && bytes[nul] !== 0) nul++;
    if (nul === end) return { kind: 'error', code: 'MISSING_ARGUMENT', offset: start, earliest: end, latest: end };
    args.push([from, nul]);
    from = nul + 1;
  }
  if (spec.args.length > 0) args.push([from, end]);
  return { kind: 'packet', start, end, magic, type, args };
}

/** Everything a correct decoder, fed `bytes` in any chunking, must produce. */
export function expectedDecoding(bytes: Uint8Array, limits: Limits): Expected {
  const frames: Frame[] = [];
  let at = 0;
  while (at < bytes.length) {
    const step = bytes[at] === 0 ? readPacket(bytes, at, limits) : readLine(bytes, at, limits);
    if (step.kind === 'clean' || step.kind === 'error') return { frames, ending: step };
    frames.push(step);
    at = step.end;
  }
  return { frames, ending: { kind: 'clean', consumed: at } };
}
