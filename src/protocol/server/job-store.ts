/**
 * The job server's state and the rules that change it, with no I/O: functions and their
 * priority queues, jobs by handle, coalescing (unique-index.ts), limits and counts.
 * broker.ts turns its outcomes into packets.
 */
import { Buffer } from 'node:buffer';
import { latin1 } from '../codec/text.ts';
import { DueQueue } from './due-queue.ts';
import { type ClientSide, FunctionEntry, Job, NO_PROGRESS, PRIORITIES, type Priority, type WorkerSide } from './job.ts';
import { UniqueIndex } from './unique-index.ts';

/** gearmand's limits (GEARMAN_MAX_UNIQUE_SIZE and friends). */
export const MAX_HANDLE_LENGTH = 64;
export const MAX_UNIQUE_LENGTH = 64;
export const MAX_FUNCTION_LENGTH = 512;

export interface StoreLimits {
  /** Jobs held at once, queued or running; 0 is unlimited. */
  readonly maxQueuedJobs: number;
  /** Payload bytes held at once; 0 is unlimited. */
  readonly maxQueuedBytes: number;
  /** A job is failed when its worker was lost this many times; 0 retries forever (gearmand's default). */
  readonly jobRetries: number;
  /** "H:<host>": handles are "<prefix>:<n>". */
  readonly handlePrefix: string;
}

export interface Submission {
  readonly functionName: Uint8Array;
  /** The function name decoded already (by the access check), so a submit decodes it once. */
  readonly functionNameText?: string | undefined;
  readonly unique: Uint8Array;
  readonly payload: Uint8Array;
  readonly priority: Priority;
  readonly background: boolean;
  readonly reducer?: Uint8Array;
  /** SUBMIT_JOB_EPOCH: not runnable before this time (ms since the epoch). */
  readonly runAt?: number;
}

export type SubmitResult =
  | { readonly ok: true; readonly job: Job; readonly created: boolean }
  | { readonly ok: false; readonly code: 'QUEUE_ERROR' | 'ARGUMENT_TOO_LARGE'; readonly text: string };

export type RequeueResult = 'requeued' | 'dropped' | 'exhausted';

/**
 * A private, unpooled copy: a long decoded argument is a view that would pin the whole socket
 * read, and Buffer.from would pin a shared 8 KiB pool slab for as long as the job lives.
 */
