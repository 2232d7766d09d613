/** In-memory stand-ins for connections, for unit tests of the store and the wake-ups. */
import { Buffer } from 'node:buffer';
import type { Ability, ClientSide, FunctionEntry, Job, SleepState, WorkerSide } from '../../../src/protocol/server/job.ts';
import { JobStore, type StoreLimits, type Submission, addWorker } from '../../../src/protocol/server/job-store.ts';
import { HIGH, LOW, NORMAL, type Priority } from '../../../src/protocol/server/job.ts';

export { HIGH, LOW, NORMAL };

let ids = 0;

export class FakeWorker implements WorkerSide {
  readonly id = ++ids;
  readonly abilities = new Map<string, Ability>();
  readonly running = new Set<Job>();
  readonly ready = new Set<FunctionEntry>();
  sleep: SleepState = 'awake';
  wokenAt = 0;
  sleptAt = 0;
  noops = 0;

  constructor(...fns: FunctionEntry[]) {
    for (const fn of fns) this.can(fn);
  }

  /** CAN_DO, as the broker records it. */
  can(fn: FunctionEntry): void {
    this.abilities.set(fn.name, { fn, timeoutMs: 0 });
    addWorker(this, fn);
  }

  sendNoop(): void {
    this.noops++;
  }

  answerGrab(): void {
    throw new TypeError('a stand-in worker of the store and wake-up tests never GRABs');
  }
}

export class FakeClient implements ClientSide {
  readonly id = ++ids;
  readonly waiting = new Map<Job, number>();
  readonly sent: Uint8Array[][] = [];

  constructor(readonly exceptions = false) {}

  send(chunks: readonly Uint8Array[]): void {
    this.sent.push([...chunks]);
  }
}

export function store(limits: Partial<StoreLimits> = {}): JobStore {
  return new JobStore({ maxQueuedJobs: 0, maxQueuedBytes: 0, jobRetries: 0, handlePrefix: 'H:test', ...limits });
}

export function submission(fn: string, unique: string, data = '', priority: Priority = NORMAL, background = true): Submission {
  return {
    functionName: Buffer.from(fn),
    unique: Buffer.from(unique),
    payload: Buffer.from(data),
    priority,
    background,
  };
}

/** Submits and returns the job, failing the test on a refusal. */
export function submit(s: JobStore, sub: Submission, client?: ClientSide): Job {
  const result = s.submit(sub, client);
  if (!result.ok) throw new Error(`refused: ${result.code} ${result.text}`);
  return result.job;
}

export function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString();
}
