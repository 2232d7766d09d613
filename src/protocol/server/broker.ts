/**
 * The job lifecycle with its notifications: submissions, grabs, work results, lost workers,
 * CAN_DO_TIMEOUT, SUBMIT_JOB_EPOCH timers and wake-ups. JobStore decides; the broker tells
 * the connections concerned.
 */
import type { Logger } from '../../util/log.ts';
import { MAX_TIMER_MS } from '../../util/timers.ts';
import { Type } from '../codec/packets.ts';
import { type Ability, type ClientSide, type Job, type WorkerSide } from './job.ts';
import { latin1 } from '../codec/text.ts';
import { JobStore, type Submission, addWorker, removeWorker } from './job-store.ts';
import type { ResolvedOptions } from './options.ts';
import { Wakeups } from './wakeups.ts';
import { NO_JOB, errorPacket, response } from './wire.ts';

/** A connection as the broker sees it: both roles, and a way to answer it. */
export interface BrokerPeer extends WorkerSide, ClientSide {
  readonly abilities: Map<string, Ability>;
  readonly label: string;
}

export type GrabKind = 'GRAB_JOB' | 'GRAB_JOB_UNIQ' | 'GRAB_JOB_ALL';

export class Broker {
  readonly store: JobStore;
  private readonly wakeups: Wakeups;
  private readonly logger: Logger;
  private dueTimer: ReturnType<typeof setTimeout> | undefined;
  private dueTimerAt = 0;
  /** Shutting down: no submission is taken and no job starts. */
  private draining = false;

  constructor(options: ResolvedOptions) {
    this.store = new JobStore(options);
    this.wakeups = new Wakeups(options.wakeTimeoutMs);
    this.logger = options.logger;
  }

  // ---- clients ----------------------------------------------------------------------------

  /** SUBMIT_*: answers JOB_CREATED (also when joining a job with the same unique) or ERROR. */
  submit(peer: BrokerPeer, submission: Submission, foreground: boolean): void {
    if (this.draining) {
      peer.send(errorPacket('QUEUE_ERROR', 'The server is shutting down'));
      return;
    }
    const result = this.store.submit(submission, foreground ? peer : undefined);
    if (!result.ok) {
      peer.send(errorPacket(result.code, result.text));
      return;
    }
    const { job } = result;
    peer.send(response(Type.JOB_CREATED, [job.handleBytes]));
    if (!result.created) return;
    if (job.state === 'scheduled') this.armDueTimer();
    else this.wakeups.balance(job.fn);
  }

  /** `cancel job`: its clients get WORK_FAIL and it will not run. False for an unknown handle. */
  cancel(handle: string): boolean {
    const job = this.store.jobs.get(handle);
    const waiters = this.store.cancel(handle);
    if (job === undefined || waiters === undefined) return false;
    const fail = response(Type.WORK_FAIL, [job.handleBytes]);
    for (const client of waiters) client.send(fail);
    return true;
  }

  // ---- workers ----------------------------------------------------------------------------

  canDo(peer: BrokerPeer, name: Uint8Array, timeoutMs: number): void {
    const fn = this.store.functionFor(name);
    peer.abilities.set(fn.name, { fn, timeoutMs });
    if (addWorker(peer, fn)) this.wakeups.added(peer, fn);
  }

  /** CANT_DO. Unlike gearmand, jobs of the function that the worker runs stay with it. */
  cantDo(peer: BrokerPeer, name: string): void {
    const ability = peer.abilities.get(name);
    if (ability === undefined) return;
    peer.abilities.delete(name);
    removeWorker(peer, ability.fn);
    this.wakeups.removed(peer, ability.fn);
  }

  resetAbilities(peer: BrokerPeer): void {
    for (const name of [...peer.abilities.keys()]) this.cantDo(peer, name);
  }

  preSleep(peer: BrokerPeer): void {
    this.wakeups.sleep(peer, this.store.hasWorkFor(peer));
  }

  grab(peer: BrokerPeer, kind: GrabKind): void {
    const wasWoken = this.wakeups.awake(peer);
    const job = this.draining ? undefined : this.store.take(peer);
    if (job === undefined) peer.answerGrab(NO_JOB);
    else {
      peer.answerGrab(assignment(job, kind));
      const timeoutMs = peer.abilities.get(job.fn.name)?.timeoutMs ?? 0;
      if (timeoutMs > 0) job.timer = setTimeout(() => this.timedOut(job), timeoutMs);
    }
    if (wasWoken) this.wakeups.rebalance(peer);
  }

  /** The running job `handle` of this worker, or undefined after answering ERROR. */
  runningJob(peer: BrokerPeer, handle: Uint8Array, notFound: readonly [string, string]): Job | undefined {
    const job = this.store.jobs.get(latin1(handle));
    if (job !== undefined && job.worker === peer && job.state === 'running') return job;
    peer.send(errorPacket(notFound[0], notFound[1]));
    return undefined;
  }

