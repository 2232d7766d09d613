/**
 * Checks one input: works out the expected result once, then decodes the input in one chunk and
 * in each extra chunking given, checking every invariant each time.
 */
import type { ProtocolErrorCode } from '../../src/protocol/codec/errors.ts';
import { wholeChunk } from './chunking.ts';
import { type DecoderFactory, checkRun, realDecoder } from './invariants.ts';
import { expectedDecoding } from './oracle.ts';
import type { Limits } from './profiles.ts';

export interface Chunking {
  readonly name: string;
  readonly lengths: readonly number[];
}

export interface CaseResult {
  /** Each violation prefixed with the chunking it happened under. */
  readonly violations: readonly string[];
  /** From the whole-chunk run. */
  readonly packets: number;
  readonly lines: number;
  readonly error: ProtocolErrorCode | undefined;
}

export function runCase(
  bytes: Uint8Array,
  limits: Limits,
  chunkings: readonly Chunking[],
  factory: DecoderFactory = realDecoder,
): CaseResult {
  const expected = expectedDecoding(bytes, limits);
  const whole = checkRun(bytes, wholeChunk(bytes.length), limits, expected, factory);
  const violations = whole.violations.map((v) => `single chunk: ${v}`);
  for (const chunking of chunkings) {
    const run = checkRun(bytes, chunking.lengths, limits, expected, factory);
    for (const v of run.violations) violations.push(`${chunking.name}: ${v}`);
  }
  return { violations, packets: whole.packets, lines: whole.lines, error: whole.error };
}
