import { AbortReason } from '../../errors/abort-reason.ts';
import { oneLine } from '../../errors/thrown.ts';
import { type Logger, silentLogger } from '../../util/log.ts';
import type { BackoffPolicy } from '../transport/backoff.ts';
import type { Arg } from '../codec/encoder.ts';
import { JobFailure, failureText } from '../../errors/job-failure.ts';
import { type ServerAddress, describeServer } from '../transport/connect-address.ts';
import type { ServerLinkStats } from '../transport/server-link-stats.ts';
import { WorkerJob } from './worker-job.ts';
import { type AssignedJob, type LinkOwner, type RegisteredFunction, WorkerLink } from './worker-link.ts';

const isPromiseLike = (value: unknown): value is PromiseLike<Arg | undefined | void> =>
  typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';

export type JobHandler = (job: WorkerJob) => Promise<Arg | undefined | void> | Arg | undefined | void;

export interface FunctionOptions {
  /** The job class whose slots the function's jobs use; the first class by default. */
  readonly jobClass?: string;
  /** Registered with CAN_DO_TIMEOUT: the server requeues a job the worker holds longer. */
  readonly timeoutMs?: number;
}

export interface WorkerOptions {
  readonly servers: readonly ServerAddress[];
  /** Job classes and their concurrent slots, e.g. { build: 1, upload: 4 }. */
  readonly slots?: Readonly<Record<string, number>>;
  readonly clientId?: string;
  readonly logger?: Logger;
  readonly backoff?: Partial<BackoffPolicy>;
  readonly connectTimeoutMs?: number;
  readonly echoIntervalMs?: number;
  readonly maxPacketSize?: number;
  /** See ConnectionOptions.partialPacketTimeoutMs. */
  readonly partialPacketTimeoutMs?: number;
  /** See WorkerLinkOptions.grabTimeoutMs. */
  readonly grabTimeoutMs?: number;
}

/** GRABs one connection keeps in flight at most (more only multiply NO_JOB answers). */
export const MAX_GRABS_PER_LINK = 4;

interface JobClass {
  readonly name: string;
  readonly slots: number;
  readonly links: WorkerLink[];
  /** Jobs whose handlers are running. */
  active: number;
  /** GRABs sent and not answered yet: each holds a slot, so no job ever arrives without one. */
  reserved: number;
  cursor: number;
}

interface FunctionEntry extends RegisteredFunction {
  readonly handler: JobHandler;
  readonly jobClass: JobClass;
}

export interface WorkerStats {
  readonly busy: Readonly<Record<string, number>>;
  /** Each job class's slots, busy or not. */
  readonly slots: Readonly<Record<string, number>>;
  readonly reconnects: number;
  /** Each job server, over the connections of every job class. */
  readonly servers: readonly ServerLinkStats[];
}

/**
 * A gearman worker on every configured server. Each job class has its own connection per
 * server and its own number of slots; a class grabs (GRAB_JOB_UNIQ) only while it has a free
 * slot, so a long build never holds up uploads and no job waits inside the worker.
 */
export class Worker {
  private readonly classes = new Map<string, JobClass>();
  private readonly functionsByName = new Map<string, FunctionEntry>();
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly idleWaiters: (() => void)[] = [];
  private started = false;
  private stopping = false;

  constructor(private readonly options: WorkerOptions) {
    if (options.servers.length === 0) throw new TypeError('a worker needs at least one gearman server');
    this.logger = options.logger ?? silentLogger;
    const slots = options.slots ?? { default: 1 };
    for (const [name, count] of Object.entries(slots)) {
      if (!Number.isInteger(count) || count < 1) throw new TypeError(`job class ${name} needs at least one slot`);
      const jobClass: JobClass = { name, slots: count, links: [], active: 0, reserved: 0, cursor: 0 };
      for (const server of options.servers) jobClass.links.push(this.createLink(jobClass, server));
      this.classes.set(name, jobClass);
    }
    if (this.classes.size === 0) throw new TypeError('a worker needs at least one job class');
  }

