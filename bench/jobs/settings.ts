/**
 * Knobs of the jobs benchmark, read from the environment. Every contender runs with the same
 * values; the children get them on their command line.
 */
const positive = (name: string, raw: string): number => {
  const value = Number(raw.trim());
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} takes positive integers (a list like "1,4" for lists), got "${raw}"`);
  return value;
};
const int = (name: string, fallback: number): number => (process.env[name] ? positive(name, process.env[name]) : fallback);
const list = (name: string, fallback: readonly number[]): number[] =>
  process.env[name] ? process.env[name].split(',').map((part) => positive(name, part)) : [...fallback];

export interface Settings {
  /** Timed jobs per run. */
  readonly jobs: number;
  /**
   * Untimed jobs per run before the clock starts. Bun's JIT is still tiering up for the first
   * ~40,000 jobs (its compiler threads then take 10-30 µs of CPU per job, on 2 cores shared with
   * gearmand): with BUN_JSC_reportCompileTimes=true, our client and worker still spent 57 ms in
   * FTL compiles (the write path among them) between jobs 20,000 and 40,000, and under 1 ms after.
   * So the default warms up for 50,000: the figures are steady state.
   */
  readonly warmup: number;
  /** Jobs in flight from the client side, over all its connections. */
  readonly inflight: number;
  /** Timed rounds; every contender runs once per round, in a rotating order. */
  readonly rounds: number;
  /** Connection counts: each run uses this many worker and this many client connections. */
  readonly connections: readonly number[];
  /** Contender names to run (all by default). */
  readonly only: readonly string[] | undefined;
}

export function readSettings(): Settings {
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  return {
    jobs: int('BENCH_JOBS', 20_000),
    warmup: int('BENCH_WARMUP', 50_000),
    inflight: int('BENCH_INFLIGHT', 16),
    rounds: int('BENCH_ROUNDS', 5),
    connections: list('BENCH_CONNECTIONS', [1, 4]),
    only: only && only.length > 0 ? only : undefined,
  };
}
