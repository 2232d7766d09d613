import { describe, expect, spyOn, test } from 'bun:test';
import { COPY_LIMIT, type Packet, Decoder, type DecoderOptions } from '../../src/protocol/codec/decoder.ts';
import { ProtocolError } from '../../src/protocol/codec/errors.ts';
import { Type } from '../../src/protocol/codec/packets.ts';

type Seen = { packet: string } | { text: string };

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const show = (p: Packet): string =>
  `${p.magic} ${p.type} [${p.args.map((a) => JSON.stringify(Buffer.from(a).toString('latin1'))).join(', ')}]`;

function decodeIn(chunks: Uint8Array[], options: DecoderOptions = {}): { seen: Seen[]; decoder: Decoder } {
  const seen: Seen[] = [];
  const decoder = new Decoder(
    { packet: (p) => seen.push({ packet: show(p) }), text: (line) => seen.push({ text: line }) },
    options,
  );
  for (const chunk of chunks) decoder.push(chunk);
  return { seen, decoder };
}

const whole = (bytes: Uint8Array): Uint8Array[] => [bytes];
const byteByByte = (bytes: Uint8Array): Uint8Array[] => Array.from(bytes, (b) => Uint8Array.of(b));
const splitters = { 'single chunk': whole, 'byte by byte': byteByByte };

// Annotated byte streams: the PROTOCOL document's "reverse" example plus the packets a worker sees.
const CAN_DO_REVERSE = hex('00524551 00000001 00000007 72657665727365'); // \0REQ CAN_DO 7 "reverse"
const NOOP = hex('00524553 00000006 00000000'); // \0RES NOOP 0
const JOB_ASSIGN_UNIQ = hex(
  '00524553 0000001f 00000014' + // \0RES JOB_ASSIGN_UNIQ 20
    '483a6c61703a3100' + // "H:lap:1\0"
    '7265760000' + // "rev\0" then an empty unique "\0"
    '7465737400' + // data "test\0" (the last argument may hold NULs)
    '6869', // "hi"
);
const WORK_COMPLETE_EMPTY = hex('00524551 0000000d 00000008 483a6c61703a3100'); // "H:lap:1\0" + empty data

describe.each(Object.entries(splitters))('Decoder, %s', (_, split) => {
  test('decodes the PROTOCOL example packet', () => {
    const { seen, decoder } = decodeIn(split(CAN_DO_REVERSE));
    expect(seen).toEqual([{ packet: 'REQ 1 ["reverse"]' }]);
    expect(decoder.consumed).toBe(CAN_DO_REVERSE.length);
    expect(decoder.buffered).toBe(0);
  });

  test('gearmand framing: misdirected and reserved types decode, a body on an argument-less packet is skipped', () => {
    const stream = concat(
      hex('00524551 00000006 00000000'), // \0REQ NOOP
      hex('00524553 00000010 00000002 6869'), // \0RES ECHO_REQ "hi"
      hex('00524551 00000009 00000002 7878'), // \0REQ GRAB_JOB with a 2-byte body
      hex('00524551 00000005 00000000'), // \0REQ 5 (reserved)
      CAN_DO_REVERSE,
    );
    const { seen, decoder } = decodeIn(split(stream), { framing: 'gearmand' });
    expect(seen).toEqual([
      { packet: 'REQ 6 []' },
      { packet: 'RES 16 ["hi"]' },
      { packet: 'REQ 9 []' },
      { packet: 'REQ 5 []' },
      { packet: 'REQ 1 ["reverse"]' },
    ]);
    expect(decoder.consumed).toBe(stream.length);
  });

  test('latin1 text keeps every byte of a line that is not UTF-8', () => {
    const { seen } = decodeIn(split(Buffer.from('maxqueue caf\xe9 1\r\n', 'latin1')), { text: 'latin1' });
    expect(seen).toEqual([{ text: 'maxqueue caf\xe9 1' }]);
  });

  test('decodes many packets and text lines from one stream', () => {
    const stream = concat(NOOP, JOB_ASSIGN_UNIQ, Buffer.from('status\r\n'), WORK_COMPLETE_EMPTY, Buffer.from('.\n'));
    const { seen, decoder } = decodeIn(split(stream));
    expect(seen).toEqual([
      { packet: 'RES 6 []' },
      { packet: 'RES 31 ["H:lap:1", "rev", "", "test\\u0000hi"]' },
      { text: 'status' },
      { packet: 'REQ 13 ["H:lap:1", ""]' },
      { text: '.' },
    ]);
    expect(decoder.consumed).toBe(stream.length);
    expect(decoder.idle).toBe(true);
  });

  test('holds an incomplete packet and accounts for every byte', () => {
    const partial = JOB_ASSIGN_UNIQ.subarray(0, 17);
    const { seen, decoder } = decodeIn(split(partial));
    expect(seen).toEqual([]);
    expect(decoder.consumed + decoder.buffered).toBe(17);
    expect(decoder.idle).toBe(false);
  });

  test('an empty text line is a line', () => {
    expect(decodeIn(split(Buffer.from('\r\n\n'))).seen).toEqual([{ text: '' }, { text: '' }]);
  });
});

