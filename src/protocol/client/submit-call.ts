import type { Packet } from '../codec/decoder.ts';
import type { Arg } from '../codec/encoder.ts';
import { utf8 } from '../codec/text.ts';
import { type LongTimer, setLongTimeout } from '../../util/timers.ts';
import { type CallSite, ClientError } from './client-errors.ts';
import type { ClientLink, Reply, Task } from './client-link.ts';

export interface JobResult {
  readonly handle: string;
  readonly server: string;
  readonly data: Uint8Array;
}

/** What a foreground submit watches while it waits (Client's SubmitOptions). */
export interface SubmitWatch {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onData?: (chunk: Uint8Array) => void;
  readonly onWarning?: (chunk: Uint8Array) => void;
  readonly onStatus?: (numerator: number, denominator: number) => void;
}

/**
 * One foreground job on one link: waits for JOB_CREATED (the link's reply timeout bounds it),
 * then for the job's WORK_* packets. One object per job serves as the link's task and reply,
 * with no closures or timers of its own unless the caller gave a timeout or a signal.
 */
export class SubmitCall implements Task, Reply {
  handle?: string;
  lastWarning?: string;
  readonly onData: ((chunk: Uint8Array) => void) | undefined;
  readonly onWarning: ((chunk: Uint8Array) => void) | undefined;
  readonly onStatus: ((numerator: number, denominator: number) => void) | undefined;
  readonly promise: Promise<JobResult>;
  private settled = false;
  private timer: LongTimer | undefined;
  private onAbort: (() => void) | undefined;
  private fulfil!: (result: JobResult) => void;
  private refuse!: (err: Error) => void;

  constructor(
    private readonly link: ClientLink,
    readonly functionName: string,
    readonly callerStack: CallSite,
    private readonly watch: SubmitWatch,
  ) {
    this.onData = watch.onData;
    this.onWarning = watch.onWarning;
    this.onStatus = watch.onStatus;
    this.promise = new Promise<JobResult>((resolve, reject) => {
      this.fulfil = resolve;
      this.refuse = reject;
    });
  }

  /** Sends the request; `deadline` (epoch ms) bounds the whole job. */
  start(type: number, request: readonly Arg[], deadline: number | undefined): Promise<JobResult> {
    const { signal } = this.watch;
    if (signal?.aborted) {
      this.abort();
      return this.promise;
    }
    if (signal) {
      this.onAbort = () => this.abort();
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    if (deadline !== undefined) {
      this.timer = setLongTimeout(
        () => this.reject(new ClientError('TIMEOUT', `no result within ${this.watch.timeoutMs} ms`, this.context())),
        deadline - Date.now(),
      );
    }
    this.link.request(type, request, 'JOB_CREATED', this, this.functionName, this.callerStack, true);
    return this.promise;
  }

  /** JOB_CREATED: the job's WORK_* packets now come by its handle. */
  replied(packet: Packet): void {
    if (!this.settled) this.link.track(utf8(packet.args[0]!), this);
  }

  resolve(data: Uint8Array): void {
    this.cleanup();
    this.fulfil({ handle: this.handle ?? '', server: this.link.name, data });
  }

  reject(err: Error): void {
    this.cleanup();
    this.refuse(err);
  }

  private abort(): void {
    this.reject(new ClientError('ABORTED', 'the caller cancelled the job', this.context()));
  }

  private context() {
    return {
      functionName: this.functionName,
      server: this.link.name,
      callerStack: this.callerStack,
      ...(this.handle === undefined ? {} : { handle: this.handle }),
    };
  }

  private cleanup(): void {
    this.settled = true;
    this.timer?.cancel();
    if (this.onAbort) this.watch.signal?.removeEventListener('abort', this.onAbort);
    this.link.untrack(this);
  }
}
