/**
 * The fuzz run's worker pool: splits the input range over worker threads
 * (spec/fuzz/robustness-worker.ts), watches them for hangs and the time budget, saves every
 * failing input as a regression case, and stops after too many failures.
 */
import { Worker } from 'node:worker_threads';
import type { Corpus } from './corpus.ts';
import { inputAt } from './generator.ts';
import type { FailureReport, WorkerMessage, WorkerTask } from './messages.ts';
import { saveRegression } from './regression-store.ts';
import { type Stats, emptyStats, mergeStats } from './stats.ts';

export interface PoolOptions {
  readonly inputs: number;
  readonly seed: number;
  readonly workers: number;
  readonly budgetSeconds: number;
  readonly hangSeconds: number;
  readonly maxFailures: number;
  readonly saveDir: string;
  readonly decoderModule: string | undefined;
}

export interface PoolResult {
  readonly stats: Stats;
  /** One line per failure (with the saved file), the budget included. */
  readonly failures: readonly string[];
  readonly budgetExceeded: boolean;
  readonly seconds: number;
}

/** One share of the input range, and the worker currently checking it. */
interface Lane {
  readonly slot: number;
  readonly to: number;
  /** Where the live worker started. */
  from: number;
  worker: Worker | undefined;
  /** Counters of finished (or killed) workers of this lane, plus the live one's latest. */
  readonly past: Stats[];
  latest: Stats;
  seenIndex: number;
  seenAt: number;
}

export class FuzzPool {
  private readonly lanes: Lane[] = [];
  private readonly shared: SharedArrayBuffer;
  private readonly heartbeat: Int32Array;
  private readonly failures: string[] = [];
  private readonly started = performance.now();
  private stopped = false;
  private budgetExceeded = false;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private finish: (() => void) | undefined;

  constructor(
    private readonly options: PoolOptions,
    private readonly corpus: Corpus,
  ) {
    this.shared = new SharedArrayBuffer(4 * options.workers);
    this.heartbeat = new Int32Array(this.shared);
  }

  async run(): Promise<PoolResult> {
    const { inputs, workers } = this.options;
    const finished = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    for (let slot = 0; slot < workers; slot++) {
      const from = Math.floor((inputs * slot) / workers);
      const to = Math.floor((inputs * (slot + 1)) / workers);
      const lane: Lane = { slot, to, from, worker: undefined, past: [], latest: emptyStats(), seenIndex: -1, seenAt: 0 };
      this.lanes.push(lane);
      this.start(lane, from);
    }
    this.watchdog = setInterval(() => this.watch(), 250);
    this.settle();
    await finished;
    clearInterval(this.watchdog);
    const stats = mergeStats(this.lanes.flatMap((lane) => [...lane.past, lane.latest]));
    return {
      stats,
      failures: this.failures,
      budgetExceeded: this.budgetExceeded,
      seconds: (performance.now() - this.started) / 1000,
    };
  }

  private start(lane: Lane, from: number): void {
    lane.past.push(lane.latest);
    lane.latest = emptyStats();
    if (from >= lane.to || this.stopped) {
      lane.worker = undefined;
      return;
    }
    lane.from = from;
    Atomics.store(this.heartbeat, lane.slot, from - 1);
    lane.seenIndex = from - 1;
    lane.seenAt = performance.now();
    const task: WorkerTask = { seed: this.options.seed, from, to: lane.to, heartbeat: this.shared, slot: lane.slot, decoderModule: this.options.decoderModule };
    const worker = new Worker(new URL('./robustness-worker.ts', import.meta.url), { workerData: task });
    lane.worker = worker;
    worker.on('message', (message: WorkerMessage) => this.receive(lane, worker, message));
    worker.on('error', (err: Error) => this.crashed(lane, worker, `worker crashed: ${err.stack ?? err.message}`));
    worker.on('exit', (code: number) => {
      if (lane.worker === worker) this.crashed(lane, worker, `worker exited with code ${code} before finishing`);
    });
  }

  private receive(lane: Lane, worker: Worker, message: WorkerMessage): void {
    if (lane.worker !== worker) return;
    if (message.type === 'failure') {
      this.fail(message.failure);
      return;
    }
    lane.latest = message.stats;
    if (message.done) {
      lane.worker = undefined;
      void worker.terminate();
      this.settle();
    }
  }

  /** A worker died outside the per-input checks: blame the input it was on, then go on after it. */
  private crashed(lane: Lane, worker: Worker, why: string): void {
    if (lane.worker !== worker) return;
    lane.worker = undefined;
    void worker.terminate();
    this.blameCurrentInput(lane, why);
  }

  private blameCurrentInput(lane: Lane, why: string): void {
    const index = Atomics.load(this.heartbeat, lane.slot);
    if (index < lane.from) {
      this.failures.push(`${why} (before its first input)`);
      console.error(`!! ${why}`);
      this.stopAll();
      return;
    }
    const input = inputAt(this.options.seed, index, this.corpus);
    this.fail({ index, kind: input.kind, profile: input.profile.name, bytes: input.bytes, chunks: input.chunks, violations: [why] });
    this.start(lane, index + 1);
    this.settle();
  }

  private watch(): void {
    const now = performance.now();
    if (now - this.started > this.options.budgetSeconds * 1000) {
      this.budgetExceeded = true;
      this.failures.push(`time budget of ${this.options.budgetSeconds} s exceeded`);
      this.stopAll();
      return;
    }
    for (const lane of this.lanes) {
      const worker = lane.worker;
      if (worker === undefined) continue;
      const index = Atomics.load(this.heartbeat, lane.slot);
      if (index !== lane.seenIndex) {
        lane.seenIndex = index;
        lane.seenAt = now;
      } else if (now - lane.seenAt > this.options.hangSeconds * 1000) {
        lane.worker = undefined;
        void worker.terminate();
        this.blameCurrentInput(lane, `hang: no progress on input #${index} for ${this.options.hangSeconds} s`);
      }
    }
  }

  private fail(report: FailureReport): void {
    if (this.stopped) return;
    const { bytes, profile, chunks, index, kind, violations } = report;
    const note = { profile, chunks, seed: this.options.seed, index, kind, violations };
    const path = saveRegression(bytes, note, this.options.saveDir);
    const head = `input #${report.index} (${report.kind}, profile ${report.profile}, ${report.bytes.length} bytes) -> ${path}`;
    this.failures.push(head);
    console.error(`!! FAIL ${head}`);
    for (const violation of report.violations.slice(0, 4)) console.error(`   ${violation.split('\n')[0]}`);
    if (this.failures.length >= this.options.maxFailures) {
      console.error(`!! ${this.failures.length} failures: stopping`);
      this.stopAll();
    }
  }

  private stopAll(): void {
    this.stopped = true;
    for (const lane of this.lanes) {
      const worker = lane.worker;
      lane.worker = undefined;
      if (worker !== undefined) void worker.terminate();
    }
    this.settle();
  }

  private settle(): void {
    if (this.lanes.every((lane) => lane.worker === undefined)) this.finish?.();
  }
}
