/**
 * How a fuzz input is cut into pushes. Each chunking is a list of chunk lengths that sums to the
 * input's length; the decoder must give the same result for all of them.
 */
import { HEADER_SIZE } from '../../src/protocol/codec/packets.ts';
import { headerOffsets } from './mutators.ts';
import type { Prng } from './prng.ts';

export function wholeChunk(length: number): number[] {
  return [length];
}

export function byteByByte(length: number): number[] {
  return new Array<number>(length).fill(1);
}

/** Chunks of one fixed size, the last one shorter. */
export function fixedChunks(length: number, size: number): number[] {
  const out: number[] = [];
  for (let left = length; left > 0; left -= size) out.push(Math.min(size, left));
  return out;
}

/** Lengths between the given cut offsets (sorted, deduplicated, clipped to the input). */
export function cutsToLengths(length: number, cuts: readonly number[]): number[] {
  const sorted = [...new Set(cuts.filter((cut) => cut > 0 && cut < length))].sort((a, b) => a - b);
  const out: number[] = [];
  let from = 0;
  for (const cut of sorted) {
    out.push(cut - from);
    from = cut;
  }
  out.push(length - from);
  return out;
}

/** A few cuts anywhere, an empty chunk now and then. */
export function randomCuts(prng: Prng, length: number): number[] {
  const count = prng.between(1, Math.min(8, length + 1));
  const cuts: number[] = [];
  for (let i = 0; i < count; i++) cuts.push(prng.below(length + 1));
  const lengths = cutsToLengths(length, cuts);
  if (prng.chance(0.1)) lengths.splice(prng.below(lengths.length + 1), 0, 0);
  return lengths;
}

/** Cuts just around header edges, where a decoder has to stitch a header or a body together. */
export function cutsAroundHeaders(prng: Prng, bytes: Uint8Array): number[] {
  const cuts: number[] = [];
  for (const at of headerOffsets(bytes)) {
    cuts.push(at + prng.between(0, 2), at + HEADER_SIZE + prng.between(-2, 2));
  }
  return cutsToLengths(bytes.length, cuts);
}

/** A random chunking for an input; byte by byte only for small inputs, to keep the run fast. */
export function randomChunking(prng: Prng, bytes: Uint8Array): number[] {
  const length = bytes.length;
  const roll = prng.below(10);
  if (roll < 2 && length <= 512) return byteByByte(length);
  if (roll < 4) return fixedChunks(length, prng.between(1, 16));
  if (roll < 6) return cutsAroundHeaders(prng, bytes);
  return randomCuts(prng, length);
}
