/** What the bench hands each child process, as one JSON argument. */
export interface WorkerArgs {
  readonly host: string;
  readonly port: number;
  readonly fn: string;
  /** Connections this process opens. */
  readonly conns: number;
  /** GRABs a raw worker connection keeps in flight (1 unless the contender says). */
  readonly grabs?: number;
}

export interface ClientArgs extends WorkerArgs {
  readonly runId: number;
  /** Index of this process's first job (several Perl client processes split a run). */
  readonly first: number;
  readonly jobs: number;
  readonly warmup: number;
  /** Jobs this process keeps in flight over its connections. */
  readonly inflight: number;
}

export function readArgs<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new TypeError('expected the run settings as a JSON argument');
  return JSON.parse(raw) as T;
}
