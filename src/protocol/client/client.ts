import { randomBytes } from 'node:crypto';
import { type Logger, silentLogger } from '../../util/log.ts';
import type { BackoffPolicy } from '../transport/backoff.ts';
import { type CallSite, ClientError, callerStack } from './client-errors.ts';
import { ClientLink } from './client-link.ts';
import type { Packet } from '../codec/decoder.ts';
import type { Arg } from '../codec/encoder.ts';
import { Type } from '../codec/packets.ts';
import type { ServerAddress } from '../transport/connect-address.ts';
import type { ServerLinkStats } from '../transport/server-link-stats.ts';
import { utf8 } from '../codec/text.ts';
import { type JobResult, SubmitCall, type SubmitRoute, type SubmitWatch } from './submit-call.ts';

export type { JobResult } from './submit-call.ts';

export type Priority = 'normal' | 'high' | 'low';

export interface SubmitOptions extends SubmitWatch {
  /** Coalescing key on the server; a random one by default. */
  readonly unique?: string;
  readonly priority?: Priority;
  /**
   * Rejects with code TIMEOUT after this long (any length: Infinity waits forever). The job is
   * not cancelled by this: a server drops a job still queued once its client disconnects.
   */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onData?: (chunk: Uint8Array) => void;
  readonly onWarning?: (chunk: Uint8Array) => void;
  readonly onStatus?: (numerator: number, denominator: number) => void;
}

export interface BackgroundJob {
  readonly handle: string;
  readonly server: string;
}

export interface JobStatus {
  readonly known: boolean;
  readonly running: boolean;
  readonly numerator: number;
  readonly denominator: number;
}

export interface UniqueStatus extends JobStatus {
  /** Clients waiting on the job. */
  readonly waiting: number;
}

export interface ClientOptions {
  readonly servers: readonly ServerAddress[];
  readonly logger?: Logger;
  readonly backoff?: Partial<BackoffPolicy>;
  /** How long a call waits for some server to be connected. */
  readonly connectTimeoutMs?: number;
  /** How long a server may take to answer a request (JOB_CREATED, STATUS_RES); 10 s by default. */
  readonly replyTimeoutMs?: number;
  /** Ask servers for WORK_EXCEPTION (OPTION_REQ exceptions); on by default. */
  readonly exceptions?: boolean;
  readonly maxPacketSize?: number;
  /** See ConnectionOptions.partialPacketTimeoutMs. */
  readonly partialPacketTimeoutMs?: number;
}

const SUBMIT_TYPE: Readonly<Record<Priority, readonly [foreground: number, background: number]>> = {
  normal: [Type.SUBMIT_JOB, Type.SUBMIT_JOB_BG],
  high: [Type.SUBMIT_JOB_HIGH, Type.SUBMIT_JOB_HIGH_BG],
  low: [Type.SUBMIT_JOB_LOW, Type.SUBMIT_JOB_LOW_BG],
};

/** A gearman client over several servers: each call goes to the next connected one. */
export class Client {
  private readonly links: ClientLink[];
  private readonly logger: Logger;
  private readonly connectWaiters = new Set<() => void>();
  private cursor = 0;
  private started = false;
  /**
   * Default uniques: 64 random bits for this client, then a counter. As unlikely to meet
   * another submit's unique as a random UUID, at half its cost per job.
   */
  private readonly uniquePrefix = `${randomBytes(8).toString('hex')}-`;
  private submits = 0;
  private readonly route: SubmitRoute;

  constructor(private readonly options: ClientOptions) {
    if (options.servers.length === 0) throw new TypeError('a client needs at least one gearman server');
    this.logger = options.logger ?? silentLogger;
    this.links = options.servers.map(
      (server) =>
        new ClientLink(
          this.logger,
          {
            server,
            label: 'client',
            logger: this.logger,
            ...(options.backoff ? { backoff: options.backoff } : {}),
            ...(options.maxPacketSize ? { maxPacketSize: options.maxPacketSize } : {}),
            ...(options.partialPacketTimeoutMs ? { partialPacketTimeoutMs: options.partialPacketTimeoutMs } : {}),
          },
          (link) => this.connected(link),
          options.replyTimeoutMs,
        ),
    );
    this.route = {
      links: this.links.length,
      logger: this.logger,
      nextConnected: (exclude) => this.nextConnected(exclude),
      pickLink: (functionName, stack, exclude) => this.pickLink(functionName, stack, exclude),
      unreachable: (waitedMs, functionName) => this.unreachable(waitedMs, functionName, undefined),
    };
  }

  /**
   * Submits a foreground job and resolves with its WORK_COMPLETE data. A connection lost
   * before the server confirmed the job (JOB_CREATED) moves the job to the next server.
   */
  async submit(functionName: string, payload: Arg, options: SubmitOptions = {}): Promise<JobResult> {
    this.start();
    const request: Arg[] = [functionName, options.unique ?? this.nextUnique(), payload];
    const type = SUBMIT_TYPE[options.priority ?? 'normal'][0];
    const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    const job = new SubmitCall(this.route, functionName, undefined, options, type, request).start(deadline);
    try {
      return await job;
    } catch (err) {
      // The caller's stack, taken only now that the job failed: this await keeps the engine's
      // async stack of whoever awaits submit(). Capturing a stack at every submit cost about 3 µs
      // of the client's CPU per job (captureStackTrace 8), more than any other part of a submit.
      if (err instanceof ClientError) Error.captureStackTrace(err, this.submit);
      throw err;
    }
  }

