/**
 * Prototype contenders for the investigation: not run unless named in BENCH_ONLY. Each one
 * changes one thing against a main contender, to measure that one thing end to end.
 */
import { type Contender, bunPair } from '../contenders.ts';
import type { WorkerArgs } from '../harness/args.ts';

export const PROTOTYPES: readonly Contender[] = [
  {
    name: 'ours-nostack',
    about: 'ours, with Error.captureStackTrace a no-op in the client process (what callerStack() per submit costs)',
    library: false,
    ...bunPair('ours-nostack', './peers/ours-worker.ts', './prototypes/ours-client-nostack.ts'),
  },
  {
    name: 'ours-lean',
    about: 'ours, client with the lean-submit patch (sync link pick, no async withFailover/pickLink per job)',
    library: false,
    ...bunPair('ours-lean', './peers/ours-worker.ts', './prototypes/ours-client-lean.ts'),
  },
  {
    name: 'ours-sync',
    about: 'ours, worker with the sync-settle patch (a handler returning a value completes in the same turn)',
    library: false,
    ...bunPair('ours-sync', './prototypes/ours-worker-sync.ts', './peers/ours-client.ts'),
  },
  {
    name: 'ours-all',
    about: 'ours with sync-settle (worker) + lean-submit + no stack capture (client)',
    library: false,
    ...bunPair('ours-all', './prototypes/ours-worker-sync.ts', './prototypes/ours-client-lean-nostack.ts'),
  },
  {
    name: 'raw-deferred',
    about: 'raw, with the worker writing from a queued microtask instead of inside the data callback',
    library: false,
    ...bunPair('raw-deferred', './prototypes/raw-deferred-worker.ts', './peers/raw-client.ts'),
  },
  ...[2, 4, 16].map((grabs) => rawGrabs(grabs)),
  ...[2, 4].map((grabs) => oursGrabs(grabs, false)),
  ...[2, 4].map((grabs) => oursGrabs(grabs, true)),
];

/** The raw worker keeping `grabs` GRAB_JOB_UNIQ outstanding per connection (raw client). */
function rawGrabs(grabs: number): Contender {
  const name = `raw-grab${grabs}`;
  const pair = bunPair(name, './prototypes/raw-multigrab-worker.ts', './peers/raw-client.ts');
  return {
    name,
    about: `raw, with ${grabs} GRAB_JOB_UNIQ outstanding per worker connection instead of 1`,
    library: false,
    ...pair,
    workers: (args) => pair.workers({ ...args, grabs } as WorkerArgs),
  };
}

/**
 * Our worker with the multi-grab patch (`grabs` per connection); with `all`, also sync-settle
 * in the worker and lean-submit + no stack capture in the client (every patch at once).
 */
function oursGrabs(grabs: number, all: boolean): Contender {
  const name = `ours-${all ? 'all-' : ''}grab${grabs}`;
  const pair = all
    ? bunPair(name, './prototypes/ours-worker-sync-multigrab.ts', './prototypes/ours-client-lean-nostack.ts')
    : bunPair(name, './prototypes/ours-worker-multigrab.ts', './peers/ours-client.ts');
  return {
    name,
    about: `ours, worker with ${grabs} GRAB_JOB_UNIQ outstanding per connection${all ? ' + sync-settle; client lean-submit + no stack capture' : ''}`,
    library: false,
    ...pair,
    workers: (args) => pair.workers({ ...args, grabs } as WorkerArgs),
  };
}
