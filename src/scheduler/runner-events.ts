/**
 * What the runner tells observers as it works: the dashboard's live view and the metrics
 * listen here. Observers only watch: whatever one throws is dropped, never the runner's concern.
 */
import type { Action } from './actions.ts';
import type { JobOutcome } from './runner-ports.ts';

/** What a job the runner submits does. */
export type JobKind = 'build' | 'build-delete' | 'upload' | 'image-delete';

export interface JobStart {
  /** The record id the job works on (build or upload), or the leaked image's external id. */
  readonly id: string;
  readonly kind: JobKind;
  readonly functionName: string;
  readonly startedAt: number;
}

/** A WORK_STATUS of a running job: uploads report KiB sent of the file's KiB. */
export interface JobProgress {
  readonly id: string;
  readonly kind: JobKind;
  readonly numerator: number;
  readonly denominator: number;
  readonly at: number;
}

/** Which builder runs a build job (gearman does not say; the builders' listings do). */
export interface JobBuilder {
  readonly id: string;
  readonly kind: JobKind;
  readonly builder: string;
}

export interface JobEnd extends JobStart {
  readonly outcome: JobOutcome;
  readonly endedAt: number;
}

export interface PassEnd {
  readonly startedAt: number;
  readonly endedAt: number;
  /** Every decision the pass committed, in order. */
  readonly actions: readonly Action[];
}

export interface RunnerEvents {
  jobStarted?(job: JobStart): void;
  jobProgress?(progress: JobProgress): void;
  jobBuilder?(job: JobBuilder): void;
  jobEnded?(job: JobEnd): void;
  passEnded?(pass: PassEnd): void;
}

type Listener<K extends keyof RunnerEvents> = NonNullable<RunnerEvents[K]>;

/** Calls one event on every observer; an observer's failure never reaches the runner. */
export function emit<K extends keyof RunnerEvents>(observers: readonly RunnerEvents[], event: K, value: Parameters<Listener<K>>[0]): void {
  for (const observer of observers) {
    const listener = observer[event] as ((value: Parameters<Listener<K>>[0]) => void) | undefined;
    try {
      listener?.call(observer, value);
    } catch {
      // An observer's bug must not stop scheduling.
    }
  }
}