function own(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

/** CAN_DO: the worker does `fn` from now on; false when it already did. */
export function addWorker(worker: WorkerSide, fn: FunctionEntry): boolean {
  if (fn.workers.has(worker)) return false;
  fn.workers.add(worker);
  if (fn.runnable > 0) worker.ready.add(fn);
  return true;
}

/** CANT_DO, or the connection closed. */
export function removeWorker(worker: WorkerSide, fn: FunctionEntry): void {
  fn.workers.delete(worker);
  worker.ready.delete(fn);
}

const QUEUE_FULL = { ok: false, code: 'QUEUE_ERROR', text: 'Job queue is full' } as const;

export class JobStore {
  readonly functions = new Map<string, FunctionEntry>();
  /** Every job by handle, in creation order (what `show jobs` lists). */
  readonly jobs = new Map<string, Job>();
  /** Payload bytes of the jobs held. */
  heldBytes = 0;

  private readonly uniques = new UniqueIndex();
  private readonly due = new DueQueue();
  private handleCount = 0;

  constructor(private readonly limits: StoreLimits) {}

  functionFor(nameBytes: Uint8Array, name: string = latin1(nameBytes)): FunctionEntry {
    let fn = this.functions.get(name);
    if (fn === undefined) {
      fn = new FunctionEntry(name);
      this.functions.set(name, fn);
    }
    return fn;
  }

  get scheduled(): number {
    return this.due.length;
  }

  /** When the next SUBMIT_JOB_EPOCH job becomes runnable (ms), if any waits. */
  get nextDueAt(): number | undefined {
    return this.due.nextAt;
  }

  submit(s: Submission, client?: ClientSide): SubmitResult {
    if (s.unique.length > MAX_UNIQUE_LENGTH) return { ok: false, code: 'ARGUMENT_TOO_LARGE', text: 'Unique value too large' };
    if (s.functionName.length > MAX_FUNCTION_LENGTH) {
      return { ok: false, code: 'ARGUMENT_TOO_LARGE', text: 'Function name too large' };
    }
    const fn = this.functionFor(s.functionName, s.functionNameText);
    const unique = latin1(s.unique);
    const key = this.uniques.keyOf(fn, unique, s.payload);
    let job = key === undefined ? undefined : this.uniques.find(key, s.payload);
    const created = job === undefined;
    if (job === undefined) {
      const limit = fn.maxQueue[s.priority];
      if (limit > 0 && fn.total >= limit) return QUEUE_FULL;
      const { maxQueuedJobs, maxQueuedBytes } = this.limits;
      if (maxQueuedJobs > 0 && this.jobs.size >= maxQueuedJobs) return QUEUE_FULL;
      if (maxQueuedBytes > 0 && this.heldBytes + s.payload.length > maxQueuedBytes) return QUEUE_FULL;
      job = this.create(fn, unique, key, s);
    } else if (s.background) {
      job.background = true;
    }
    // A running job its last client left is wanted again: a worker's disconnect requeues it.
    if (job.ignored && (client !== undefined || s.background)) job.ignored = false;
    if (client !== undefined) {
      job.waiters.push(client);
      client.waiting.set(job, (client.waiting.get(job) ?? 0) + 1);
    }
    return { ok: true, job, created };
  }

  /**
   * The job a worker runs next: across its functions, the highest priority, and the oldest
   * within it. Jobs cancelled or abandoned while queued are dropped on the way.
   */
  take(worker: WorkerSide): Job | undefined {
    for (;;) {
      let best: Job | undefined;
      for (const fn of worker.ready) {
        for (const p of PRIORITIES) {
          const head = fn.queues[p].peek();
          if (head === undefined) continue;
          if (best === undefined || p < best.priority || (p === best.priority && head.seq < best.seq)) best = head;
          break;
        }
      }
      if (best === undefined) return undefined;
      const fn = best.fn;
      this.dequeue(fn, best.priority);
      if (best.ignored) {
        this.forget(best);
        continue;
      }
      fn.queued[best.priority]--;
      fn.running++;
      best.state = 'running';
      best.worker = worker;
      worker.running.add(best);
      return best;
    }
  }

  /** True when a worker with these abilities would get a job now. */
  hasWorkFor(worker: WorkerSide): boolean {
    return worker.ready.size > 0;
  }

  /**
   * A running job lost its worker (disconnect or CAN_DO_TIMEOUT): back to the end of its
   * queue, as gearmand does, unless it ran out of retries (the caller fails it) or nobody
   * wants it any more (it is dropped).
   */
  requeue(job: Job): RequeueResult {
    job.retries++;
    if (this.limits.jobRetries > 0 && job.retries >= this.limits.jobRetries) return 'exhausted';
    if (job.ignored) {
      this.forget(job);
      return 'dropped';
    }
    this.stopTimer(job);
    job.worker?.running.delete(job);
    job.worker = undefined;
    job.fn.running--;
    job.fn.queued[job.priority]++;
    job.state = 'queued';
    job.numerator = NO_PROGRESS;
    job.denominator = NO_PROGRESS;
    this.enqueue(job);
    return 'requeued';
  }

  /** Removes a finished job (completed, failed, out of retries). It must not sit in a queue. */
  finish(job: Job): void {
    this.forget(job);
  }

  /**
   * `cancel job`: the job's clients are detached (the caller sends them WORK_FAIL) and it will
   * not run; like gearmand, it stays listed until a worker would have taken it.
   */
  cancel(handle: string): ClientSide[] | undefined {
    const job = this.jobs.get(handle);
    if (job === undefined) return undefined;
    const waiters = [...job.waiters];
    for (const client of waiters) this.detach(job, client);
    this.ignore(job);
    return waiters;
  }

  /** A client connection went away: its submissions no longer wait on the job. */
  detach(job: Job, client: ClientSide): void {
    const waiters = job.waiters;
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i] === client) waiters.splice(i, 1);
    client.waiting.delete(job);
    // gearmand's ignore_job: a foreground job nobody waits for any more is not run (again).
    if (waiters.length !== 0 || job.background) return;
    if (job.state === 'running') {
      // As gearmand, it keeps its unique while it runs: a client submitting it again (a
      // scheduler back from a crash) attaches to the run instead of starting a second one.
      job.ignored = true;
      job.persisted = false;
    } else this.ignore(job);
  }

  /** Moves the SUBMIT_JOB_EPOCH jobs that are due into their queues; returns their functions. */
  releaseDue(now: number): Set<FunctionEntry> {
    const released = new Set<FunctionEntry>();
    for (let job = this.due.popDue(now); job !== undefined; job = this.due.popDue(now)) {
      if (job.ignored) {
        this.forget(job);
        continue;
      }
      job.state = 'queued';
      this.enqueue(job);
      released.add(job.fn);
    }
    return released;
  }

  /** GET_STATUS_UNIQUE: the first job with this unique, whatever its function. */
  findByUnique(unique: string): Job | undefined {
    return this.uniques.findByUnique(unique);
  }

  stopTimer(job: Job): void {
    if (job.timer !== undefined) clearTimeout(job.timer);
    job.timer = undefined;
  }

  private create(fn: FunctionEntry, unique: string, key: string | undefined, s: Submission): Job {
    const handle = `${this.limits.handlePrefix}:${++this.handleCount}`;
    const runAt = s.runAt ?? 0;
    const job = new Job({
      handle,
      handleBytes: Buffer.from(handle, 'latin1'),
      fn,
      unique,
      uniqueBytes: own(s.unique),
      payload: own(s.payload),
      reducer: s.reducer === undefined || s.reducer.length === 0 ? undefined : own(s.reducer),
      priority: s.priority,
      background: s.background,
      runAt,
      key,
      seq: this.handleCount,
    });
    this.jobs.set(handle, job);
    this.heldBytes += job.payload.length;
    this.uniques.add(job);
    fn.queued[job.priority]++;
    if (runAt > Date.now()) {
      job.state = 'scheduled';
      this.due.push(job);
    } else {
      this.enqueue(job);
    }
    return job;
  }

  /** Into its function's queue; the function's first runnable job makes it ready for its workers. */
  private enqueue(job: Job): void {
    const fn = job.fn;
    if (fn.runnable === 0) for (const worker of fn.workers) worker.ready.add(fn);
    fn.queues[job.priority].push(job);
  }

  private dequeue(fn: FunctionEntry, priority: Priority): void {
    fn.queues[priority].shift();
    if (fn.runnable === 0) for (const worker of fn.workers) worker.ready.delete(fn);
  }

  private ignore(job: Job): void {
    job.ignored = true;
    job.persisted = false;
    // A later submission with the same unique starts afresh instead of joining a job that will not run.
    this.uniques.remove(job);
  }

  /** Drops every trace of a job that is in no queue. */
  private forget(job: Job): void {
    this.stopTimer(job);
    if (this.jobs.get(job.handle) !== job) return;
    this.jobs.delete(job.handle);
    this.uniques.remove(job);
    this.heldBytes -= job.payload.length;
    if (job.state === 'running') {
      job.fn.running--;
      job.worker?.running.delete(job);
      job.worker = undefined;
    } else {
      job.fn.queued[job.priority]--;
    }
    for (const client of job.waiters) client.waiting.delete(job);
    job.waiters.length = 0;
  }
}

