/**
 * Byte streams shared by every contender. Built once, deterministically, so every contender
 * decodes the very same chunks and must arrive at the very same count and checksum.
 */
import { Buffer } from 'node:buffer';
import { encodePacketBuffer } from '../../src/protocol/codec/encoder.ts';
import { HEADER_SIZE, Type } from '../../src/protocol/codec/packets.ts';

export const CHUNK_SIZE = 64 * 1024;
export const MIB = 1024 * 1024;

/** What a decode run must report. `argBytes` and `typeSum` keep anyone from skipping work. */
export interface Tally {
  packets: number;
  args: number;
  argBytes: number;
  typeSum: number;
}

export const emptyTally = (): Tally => ({ packets: 0, args: 0, argBytes: 0, typeSum: 0 });

/** Counts one decoded packet, its arguments as handed out. */
export function countPacket(t: Tally, type: number, args: ArrayLike<Uint8Array>): void {
  t.packets++;
  t.typeSum += type;
  t.args += args.length;
  for (let i = 0; i < args.length; i++) t.argBytes += args[i]!.length;
}

export function sameTally(a: Tally, b: Tally): boolean {
  return a.packets === b.packets && a.args === b.args && a.argBytes === b.argBytes && a.typeSum === b.typeSum;
}

export const showTally = (t: Tally): string =>
  `${t.packets} packets, ${t.args} args, ${t.argBytes} arg bytes, type sum ${t.typeSum}`;

/** One small packet as its fields, for the encoders. The last argument is a Buffer payload. */
export interface SmallPacket {
  readonly type: number;
  /** Leading string arguments (handle, function, unique). */
  readonly strings: readonly string[];
  /** The payload, when the type has one. */
  readonly data: Buffer | undefined;
}

/** Deterministic xorshift32, so the stream is identical on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0').slice(-width);

const FUNCTIONS = ['build:ubuntu-jammy', 'build:centos-9-stream', 'build:debian-bookworm', 'build:fedora-40'];

/**
 * The small mix a builder connection sees: 40 % JOB_ASSIGN_UNIQ (handle, function, a 36-byte
 * uuid unique, ~50-byte JSON data), 35 % WORK_COMPLETE (handle + ~50-byte JSON), 25 % NOOP.
 */
export function smallPacket(i: number, next: () => number): SmallPacket {
  const roll = next();
  const handle = `H:nb01.example.org:${1000000 + i}`;
  if (roll < 0.25) return { type: Type.NOOP, strings: [], data: undefined };
  const json = JSON.stringify({ image: 'debian-12', build: hex(i, 8), az: 'gra1' });
  if (roll < 0.6) return { type: Type.WORK_COMPLETE, strings: [handle], data: Buffer.from(json) };
  const r = (): string => hex(Math.floor(next() * 0x100000000), 8);
  const unique = `${r()}-${r().slice(0, 4)}-${r().slice(0, 4)}-${r().slice(0, 4)}-${r()}${r().slice(0, 4)}`;
  const fn = FUNCTIONS[i % FUNCTIONS.length]!;
  return { type: Type.JOB_ASSIGN_UNIQ, strings: [handle, fn, unique], data: Buffer.from(json) };
}

export function encodeSmall(p: SmallPacket): Uint8Array {
  const args = p.data === undefined ? p.strings : [...p.strings, p.data];
  return encodePacketBuffer('RES', p.type, args);
}

/** Each chunk gets its own ArrayBuffer, as socket reads do. */
export function chunked(whole: Uint8Array, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < whole.length; at += size) {
    const end = Math.min(at + size, whole.length);
    const chunk = Buffer.allocUnsafeSlow(end - at);
    chunk.set(whole.subarray(at, end));
    out.push(chunk);
  }
  return out;
}

