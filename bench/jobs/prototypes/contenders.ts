/**
 * Prototype contenders for the investigation: not run unless named in BENCH_ONLY. Each one
 * changes one thing against a main contender, to measure that one thing end to end.
 */
import { type Contender, bunPair } from '../contenders.ts';

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
];