  /** WORK_STATUS, WORK_DATA, WORK_WARNING: forwarded to every attached submission. */
  update(job: Job, type: number, args: readonly Uint8Array[]): void {
    if (type === Type.WORK_STATUS) {
      // Kept as sent (copied out of the read buffer): GET_STATUS returns the worker's own numbers,
      // whatever their size, where gearmand would cut them to 32 bits.
      job.numerator = args[1]!.slice();
      job.denominator = args[2]!.slice();
    }
    if (job.waiters.length === 0) return;
    const packet = response(type, args);
    for (const client of job.waiters) client.send(packet);
  }

  /** WORK_COMPLETE and WORK_FAIL end the job for every client. */
  finish(job: Job, type: number, args: readonly Uint8Array[]): void {
    if (job.waiters.length > 0) {
      const packet = response(type, args);
      for (const client of job.waiters) client.send(packet);
    }
    this.store.finish(job);
  }

  /** WORK_EXCEPTION ends the job: WORK_FAIL for clients that did not ask for exceptions. */
  exception(job: Job, data: Uint8Array): void {
    let exception: Uint8Array[] | undefined;
    let fail: Uint8Array[] | undefined;
    for (const client of job.waiters) {
      if (client.exceptions) client.send((exception ??= response(Type.WORK_EXCEPTION, [job.handleBytes, data])));
      else client.send((fail ??= response(Type.WORK_FAIL, [job.handleBytes])));
    }
    this.store.finish(job);
  }

  // ---- connections ------------------------------------------------------------------------

  /** A connection closed: its running jobs are requeued, its submissions stop waiting. */
  closed(peer: BrokerPeer): void {
    this.wakeups.gone(peer);
    for (const { fn } of peer.abilities.values()) removeWorker(peer, fn);
    peer.abilities.clear();
    for (const job of [...peer.running]) this.requeue(job, `its worker (${peer.label}) disconnected`);
    for (const job of [...peer.waiting.keys()]) this.store.detach(job, peer);
  }

  /** From now on, submissions are refused and workers get NO_JOB; running jobs may finish. */
  drain(): void {
    this.draining = true;
  }

  /** Stops the timers; returns the background jobs that never finished, for the shutdown log. */
  stop(): Job[] {
    this.wakeups.stop();
    if (this.dueTimer !== undefined) clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    const unfinished: Job[] = [];
    for (const job of this.store.jobs.values()) {
      this.store.stopTimer(job);
      if (job.background && !job.ignored) unfinished.push(job);
    }
    return unfinished;
  }

  private timedOut(job: Job): void {
    job.timer = undefined;
    this.logger.warn(`job ${job.handle} (${job.fn.name}): worker timeout reached; requeueing`);
    this.requeue(job, 'its worker timed out (CAN_DO_TIMEOUT)');
  }

  private requeue(job: Job, why: string): void {
    const outcome = this.store.requeue(job);
    if (outcome === 'requeued') {
      this.logger.info(`job ${job.handle} (${job.fn.name}) requeued: ${why}`);
      this.wakeups.balance(job.fn);
    } else if (outcome === 'exhausted') {
      this.logger.warn(`job ${job.handle} (${job.fn.name}) failed after ${job.retries} attempts: ${why}`);
      this.finish(job, Type.WORK_FAIL, [job.handleBytes]);
    }
  }

  private armDueTimer(): void {
    const at = this.store.nextDueAt;
    if (at === undefined) return;
    if (this.dueTimer !== undefined) {
      if (this.dueTimerAt <= at) return;
      clearTimeout(this.dueTimer);
    }
    this.dueTimerAt = at;
    // A SUBMIT_JOB_EPOCH time past the ceiling is re-checked when the timer fires.
    this.dueTimer = setTimeout(() => this.releaseDue(), Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
    this.dueTimer.unref?.();
  }

  private releaseDue(): void {
    this.dueTimer = undefined;
    for (const fn of this.store.releaseDue(Date.now())) this.wakeups.balance(fn);
    this.armDueTimer();
  }
}

/** JOB_ASSIGN, JOB_ASSIGN_UNIQ, or for GRAB_JOB_ALL, JOB_ASSIGN_ALL when the job has a reducer. */
function assignment(job: Job, kind: GrabKind): Uint8Array[] {
  const { handleBytes, fn, uniqueBytes, payload, reducer } = job;
  if (kind === 'GRAB_JOB') return response(Type.JOB_ASSIGN, [handleBytes, fn.nameBytes, payload]);
  if (kind === 'GRAB_JOB_ALL' && reducer !== undefined) {
    return response(Type.JOB_ASSIGN_ALL, [handleBytes, fn.nameBytes, uniqueBytes, reducer, payload]);
  }
  return response(Type.JOB_ASSIGN_UNIQ, [handleBytes, fn.nameBytes, uniqueBytes, payload]);
}
