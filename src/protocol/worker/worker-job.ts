import type { Arg } from '../codec/encoder.ts';
import { JobStateError } from '../../errors/job-failure.ts';
import { Type } from '../codec/packets.ts';
import { utf8 } from '../codec/text.ts';
import type { AssignedJob } from './worker-link.ts';

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
 * intermediate updates (data, warning, status) wait for write backpressure. Its handle and
 * unique stay bytes until read: packets carry the handle's bytes back as they came.
 */
export class WorkerJob implements JobDescription {
  readonly functionName: string;
  readonly payload: Uint8Array;
  /** Aborted when the worker is stopping and the grace period is over. */
  readonly signal: AbortSignal;

  private state: 'running' | 'finished' = 'running';
  /** Set when the connection the job came on dropped: its result can no longer be delivered. */
  private lostReason: string | undefined;
  private readonly handleBytes: Uint8Array;
  private readonly uniqueBytes: Uint8Array | undefined;
  private handleText: string | undefined;
  private uniqueText: string | undefined;

  constructor(
    assigned: AssignedJob,
    private readonly channel: JobChannel,
    signal: AbortSignal,
    private readonly onUndeliverable: (job: WorkerJob, what: string, reason: string) => void,
  ) {
    this.handleBytes = assigned.handle;
    this.uniqueBytes = assigned.unique;
    this.functionName = assigned.functionName;
    this.payload = assigned.payload;
    this.signal = signal;
  }

  get handle(): string {
    return (this.handleText ??= utf8(this.handleBytes));
  }

  /** The job's unique id ('' for a JOB_ASSIGN, which carries none). */
  get unique(): string {
    return (this.uniqueText ??= this.uniqueBytes ? utf8(this.uniqueBytes) : '');
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
    return this.update(Type.WORK_DATA, [this.handleBytes, chunk], 'WORK_DATA');
  }

  warning(chunk: Arg): Promise<void> {
    return this.update(Type.WORK_WARNING, [this.handleBytes, chunk], 'WORK_WARNING');
  }

  status(numerator: number, denominator: number): Promise<void> {
    return this.update(
      Type.WORK_STATUS,
      [this.handleBytes, String(Math.trunc(numerator)), String(Math.trunc(denominator))],
      'WORK_STATUS',
    );
  }

  complete(result: Arg = ''): void {
    this.finish(Type.WORK_COMPLETE, [this.handleBytes, result], 'WORK_COMPLETE');
  }

  /**
   * WORK_FAIL carries no data, so a reason goes first as WORK_WARNING: clients show it, and
   * nodepool 0.3 (gear) only appends it to data it does not read for a failed job.
   */
  fail(reason?: string): void {
    if (reason !== undefined && this.state !== 'finished') this.deliver(Type.WORK_WARNING, [this.handleBytes, reason], 'WORK_WARNING');
    this.finish(Type.WORK_FAIL, [this.handleBytes], 'WORK_FAIL');
  }

  exception(message: string): void {
    this.finish(Type.WORK_EXCEPTION, [this.handleBytes, message], 'WORK_EXCEPTION');
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
