/**
 * "The practical limit": an untyped loop that reads the header, splits the arguments with
 * indexOf, hands out subarray views and validates nothing. A split packet is joined with one
 * copy. It knows only the argument count of each type.
 */
import { Buffer } from 'node:buffer';
import { type Tally, countPacket, emptyTally } from '../workload.ts';
import type { DecodeContender } from './types.ts';

// Argument count by type code (0 where the type has none or is unknown).
const ARGC = [
  0, 1, 1, 0, 0, 0, 0, 3, 1, 0, 0, 3, 3, 2, 1, 1, 1, 1, 3, 2, 5, 3, 1, 2, 0, 2, 1, 1, 2, 2, 0, 4, 3, 3, 3, 8, 4, 5, 5,
  0, 5, 1, 6,
];

type OnPacket = (type: number, args: Uint8Array[]) => void;
/** Called with each whole packet: `buf[off, stop)`. */
type OnFrame = (buf: Uint8Array, off: number, stop: number) => void;

const sizeAt = (b: Uint8Array, o: number): number =>
  ((b[o + 8]! << 24) | (b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!) >>> 0;

/** Splits the body `buf[p, stop)` into the arguments a packet of `type` has, as views. */
export function splitArgs(buf: Uint8Array, type: number, p: number, stop: number): Uint8Array[] {
  const argc = ARGC[type]!;
  const args = new Array<Uint8Array>(argc);
  for (let i = 0; i < argc - 1; i++) {
    const nul = buf.indexOf(0, p);
    args[i] = buf.subarray(p, nul);
    p = nul + 1;
  }
  if (argc > 0) args[argc - 1] = buf.subarray(p, stop);
  return args;
}

/** Cuts chunks into whole packets; a split packet's pieces are joined once when it is complete. */
export function framer(emit: OnFrame): (chunk: Uint8Array) => void {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  return (chunk) => {
    let off = 0;
    if (heldBytes > 0) {
      if (heldBytes < 12) {
        if (heldBytes + chunk.length < 12) {
          held.push(chunk);
          heldBytes += chunk.length;
          return;
        }
        off = 12 - heldBytes;
        held = [Buffer.concat([...held, chunk.subarray(0, off)], 12)];
        heldBytes = 12;
      }
      const need = 12 + sizeAt(held[0]!, 0);
      if (heldBytes + chunk.length - off < need) {
        held.push(off === 0 ? chunk : chunk.subarray(off));
        heldBytes += chunk.length - off;
        return;
      }
      const take = off + need - heldBytes;
      const frame = Buffer.concat([...held, chunk.subarray(off, take)], need);
      held = [];
      heldBytes = 0;
      emit(frame, 0, need);
      off = take;
    }
    const end = chunk.length;
    while (end - off >= 12) {
      const stop = off + 12 + sizeAt(chunk, off);
      if (stop > end) break;
      emit(chunk, off, stop);
      off = stop;
    }
    if (off < end) {
      held = [chunk.subarray(off)];
      heldBytes = end - off;
    }
  };
}

export const naiveDecoder = (onPacket: OnPacket): ((chunk: Uint8Array) => void) =>
  framer((buf, off, stop) => {
    const type = (buf[off + 6]! << 8) | buf[off + 7]!;
    onPacket(type, splitArgs(buf, type, off + 12, stop));
  });

/** A decode run that tallies what `push` (built over `onPacket`) hands out. */
export function tallied(make: (onPacket: OnPacket) => (chunk: Uint8Array) => void, chunks: readonly Buffer[]): Tally {
  const t: Tally = emptyTally();
  const push = make((type, args) => countPacket(t, type, args));
  for (let i = 0; i < chunks.length; i++) push(chunks[i]!);
  return t;
}

export const naiveDecode: DecodeContender = {
  name: 'naive loop (limit)',
  decode: (chunks) => tallied(naiveDecoder, chunks),
};
