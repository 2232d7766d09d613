/**
 * Codec robustness fuzzing: feeds the decoder random and mutated byte streams and checks the
 * invariants of spec/fuzz/invariants.ts on every one.
 *
 *   bun run spec/fuzz/robustness.ts [--inputs N] [--seed S] [--workers K] [--budget SECONDS]
 *     [--hang-timeout SECONDS] [--max-failures N] [--save-dir DIR] [--decoder MODULE]
 *
 * Inputs are split over worker threads; a watchdog declares a hang when a worker stays on one
 * input for --hang-timeout seconds, and the whole run must fit in --budget seconds. Every failing
 * input is saved to fixtures/fuzz-regressions/ (see its README) and the run goes on until
 * --max-failures failures. Exits 1 on any failure. Rerun with the printed seed to reproduce.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { loadCorpus } from './corpus.ts';
import { FuzzPool, type PoolOptions } from './fuzz-pool.ts';
import { randomSeed } from './prng.ts';
import { PROFILES } from './profiles.ts';
import { REGRESSIONS_DIR } from './regression-store.ts';
import { formatStats } from './stats.ts';

function integer(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`--${name} must be a non-negative integer, got ${value}`);
  return n;
}

function readOptions(argv: readonly string[]): PoolOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      inputs: { type: 'string' },
      seed: { type: 'string' },
      workers: { type: 'string' },
      budget: { type: 'string' },
      'hang-timeout': { type: 'string' },
      'max-failures': { type: 'string' },
      'save-dir': { type: 'string' },
      decoder: { type: 'string' },
    },
  });
  const seed = integer(values.seed, randomSeed(), 'seed');
  if (seed > 0xffffffff) throw new RangeError('--seed must fit in 32 bits');
  const inputs = integer(values.inputs, 1_000_000, 'inputs');
  // The watchdog shares input indexes through an Int32Array.
  if (inputs > 0x7fffffff) throw new RangeError('--inputs must be below 2^31');
  return {
    inputs,
    seed,
    workers: Math.max(1, integer(values.workers, Math.min(2, availableParallelism()), 'workers')),
    budgetSeconds: integer(values.budget, 240, 'budget'),
    hangSeconds: integer(values['hang-timeout'], 10, 'hang-timeout'),
    maxFailures: Math.max(1, integer(values['max-failures'], 20, 'max-failures')),
    saveDir: values['save-dir'] ?? REGRESSIONS_DIR,
    decoderModule: values.decoder,
  };
}

async function main(): Promise<number> {
  const options = readOptions(process.argv.slice(2));
  const corpus = await loadCorpus();
  console.log(`codec fuzz: ${options.inputs} inputs, seed ${options.seed} (rerun: --seed ${options.seed})`);
  console.log(
    `  ${options.workers} workers, budget ${options.budgetSeconds} s, hang timeout ${options.hangSeconds} s, ` +
      `corpus ${corpus.seeds.length} streams (${corpus.captureCount} capture sessions)`,
  );
  if (options.decoderModule !== undefined) console.log(`  decoder under test: ${options.decoderModule}`);
  console.log(`  profiles: ${PROFILES.map((p) => `${p.name} (packet ${p.limits.maxPacketSize}, line ${p.limits.maxLineLength}, ${p.limits.expect})`).join(', ')}`);

  const { stats, failures, budgetExceeded, seconds } = await new FuzzPool(options, corpus).run();
  console.log(formatStats(stats, seconds));
  console.log(`seed:     ${options.seed}`);

  const problems = [...failures];
  if (stats.clean + stats.errored !== stats.inputs) {
    problems.push(`accounting: ${stats.clean} clean + ${stats.errored} errors != ${stats.inputs} inputs`);
  }
  if (failures.length === 0 && stats.inputs !== options.inputs) {
    problems.push(`only ${stats.inputs} of ${options.inputs} inputs were checked`);
  }
  if (problems.length === 0) {
    console.log(`fuzz: OK, ${stats.inputs} inputs, no failures`);
    return 0;
  }
  console.error(`fuzz: FAILED (${problems.length})${budgetExceeded ? ', time budget exceeded' : ''}`);
  for (const problem of problems) console.error(`  - ${problem}`);
  return 1;
}

process.exit(await main());
