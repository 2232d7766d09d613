/**
 * Cold start of the compiled binary until gearmand lists all its functions, with BENCH_IMAGES
 * (1,000) images, with none, and the gearman CLI worker registering as many (the floor; goal for
 * ours: 1 s). NODEPOOL_BUILDER_BIN benches another binary (default: dist/nodepool-builder, built).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { TINY_ELEMENTS, tinyImage } from '../../spec/support/builder-process.ts';
import { startGearmand } from '../../spec/support/gearmand.ts';
import { run, stopChild } from '../../spec/support/run.ts';
import { seedStandInImages } from '../../spec/support/stand-in-images.ts';
import { median } from '../jobs/stats.ts';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

function config(dir: string, imagesDir: string, server: { host: string; port: number }): string {
  const file = join(dir, `builder-${imagesDir.split('/').pop()}.toml`);
  writeFileSync(
    file,
    [
      `images-dir = "${imagesDir}"`,
      `elements-path = ["${TINY_ELEMENTS}"]`,
      'min-free-space = "0"',
      tinyImage('tiny'),
      '[[gearman-servers]]',
      `host = "${server.host}"`,
      `port = ${server.port}`,
    ].join('\n'),
  );
  return file;
}

/** Spawns a worker and resolves with the ms until gearmand lists all `expected` functions. */
async function timeToRegistered(admin: AdminClient, command: string, args: string[], expected: number): Promise<number> {
  const started = performance.now();
  const child = spawn(command, args, { stdio: 'ignore' });
  try {
    for (;;) {
      const registered = (await admin.status()).filter((f) => f.workers > 0).length;
      if (registered >= expected) return performance.now() - started;
      if (child.exitCode !== null) throw new Error(`${command} exited (${child.exitCode}) before registering`);
      if (performance.now() - started > 30_000) throw new Error(`${command}: ${registered}/${expected} registered after 30 s`);
      await Bun.sleep(2);
    }
  } finally {
    await stopChild(child);
    // gearmand forgets a dead worker's functions as soon as it sees the socket close.
    while ((await admin.status()).some((f) => f.workers > 0)) await Bun.sleep(2);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  let bin = process.env.NODEPOOL_BUILDER_BIN ? resolve(process.env.NODEPOOL_BUILDER_BIN) : '';
  if (!bin) {
    const built = await run('npm', ['run', '-s', 'build'], '', 120_000);
    if (built.code !== 0) throw new Error(`npm run build failed: ${built.stderr}`);
    bin = resolve('dist/nodepool-builder');
  }
  await using gearmand = await startGearmand();
  const admin = new AdminClient(gearmand);
  const full = join(dir, 'full');
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await seedStandInImages(full, Array.from({ length: IMAGES }, (_, i) => `cold-${String(i).padStart(5, '0')}`));
  const fullConfig = config(dir, full, gearmand);
  const emptyConfig = config(dir, empty, gearmand);
  const functions = 1 + 2 * IMAGES;
  const names = ['image-build:tiny', ...Array.from({ length: IMAGES }, (_, i) => [`image-upload:c${i}`, `image-delete:c${i}`]).flat()];

  const contenders: Array<[string, () => Promise<number>]> = [
    [`ours, ${IMAGES} images`, () => timeToRegistered(admin, bin, ['run', '-c', fullConfig], functions)],
    ['ours, empty repository', () => timeToRegistered(admin, bin, ['run', '-c', emptyConfig], 1)],
    [`gearman -w, ${functions} functions`, () => timeToRegistered(admin, 'gearman', ['-h', gearmand.host, '-p', String(gearmand.port), '-w', ...names.flatMap((n) => ['-f', n]), '--', 'true'], functions)],
  ];
  const times = new Map(contenders.map(([name]) => [name, [] as number[]]));
  for (const [, measure] of contenders) await measure(); // warm the page cache for every contender
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const [name, measure] of order) times.get(name)!.push(await measure());
  }
  admin.close();
  rmSync(dir, { recursive: true, force: true });

  const medians = new Map([...times].map(([name, values]) => [name, median(values)]));
  const ours = medians.get(`ours, ${IMAGES} images`)!;
  console.log(`cold start to registered, median of ${ROUNDS} rounds (ms):`);
  for (const [name, value] of medians) {
    console.log(`  ${name.padEnd(34)} ${value.toFixed(1).padStart(8)}   ours/this ${(ours / value).toFixed(2)}×   [${times.get(name)!.map((t) => t.toFixed(0)).join(' ')}]`);
  }
  console.log(`goal: ours with ${IMAGES} images ≤ 1000 ms: ${ours <= 1000 ? 'met' : 'NOT met'} (${ours.toFixed(0)} ms)`);
}

await main();
