/** Rounds, medians and the printed table. Contenders run interleaved so drift hits all alike. */
import { median } from '../jobs/stats.ts';

export interface Sample {
  readonly name: string;
  readonly values: number[];
}

/**
 * A forced full GC before each run is off by default: on this VM, memory the GC hands back
 * is slow to fault in again (see the notes in run.ts), so it would charge every allocating
 * contender for page faults instead of decoding. BENCH_GC=1 turns it on.
 */
const FORCE_GC = process.env.BENCH_GC === '1';
const gc = (): void => {
  if (FORCE_GC) Bun.gc(true);
};

export interface Trial<C, I> {
  readonly contenders: readonly C[];
  readonly name: (c: C) => string;
  /** Builds a contender's input; not timed. */
  readonly prepare: (c: C) => I;
  /** Does the work once and returns how many units (packets, bytes) it did; throws if the output is wrong. */
  readonly run: (c: C, input: I) => number | Promise<number>;
}

/**
 * Runs every contender `rounds` times, interleaved: round r starts at contender r (mod n), so
 * no one always runs first or right after the heaviest. Each run's rate (units per second) is
 * recorded. `warmups` untimed runs each come first (JIT tiers, heap grown to its working size).
 */
export async function interleaved<C, I>(trial: Trial<C, I>, rounds: number, warmups = 2): Promise<Sample[]> {
  const { contenders } = trial;
  const samples = contenders.map((c) => ({ name: trial.name(c), values: [] as number[] }));
  for (let w = 0; w < warmups; w++) for (const c of contenders) await trial.run(c, trial.prepare(c));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const i = (r + k) % contenders.length;
      const c = contenders[i]!;
      const input = trial.prepare(c);
      gc();
      const t0 = performance.now();
      const units = await trial.run(c, input);
      const seconds = (performance.now() - t0) / 1000;
      samples[i]!.values.push(units / seconds);
    }
  }
  return samples;
}

export interface Unit {
  readonly label: string;
  readonly scale: number;
  readonly digits: number;
}
export const M_PKT: Unit = { label: 'M pkt/s', scale: 1e6, digits: 3 };
export const MB: Unit = { label: 'MB/s', scale: 1e6, digits: 0 };

const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);

/**
 * Prints one table: median, best and min..max of the rounds, and the ratio of the reference row
 * (`ours`) to each row, on medians.
 */
export function table(title: string, unit: Unit, samples: readonly Sample[], ours: string, notes: readonly string[] = []): void {
  const fmt = (v: number): string => (v / unit.scale).toFixed(unit.digits);
  const ref = samples.find((s) => s.name === ours);
  const refMedian = ref ? median(ref.values) : NaN;
  console.log(`\n${title}`);
  for (const note of notes) console.log(`  ${note}`);
  const w = Math.max(...samples.map((s) => s.name.length), 12) + 2;
  console.log(
    `  ${pad('contender', w)}${lpad(`median ${unit.label}`, 18)}${lpad('best', 12)}${lpad('min .. max', 24)}${lpad('ours ÷ this', 14)}`,
  );
  for (const s of samples) {
    const m = median(s.values);
    const range = `${fmt(Math.min(...s.values))} .. ${fmt(Math.max(...s.values))}`;
    const ratio = s === ref ? '1.00' : (refMedian / m).toFixed(2);
    console.log(
      `  ${pad(s.name, w)}${lpad(fmt(m), 18)}${lpad(fmt(Math.max(...s.values)), 12)}${lpad(range, 24)}${lpad(`${ratio}×`, 14)}`,
    );
  }
}
