/** The printed tables and ratios. */
import type { Contender } from './contenders.ts';
import { median } from './stats.ts';
import type { RunResult } from './trial.ts';

export interface Row {
  readonly contender: Contender;
  readonly runs: readonly RunResult[];
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en');
const ms = (us: number): string => (us / 1000).toFixed(2);
const rate = (row: Row): number => median(row.runs.map((r) => r.jobsPerSecond));
const cpu = (row: Row, side: 'worker' | 'client' | 'server'): string => median(row.runs.map((r) => r.cpuUsPerJob[side])).toFixed(1);

export function printTable(title: string, rows: readonly Row[]): void {
  const ours = rows.find((r) => r.contender.name === 'ours');
  const oursRate = ours ? rate(ours) : NaN;
  console.log(`\n${title}`);
  const w = Math.max(...rows.map((r) => r.contender.name.length), 10) + 2;
  console.log(
    `  ${'contender'.padEnd(w)}${'jobs/s'.padStart(10)}${'min .. max'.padStart(20)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'ours ÷ this'.padStart(13)}${'CPU µs/job: worker client gearmand'.padStart(38)}`,
  );
  for (const row of rows) {
    const rates = row.runs.map((r) => r.jobsPerSecond);
    const range = `${fmtInt(Math.min(...rates))} .. ${fmtInt(Math.max(...rates))}`;
    console.log(
      `  ${row.contender.name.padEnd(w)}${fmtInt(rate(row)).padStart(10)}${range.padStart(20)}` +
        `${ms(median(row.runs.map((r) => r.p50Us))).padStart(9)}${ms(median(row.runs.map((r) => r.p99Us))).padStart(9)}` +
        `${(ours ? `${(oursRate / rate(row)).toFixed(2)}×` : '—').padStart(13)}` +
        `${cpu(row, 'worker').padStart(20)}${cpu(row, 'client').padStart(7)}${cpu(row, 'server').padStart(9)}`,
    );
  }
}

export function printRatios(label: string, rows: readonly Row[]): void {
  const ours = rows.find((r) => r.contender.name === 'ours');
  const [raw] = rows.filter((r) => !r.contender.library && r !== ours).sort((a, b) => rate(b) - rate(a));
  const [best] = rows.filter((r) => r.contender.library).sort((a, b) => rate(b) - rate(a));
  const verdict = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');
  const cpuOf = (row: Row): number => median(row.runs.map((run) => run.cpuUsPerJob.worker + run.cpuUsPerJob.client));
  if (!ours) return;
  if (raw) {
    const [r, c] = [rate(ours) / rate(raw), cpuOf(ours) / cpuOf(raw)];
    console.log(`  ${label}: ours ÷ better raw (${raw.contender.name}, ${fmtInt(rate(raw))} jobs/s) = ${r.toFixed(3)} (goal ≥ 0.95: ${verdict(r >= 0.95)})`);
    console.log(`  ${label}: worker + client CPU per job, ours ÷ ${raw.contender.name} = ${cpuOf(ours).toFixed(1)} ÷ ${cpuOf(raw).toFixed(1)} µs = ${c.toFixed(2)} (goal ≤ 1.15: ${verdict(c <= 1.15)})`);
  }
  if (best) {
    const r = rate(ours) / rate(best);
    console.log(`  ${label}: ours ÷ best library (${best.contender.name}, ${fmtInt(rate(best))} jobs/s) = ${r.toFixed(2)}× (goal ≥ 2×: ${verdict(r >= 2)})`);
  }
}

export function printAbout(contenders: readonly Contender[]): void {
  for (const c of contenders) console.log(`  ${c.name}: ${c.about}`);
}

/** Where each side's CPU went, per thread name (medians over rounds; names under 1 µs/job dropped). */
export function printThreads(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}`);
  for (const row of rows) {
    for (const side of ['worker', 'client'] as const) {
      const names = new Set(row.runs.flatMap((r) => [...r.threadUsPerJob[side].keys()]));
      const parts = [...names]
        .map((name) => [name, median(row.runs.map((r) => r.threadUsPerJob[side].get(name) ?? 0))] as const)
        .filter(([, us]) => us >= 1)
        .sort((a, b) => b[1] - a[1])
        .map(([name, us]) => `${name} ${us.toFixed(0)}`);
      console.log(`  ${row.contender.name.padEnd(16)} ${side.padEnd(7)} ${parts.join(', ')}`);
    }
  }
}
