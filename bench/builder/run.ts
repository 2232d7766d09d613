/**
 * The builder's overhead over bare disk-image-create: the same tiny-root build with the same
 * arguments and environment, run bare and as an image-build job through gearmand and our
 * builder (submit → WORK_COMPLETE, which includes verifying outputs, metadata and the commit).
 * Rounds alternate which goes first; medians are compared. On a noisy 2-core machine two DIB
 * runs differ by far more than 2 %, so the bench also reads, from each build log, the time the
 * builder spent around the DIB command (staging, verification, checksums, commit): that is the
 * builder's own overhead, measured in the same run. Run: npm run bench:builder
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../src/protocol/client/client.ts';
import { TINY_ELEMENTS, startBuilder, tinyImage } from '../../spec/support/builder-process.ts';
import { startGearmand } from '../../spec/support/gearmand.ts';
import { run } from '../../spec/support/run.ts';
import { median } from '../jobs/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function bare(dir: string): Promise<number> {
  const out = join(dir, `bare-${Date.now()}`);
  mkdirSync(out);
  const started = performance.now();
  const result = await run(
    'env',
    [
      `ELEMENTS_PATH=${TINY_ELEMENTS}`,
      'DIB_JOURNAL_SIZE=4',
      'disk-image-create', '-t', 'qcow2', '--checksum', '--no-tmpfs', '-n', '--image-size', '0.1',
      '-o', join(out, 'tiny'), 'tiny-root',
    ],
    '',
    600_000,
  );
  const elapsed = performance.now() - started;
  if (result.code !== 0) throw new Error(`bare disk-image-create failed:\n${result.stdout}${result.stderr}`);
  rmSync(out, { recursive: true, force: true });
  return elapsed;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-builder-'));
  await using gearmand = await startGearmand();
  await using builder = await startBuilder(gearmand, tinyImage('tiny'));
  const client = new Client({ servers: [gearmand] });
  const ours = async (round: number): Promise<number> => {
    const started = performance.now();
    await client.submit('image-build:tiny', JSON.stringify({ 'image-id': `bench-${round}` }), { timeoutMs: 600_000 });
    const elapsed = performance.now() - started;
    await client.submit(`image-delete:bench-${round}`, '', { timeoutMs: 60_000 });
    return elapsed;
  };
  await bare(dir); // warm caches for both
  const bareTimes: number[] = [];
  const ourTimes: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      bareTimes.push(await bare(dir));
      ourTimes.push(await ours(round));
    } else {
      ourTimes.push(await ours(round));
      bareTimes.push(await bare(dir));
    }
    console.log(`round ${round + 1}/${ROUNDS}: bare ${bareTimes.at(-1)!.toFixed(0)} ms, builder ${ourTimes.at(-1)!.toFixed(0)} ms`);
  }
  await client.close();
  const inside = Array.from({ length: ROUNDS }, (_, round) => {
    const log = readFileSync(join(builder.imagesDir, 'logs', 'tiny', `bench-${round}.log`), 'utf8');
    const match = /is ready: (\d+) ms, (\d+) ms of them in the build command/.exec(log);
    if (!match) throw new Error(`no timing line in the build log of bench-${round}`);
    return { total: Number(match[1]), command: Number(match[2]) };
  });
  const b = median(bareTimes);
  const o = median(ourTimes);
  console.log(`\ncores ${navigator.hardwareConcurrency}, bun ${Bun.version}, ${ROUNDS} rounds, medians:`);
  console.log(`  bare disk-image-create   ${b.toFixed(0)} ms`);
  console.log(`  image-build via builder  ${o.toFixed(0)} ms`);
  console.log(`  wall-clock ratio builder/bare ${(o / b).toFixed(3)} (noise between DIB runs dominates this)`);
  const around = median(inside.map((r) => r.total - r.command));
  const command = median(inside.map((r) => r.command));
  console.log(`  builder time around DIB ${around} ms of a ${command} ms DIB run: overhead ${((around / command) * 100).toFixed(2)} %  (goal ≤ 2 %)`);
  rmSync(dir, { recursive: true, force: true });
  void builder;
}

await main();