describe('Decoder zero-copy', () => {
  test(`an argument over ${COPY_LIMIT} bytes is a view into the chunk it came in; shorter ones are copies of their own`, () => {
    const payload = new Uint8Array(COPY_LIMIT + 1).fill(0x61);
    const body = concat(Buffer.from('H:lap:1\0rev\0u1\0'), payload);
    const header = hex(`00524553 0000001f ${body.length.toString(16).padStart(8, '0')}`);
    const chunk = concat(NOOP, header, body);
    const args: Uint8Array[] = [];
    const decoder = new Decoder({ packet: (p) => args.push(...p.args), text: () => {} });
    decoder.push(chunk);
    expect(args.map((a) => a.length)).toEqual([7, 3, 2, COPY_LIMIT + 1]);
    expect(args[3]!.buffer).toBe(chunk.buffer);
    for (const arg of args.slice(0, 3)) expect(arg.buffer).not.toBe(chunk.buffer);
    // The socket's buffer may be reused once the read is handled: the short ones keep their bytes.
    chunk.fill(0);
    expect(args.slice(0, 3).map((a) => Buffer.from(a).toString('latin1'))).toEqual(['H:lap:1', 'rev', 'u1']);
  });

  test('a packet spanning chunks is joined once', () => {
    const payload = new Uint8Array(200_000).fill(7);
    const packet = concat(hex('00524553 0000000d'), hex((8 + payload.length).toString(16).padStart(8, '0')));
    const stream = concat(packet, Buffer.from('H:lap:1\0'), payload);
    // Each chunk in its own ArrayBuffer, as socket reads arrive.
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < stream.length; at += 65536) chunks.push(stream.slice(at, at + 65536));
    let args: readonly Uint8Array[] = [];
    const decoder = new Decoder({ packet: (p) => (args = p.args), text: () => {} });
    const spies = (['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat'] as const).map((name) => [name, spyOn(Buffer, name)] as const);
    let allocations: unknown[][] = [];
    try {
      for (const chunk of chunks) decoder.push(chunk);
      allocations = spies.flatMap(([name, spy]) => spy.mock.calls.map((call) => [name, name === 'concat' ? call[1] : call[0]]));
    } finally {
      for (const [, spy] of spies) spy.mockRestore();
    }
    const [handle, data] = args;
    expect(data?.length).toBe(payload.length);
    expect(data?.every((b) => b === 7)).toBe(true);
    // One allocation, the size of the whole packet; the payload is a view of it, the short handle a copy.
    expect(allocations).toEqual([[expect.any(String), stream.length]]);
    expect(data!.buffer.byteLength).toBe(stream.length);
    expect(Buffer.from(handle!).toString('latin1')).toBe('H:lap:1');
    expect(chunks.some((chunk) => chunk.buffer === data!.buffer)).toBe(false);
  });
});

