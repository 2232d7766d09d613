/**
 * Who gets a NOOP. A sleeping worker (PRE_SLEEP) is woken only when a job it can do is
 * runnable, and per function only as many workers are woken as there are runnable jobs: no
 * thundering herd (gearmand wakes every sleeper). A woken worker that does not grab within
 * `timeoutMs` stops counting, so its jobs are offered to other sleepers instead of stranding.
 */
import type { FunctionEntry, WorkerSide } from './job.ts';

export class Wakeups {
  private readonly woken = new Set<WorkerSide>();
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly timeoutMs: number) {}

  /** PRE_SLEEP. `hasWork`: a job it can do is runnable now (then it is woken at once, like gearmand). */
  sleep(worker: WorkerSide, hasWork: boolean): void {
    this.unmark(worker);
    if (hasWork) {
      this.wake(worker);
      return;
    }
    worker.sleep = 'sleeping';
    for (const { fn } of worker.abilities.values()) fn.sleepers.add(worker);
  }

  /**
   * Any GRAB: the worker is awake and stops counting as a sleeper or a pending wake-up.
   * True when it had been woken: its wake-up was counted against every function it can do,
   * so after the grab the caller balances those functions again.
   */
  awake(worker: WorkerSide): boolean {
    if (worker.sleep === 'awake') return false;
    const wasWoken = worker.sleep === 'woken';
    this.unmark(worker);
    return wasWoken;
  }

  /** CAN_DO while asleep or woken: it now counts for this function too. */
  added(worker: WorkerSide, fn: FunctionEntry): void {
    if (worker.sleep === 'sleeping') {
      fn.sleepers.add(worker);
      this.balance(fn);
    } else if (worker.sleep === 'woken') {
      fn.woken++;
    }
  }

  /** CANT_DO (call before the ability is removed from the worker's map). */
  removed(worker: WorkerSide, fn: FunctionEntry): void {
    fn.sleepers.delete(worker);
    if (worker.sleep === 'woken') {
      fn.woken--;
      this.balance(fn);
    }
  }

  /** The connection closed (call while its abilities are still listed). */
  gone(worker: WorkerSide): void {
    const wasWoken = worker.sleep === 'woken';
    this.unmark(worker);
    if (wasWoken) for (const { fn } of worker.abilities.values()) this.balance(fn);
  }

  /** Wakes sleepers of `fn` until as many are awake as it has runnable jobs. */
  balance(fn: FunctionEntry): void {
    let deficit = fn.runnable - fn.woken;
    while (deficit > 0 && fn.sleepers.size > 0) {
      const next = fn.sleepers.values().next().value as WorkerSide;
      this.wake(next);
      deficit--;
    }
  }

  stop(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private wake(worker: WorkerSide): void {
    worker.sleep = 'woken';
    worker.wokenAt = Date.now();
    for (const { fn } of worker.abilities.values()) {
      fn.sleepers.delete(worker);
      fn.woken++;
    }
    this.woken.add(worker);
    this.startSweeper();
    worker.sendNoop();
  }

  /** Back to 'awake', undoing what the sleeping or woken state added to the counts. */
  private unmark(worker: WorkerSide): void {
    if (worker.sleep === 'sleeping') {
      for (const { fn } of worker.abilities.values()) fn.sleepers.delete(worker);
    } else if (worker.sleep === 'woken') {
      for (const { fn } of worker.abilities.values()) fn.woken--;
      this.woken.delete(worker);
    }
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
      for (const { fn } of worker.abilities.values()) this.balance(fn);
    }
    if (this.woken.size === 0) this.stop();
  }
}
