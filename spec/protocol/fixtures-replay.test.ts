/**
 * Replays real gearmand 1.1.20 sessions (fixtures/captures, recorded by `npm run capture`)
 * through the decoder and encoder, and checks them against the reference parser's frames.json.
 */
import { describe, expect, test } from 'bun:test';
import { Decoder, type Packet } from '../../src/protocol/codec/decoder.ts';
import { encodePacketBuffer } from '../../src/protocol/codec/encoder.ts';
import { type Magic, packetName } from '../../src/protocol/codec/packets.ts';
import { type Capture, type Frame, frameArgBytes, loadCaptures } from '../support/captures.ts';

const EXPECTED_SESSIONS = [
  'admin',
  'admin-gearadmin',
  'client-cli',
  'client-perl',
  'errors',
  'grab-job',
  'grab-job-all',
  'grab-job-uniq',
  'worker-cli',
];
const DIRECTIONS = [
  { direction: 'c2s', expect: 'REQ' },
  { direction: 's2c', expect: 'RES' },
] as const;
const SPLIT_TRIALS = 200;
const MAX_CUTS = 32;
const SEED = Number(process.env.REPLAY_SEED ?? 0x5eed_ca97);

/** A frame in a form toEqual diffs readably: arguments as hex. */
type Comparable =
  | { kind: 'packet'; magic: Magic; type: number; name: string; args: string[] }
  | { kind: 'text'; line: string };

type Decoded = { kind: 'packet'; packet: Packet } | { kind: 'text'; line: string };

interface Replay {
  readonly decoded: Decoded[];
  readonly consumed: number;
  readonly buffered: number;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
const utf8 = new TextEncoder();

function fromAnnotation(frame: Frame): Comparable {
  if (frame.kind === 'text') return { kind: 'text', line: frame.line };
  const args = frame.args.map((arg) => hex(frameArgBytes(arg)));
  return { kind: 'packet', magic: frame.magic, type: frame.type, name: frame.name, args };
}

function fromDecoded(item: Decoded): Comparable {
  if (item.kind === 'text') return { kind: 'text', line: item.line };
  const { magic, type, args } = item.packet;
  return { kind: 'packet', magic, type, name: packetName(type), args: args.map(hex) };
}

function replay(chunks: Iterable<Uint8Array>, expectMagic: Magic): Replay {
  const decoded: Decoded[] = [];
  const decoder = new Decoder(
    {
      // Arguments are views into the pushed chunks: copy them, as a consumer keeping them would.
      packet: (packet) => decoded.push({ kind: 'packet', packet: { ...packet, args: packet.args.map((a) => a.slice()) } }),
      text: (line) => decoded.push({ kind: 'text', line }),
    },
    { expect: expectMagic },
  );
  for (const chunk of chunks) decoder.push(chunk);
  return { decoded, consumed: decoder.consumed, buffered: decoder.buffered };
}

function* byteByByte(stream: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < stream.length; i++) yield stream.subarray(i, i + 1);
}

function* atCuts(stream: Uint8Array, cuts: readonly number[]): Generator<Uint8Array> {
  let start = 0;
  for (const cut of cuts) {
    yield stream.subarray(start, cut);
    start = cut;
  }
  yield stream.subarray(start);
}

/** mulberry32: small, seedable, good enough to pick split points. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCuts(length: number, next: () => number): number[] {
  const count = 1 + Math.floor(next() * Math.min(MAX_CUTS, length - 1));
  const cuts = new Set<number>();
  while (cuts.size < count) cuts.add(1 + Math.floor(next() * (length - 1)));
  return [...cuts].sort((a, b) => a - b);
}

/** Re-encodes decoded frames; text lines take their line ending from the recording. */
function reencode(decoded: readonly Decoded[], stream: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const item of decoded) {
    let bytes: Uint8Array;
    if (item.kind === 'packet') {
      bytes = encodePacketBuffer(item.packet.magic, item.packet.type, item.packet.args);
    } else {
      const line = utf8.encode(item.line);
      const eol = stream[at + line.length] === 0x0d ? '\r\n' : '\n';
      bytes = Buffer.concat([line, utf8.encode(eol)]);
    }
    parts.push(bytes);
    at += bytes.length;
  }
  return Buffer.concat(parts);
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

const captures: Capture[] = loadCaptures();

test('every session capture.sh records is on disk', () => {
  expect(captures.map((capture) => capture.name)).toEqual(EXPECTED_SESSIONS);
  for (const capture of captures) {
    expect(capture.c2s.length).toBeGreaterThan(0);
    expect(capture.s2c.length).toBeGreaterThan(0);
  }
});

for (const capture of captures) {
  describe(capture.name, () => {
    for (const { direction, expect: magic } of DIRECTIONS) {
      const stream = capture[direction];
      const expected = capture.frames[direction].map(fromAnnotation);

      test(`${direction}: one chunk decodes to the annotated frames`, () => {
        expect(replay([stream], magic).decoded.map(fromDecoded)).toEqual(expected);
      });

      test(`${direction}: byte by byte decodes to the annotated frames`, () => {
        expect(replay(byteByByte(stream), magic).decoded.map(fromDecoded)).toEqual(expected);
      });

      test(`${direction}: ${SPLIT_TRIALS} random splits decode to the annotated frames (seed ${SEED})`, () => {
        const next = random(SEED ^ stream.length);
        for (let trial = 0; trial < SPLIT_TRIALS; trial++) {
          const cuts = randomCuts(stream.length, next);
          const frames = replay(atCuts(stream, cuts), magic).decoded.map(fromDecoded);
          if (!Bun.deepEquals(frames, expected)) {
            // Only a failing trial pays for toEqual's diff, with its cuts in the message.
            expect({ cuts, frames }).toEqual({ cuts, frames: expected });
          }
        }
      });

      test(`${direction}: re-encoding the decoded frames gives back the recorded bytes`, () => {
        const encoded = reencode(replay([stream], magic).decoded, stream);
        expect({ firstDifference: firstDifference(encoded, stream), length: encoded.length }).toEqual({
          firstDifference: -1,
          length: stream.length,
        });
      });

      test(`${direction}: the decoder accounts for every byte`, () => {
        for (const chunks of [[stream], byteByByte(stream)]) {
          const { consumed, buffered } = replay(chunks, magic);
          expect({ consumed, buffered }).toEqual({ consumed: stream.length, buffered: 0 });
        }
      });
    }
  });
}
