import type { Buffer } from 'node:buffer';
import type { Tally } from '../workload.ts';

/** A decoder under test: turns the chunks into packets and tallies what it materialized. */
export interface DecodeContender {
  readonly name: string;
  decode(chunks: readonly Buffer[]): Tally | Promise<Tally>;
}

/**
 * An encoder under test, built over the small mix (its input is prepared untimed, in the
 * form its API takes). Both methods return the number of bytes produced.
 */
export interface EncodeContender {
  readonly name: string;
  /** Encodes `count` packets, cycling through the prepared mix. */
  encodeSmall(count: number): number | Promise<number>;
  /** Encodes WORK_COMPLETE(handle, payload) `reps` times. */
  encodeLarge(handle: string, payload: Buffer, reps: number): number | Promise<number>;
}
