/**
 * Property tests of the codec (fast-check): encode → decode is the identity for every packet type
 * and magic, streams decode the same however they are chunked, and the encoder refuses what the
 * wire cannot carry. A failure prints fast-check's seed and the shrunk counterexample.
 */
import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { Decoder, type DecoderOptions } from '../../src/protocol/codec/decoder.ts';
import { type Arg, COPY_THRESHOLD, encodePacket, encodePacketBuffer, encodeTextLine } from '../../src/protocol/codec/encoder.ts';
import { ProtocolError, type ProtocolErrorCode } from '../../src/protocol/codec/errors.ts';
import { HEADER_SIZE, PACKET_TABLE, packetSpec } from '../../src/protocol/codec/packets.ts';
import {
  type PacketCase,
  type StreamItem,
  TYPE_MAGIC_PAIRS,
  anyPacket,
  argsFor,
  cutsFor,
  packetOf,
  separatedArg,
  streamItem,
} from './arbitraries.ts';
import { byteByByte, cutsToLengths, wholeChunk } from './chunking.ts';
import { concat } from './mutators.ts';

type Seen = { readonly packet: string; readonly args: readonly string[] } | { readonly line: string };

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
const argBytes = (arg: Arg): Uint8Array => (typeof arg === 'string' ? new Uint8Array(Buffer.from(arg, 'utf8')) : arg);
const seenPacket = (magic: string, type: number, args: readonly Uint8Array[]): Seen => ({ packet: `${magic} ${type}`, args: args.map(hex) });

function expectedOf(item: StreamItem): Seen {
  if (item.kind === 'line') return { line: item.line };
  const { magic, spec, args } = item.packet;
  return seenPacket(magic, spec.code, args.map(argBytes));
}

function encodeItem(item: StreamItem): Uint8Array {
  if (item.kind === 'packet') return encodePacketBuffer(item.packet.magic, item.packet.spec.code, item.packet.args);
  return item.crlf ? encodeTextLine(item.line) : new TextEncoder().encode(`${item.line}\n`);
}

/** Decodes the chunks, checking `consumed + buffered == pushed` after every push. */
function decodeChecked(chunks: readonly Uint8Array[], options: DecoderOptions = {}): { seen: Seen[]; decoder: Decoder } {
  const seen: Seen[] = [];
  const decoder = new Decoder(
    { packet: (p) => seen.push(seenPacket(p.magic, p.type, p.args)), text: (line) => seen.push({ line }) },
    options,
  );
  let pushed = 0;
  for (const chunk of chunks) {
    decoder.push(chunk);
    pushed += chunk.length;
    expect(decoder.consumed + decoder.buffered).toBe(pushed);
  }
  return { seen, decoder };
}

function split(bytes: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const length of lengths) {
    chunks.push(bytes.subarray(at, at + length));
    at += length;
  }
  return chunks;
}

