/**
 * Who gets a NOOP. A sleeping worker (PRE_SLEEP) is woken only when a job it can do is
 * runnable, and per function only as many workers are woken as there are runnable jobs: no
 * thundering herd (gearmand wakes every sleeper). A woken worker that does not grab within
 * `timeoutMs` stops counting, so its jobs are offered to other sleepers instead of stranding.
 * Nothing here walks a worker's whole function list: a fleet's builders register hundreds.
 */
import type { FunctionEntry, WorkerSide } from './job.ts';

export class Wakeups {
  private readonly woken = new Set<WorkerSide>();
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private sleeps = 0;

  constructor(private readonly timeoutMs: number) {}

  /** PRE_SLEEP. `hasWork`: a job it can do is runnable now (then it is woken at once, like gearmand). */
  sleep(worker: WorkerSide, hasWork: boolean): void {
    this.unmark(worker);
    if (hasWork) {
      this.wake(worker);
      return;
    }
    worker.sleep = 'sleeping';
    worker.sleptAt = ++this.sleeps;
  }

  /**
   * Any GRAB: the worker is awake and stops counting as a sleeper or a pending wake-up.
   * True when it had been woken: its wake-up was counted against every function it can do,
   * so after the grab the caller rebalances (rebalance()).
   */
  awake(worker: WorkerSide): boolean {
    if (worker.sleep === 'awake') return false;
    const wasWoken = worker.sleep === 'woken';
    this.unmark(worker);
    return wasWoken;
  }

  /** CAN_DO (after the store added it): a sleeper now counts for this function too. */
  added(worker: WorkerSide, fn: FunctionEntry): void {
    if (worker.sleep === 'sleeping') this.balance(fn);
  }

  /** CANT_DO (after the store removed it): a woken worker no longer counts for this function. */
  removed(worker: WorkerSide, fn: FunctionEntry): void {
    if (worker.sleep === 'woken') this.balance(fn);
  }

  /** The connection closed (call while it still counts as a worker of its functions). */
  gone(worker: WorkerSide): void {
    const wasWoken = worker.sleep === 'woken';
    this.unmark(worker);
    if (wasWoken) this.rebalance(worker);
  }

  /** A wake-up of `worker` stopped counting: its functions with work may need another sleeper woken. */
  rebalance(worker: WorkerSide): void {
    for (const fn of worker.ready) this.balance(fn);
  }

  /**
   * Wakes sleepers of `fn`, the longest asleep first, until as many workers are woken as it has
   * runnable jobs. A woken worker counts against every function it can do.
   */
  balance(fn: FunctionEntry): void {
    let deficit = fn.runnable;
    if (deficit === 0) return;
    let sleepers: WorkerSide[] | undefined;
    for (const worker of fn.workers) {
      if (worker.sleep === 'woken') {
        if (--deficit === 0) return;
      } else if (worker.sleep === 'sleeping') (sleepers ??= []).push(worker);
    }
    if (sleepers === undefined) return;
    if (sleepers.length > deficit) sleepers.sort((a, b) => a.sleptAt - b.sleptAt);
    for (let i = 0; i < deficit && i < sleepers.length; i++) this.wake(sleepers[i]!);
  }

  stop(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private wake(worker: WorkerSide): void {
    worker.sleep = 'woken';
    worker.wokenAt = Date.now();
    this.woken.add(worker);
    this.startSweeper();
    worker.sendNoop();
  }

  /** Back to 'awake'. */
  private unmark(worker: WorkerSide): void {
    if (worker.sleep === 'woken') this.woken.delete(worker);
    worker.sleep = 'awake';
  }

  private startSweeper(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => this.sweep(), Math.max(10, this.timeoutMs / 2));
    this.sweeper.unref?.();
  }

  /** Woken workers that never grabbed stop counting; their functions' jobs go to other sleepers. */
  private sweep(): void {
    const cutoff = Date.now() - this.timeoutMs;
    const stale: WorkerSide[] = [];
    for (const worker of this.woken) if (worker.wokenAt <= cutoff) stale.push(worker);
    for (const worker of stale) {
      this.unmark(worker);
      this.rebalance(worker);
    }
    if (this.woken.size === 0) this.stop();
  }
}
