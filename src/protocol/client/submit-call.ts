import type { Packet } from '../codec/decoder.ts';
import type { Arg } from '../codec/encoder.ts';
import { utf8 } from '../codec/text.ts';
import { type LongTimer, setLongTimeout } from '../../util/timers.ts';
import { type CallSite, ClientError } from './client-errors.ts';
import type { ClientLink, Reply, Task } from './client-link.ts';
import type { Logger } from '../../util/log.ts';

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

/** How a submit finds a server (the Client's links). */
export interface SubmitRoute {
  readonly links: number;
  readonly logger: Logger;
  /** A connected link not in `exclude`, now, if there is one. */
  nextConnected(exclude?: ReadonlySet<ClientLink>): ClientLink | undefined;
  /** Waits (up to the connect timeout) for a connected link not in `exclude`; rejects with NO_SERVER. */
  pickLink(functionName: string, stack: CallSite | undefined, exclude?: ReadonlySet<ClientLink>): Promise<ClientLink>;
  /** NO_SERVER after waiting this long for any server, with each one's reason. */
  unreachable(waitedMs: number, functionName: string): ClientError;
}

/**
 * One foreground job: sends it to a connected server, waits for JOB_CREATED (the link's reply
 * timeout bounds it), then for the job's WORK_* packets. A connection lost before JOB_CREATED
 * moves the job to the next server. One object per job serves as the link's task and reply,
 * and is the caller's only promise: no closures or timers of its own unless the caller gave a
 * timeout or a signal.
 */
export class SubmitCall implements Task, Reply {
  handle?: string;
  lastWarning?: string;
  readonly onData: ((chunk: Uint8Array) => void) | undefined;
  readonly onWarning: ((chunk: Uint8Array) => void) | undefined;
  readonly onStatus: ((numerator: number, denominator: number) => void) | undefined;
  readonly promise: Promise<JobResult>;
  private settled = false;
  private link: ClientLink | undefined;
  /** Links that dropped before confirming the job. */
  private tried: Set<ClientLink> | undefined;
  private timer: LongTimer | undefined;
  private onAbort: (() => void) | undefined;
  private fulfil!: (result: JobResult) => void;
  private refuse!: (err: Error) => void;

  constructor(
    private readonly route: SubmitRoute,
    readonly functionName: string,
    /** Where the call came from, for its errors; the Client's submit() adds it itself when a job fails. */
    readonly callerStack: CallSite | undefined,
    private readonly watch: SubmitWatch,
    private readonly type: number,
    private readonly request: readonly Arg[],
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
  start(deadline: number | undefined): Promise<JobResult> {
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
        // Still waiting for a server to connect: say why none could be reached, not just "no result".
        () => this.reject(this.link === undefined ? this.route.unreachable(this.watch.timeoutMs ?? 0, this.functionName) : new ClientError('TIMEOUT', `no result within ${this.watch.timeoutMs} ms`, this.context())),
        deadline - Date.now(),
      );
    }
    this.attempt();
    return this.promise;
  }

  private attempt(): void {
    const link = this.route.nextConnected(this.tried);
    if (link) return this.sendOn(link);
    this.route.pickLink(this.functionName, this.callerStack, this.tried).then(
      (picked) => this.settled || this.sendOn(picked),
      (err: Error) => this.reject(err),
    );
  }

  private sendOn(link: ClientLink): void {
    this.link = link;
    link.request(this.type, this.request, 'JOB_CREATED', this, this.functionName, this.callerStack, true);
  }

  /** JOB_CREATED: the job's WORK_* packets now come by its handle. */
  replied(packet: Packet): void {
    if (!this.settled) this.link!.track(utf8(packet.args[0]!), this);
  }

  resolve(data: Uint8Array): void {
    this.cleanup();
    this.fulfil({ handle: this.handle ?? '', server: this.link!.name, data });
  }

  reject(err: Error): void {
    const link = this.link;
    if (link && !this.settled && err instanceof ClientError && err.code === 'CONNECTION_LOST' && err.handle === undefined) {
      (this.tried ??= new Set()).add(link);
      if (this.tried.size < this.route.links) {
        this.route.logger.debug(`client: ${link.name} dropped before confirming ${this.functionName}; trying the next server`);
        this.link = undefined;
        this.attempt();
        return;
      }
    }
    this.cleanup();
    this.refuse(err);
  }

  private abort(): void {
    this.reject(new ClientError('ABORTED', 'the caller cancelled the job', this.context()));
  }

  private context() {
    return {
      functionName: this.functionName,
      ...(this.callerStack === undefined ? {} : { callerStack: this.callerStack }),
      ...(this.link === undefined ? {} : { server: this.link.name }),
      ...(this.handle === undefined ? {} : { handle: this.handle }),
    };
  }

  private cleanup(): void {
    this.settled = true;
    this.timer?.cancel();
    if (this.onAbort) this.watch.signal?.removeEventListener('abort', this.onAbort);
    this.link?.untrack(this);
  }
}
