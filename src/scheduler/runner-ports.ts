/**
 * What the runner needs from the outside world, as small interfaces: the daemon plugs gearman
 * into them (src/cli/scheduler-gearman.ts), tests plug in what they like. src/scheduler knows
 * no protocol.
 */
import type { RegisteredWorker } from './observe.ts';

/** How one job ended, as the runner records it. */
export type JobOutcome =
  /** WORK_COMPLETE, with its data as text. */
  | { readonly kind: 'complete'; readonly data: string }
  /** WORK_FAIL or WORK_EXCEPTION: the job ran and failed; the reason is kept. */
  | { readonly kind: 'failed'; readonly reason: string }
  /**
   * No result: the connection was lost, no server was reachable, or it took longer than its
   * timeout. The job may still be running; the record stays as it is and the next passes find out.
   */
  | { readonly kind: 'lost'; readonly reason: string };

export interface JobPort {
  /**
   * Submits a foreground job; never rejects (every end is an outcome). `onProgress` gets each
   * WORK_STATUS the worker sends.
   */
  run(functionName: string, data: string, unique: string, timeoutMs: number, onProgress?: (numerator: number, denominator: number) => void): Promise<JobOutcome>;
}

export interface FleetListings {
  /** One `workers` listing per job server that answered. */
  readonly listings: readonly (readonly RegisteredWorker[])[];
  /** Why each job server that did not answer did not. */
  readonly failures: readonly string[];
}

export interface FleetPort {
  /** The `workers` listing of every job server. */
  workers(): Promise<FleetListings>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
