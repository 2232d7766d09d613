/** What the fuzz script's main thread and its workers send each other. */
import type { Stats } from './stats.ts';

export interface WorkerTask {
  readonly seed: number;
  /** First input index, inclusive. */
  readonly from: number;
  /** Last input index, exclusive. */
  readonly to: number;
  /** One Int32 slot per worker: the index of the input being checked now, for the watchdog. */
  readonly heartbeat: SharedArrayBuffer;
  readonly slot: number;
  /** A module exporting the Decoder to test instead of src/protocol/codec/decoder.ts (--decoder). */
  readonly decoderModule: string | undefined;
}

export interface FailureReport {
  readonly index: number;
  readonly kind: string;
  readonly profile: string;
  readonly bytes: Uint8Array;
  readonly chunks: readonly number[];
  readonly violations: readonly string[];
}

export type WorkerMessage =
  | { readonly type: 'failure'; readonly failure: FailureReport }
  /** Cumulative counters: sent now and then, and once more (with done) at the end. */
  | { readonly type: 'stats'; readonly stats: Stats; readonly done: boolean };

export function isWorkerTask(value: unknown): value is WorkerTask {
  if (typeof value !== 'object' || value === null) return false;
  const task = value as Record<string, unknown>;
  return (
    typeof task.seed === 'number' &&
    typeof task.from === 'number' &&
    typeof task.to === 'number' &&
    task.heartbeat instanceof SharedArrayBuffer &&
    typeof task.slot === 'number' &&
    (task.decoderModule === undefined || typeof task.decoderModule === 'string')
  );
}
