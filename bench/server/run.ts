/**
 * Job server benchmark: echo jobs/s through gearmand and through our server, the same raw
 * workers, clients and load for both, each server in its own process. Run with
 * `npm run bench:server`. Knobs (environment):
 *   BENCH_ROUNDS     timed rounds per server and shape (default 5), interleaved
 *   BENCH_JOBS       jobs per run (default 20,000)
 *   BENCH_IN_FLIGHT  SUBMIT_JOBs outstanding at once (default 16)
 *   BENCH_ACL        1: also ours with access rules loaded, compared with ours without
 */
import os from 'node:os';
import { median } from '../jobs/stats.ts';
import type { ChildServer } from '../../spec/support/child-server.ts';
import { startEmbeddedServer } from '../../spec/support/embedded-server.ts';
import { startGearmand } from '../../spec/support/gearmand.ts';
import { cpuSeconds } from '../../spec/support/process-stats.ts';
import { type Load, runLoad } from './load.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 16);
const SHAPES = [1, 4] as const;
/** A fleet's shape of access rules; the bench's plain connections are anonymous. */
const RULES = `
[[rule]]
cn = "builder-*"
register = ["image-*", "provider-image-*", "builder-image-list:*"]
[[rule]]
cn = "anonymous"
register = ["image-*", "provider-image-*", "builder-image-list:*", "bench-echo-*"]
submit = ["image-*", "provider-image-*", "builder-image-list:*", "bench-echo-*"]
`;
/** Each server in its own process on 127.0.0.1 and a free port, as the e2e tests start them. */
const KINDS: readonly { readonly name: string; start(): Promise<ChildServer> }[] = [
  { name: 'gearmand', start: () => startGearmand() },
  { name: 'ours', start: () => startEmbeddedServer() },
  ...(process.env.BENCH_ACL === '1' ? [{ name: 'ours+acl', start: () => startEmbeddedServer({ accessRules: RULES }) }] : []),
];
const PAYLOAD = new TextEncoder().encode('{"image-id": "0123456789abcdef"}');

const fmt = (n: number): string => Math.round(n).toLocaleString('en');

async function main(): Promise<void> {
  console.log(
    `job server bench: ${JOBS.toLocaleString('en')} echo jobs a run, ${IN_FLIGHT} in flight, ${ROUNDS} interleaved rounds; ` +
      `${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown CPU'}, bun ${Bun.version}`,
  );
  const servers: { readonly name: string; readonly port: number; readonly server: ChildServer }[] = [];
  for (const kind of KINDS) {
    const server = await kind.start();
    servers.push({ name: kind.name, port: server.port, server });
  }
  const samples = new Map<string, number[]>();
  /** The server process's CPU µs per job: on a machine others load too, steadier than jobs/s. */
  const cpuSamples = new Map<string, number[]>();
  const key = (server: string, connections: number): string => `${server}/${connections}`;
  try {
    // One untimed warm-up run each.
    for (const server of servers) for (const connections of SHAPES) await runLoad(server.port, load(connections, 2_000));
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first, so drift and warm caches hit both alike.
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const connections of SHAPES) {
        for (const server of order) {
          const cpuBefore = cpuSeconds(server.server.pid);
          const rate = await runLoad(server.port, load(connections, JOBS));
          const cpuPerJob = ((cpuSeconds(server.server.pid) - cpuBefore) / JOBS) * 1e6;
          const list = samples.get(key(server.name, connections)) ?? [];
          list.push(rate);
          samples.set(key(server.name, connections), list);
          const cpuList = cpuSamples.get(key(server.name, connections)) ?? [];
          cpuList.push(cpuPerJob);
          cpuSamples.set(key(server.name, connections), cpuList);
        }
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.server.kill()));
  }
  console.log('');
  console.log('| connections | gearmand jobs/s | ours jobs/s | ours / gearmand |');
  console.log('|---:|---:|---:|---:|');
  for (const connections of SHAPES) {
    const theirs = median(samples.get(key('gearmand', connections)) ?? [0]);
    const ours = median(samples.get(key('ours', connections)) ?? [0]);
    console.log(`| ${connections} | ${fmt(theirs)} | ${fmt(ours)} | ${(ours / theirs).toFixed(2)}× |`);
  }
  for (const connections of samples.has(key('ours+acl', 1)) ? SHAPES : []) {
    const withRules = median(samples.get(key('ours+acl', connections)) ?? [0]);
    const ours = median(samples.get(key('ours', connections)) ?? [0]);
    console.log(`ours with access rules, ${connections} connection(s): ${fmt(withRules)} jobs/s, ${(withRules / ours).toFixed(2)}× without`);
  }
  console.log('');
  console.log('| connections | server | CPU µs per job (median) | vs ours |');
  console.log('|---:|---|---:|---:|');
  for (const connections of SHAPES) {
    const ours = median(cpuSamples.get(key('ours', connections)) ?? [0]);
    for (const { name } of servers) {
      const cpu = median(cpuSamples.get(key(name, connections)) ?? [0]);
      console.log(`| ${connections} | ${name} | ${cpu.toFixed(1)} | ${(cpu / ours).toFixed(2)}× |`);
    }
  }
  console.log('');
  for (const [name, values] of samples) console.log(`${name}: ${values.map(fmt).join(', ')}`);
}

function load(connections: number, jobs: number): Load {
  return { connections, inFlight: IN_FLIGHT, jobs, payload: PAYLOAD };
}

await main();
