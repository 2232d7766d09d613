/**
 * Byte-stream mutators for the fuzz run. Each takes a stream and returns a new one (inputs are
 * never changed in place: they may be views into the seed corpus). Some know the framing: they
 * find headers by their "\0RE" prefix and corrupt the fields the decoder must check.
 */
import { HEADER_SIZE, MAX_TYPE, PACKET_TABLE } from '../../src/protocol/codec/packets.ts';
import type { Prng } from './prng.ts';

/** The limits in force, so size corruptions can land just around them. */
export interface SizeHints {
  readonly maxPacketSize: number;
  readonly maxLineLength: number;
}

export type Mutator = (bytes: Uint8Array, prng: Prng, hints: SizeHints) => Uint8Array;

const LF = 0x0a;
const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, LF, 0x0d, 0x52, 0x45, 0x51, 0x53, 0x01, 0x20] as const;
const TEXT_LINES = [
  'status\n',
  'workers\r\n',
  'version\n',
  'maxqueue reverse 10\n',
  'shutdown graceful\n',
  '.\n',
  'OK\r\n',
  'ERR UNKNOWN_COMMAND Unknown+server+command\n',
  '30 127.0.0.1 - : reverse\n',
  'reverse\t0\t0\t1\n',
  '\r\n',
  '\n',
  'ünïcødé ✓\n',
] as const;
const encoder = new TextEncoder();
const TEXT_LINE_BYTES = TEXT_LINES.map((line) => encoder.encode(line));

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** Offsets where a "\0RE" packet header starts, with room for the whole header. */
export function headerOffsets(bytes: Uint8Array): number[] {
  const found: number[] = [];
  for (let i = bytes.indexOf(0); i >= 0 && i + HEADER_SIZE <= bytes.length; i = bytes.indexOf(0, i + 1)) {
    if (bytes[i + 1] === 0x52 && bytes[i + 2] === 0x45) found.push(i);
  }
  return found;
}

/** A random header offset, or a random position when the stream holds no header. */
function someHeader(bytes: Uint8Array, prng: Prng): number | undefined {
  const headers = headerOffsets(bytes);
  if (headers.length > 0) return prng.pick(headers);
  return bytes.length >= HEADER_SIZE ? prng.below(bytes.length - HEADER_SIZE + 1) : undefined;
}

export const flipBits: Mutator = (bytes, prng) => {
  if (bytes.length === 0) return bytes;
  const out = bytes.slice();
  const flips = prng.between(1, 4);
  for (let i = 0; i < flips; i++) {
    const at = prng.below(out.length);
    out[at] = out[at]! ^ (1 << prng.below(8));
  }
  return out;
};

export const setInterestingByte: Mutator = (bytes, prng) => {
  if (bytes.length === 0) return bytes;
  const out = bytes.slice();
  out[prng.below(out.length)] = prng.pick(INTERESTING_BYTES);
  return out;
};

/** Keeps a prefix, or drops one, so streams end (or begin) in the middle of a frame. */
export const truncate: Mutator = (bytes, prng) => {
  const cut = prng.below(bytes.length + 1);
  return prng.chance(0.75) ? bytes.subarray(0, cut) : bytes.subarray(cut);
};

export const duplicateRange: Mutator = (bytes, prng) => {
  if (bytes.length === 0) return bytes;
  const from = prng.below(bytes.length);
  const to = prng.between(from + 1, Math.min(bytes.length, from + 64));
  const at = prng.chance(0.5) ? to : prng.below(bytes.length + 1);
  const copies = prng.between(1, 3);
  const parts: Uint8Array[] = [bytes.subarray(0, at)];
  for (let i = 0; i < copies; i++) parts.push(bytes.subarray(from, to));
  parts.push(bytes.subarray(at));
  return concat(...parts);
};

export const deleteRange: Mutator = (bytes, prng) => {
  if (bytes.length === 0) return bytes;
  const from = prng.below(bytes.length);
  const to = prng.between(from + 1, Math.min(bytes.length, from + 32));
  return concat(bytes.subarray(0, from), bytes.subarray(to));
};

export const insertRandomBytes: Mutator = (bytes, prng) => {
  const at = prng.below(bytes.length + 1);
  return concat(bytes.subarray(0, at), prng.bytes(prng.between(1, 16)), bytes.subarray(at));
};