  /** Submits a background job and resolves once a server has queued it. */
  async submitBackground(
    functionName: string,
    payload: Arg,
    options: Pick<SubmitOptions, 'unique' | 'priority'> = {},
  ): Promise<BackgroundJob> {
    const stack = callerStack(this.submitBackground);
    const request: Arg[] = [functionName, options.unique ?? this.nextUnique(), payload];
    const type = SUBMIT_TYPE[options.priority ?? 'normal'][1];
    return this.withFailover(functionName, stack, async (link) => {
      const created = await this.ask(link, type, request, 'JOB_CREATED', functionName, stack);
      return { handle: utf8(created.args[0]!), server: link.name };
    });
  }

  private async withFailover<T>(functionName: string, stack: CallSite, attempt: (link: ClientLink) => Promise<T>): Promise<T> {
    let tried: Set<ClientLink> | undefined;
    for (;;) {
      const link = this.nextConnected(tried) ?? (await this.pickLink(functionName, stack, tried));
      try {
        return await attempt(link);
      } catch (err) {
        (tried ??= new Set()).add(link);
        const unconfirmed = err instanceof ClientError && err.code === 'CONNECTION_LOST' && err.handle === undefined;
        if (!unconfirmed || tried.size >= this.links.length) throw err;
        this.logger.debug(`client: ${link.name} dropped before confirming ${functionName}; trying the next server`);
      }
    }
  }

  /** GET_STATUS for a handle, asked of the server that created it. */
  async status(job: BackgroundJob): Promise<JobStatus> {
    const link = this.links.find((l) => l.name === job.server);
    if (!link) throw new ClientError('NO_SERVER', `no configured server ${job.server}`, { handle: job.handle });
    const reply = await this.ask(link, Type.GET_STATUS, [job.handle], 'STATUS_RES', undefined, callerStack(this.status));
    return jobStatus(reply.args.slice(1).map(utf8));
  }

  /** GET_STATUS_UNIQUE: asks the next connected server about a unique id. */
  async statusByUnique(unique: string): Promise<UniqueStatus> {
    const stack = callerStack(this.statusByUnique);
    const link = await this.pickLink(undefined, stack);
    const reply = await this.ask(link, Type.GET_STATUS_UNIQUE, [unique], 'STATUS_RES_UNIQUE', undefined, stack);
    const fields = reply.args.slice(1).map(utf8);
    return { ...jobStatus(fields), waiting: Number(fields[4]) };
  }

  /** link.ask, bounded by the reply timeout: a server that accepts and never answers must not hold a call forever. */
  private ask(link: ClientLink, type: number, args: readonly Arg[], kind: 'JOB_CREATED' | 'STATUS_RES' | 'STATUS_RES_UNIQUE', functionName: string | undefined, stack: CallSite): Promise<Packet> {
    return link.ask(type, args, kind, functionName, stack);
  }

  /** Each server's connection: up or not, and its reconnects so far (for metrics). */
  servers(): ServerLinkStats[] {
    return this.links.map((link) => ({ server: link.name, connected: link.connection.connected, reconnects: link.connection.reconnects }));
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((link) => link.connection.close()));
  }

  private nextUnique(): string {
    return this.uniquePrefix + (++this.submits).toString(36);
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    for (const link of this.links) link.connection.start();
  }

  private connected(link: ClientLink): void {
    if (this.options.exceptions ?? true) link.requestOptional(Type.OPTION_REQ, ['exceptions'], 'OPTION_RES');
    for (const wake of this.connectWaiters) wake();
  }

  /** The next connected server not in `exclude`, round-robin, if one is connected now. */
  private nextConnected(exclude?: ReadonlySet<ClientLink>): ClientLink | undefined {
    for (let i = 0; i < this.links.length; i++) {
      const link = this.links[(this.cursor + i) % this.links.length]!;
      if (link.connection.connected && !exclude?.has(link)) {
        this.cursor = (this.cursor + i + 1) % this.links.length;
        return link;
      }
    }
    return undefined;
  }

  /** NO_SERVER, with why each server could not be reached (a refused certificate, ECONNREFUSED, …). */
  private unreachable(waitedMs: number, functionName: string | undefined, stack: CallSite | undefined): ClientError {
    const failures = this.links.map((l) => l.connection.lastError);
    const reasons = this.links.map((l, i) => (failures[i] ? `${l.name}: ${failures[i]!.message}` : l.name));
    return new ClientError(
      'NO_SERVER',
      `no gearman server reachable within ${waitedMs} ms (${reasons.join('; ')})`,
      { ...(functionName ? { functionName } : {}), ...(stack ? { callerStack: stack } : {}) },
      failures.find((failure) => failure !== undefined),
    );
  }

  /** The next connected server, round-robin; waits for one up to the connect timeout. */
  private async pickLink(functionName: string | undefined, stack: CallSite | undefined, exclude?: ReadonlySet<ClientLink>): Promise<ClientLink> {
    this.start();
    const waitMs = this.options.connectTimeoutMs ?? 10_000;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const link = this.nextConnected(exclude);
      if (link) return link;
      const left = deadline - Date.now();
      if (left <= 0) throw this.unreachable(waitMs, functionName, stack);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.connectWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.connectWaiters.add(wake);
      });
    }
  }
}

function jobStatus(fields: string[]): JobStatus {
  return {
    known: fields[0] === '1',
    running: fields[1] === '1',
    numerator: Number(fields[2]),
    denominator: Number(fields[3]),
  };
}
