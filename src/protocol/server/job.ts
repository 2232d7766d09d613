/**
 * What the job server keeps: functions with their queues, and jobs. Plain data; the rules that
 * change it live in job-store.ts, wakeups.ts and broker.ts.
 */
import { Fifo } from './fifo.ts';

/** Queue index: gearmand's order, high first. */
export type Priority = 0 | 1 | 2;
export const HIGH: Priority = 0;
export const NORMAL: Priority = 1;
export const LOW: Priority = 2;
export const PRIORITIES: readonly Priority[] = [HIGH, NORMAL, LOW];

/** GET_STATUS's numbers for a job that has sent no WORK_STATUS (yet, or since it was requeued). */
export const NO_PROGRESS: Uint8Array = new TextEncoder().encode('0');

export type SleepState = 'awake' | 'sleeping' | 'woken';

/** A function a worker connection registered, and its CAN_DO_TIMEOUT (0: none). */
export interface Ability {
  readonly fn: FunctionEntry;
  readonly timeoutMs: number;
}

/** The worker side of a connection, as the store and the wake-up logic see it. */
export interface WorkerSide {
  readonly id: number;
  readonly abilities: ReadonlyMap<string, Ability>;
  readonly running: Set<Job>;
  /**
   * Of its functions, those with a job it may take now (kept by JobStore as queues fill and
   * empty), so a job costs the same whether the worker registered one function or thousands.
   */
  readonly ready: Set<FunctionEntry>;
  sleep: SleepState;
  /** When the last NOOP went out (ms), for the wake-up timeout. */
  wokenAt: number;
  /** Order of its last PRE_SLEEP among all workers: the longest asleep is woken first. */
  sleptAt: number;
  sendNoop(): void;
  /**
   * Queues the answer to a GRAB. The worker idles until it arrives, so it is written as soon as
   * this connection's input is handled, not at the end of the event-loop turn.
   */
  answerGrab(chunks: readonly Uint8Array[]): void;
}

/** The client side of a connection: one attachment per SUBMIT, as gearmand counts them. */
export interface ClientSide {
  readonly id: number;
  /** Asked for WORK_EXCEPTION with OPTION_REQ exceptions. */
  readonly exceptions: boolean;
  /** Jobs this connection waits on, with how many of its submissions attached to each. */
  readonly waiting: Map<Job, number>;
  send(chunks: readonly Uint8Array[]): void;
}

/** `maxqueue` not set: no limit at any priority. Shared; `maxqueue` replaces it, never changes it. */
const NO_QUEUE_LIMITS: readonly [number, number, number] = Object.freeze([0, 0, 0] as const);

/**
 * A fleet registers tens of thousands of functions, most of them idle: what only a function
 * with jobs needs (its queues, its name as bytes) is made at its first job.
 */
export class FunctionEntry {
  /** Queued jobs per priority, those scheduled for later included. */
  readonly queued: [number, number, number] = [0, 0, 0];
  /** Per-priority limits set with `maxqueue`; 0 is unlimited. */
  maxQueue: readonly [number, number, number] = NO_QUEUE_LIMITS;
  running = 0;
  /** Connections that registered this function. */
  readonly workers = new Set<WorkerSide>();
  private lists: [Fifo<Job>, Fifo<Job>, Fifo<Job>] | undefined;
  private bytes: Uint8Array | undefined;

  constructor(
    /** Latin-1 of the wire bytes, so any bytes round-trip. */
    readonly name: string,
  ) {}

  get nameBytes(): Uint8Array {
    return (this.bytes ??= latin1Copy(this.name));
  }

  /** Jobs that a worker may take now, per priority (gearmand's job lists). */
  get queues(): readonly [Fifo<Job>, Fifo<Job>, Fifo<Job>] {
    return (this.lists ??= [new Fifo(), new Fifo(), new Fifo()]);
  }

  /** gearmand's job_total: queued and running. */
  get total(): number {
    return this.queued[0] + this.queued[1] + this.queued[2] + this.running;
  }

  get runnable(): number {
    const lists = this.lists;
    return lists === undefined ? 0 : lists[0].length + lists[1].length + lists[2].length;
  }
}

/** A private copy, one byte per char: Buffer.from would pin a shared 8 KiB pool slab for as long as the function lives. */
function latin1Copy(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

export type JobState = 'scheduled' | 'queued' | 'running';

export interface JobSpec {
  readonly handle: string;
  readonly handleBytes: Uint8Array;
  readonly fn: FunctionEntry;
  readonly unique: string;
  readonly uniqueBytes: Uint8Array;
  readonly payload: Uint8Array;
  readonly reducer: Uint8Array | undefined;
  readonly priority: Priority;
  readonly background: boolean;
  /** Not runnable before this time (ms since the epoch); 0 for now. */
  readonly runAt: number;
  /** The coalescing index key, when the job has a unique. */
  readonly key: string | undefined;
  /** Creation order, to take the oldest job first across functions. */
  readonly seq: number;
}

export class Job {
  readonly handle: string;
  readonly handleBytes: Uint8Array;
  readonly fn: FunctionEntry;
  readonly unique: string;
  readonly uniqueBytes: Uint8Array;
  readonly payload: Uint8Array;
  readonly reducer: Uint8Array | undefined;
  readonly priority: Priority;
  readonly runAt: number;
  readonly key: string | undefined;
  readonly seq: number;
  /** Submitted (or later also submitted) in the background: it runs even with no client. */
  background: boolean;
  /** gearmand's job_queued: a background job not cancelled; shown by `show jobs`. */
  persisted: boolean;
  state: JobState = 'queued';
  /** One entry per attached submission, like gearmand's client list. */
  readonly waiters: ClientSide[] = [];
  worker: WorkerSide | undefined;
  retries = 0;
  /** Cancelled, or abandoned by every client of a foreground job: dropped instead of run. */
  ignored = false;
  /** The last WORK_STATUS numbers, byte for byte as the worker sent them. */
  numerator: Uint8Array = NO_PROGRESS;
  denominator: Uint8Array = NO_PROGRESS;
  /** CAN_DO_TIMEOUT timer while running. */
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(spec: JobSpec) {
    this.handle = spec.handle;
    this.handleBytes = spec.handleBytes;
    this.fn = spec.fn;
    this.unique = spec.unique;
    this.uniqueBytes = spec.uniqueBytes;
    this.payload = spec.payload;
    this.reducer = spec.reducer;
    this.priority = spec.priority;
    this.runAt = spec.runAt;
    this.key = spec.key;
    this.seq = spec.seq;
    this.background = spec.background;
    this.persisted = spec.background;
  }
}