function decodeError(chunks: Uint8Array[], options: DecoderOptions = {}): ProtocolError {
  const decoder = new Decoder({ packet: () => {}, text: () => {} }, options);
  try {
    for (const chunk of chunks) decoder.push(chunk);
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

describe('Decoder errors', () => {
  test('bad magic is reported with its offset and bytes', () => {
    const err = decodeError([concat(NOOP, hex('00524551 00000001 00000000').map((b, i) => (i === 1 ? 0x58 : b)))]);
    expect(err.code).toBe('BAD_MAGIC');
    expect(err.offset).toBe(12);
    expect(err.hex).toBe('00 58 45 51 00 00 00 01 00 00 00 00');
  });

  test.each([0, 5, 43, 0xffffffff])('unknown type %d', (type) => {
    const header = hex(`00524553 ${type.toString(16).padStart(8, '0')} 00000000`);
    expect(decodeError([header]).code).toBe('UNKNOWN_TYPE');
  });

  test('a packet declaring more than the limit fails from its header, before buffering', () => {
    const decoder = new Decoder({ packet: () => {}, text: () => {} }, { maxPacketSize: 1024 });
    expect(() => decoder.push(hex('00524553 0000000d 00000401'))).toThrow(ProtocolError);
    expect(decoder.buffered).toBe(0);
    const huge = decodeError([hex('00524553 0000000d ffffffff')]);
    expect(huge.code).toBe('PACKET_TOO_LARGE');
    expect(huge.packetName).toBe('WORK_COMPLETE');
  });

  test('too few NULs is an error and never reads into the next packet', () => {
    // JOB_ASSIGN_UNIQ with one NUL in its body, followed by a packet full of NULs.
    const short = concat(hex('00524553 0000001f 00000004'), Buffer.from('a\0bc'));
    const next = concat(hex('00524553 0000000d 00000004'), hex('00000000'));
    const err = decodeError([concat(short, next)]);
    expect(err.code).toBe('MISSING_ARGUMENT');
    expect(err.type).toBe(Type.JOB_ASSIGN_UNIQ);
    expect(err.offset).toBe(0);
  });

  test('a packet without arguments may not carry a body', () => {
    expect(decodeError([concat(hex('00524553 00000006 00000001'), hex('00'))]).code).toBe('UNEXPECTED_BODY');
  });

  test('a request arriving where responses are expected is refused', () => {
    expect(decodeError([CAN_DO_REVERSE], { expect: 'RES' }).code).toBe('UNEXPECTED_MAGIC');
    // NOOP only ever travels as a response.
    expect(decodeError([hex('00524551 00000006 00000000')]).code).toBe('UNEXPECTED_MAGIC');
  });

  test('a text line longer than the limit fails without buffering it', () => {
    const err = decodeError(byteByByte(Buffer.from('x'.repeat(40))), { maxLineLength: 32 });
    expect(err.code).toBe('LINE_TOO_LONG');
  });

  test('the decoder stays dead after an error', () => {
    const decoder = new Decoder({ packet: () => {}, text: () => {} });
    expect(() => decoder.push(hex('00000000 00000000 00000000'))).toThrow(ProtocolError);
    expect(() => decoder.push(NOOP)).toThrow(/BAD_MAGIC/);
  });

  test('a handler that throws leaves the decoder refusing input', () => {
    const decoder = new Decoder({
      packet: () => {
        throw new Error('handler bug');
      },
      text: () => {},
    });
    expect(() => decoder.push(NOOP)).toThrow('handler bug');
    expect(() => decoder.push(NOOP)).toThrow(/DECODER_FAILED/);
  });
});

describe('Decoder text lines', () => {
  test.each(Object.entries(splitters))('the line limit excludes both "\\n" and "\\r\\n" (%s)', (_, split) => {
    const options = { maxLineLength: 4 };
    expect(decodeIn(split(Buffer.from('abcd\r\nabcd\n')), options).seen).toEqual([{ text: 'abcd' }, { text: 'abcd' }]);
    expect(decodeError(split(Buffer.from('abcde\n')), options).code).toBe('LINE_TOO_LONG');
    expect(decodeError(split(Buffer.from('abcde\r\n')), options).code).toBe('LINE_TOO_LONG');
  });

  test('a leading byte-order mark is kept', () => {
    expect(decodeIn([Uint8Array.of(0xef, 0xbb, 0xbf, 0x61, 0x0a)]).seen).toEqual([{ text: '\ufeffa' }]);
  });
});
