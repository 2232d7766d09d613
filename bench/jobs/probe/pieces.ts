/**
 * The separate per-submit pieces the brief asks about, timed alone (ns per call, best of a few
 * passes): random unique, stack capture, the encoder, the join in Connection.flush, and an
 * async chain shaped like submit() → withFailover() → pickLink().
 */
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { callerStack } from '../../../src/protocol/client/client-errors.ts';
import { encodePacket } from '../../../src/protocol/codec/encoder.ts';
import { Type } from '../../../src/protocol/codec/packets.ts';
import { payload } from '../payload.ts';

export interface Piece {
  readonly name: string;
  readonly run: () => unknown;
}

const data = payload(1, 1234);
const head = encodePacket('REQ', Type.WORK_COMPLETE, ['H:vm:123456', data])[0]!;
const grab = encodePacket('REQ', Type.GRAB_JOB_UNIQ, [])[0]!;

function submitLike(): unknown {
  return callerStack(submitLike);
}

async function pickLink(): Promise<number> {
  return 1;
}
async function withFailover(): Promise<number> {
  const tried = new Set<number>();
  const link = await pickLink();
  tried.add(link);
  return await Promise.resolve(link);
}
async function submit(): Promise<number> {
  return withFailover();
}

export const PIECES: readonly Piece[] = [
  { name: 'randomUUID()', run: () => randomUUID() },
  { name: 'callerStack() from a 3-deep call', run: () => [0].map(() => submitLike())[0] },
  { name: 'encodePacket(SUBMIT_JOB, uuid unique)', run: () => encodePacket('REQ', Type.SUBMIT_JOB, ['bench-echo-ours-1c-1', 'b9f1c0de-8a9b-4c1e-9d2f-0123456789ab', data]) },
  { name: 'Buffer.concat([GRAB, WORK_COMPLETE])', run: () => Buffer.concat([grab, head], grab.length + head.length) },
  { name: 'async submit→withFailover→pickLink', run: () => submit() },
];

/** ns per call; awaits results that are promises (so the async chain is timed whole). */
export async function timePiece(piece: Piece, calls: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const out = piece.run();
    if (out instanceof Promise) await out;
  }
  return ((performance.now() - t0) * 1e6) / calls;
}
