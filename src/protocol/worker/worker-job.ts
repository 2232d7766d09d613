import type { Arg } from '../codec/encoder.ts';
import { JobStateError } from '../../errors/job-failure.ts';
import { Type } from '../codec/packets.ts';

/** What a job needs from the connection it arrived on. */
export interface JobChannel {
  /** False when the packet could not be queued (the connection is down). */
  send(type: number, args: readonly Arg[]): boolean;
  writable(): Promise<void>;
}

export interface JobDescription {
  readonly handle: string;
  readonly functionName: string;
  readonly unique: string;
  readonly payload: Uint8Array;
}

/**
 * A job a worker holds. It sends exactly one terminal packet (complete, fail or exception);
 * intermediate updates (data, warning, status) wait for write backpressure.
 */
export class WorkerJob implements JobDescription {
  readonly handle: string;
  readonly functionName: string;
  readonly unique: string;
  readonly payload: Uint8Array;
  /** Aborted when the worker is stopping and the grace period is over. */
  readonly signal: AbortSignal;

  private state: 'running' | 'finished' = 'running';
  /** Set when the connection the job came on dropped: its result can no longer be delivered. */
  private lostReason: string | undefined;

  constructor(
    description: JobDescription,
    private readonly channel: JobChannel,
    signal: AbortSignal,
    private readonly onUndeliverable: (job: WorkerJob, what: string, reason: string) => void,
  ) {
    this.handle = description.handle;
    this.functionName = description.functionName;
    this.unique = description.unique;
    this.payload = description.payload;
    this.signal = signal;
  }

  get finished(): boolean {
    return this.state === 'finished';
  }

  /** True once the job's connection dropped. */
  get connectionLost(): boolean {
    return this.lostReason !== undefined;
  }

  markConnectionLost(reason: string): void {
    this.lostReason ??= reason;
  }

  data(chunk: Arg): Promise<void> {
    return this.update(Type.WORK_DATA, [this.handle, chunk], 'WORK_DATA');
  }

  warning(chunk: Arg): Promise<void> {
    return this.update(Type.WORK_WARNING, [this.handle, chunk], 'WORK_WARNING');
  }

  status(numerator: number, denominator: number): Promise<void> {
    return this.update(
      Type.WORK_STATUS,
      [this.handle, String(Math.trunc(numerator)), String(Math.trunc(denominator))],
      'WORK_STATUS',
    );
  }

  complete(result: Arg = ''): void {
    this.finish(Type.WORK_COMPLETE, [this.handle, result], 'WORK_COMPLETE');
  }

  /**
   * WORK_FAIL carries no data, so a reason goes first as WORK_WARNING: clients show it, and
   * nodepool 0.3 (gear) only appends it to data it does not read for a failed job.
   */
  fail(reason?: string): void {
    if (reason !== undefined && this.state !== 'finished') this.deliver(Type.WORK_WARNING, [this.handle, reason], 'WORK_WARNING');
    this.finish(Type.WORK_FAIL, [this.handle], 'WORK_FAIL');
  }

  exception(message: string): void {
    this.finish(Type.WORK_EXCEPTION, [this.handle, message], 'WORK_EXCEPTION');
  }

  private update(type: number, args: readonly Arg[], what: string): Promise<void> {
    if (this.state === 'finished') throw new JobStateError(`${what} after the job ${this.handle} finished`);
    if (!this.deliver(type, args, what)) return Promise.resolve();
    return this.channel.writable();
  }

  private finish(type: number, args: readonly Arg[], what: string): void {
    if (this.state === 'finished') throw new JobStateError(`${what} after the job ${this.handle} finished`);
    this.state = 'finished';
    this.deliver(type, args, what);
  }

  private deliver(type: number, args: readonly Arg[], what: string): boolean {
    if (this.lostReason === undefined && this.channel.send(type, args)) return true;
    this.lostReason ??= 'the connection is down';
    this.onUndeliverable(this, what, this.lostReason);
    return false;
  }
}
