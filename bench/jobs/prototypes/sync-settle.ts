/**
 * Prototype patch of Worker.run (src/protocol/worker/worker.ts), installSyncSettle(): a handler that
 * returns a plain value (not a promise) is settled at once, in the same turn, instead of
 * through Promise.resolve(value).then(...). The job then costs no promise and no reaction
 * closures, and its WORK_COMPLETE is queued before the next GRAB_JOB_UNIQ (src queues the GRAB
 * first, then the WORK_COMPLETE a microtask later; both still leave in one write). Handlers
 * that return a promise, unknown functions and throws behave as before.
 */
import type { AssignedJob } from '../../../src/protocol/worker/worker-link.ts';
import { Worker } from '../../../src/protocol/worker/worker.ts';
import { WorkerJob } from '../../../src/protocol/worker/worker-job.ts';
import type { JobHandler } from '../../../src/protocol/worker/worker.ts';
import type { Logger } from '../../../src/util/log.ts';

interface ClassState {
  active: number;
}
interface LinkState {
  readonly jobs: Set<WorkerJob>;
}
/** The private members of Worker the patch uses (TypeScript-private only; plain at runtime). */
interface WorkerInternals {
  readonly functionsByName: Map<string, { readonly handler: JobHandler; readonly jobClass: unknown }>;
  readonly running: Set<WorkerJob>;
  readonly abort: AbortController;
  readonly logger: Logger;
  settle(jobClass: ClassState, link: LinkState, job: WorkerJob, terminal: () => void): void;
  failJob(job: WorkerJob, err: unknown): void;
  run(jobClass: ClassState, link: LinkState, assigned: AssignedJob): void;
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';

const proto = Worker.prototype as unknown as WorkerInternals;

/** Installs the patch; returns the undo. */
export function installSyncSettle(): () => void {
  const runAsync = proto.run;
  proto.run = function run(this: WorkerInternals, jobClass, link, assigned) {
    const entry = this.functionsByName.get(assigned.functionName);
    if (!entry || entry.jobClass !== jobClass) return runAsync.call(this, jobClass, link, assigned);
    const job = new WorkerJob(assigned, link as never, this.abort.signal, (failed, what, reason) => {
      this.logger.warn(`job ${failed.handle} (${failed.functionName}): ${what} not delivered: ${reason}`);
    });
    jobClass.active++;
    link.jobs.add(job);
    this.running.add(job);
    let result: unknown;
    try {
      result = entry.handler(job);
    } catch (err) {
      this.settle(jobClass, link, job, () => this.failJob(job, err));
      return;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(
        (value) => this.settle(jobClass, link, job, () => job.complete((value ?? '') as string | Uint8Array)),
        (err: unknown) => this.settle(jobClass, link, job, () => this.failJob(job, err)),
      );
      return;
    }
    this.settle(jobClass, link, job, () => job.complete((result ?? '') as string | Uint8Array));
  };
  return () => {
    proto.run = runAsync;
  };
}