  /** Registers (or re-registers) a function, at once on every connected server. */
  register(name: string, handler: JobHandler, options: FunctionOptions = {}): void {
    const jobClass = this.jobClass(options.jobClass);
    const entry: FunctionEntry = { name, handler, jobClass, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) };
    const previous = this.functionsByName.get(name);
    if (previous && (previous.jobClass !== jobClass || previous.timeoutMs !== entry.timeoutMs)) this.unregister(name);
    // gearmand keeps every CAN_DO, duplicates included (each counts as one more worker): a
    // function the server already has from this connection only gets its new handler.
    const known = this.functionsByName.has(name);
    this.functionsByName.set(name, entry);
    for (const link of jobClass.links) {
      const retiring = link.keep(name);
      if (known || retiring) continue;
      link.canDo(entry);
      // A sleeping connection is not woken by CAN_DO: grab in case jobs are already queued.
      link.awake = link.connection.connected;
      link.jobsFlowing = false;
    }
    this.pump(jobClass);
  }

  /** Unregisters a function (CANT_DO); jobs of it that are running carry on and deliver their results. */
  unregister(name: string): boolean {
    const entry = this.functionsByName.get(name);
    if (!entry) return false;
    this.functionsByName.delete(name);
    for (const link of entry.jobClass.links) link.cantDo(name);
    return true;
  }

  registered(): string[] {
    return [...this.functionsByName.keys()];
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const jobClass of this.classes.values()) for (const link of jobClass.links) link.connection.start();
  }

  stats(): WorkerStats {
    const busy: Record<string, number> = {};
    const slots: Record<string, number> = {};
    let reconnects = 0;
    const servers = this.options.servers.map((server) => ({ server: describeServer(server), connected: true, reconnects: 0 }));
    for (const jobClass of this.classes.values()) {
      busy[jobClass.name] = jobClass.active;
      slots[jobClass.name] = jobClass.slots;
      // A class has one link per server, in the order of options.servers.
      jobClass.links.forEach((link, i) => {
        reconnects += link.connection.reconnects;
        const server = servers[i]!;
        server.reconnects += link.connection.reconnects;
        server.connected &&= link.connection.connected;
      });
    }
    return { busy, slots, reconnects, servers };
  }

  /**
   * Stops grabbing, waits for running jobs up to the grace period, then aborts what is left
   * (job.signal) and closes every connection; the server requeues jobs that never finished.
   */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    const idle = new Promise<void>((resolve) => {
      if (this.isIdle()) resolve();
      else this.idleWaiters.push(resolve);
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), graceMs)));
    const outcome = await Promise.race([idle, expired]);
    clearTimeout(timer);
    if (outcome === 'expired') {
      this.logger.warn(`stopping with ${this.activeJobs()} job(s) still running after ${graceMs} ms; aborting them`);
      this.abort.abort(new AbortReason('WORKER_STOPPING', 'the worker is stopping'));
    }
    const closing: Promise<void>[] = [];
    for (const jobClass of this.classes.values()) for (const link of jobClass.links) closing.push(link.connection.close());
    await Promise.all(closing);
  }

  private jobClass(name: string | undefined): JobClass {
    const jobClass = name === undefined ? this.classes.values().next().value : this.classes.get(name);
    if (!jobClass) throw new TypeError(`unknown job class ${name}; known: ${[...this.classes.keys()].join(', ')}`);
    return jobClass;
  }

  private createLink(jobClass: JobClass, server: ServerAddress): WorkerLink {
    const { options } = this;
    const owner: LinkOwner = {
      functions: () => [...this.functionsByName.values()].filter((fn) => fn.jobClass === jobClass),
      clientId: () => (options.clientId ? `${options.clientId}/${jobClass.name}`.replace(/\s+/g, '_') : undefined),
      grabSettled: (link, job) => {
        jobClass.reserved--;
        if (job) this.run(jobClass, link, job);
        this.pump(jobClass);
        this.notifyIfIdle();
      },
      wake: () => this.pump(jobClass),
      lost: (link, reason) => {
        this.logger.debug(`${link.label} (${jobClass.name}): ${reason.message}`);
        this.pump(jobClass);
      },
    };
    return new WorkerLink(owner, this.logger, {
      server,
      label: `worker/${jobClass.name}`,
      logger: this.logger,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.echoIntervalMs ? { echoIntervalMs: options.echoIntervalMs } : {}),
      ...(options.maxPacketSize ? { maxPacketSize: options.maxPacketSize } : {}),
      ...(options.partialPacketTimeoutMs ? { partialPacketTimeoutMs: options.partialPacketTimeoutMs } : {}),
      ...(options.grabTimeoutMs ? { grabTimeoutMs: options.grabTimeoutMs } : {}),
    });
  }

  /**
   * Sends GRABs while the class has free slots, round-robin over its awake connections. Each
   * GRAB reserves a slot, and a connection keeps a few in flight (a GRAB is a round trip
   * through the server; one at a time leaves slots idle between jobs).
   */
  private pump(jobClass: JobClass): void {
    const { links } = jobClass;
    while (!this.stopping && jobClass.active + jobClass.reserved < jobClass.slots) {
      let picked: WorkerLink | undefined;
      for (let i = 0; i < links.length && !picked; i++) {
        const link = links[(jobClass.cursor + i) % links.length]!;
        const limit = link.jobsFlowing ? MAX_GRABS_PER_LINK : 1;
        if (link.awake && link.grabsPending < limit && link.connection.connected) picked = link;
      }
      if (!picked) return;
      jobClass.cursor = (links.indexOf(picked) + 1) % links.length;
      const before = picked.grabsPending;
      picked.grab();
      if (picked.grabsPending === before) return;
      jobClass.reserved++;
    }
  }

  private readonly undeliverable = (failed: WorkerJob, what: string, reason: string): void => {
    const log = what === 'WORK_COMPLETE' || what === 'WORK_FAIL' || what === 'WORK_EXCEPTION' ? 'warn' : 'debug';
    this.logger[log](`job ${failed.handle} (${failed.functionName}): ${what} not delivered: ${reason}`);
  };

  private run(jobClass: JobClass, link: WorkerLink, assigned: AssignedJob): void {
    const entry = this.functionsByName.get(assigned.functionName);
    const job = new WorkerJob(assigned, link, this.abort.signal, this.undeliverable);
    jobClass.active++;
    link.jobs.add(job);
    if (!entry || entry.jobClass !== jobClass) {
      const missing = new JobFailure('NO_HANDLER', `no handler for ${assigned.functionName} in class ${jobClass.name}`);
      this.settle(jobClass, link, job, true, missing);
      return;
    }
    let outcome: ReturnType<JobHandler>;
    try {
      outcome = entry.handler(job);
    } catch (err) {
      outcome = Promise.reject(err);
    }
    if (isPromiseLike(outcome)) {
      outcome.then(
        (result) => this.settle(jobClass, link, job, false, result),
        (err: unknown) => this.settle(jobClass, link, job, true, err),
      );
    } else {
      // A plain value settles a microtask later, as Promise.resolve(value).then would, without the promises.
      const result = outcome;
      queueMicrotask(() => this.settle(jobClass, link, job, false, result));
    }
  }

  private failJob(job: WorkerJob, err: unknown): void {
    if (err instanceof JobFailure) {
      this.logger.warn(`job ${job.handle} (${job.functionName}) failed: ${err.code}: ${err.message}`);
      job.fail(failureText(oneLine(err.message), err.logTail));
    } else {
      this.logger.error(`job ${job.handle} (${job.functionName}) raised: ${oneLine(err)}`);
      job.exception(oneLine(err));
    }
  }

  /**
   * Sends the job's terminal packet (unless its handler already did): WORK_COMPLETE with the
   * handler's result, or a failure for what it threw. Then frees its slot and grabs again, all
   * in one turn so the result and the next GRAB leave in one write.
   */
  private settle(jobClass: JobClass, link: WorkerLink, job: WorkerJob, failed: boolean, outcome: unknown): void {
    if (!job.finished) {
      if (failed) this.failJob(job, outcome);
      else job.complete((outcome as Arg | undefined | void) ?? '');
    }
    jobClass.active--;
    link.jobDone(job);
    this.pump(jobClass);
    this.notifyIfIdle();
  }

  private activeJobs(): number {
    let active = 0;
    for (const jobClass of this.classes.values()) active += jobClass.active;
    return active;
  }

  /** No job running and no GRAB unanswered (an answer could still bring a job). */
  private isIdle(): boolean {
    for (const jobClass of this.classes.values()) if (jobClass.active > 0 || jobClass.reserved > 0) return false;
    return true;
  }

  private notifyIfIdle(): void {
    if (this.stopping && this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  describe(): string {
    return this.options.servers.map(describeServer).join(', ');
  }
}
