/**
 * Upload throughput and memory into a real Glance (ours by default and with upload-hashing =
 * "in-stream", curl, `openstack image create`) and into a local sink (ours unhashed and hashing
 * in-stream, curl). Method, knobs and results: README.md here.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchGlance, prepareGlance } from '../../spec/support/openstack/glance-server.ts';
import { randomImageFile } from '../../spec/support/openstack/upload-job.ts';
import { median } from '../jobs/stats.ts';
import { type Target, type Trial, curlToGlance, curlToSink, openstackToGlance, oursToGlance, oursToSink } from './contenders.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MiB = 1024 * 1024;
const GLANCE_BYTES = Number(process.env.BENCH_GLANCE_MIB ?? 1024) * MiB;
const SINK_BYTES = Number(process.env.BENCH_SINK_MIB ?? 2048) * MiB;

type Contender = readonly [name: string, run: () => Promise<Trial>];

async function rounds(title: string, contenders: readonly Contender[], after?: () => Promise<void>): Promise<Map<string, Trial[]>> {
  const trials = new Map<string, Trial[]>(contenders.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const [name, run] = contenders[(i + round) % contenders.length]!;
      const trial = await run();
      trials.get(name)!.push(trial);
      process.stderr.write(`${title} round ${round + 1}: ${name} ${trial.transferSeconds.toFixed(2)} s\n`);
      await after?.();
    }
  }
  return trials;
}

/**
 * Ratios are throughput relative to curl. "paired" is the median over rounds of curl's time
 * over the contender's in the same round: on a machine whose load drifts, contenders that ran
 * seconds apart are compared, not a quiet round of one with a busy round of the other.
 */
function report(title: string, bytes: number, trials: Map<string, Trial[]>, baseline: string): void {
  const curl = trials.get(baseline)!;
  const base = median(curl.map((t) => t.transferSeconds));
  const baseWall = median(curl.map((t) => t.wallSeconds));
  console.log(`\n${title} — ${(bytes / MiB).toFixed(0)} MiB, medians of ${ROUNDS} interleaved rounds`);
  console.log('| contender | transfer s | MB/s | × curl | × curl (paired) | wall s | × curl (wall) | peak RSS |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, list] of trials) {
    const transfer = median(list.map((t) => t.transferSeconds));
    const wall = median(list.map((t) => t.wallSeconds));
    const paired = median(list.map((t, round) => curl[round]!.transferSeconds / t.transferSeconds));
    const rss = list.some((t) => t.peakRssMiB !== undefined) ? `${Math.max(...list.map((t) => t.peakRssMiB ?? 0)).toFixed(0)} MiB` : '—';
    console.log(
      `| ${name} | ${transfer.toFixed(2)} | ${(bytes / transfer / 1e6).toFixed(0)} | ${(base / transfer).toFixed(2)} | ${paired.toFixed(2)} | ` +
        `${wall.toFixed(2)} | ${(baseWall / wall).toFixed(2)} | ${rss} |`,
    );
  }
}

async function startSink(bunPath: string): Promise<{ url: string; stop(): void }> {
  const child = spawn(bunPath, [join(import.meta.dir, 'sink.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { url: `http://127.0.0.1:${port}/sink`, stop: () => child.kill('SIGTERM') };
}

async function benchSink(dir: string, bunPath: string): Promise<void> {
  const file = await randomImageFile(dir, SINK_BYTES, 'sink.raw');
  const target: Target = { bunPath, ...file, file: file.path };
  const sink = await startSink(bunPath);
  try {
    const trials = await rounds('sink', [
      ['curl -T', () => curlToSink(target, sink.url)],
      ['ours, default (unhashed, as upload-hashing = "auto" sends)', () => oursToSink(target, sink.url, 'none')],
      ['ours, md5+sha256 in-stream (upload-hashing = "in-stream")', () => oursToSink(target, sink.url, 'md5,sha256')],
      ['ours, sha256 in-stream', () => oursToSink(target, sink.url, 'sha256')],
    ]);
    report('Into a local HTTP sink', SINK_BYTES, trials, 'curl -T');
  } finally {
    sink.stop();
    await rm(file.path, { force: true });
  }
}

async function benchGlance(dir: string, bunPath: string): Promise<void> {
  const file = await randomImageFile(dir, GLANCE_BYTES, 'glance.raw');
  const target: Target = { bunPath, ...file, file: file.path };
  const glance = await launchGlance(await prepareGlance(join(dir, 'glance')));
  const cloudsFile = join(dir, 'clouds.yaml');
  await writeFile(cloudsFile, `clouds:\n  bench:\n    auth_type: none\n    endpoint: ${glance.url}\n`);
  // Each upload leaves a copy in the file store: delete them as we go.
  const deleteAll = async () => {
    const list = (await (await fetch(`${glance.url}/v2/images?limit=1000`)).json()) as { images: Array<{ id: string }> };
    for (const image of list.images) await fetch(`${glance.url}/v2/images/${image.id}`, { method: 'DELETE' });
  };
  try {
    let n = 0;
    const trials = await rounds(
      'glance',
      [
        ['curl (POST + PUT -T)', () => curlToGlance(target, glance.url, `bench-curl-${n++}`)],
        ['ours, default (create, PUT unhashed, verify Glance\'s checksum)', () => oursToGlance(target, cloudsFile, 'bench', 'auto')],
        ['ours, upload-hashing = "in-stream" (md5+sha256)', () => oursToGlance(target, cloudsFile, 'bench', 'in-stream')],
        ['openstack image create', () => openstackToGlance(target, cloudsFile, 'bench', `bench-osc-${n++}`)],
      ],
      deleteAll,
    );
    report('Into Glance (no-auth glance-api, file store)', GLANCE_BYTES, trials, 'curl (POST + PUT -T)');
  } finally {
    await glance.stop();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'bench-upload-'));
const bunPath = process.execPath;
try {
  if (!process.env.BENCH_SKIP_GLANCE) await benchGlance(dir, bunPath);
  if (!process.env.BENCH_SKIP_SINK) await benchSink(dir, bunPath);
} finally {
  await rm(dir, { recursive: true, force: true });
}
