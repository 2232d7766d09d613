/**
 * The scheduler's work in progress, as the dashboard shows it: every job the runner has out,
 * with its latest WORK_STATUS and the throughput since its first one. Fed by the runner's events.
 */
import type { JobBuilder, JobEnd, JobKind, JobProgress, JobStart, PassEnd, RunnerEvents } from '../scheduler/runner-events.ts';

export interface RunningJob {
  readonly id: string;
  readonly kind: JobKind;
  readonly functionName: string;
  readonly startedAt: number;
  /** The latest WORK_STATUS (uploads: KiB sent of the file's KiB), if one came. */
  readonly progress: { readonly numerator: number; readonly denominator: number; readonly at: number } | undefined;
  /** Units (KiB for uploads) per second between the first and the latest WORK_STATUS. */
  readonly perSecond: number | undefined;
  /** The builder running it, once the runner has learnt it (builds; gearman does not say). */
  readonly builder: string | undefined;
}

interface Tracked {
  readonly start: JobStart;
  first: JobProgress | undefined;
  last: JobProgress | undefined;
  builder: string | undefined;
}

export class Activity implements RunnerEvents {
  private readonly jobs = new Map<string, Tracked>();
  private changed = 0;

  /** Moves at every event: a client that saw this number has seen everything until then. */
  get version(): number {
    return this.changed;
  }

  jobStarted(job: JobStart): void {
    this.jobs.set(job.id, { start: job, first: undefined, last: undefined, builder: undefined });
    this.changed++;
  }

  jobProgress(progress: JobProgress): void {
    const tracked = this.jobs.get(progress.id);
    if (!tracked) return;
    tracked.first ??= progress;
    tracked.last = progress;
    this.changed++;
  }

  jobBuilder(job: JobBuilder): void {
    const tracked = this.jobs.get(job.id);
    if (!tracked) return;
    tracked.builder = job.builder;
    this.changed++;
  }

  jobEnded(job: JobEnd): void {
    this.jobs.delete(job.id);
    this.changed++;
  }

  passEnded(_pass: PassEnd): void {
    this.changed++;
  }

  running(): RunningJob[] {
    return [...this.jobs.values()].map(({ start, first, last, builder }) => {
      const seconds = first && last ? (last.at - first.at) / 1000 : 0;
      return {
        ...start,
        progress: last ? { numerator: last.numerator, denominator: last.denominator, at: last.at } : undefined,
        perSecond: first && last && seconds > 0 ? (last.numerator - first.numerator) / seconds : undefined,
        builder,
      };
    });
  }
}
