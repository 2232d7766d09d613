/**
 * Echo jobs/s through one real gearmand: ours, a raw-socket yardstick, the npm `gearman`
 * package and Perl. Method and knobs: README.md here.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { startGearmand } from '../../spec/support/gearmand.ts';
import { CONTENDERS, type Contender } from './contenders.ts';
import { PAYLOAD_LENGTH } from './payload.ts';
import { type Row, printAbout, printRatios, printTable, printThreads } from './report.ts';
import { readSettings } from './settings.ts';
import { type RunResult, runOnce } from './trial.ts';

const settings = readSettings();
const contenders = settings.only ? CONTENDERS.filter((c) => settings.only!.includes(c.name)) : CONTENDERS;
if (contenders.length === 0) throw new Error(`BENCH_ONLY matched no contender (known: ${CONTENDERS.map((c) => c.name).join(', ')})`);

const gearmandVersion = execFileSync('gearmand', ['--version']).toString().trim();
await using gearmand = await startGearmand();

console.log('jobs benchmark (bench/jobs): echo jobs through one gearmand');
console.log(`  machine: ${os.availableParallelism()} cores, ${os.cpus()[0]?.model.trim() ?? 'unknown cpu'}, ${os.platform()}/${os.arch()}`);
console.log(`  runtime: bun ${Bun.version}; ${gearmandVersion} on ${gearmand.host}:${gearmand.port} (--threads=2)`);
console.log(
  `  per run: ${settings.jobs.toLocaleString('en')} timed jobs after ${settings.warmup.toLocaleString('en')} warm-up jobs, ` +
    `${settings.inflight} in flight, ${PAYLOAD_LENGTH}-byte payloads, a fresh function name`,
);
console.log(`  rounds: ${settings.rounds}, every contender × connection count once per round, in a rotating order; medians shown`);
console.log('  checked every run: each result is its own job\'s payload, client job count, worker job count = timed + warm-up, queue empty after');
printAbout(contenders);

interface Case {
  readonly contender: Contender;
  readonly conns: number;
  readonly runs: RunResult[];
}
const cases: Case[] = settings.connections.flatMap((conns) => contenders.map((contender) => ({ contender, conns, runs: [] })));

let runId = 0;
for (let round = 0; round < settings.rounds; round++) {
  const line: string[] = [];
  for (let k = 0; k < cases.length; k++) {
    const c = cases[(round + k) % cases.length]!;
    const result = await runOnce(c.contender, {
      host: gearmand.host,
      port: gearmand.port,
      conns: c.conns,
      jobs: settings.jobs,
      warmup: settings.warmup,
      inflight: settings.inflight,
      runId: ++runId,
      serverPid: gearmand.pid,
    });
    c.runs.push(result);
    line.push(`${c.contender.name}/${c.conns}c ${Math.round(result.jobsPerSecond)}`);
  }
  console.log(`  round ${round + 1}: ${line.join(', ')}`);
}

for (const conns of settings.connections) {
  const rows: Row[] = cases.filter((c) => c.conns === conns);
  printTable(`[${conns} worker connection${conns > 1 ? 's' : ''} + ${conns} client connection${conns > 1 ? 's' : ''}] jobs/s (median of ${settings.rounds}); latency submit → result`, rows);
}
for (const conns of settings.connections) {
  printThreads(`[${conns}+${conns}] CPU µs per job by thread (timed window only)`, cases.filter((c) => c.conns === conns));
}
console.log('\nsummary (medians)');
for (const conns of settings.connections) printRatios(`${conns}+${conns}`, cases.filter((c) => c.conns === conns));
