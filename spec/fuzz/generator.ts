/**
 * Makes one fuzz input: a byte stream, the decoder limits to read it with, and a chunking.
 * Most inputs are small (under ~256 bytes) so a million of them run in about a minute; about
 * one in a hundred is large, to reach the packet and line limits with real data.
 */
import { HEADER_SIZE, type Magic, Type } from '../../src/protocol/codec/packets.ts';
import { randomChunking } from './chunking.ts';
import type { Corpus, Seed } from './corpus.ts';
import { concat, longLine, mutate, splice } from './mutators.ts';
import { Prng, deriveSeed } from './prng.ts';
import { PROFILES, type Profile } from './profiles.ts';
import { validStream } from './valid-streams.ts';

export type InputKind = 'random' | 'mutated' | 'spliced' | 'valid' | 'large';

export interface FuzzInput {
  readonly kind: InputKind;
  readonly profile: Profile;
  readonly bytes: Uint8Array;
  /** Chunk lengths for the split run (the whole-chunk run always happens too). */
  readonly chunks: readonly number[];
}

const PROFILE_TABLE = PROFILES.map((profile) => [profile.weight, profile] as const);
/** Bytes that make headers, lines and limits likely when drawn at random. */
const ALPHABET = [0x00, 0x00, 0x00, 0x52, 0x45, 0x51, 0x53, 0x0a, 0x0d, 0x61, 0xff, 0x01, 0x07, 0x0c, 0x1f, 0x2a] as const;

function randomBytes(prng: Prng): Uint8Array {
  const length = prng.size(128, 256);
  if (prng.chance(0.5)) return prng.bytes(length);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = prng.pick(ALPHABET);
  if (length >= 3 && prng.chance(0.5)) out.set([0x00, 0x52, 0x45]);
  return out;
}

/** A slice of a seed, usually starting on a frame boundary. */
function window(prng: Prng, seed: Seed, typical: number): Uint8Array {
  const { bytes } = seed;
  const start = prng.chance(0.8) ? prng.pick(seed.boundaries) : prng.below(bytes.length + 1);
  return bytes.subarray(start, start + prng.size(typical, typical * 8));
}

function magicFor(prng: Prng, profile: Profile): Magic {
  return profile.limits.expect === 'ANY' ? prng.pick(['REQ', 'RES'] as const) : profile.limits.expect;
}

/** One WORK_DATA packet whose body is right around the size limit, sometimes cut short. */
function packetAtTheLimit(prng: Prng, profile: Profile): Uint8Array {
  const size = Math.max(0, profile.limits.maxPacketSize + prng.between(-2, 1));
  const packet = new Uint8Array(HEADER_SIZE + size);
  const view = new DataView(packet.buffer);
  view.setUint32(0, magicFor(prng, profile) === 'REQ' ? 0x00524551 : 0x00524553);
  view.setUint32(4, Type.WORK_DATA);
  view.setUint32(8, size);
  packet.set(prng.bytes(size), HEADER_SIZE);
  const handle = Math.min(size, 8);
  packet.fill(0x48, HEADER_SIZE, HEADER_SIZE + handle);
  if (handle > 0 && prng.chance(0.9)) packet[HEADER_SIZE + handle - 1] = 0;
  return prng.chance(0.3) ? packet.subarray(0, prng.below(packet.length + 1)) : packet;
}

function largeInput(prng: Prng, profile: Profile, corpus: Corpus): Uint8Array {
  const hints = profile.limits;
  switch (prng.below(4)) {
    case 0:
      return packetAtTheLimit(prng, profile);
    case 1:
      return longLine(validStream(prng, prng.between(0, 3)), prng, hints);
    case 2:
      return prng.bytes(prng.between(1024, 96 * 1024));
    default:
      return mutate(concat(...corpus.seeds.map((seed) => seed.bytes).slice(0, 16)), prng, hints, prng.between(0, 3));
  }
}

export function generateInput(prng: Prng, corpus: Corpus): FuzzInput {
  const profile = prng.weighted(PROFILE_TABLE);
  const hints = profile.limits;
  const kind = prng.weighted<InputKind>([
    [20, 'random'],
    [55, 'mutated'],
    [12, 'spliced'],
    [12, 'valid'],
    [1, 'large'],
  ]);
  let bytes: Uint8Array;
  switch (kind) {
    case 'random':
      bytes = randomBytes(prng);
      break;
    case 'mutated':
      bytes = mutate(window(prng, prng.pick(corpus.seeds), 128), prng, hints, prng.between(1, 4));
      break;
    case 'spliced': {
      const a = window(prng, prng.pick(corpus.seeds), 96);
      const b = window(prng, prng.pick(corpus.seeds), 96);
      bytes = mutate(splice(a, b, prng), prng, hints, prng.between(0, 2));
      break;
    }
    case 'valid':
      bytes = validStream(prng, prng.between(1, 6));
      break;
    case 'large':
      bytes = largeInput(prng, profile, corpus);
      break;
  }
  return { kind, profile, bytes, chunks: randomChunking(prng, bytes) };
}

/** Input number `index` of the run with `seed`: the same on every machine and in every worker. */
export function inputAt(seed: number, index: number, corpus: Corpus): FuzzInput {
  return generateInput(new Prng(deriveSeed(seed, index)), corpus);
}