/** Rewrites a header's size field: huge, zero, just around the limit, or off by one. */
export const corruptSize: Mutator = (bytes, prng, hints) => {
  const at = someHeader(bytes, prng);
  if (at === undefined) return bytes;
  const actual = readU32(bytes, at + 8);
  const max = hints.maxPacketSize;
  const size = prng.pick([
    0xffffffff,
    0x80000000,
    0x7fffffff,
    0,
    max,
    max + 1,
    max + 2,
    Math.max(0, max - 1),
    actual + 1,
    Math.max(0, actual - 1),
    prng.next(),
    prng.below(64),
  ]);
  const out = bytes.slice();
  writeU32(out, at + 8, size);
  return out;
};

/** Rewrites a header's type field: reserved, unknown, huge, or another valid type. */
export const corruptType: Mutator = (bytes, prng) => {
  const at = someHeader(bytes, prng);
  if (at === undefined) return bytes;
  const type = prng.pick([0, 5, MAX_TYPE + 1, 0xffffffff, 0x100 + 1, prng.next(), prng.pick(PACKET_TABLE).code]);
  const out = bytes.slice();
  writeU32(out, at + 4, type);
  return out;
};

/** Swaps REQ and RES, or breaks one of the magic's bytes. */
export const corruptMagic: Mutator = (bytes, prng) => {
  const at = someHeader(bytes, prng);
  if (at === undefined) return bytes;
  const out = bytes.slice();
  if (prng.chance(0.6)) out[at + 3] = out[at + 3] === 0x51 ? 0x53 : 0x51;
  else out[at + prng.between(1, 3)] = prng.pick(INTERESTING_BYTES);
  return out;
};

/** Puts admin text lines between (or inside) binary packets, or turns one kind into the other. */
export const mixTextAndBinary: Mutator = (bytes, prng) => {
  const roll = prng.below(4);
  if (roll === 0 && bytes.length > 0) {
    // A text line's first byte becomes NUL (now "binary"), or a header's NUL becomes text.
    const out = bytes.slice();
    const headers = headerOffsets(out);
    if (headers.length > 0 && prng.chance(0.5)) out[prng.pick(headers)] = prng.pick([0x73, 0x0a, 0x2e]);
    else out[prng.below(out.length)] = 0;
    return out;
  }
  const headers = headerOffsets(bytes);
  const at = headers.length > 0 && prng.chance(0.7) ? prng.pick(headers) : prng.below(bytes.length + 1);
  const line = roll === 1 ? prng.pick(TEXT_LINE_BYTES) : textLike(prng);
  return concat(bytes.subarray(0, at), line, bytes.subarray(at));
};

/** A line of random bytes without NUL at its start, sometimes without its newline. */
function textLike(prng: Prng): Uint8Array {
  const out = prng.bytes(prng.between(1, 40));
  out[0] = out[0] === 0 ? 0x41 : out[0]!;
  if (prng.chance(0.8)) out[out.length - 1] = LF;
  return out;
}

/** A run of non-newline bytes right around the line limit, with or without its end. */
export const longLine: Mutator = (bytes, prng, hints) => {
  const length = Math.max(1, hints.maxLineLength + prng.between(-2, 2));
  const line = new Uint8Array(length + 2).fill(0x61);
  line[length] = 0x0d;
  line[length + 1] = LF;
  const end = prng.pick([length, length + 1, length + 2]);
  const at = prng.below(bytes.length + 1);
  return concat(bytes.subarray(0, at), line.subarray(0, end), bytes.subarray(at));
};

export const MUTATORS: readonly (readonly [weight: number, mutator: Mutator])[] = [
  [12, flipBits],
  [8, setInterestingByte],
  [10, truncate],
  [8, duplicateRange],
  [6, deleteRange],
  [5, insertRandomBytes],
  [12, corruptSize],
  [8, corruptType],
  [6, corruptMagic],
  [10, mixTextAndBinary],
  [1, longLine],
];

/** Applies one to `rounds` random mutators in turn. */
export function mutate(bytes: Uint8Array, prng: Prng, hints: SizeHints, rounds: number): Uint8Array {
  let out = bytes;
  for (let i = 0; i < rounds; i++) out = prng.weighted(MUTATORS)(out, prng, hints);
  return out;
}

/** Joins two streams: the end of one and the start of another, cut anywhere. */
export function splice(a: Uint8Array, b: Uint8Array, prng: Prng): Uint8Array {
  return concat(a.subarray(0, prng.below(a.length + 1)), b.subarray(prng.below(b.length + 1)));
}