function expectProtocolError(run: () => unknown, code: ProtocolErrorCode, type?: number): void {
  let thrown: unknown;
  try {
    run();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe(code);
  if (type !== undefined) expect((thrown as ProtocolError).type).toBe(type);
}

describe('encode → decode is the identity', () => {
  test('the cases cover every row of PACKET_TABLE with each magic it allows', () => {
    const both = PACKET_TABLE.filter((spec) => spec.direction === 'BOTH').length;
    expect(TYPE_MAGIC_PAIRS).toHaveLength(PACKET_TABLE.length + both);
    expect(new Set(TYPE_MAGIC_PAIRS.map(([spec]) => spec.code)).size).toBe(PACKET_TABLE.length);
  });

  /** Encodes, checks the chunks and header, then decodes as written and in one chunk. */
  function roundTrip({ spec, magic, args }: PacketCase): void {
    const chunks = encodePacket(magic, spec.code, args);
    const expectedArgs = args.map(argBytes);
    const body = expectedArgs.reduce((sum, arg) => sum + arg.length, Math.max(0, args.length - 1));
    const last = args[args.length - 1];
    const separate = last instanceof Uint8Array && last.length >= COPY_THRESHOLD;

    // Chunks: the header (plus small arguments), then a large last argument as given.
    expect(chunks).toHaveLength(separate ? 2 : 1);
    if (separate) expect(chunks[1]).toBe(last);
    const head = new DataView(chunks[0]!.buffer, chunks[0]!.byteOffset, HEADER_SIZE);
    expect(head.getUint32(0)).toBe(magic === 'REQ' ? 0x00524551 : 0x00524553);
    expect(head.getUint32(4)).toBe(spec.code);
    expect(head.getUint32(8)).toBe(body);
    expect(chunks.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(HEADER_SIZE + body);

    const expected = [seenPacket(magic, spec.code, expectedArgs)];
    const asWritten = decodeChecked(chunks, { expect: magic });
    expect(asWritten.seen).toEqual(expected);
    expect(asWritten.decoder.consumed).toBe(HEADER_SIZE + body);
    expect(asWritten.decoder.idle).toBe(true);
    expect(decodeChecked([concat(...chunks)]).seen).toEqual(expected);
  }

  test.each(TYPE_MAGIC_PAIRS.map(([spec, magic]) => [spec.name, magic, spec, magic] as const))(
    '%s as %s',
    (_name, _magic, spec, magic) => {
      fc.assert(fc.property(packetOf(spec, magic, 'any'), roundTrip), { numRuns: 50 });
      // Always some large last arguments too: encodePacket returns them as a second chunk.
      if (spec.args.length > 0) fc.assert(fc.property(packetOf(spec, magic, 'large'), roundTrip), { numRuns: 8 });
    },
  );
});

describe('streams decode the same however they are chunked', () => {
  test('packets and text lines: one chunk, byte by byte, random split points', () => {
    fc.assert(
      fc.property(
        fc.array(streamItem, { maxLength: 25 }).chain((items) => {
          const bytes = concat(...items.map(encodeItem));
          return fc.tuple(fc.constant(items), fc.constant(bytes), cutsFor(bytes.length));
        }),
        ([items, bytes, cuts]) => {
          const expected = items.map(expectedOf);
          for (const lengths of [wholeChunk(bytes.length), byteByByte(bytes.length), cutsToLengths(bytes.length, cuts)]) {
            const { seen, decoder } = decodeChecked(split(bytes, lengths));
            expect(seen).toEqual(expected);
            expect(decoder.consumed).toBe(bytes.length);
            expect(decoder.buffered).toBe(0);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  test('large packets, pushed as the encoder returns them and at random split points', () => {
    fc.assert(
      fc.property(
        fc.array(anyPacket('any'), { minLength: 1, maxLength: 4 }).chain((packets) => {
          const chunks = packets.flatMap((p) => encodePacket(p.magic, p.spec.code, p.args));
          return fc.tuple(fc.constant(packets), fc.constant(chunks), cutsFor(concat(...chunks).length));
        }),
        ([packets, chunks, cuts]) => {
          const expected = packets.map((packet) => expectedOf({ kind: 'packet', packet }));
          const bytes = concat(...chunks);
          for (const pushes of [chunks, split(bytes, cutsToLengths(bytes.length, cuts))]) {
            const { seen, decoder } = decodeChecked(pushes);
            expect(seen).toEqual(expected);
            expect(decoder.idle).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('the encoder refuses what the wire cannot carry', () => {
  const multiArg = TYPE_MAGIC_PAIRS.filter(([spec]) => spec.args.length >= 2);

  test('a NUL in any argument but the last: BAD_ARGUMENT', () => {
    const withNul = fc.oneof(
      fc.tuple(separatedArg, separatedArg).map(([a, b]): Arg => (typeof a === 'string' ? `${a}\0${typeof b === 'string' ? b : ''}` : concat(a, Uint8Array.of(0)))),
      fc.constantFrom<Arg>('\0', Uint8Array.of(0)),
    );
    const bad = fc.constantFrom(...multiArg).chain(([spec, magic]) =>
      fc.tuple(fc.constant(spec), fc.constant(magic), argsFor(spec, 'small'), fc.integer({ min: 0, max: spec.args.length - 2 }), withNul),
    );
    fc.assert(
      fc.property(bad, ([spec, magic, args, at, nulArg]) => {
        const broken = [...args];
        broken[at] = nulArg;
        expectProtocolError(() => encodePacket(magic, spec.code, broken), 'BAD_ARGUMENT', spec.code);
      }),
      { numRuns: 300 },
    );
  });

  test('too few or too many arguments: WRONG_ARGUMENT_COUNT', () => {
    const bad = fc.constantFrom(...TYPE_MAGIC_PAIRS).chain(([spec, magic]) =>
      fc.tuple(
        fc.constant(spec),
        fc.constant(magic),
        fc.array(separatedArg, { maxLength: 12 }).filter((args) => args.length !== spec.args.length),
      ),
    );
    fc.assert(
      fc.property(bad, ([spec, magic, args]) => {
        expectProtocolError(() => encodePacket(magic, spec.code, args), 'WRONG_ARGUMENT_COUNT', spec.code);
      }),
      { numRuns: 300 },
    );
  });

  test('a type outside the table: UNKNOWN_TYPE', () => {
    const unknown = fc.oneof(fc.constantFrom(0, 5, 43), fc.integer({ min: 0, max: 0xffffffff })).filter((type) => packetSpec(type) === undefined);
    fc.assert(
      fc.property(unknown, fc.constantFrom('REQ' as const, 'RES' as const), (type, magic) => {
        expectProtocolError(() => encodePacket(magic, type, []), 'UNKNOWN_TYPE');
      }),
    );
  });

  test('an admin line with a newline: BAD_ARGUMENT', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expectProtocolError(() => encodeTextLine(`${a}\n${b}`), 'BAD_ARGUMENT');
      }),
    );
  });

  // Regression: a leading NUL made the line read as the start of a binary packet.
  test('an admin line that starts with NUL: BAD_ARGUMENT', () => {
    expectProtocolError(() => encodeTextLine('\0status'), 'BAD_ARGUMENT');
  });
});