export interface SmallStream {
  /** The first packets of the mix as fields (the encoders cycle through these). */
  readonly mix: SmallPacket[];
  readonly count: number;
  /** Total bytes. The stream is kept only as its chunks (a second, contiguous copy would double
   * the external memory every GC heuristic sees). */
  readonly bytes: number;
  readonly chunks: Buffer[];
  /** Per packet: type code and total length, to tally any prefix without keeping objects alive. */
  readonly types: Uint8Array;
  readonly lengths: Uint16Array;
  readonly expected: Tally;
}

/** Argument count of a packet, from the shape of the mix (leading strings + payload). */
const argcOf = (p: SmallPacket): number => p.strings.length + (p.data === undefined ? 0 : 1);

function tallyPacket(t: Tally, type: number, argc: number, length: number): void {
  t.packets++;
  t.typeSum += type;
  t.args += argc;
  t.argBytes += length - HEADER_SIZE - Math.max(0, argc - 1);
}

/**
 * Builds the stream without keeping a million packet objects alive: a big live heap would
 * slow every contender's garbage collections and measure the workload instead of the codec.
 */
export function buildSmallStream(count: number, keep = 10_000): SmallStream {
  const next = rng(0x9e3779b9);
  const types = new Uint8Array(count);
  const lengths = new Uint16Array(count);
  const mix: SmallPacket[] = [];
  let whole = Buffer.allocUnsafeSlow(count * 160);
  let at = 0;
  const expected = emptyTally();
  for (let i = 0; i < count; i++) {
    const p = smallPacket(i, next);
    if (i < keep) mix.push(p);
    const bytes = encodeSmall(p);
    if (at + bytes.length > whole.length) {
      const bigger = Buffer.allocUnsafeSlow(whole.length * 2);
      bigger.set(whole.subarray(0, at));
      whole = bigger;
    }
    whole.set(bytes, at);
    at += bytes.length;
    types[i] = p.type;
    lengths[i] = bytes.length;
    tallyPacket(expected, p.type, argcOf(p), bytes.length);
  }
  const exact = whole.subarray(0, at);
  return { mix, count, bytes: at, chunks: chunked(exact, CHUNK_SIZE), types, lengths, expected };
}

export interface LargeStream {
  readonly handle: string;
  readonly payload: Buffer;
  /** The whole WORK_COMPLETE packet in one chunk with its own ArrayBuffer. */
  readonly single: Buffer;
  /** The same packet cut in 64 KiB chunks. */
  readonly spanning: Buffer[];
  readonly expected: Tally;
}

export function buildLargeStream(size = MIB): LargeStream {
  const handle = 'H:nb01.example.org:1000001';
  const payload = Buffer.allocUnsafeSlow(size);
  const next = rng(42);
  for (let i = 0; i < size; i += 4) payload.writeUInt32LE(Math.floor(next() * 0x100000000), i);
  const packet = encodePacketBuffer('RES', Type.WORK_COMPLETE, [handle, payload]);
  const single = Buffer.allocUnsafeSlow(packet.length);
  single.set(packet);
  const expected: Tally = {
    packets: 1,
    args: 2,
    argBytes: Buffer.byteLength(handle) + size,
    typeSum: Type.WORK_COMPLETE,
  };
  return { handle, payload, single, spanning: chunked(single, CHUNK_SIZE), expected };
}

/**
 * The first `chunkCount` chunks of a stream and the tally of the packets wholly inside them
 * (a parser fed only these leaves the cut packet buffered).
 */
export function prefix(stream: SmallStream, chunkCount: number): { chunks: Buffer[]; expected: Tally } {
  const chunks = stream.chunks.slice(0, chunkCount);
  const limit = chunks.reduce((n, c) => n + c.length, 0);
  const expected = emptyTally();
  const argcByType: Record<number, number> = { [Type.NOOP]: 0, [Type.WORK_COMPLETE]: 2, [Type.JOB_ASSIGN_UNIQ]: 4 };
  for (let i = 0, end = 0; i < stream.count; i++) {
    end += stream.lengths[i]!;
    if (end > limit) break;
    const type = stream.types[i]!;
    tallyPacket(expected, type, argcByType[type]!, stream.lengths[i]!);
  }
  return { chunks, expected };
}
