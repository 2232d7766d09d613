/** fast-check arbitraries for gearman packets and admin lines, for the codec property tests. */
import fc from 'fast-check';
import { type Arg, COPY_THRESHOLD } from '../../src/protocol/codec/encoder.ts';
import { type Magic, PACKET_TABLE, type PacketSpec, allowsMagic } from '../../src/protocol/codec/packets.ts';
import { Prng } from './prng.ts';

export interface PacketCase {
  readonly spec: PacketSpec;
  readonly magic: Magic;
  readonly args: readonly Arg[];
}

export type StreamItem = { readonly kind: 'packet'; readonly packet: PacketCase } | { readonly kind: 'line'; readonly line: string; readonly crlf: boolean };

const MAGICS: readonly Magic[] = ['REQ', 'RES'];

/** Every packet type with every magic it may travel with. */
export const TYPE_MAGIC_PAIRS: readonly (readonly [PacketSpec, Magic])[] = PACKET_TABLE.flatMap((spec: PacketSpec) =>
  MAGICS.filter((magic) => allowsMagic(spec, magic)).map((magic) => [spec, magic] as const),
);

/** UTF-16 code units one by one: lone surrogates included, which UTF-8 turns into U+FFFD. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));

/** Any string, multi-byte UTF-8 included; NULs possible. */
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: codeUnit, maxLength: 20 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
);

/** An argument that may be followed by a NUL separator: anything but NUL, possibly empty. */
export const separatedArg: fc.Arbitrary<Arg> = fc.oneof(
  anyString.map((s) => s.replaceAll('\0', '')),
  fc.uint8Array({ min: 1, max: 255, maxLength: 40 }),
  fc.constantFrom<Arg>('', new Uint8Array(0)),
);

/** Bytes with many NULs in them. */
const nulHeavy = fc
  .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), { maxLength: 64 })
  .map((bytes) => Uint8Array.from(bytes));

/**
 * A payload at least COPY_THRESHOLD long (the encoder returns it as its own chunk), filled from a
 * seed rather than byte by byte so it stays cheap, with NULs sprinkled in.
 */
export const largePayload: fc.Arbitrary<Uint8Array> = fc
  .record({
    extra: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 8192 })),
    seed: fc.integer({ min: 0, max: 0xffffffff }),
    nulEvery: fc.integer({ min: 1, max: 64 }),
  })
  .map(({ extra, seed, nulEvery }) => {
    const bytes = new Prng(seed).bytes(COPY_THRESHOLD + extra);
    for (let i = 0; i < bytes.length; i += nulEvery) bytes[i] = 0;
    return bytes;
  });

/** How big the last argument may be: small only, small or large, or large only. */
export type LastSize = 'small' | 'any' | 'large';

/** The opaque last argument: anything, NULs and all. */
export function lastArg(size: LastSize): fc.Arbitrary<Arg> {
  const small = fc.oneof(anyString, fc.uint8Array({ maxLength: 64 }), nulHeavy, fc.constantFrom<Arg>('', new Uint8Array(0)));
  const large = fc.oneof(largePayload, fc.constant(new Uint8Array(COPY_THRESHOLD).fill(0)));
  if (size === 'small') return small;
  if (size === 'large') return large;
  return fc.oneof(small, large, fc.constant(new Uint8Array(COPY_THRESHOLD - 1).fill(0)));
}

export function argsFor(spec: PacketSpec, size: LastSize): fc.Arbitrary<Arg[]> {
  const count = spec.args.length;
  if (count === 0) return fc.constant([]);
  const parts: fc.Arbitrary<Arg>[] = [];
  for (let i = 0; i < count - 1; i++) parts.push(separatedArg);
  parts.push(lastArg(size));
  return fc.tuple(...parts);
}

export function packetOf(spec: PacketSpec, magic: Magic, size: LastSize): fc.Arbitrary<PacketCase> {
  return argsFor(spec, size).map((args) => ({ spec, magic, args }));
}

export function anyPacket(size: LastSize): fc.Arbitrary<PacketCase> {
  return fc.constantFrom(...TYPE_MAGIC_PAIRS).chain(([spec, magic]) => packetOf(spec, magic, size));
}

/**
 * An admin line that survives the round trip: no newline and no NUL (the encoder refuses both;
 * a NUL in front would start a binary packet), and well-formed Unicode. Ending in "\r" is allowed with "\r\n" only.
 */
export const textLine: fc.Arbitrary<string> = fc
  .oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('status', 'workers', '.', 'OK', ''))
  .map((line) => line.replaceAll('\n', ' ').replaceAll('\0', ' '));

export const streamItem: fc.Arbitrary<StreamItem> = fc.oneof(
  { weight: 3, arbitrary: anyPacket('small').map((packet) => ({ kind: 'packet', packet }) as const) },
  {
    weight: 1,
    arbitrary: fc
      .record({ line: textLine, crlf: fc.boolean() })
      .filter(({ line, crlf }) => crlf || !line.endsWith('\r'))
      .map(({ line, crlf }) => ({ kind: 'line', line, crlf }) as const),
  },
);

/** Cut offsets for a stream of `length` bytes (any count, any place, duplicates allowed). */
export function cutsFor(length: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: length }), { maxLength: 12 });
}
