/**
 * Reconnect and failover times on gearmand and the embedded server: [1] after a restart, until
 * our Worker (backoff 100 ms .. 1 s) is in the server's `workers` with every function; [2] a
 * job's round trip with one of a client's two servers down. Knobs: BENCH_ROUNDS (7), BENCH_JOBS (50).
 */
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { JOB_SERVERS, type JobServer } from '../../spec/support/job-servers.ts';
import { median } from '../jobs/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const JOBS = Number(process.env.BENCH_JOBS ?? 50);
const BACKOFF = { initialDelayMs: 100, maxDelayMs: 1000 };
const FUNCTIONS = ['image-build:tiny', 'image-upload:1'];

/** Polls the server's `workers` list until our worker holds every function; returns when it does. */
async function whenRegistered(server: JobServer): Promise<void> {
  for (;;) {
    const admin = new AdminClient(server, { connectTimeoutMs: 1000, replyTimeoutMs: 1000 });
    const seen = await admin.workers().catch(() => []);
    admin.close();
    const functions = new Set(seen.filter((w) => w.clientId.startsWith('reconnect/')).flatMap((w) => w.functions));
    if (FUNCTIONS.every((fn) => functions.has(fn))) return;
    await Bun.sleep(5);
  }
}

const fmt = (ms: readonly number[]): string =>
  `median ${median(ms).toFixed(1)} ms (min ${Math.min(...ms).toFixed(1)}, max ${Math.max(...ms).toFixed(1)})`;

async function reregistration(server: JobServer): Promise<{ restart: number[]; register: number[] }> {
  const worker = new Worker({ servers: [server], clientId: 'reconnect', backoff: BACKOFF });
  for (const fn of FUNCTIONS) worker.register(fn, () => 'ok');
  worker.start();
  try {
    await whenRegistered(server);
    const restart: number[] = [];
    const register: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      await server.restart();
      const t1 = performance.now();
      await whenRegistered(server);
      restart.push(t1 - t0);
      register.push(performance.now() - t1);
    }
    return { restart, register };
  } finally {
    await worker.stop(1000);
  }
}

async function roundTrips(client: Client): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < JOBS; i++) {
    const t0 = performance.now();
    await client.submit('echo', String(i), { timeoutMs: 10_000 });
    times.push(performance.now() - t0);
  }
  return times;
}

async function failover(kindStart: () => Promise<JobServer>): Promise<{ up: number[]; down: number[] }> {
  const servers = await Promise.all([kindStart(), kindStart()]);
  const addresses = servers.map(({ host, port }) => ({ host, port }));
  const worker = new Worker({ servers: addresses, clientId: 'reconnect', backoff: BACKOFF });
  worker.register('echo', (job) => job.payload);
  worker.start();
  const client = new Client({ servers: addresses, backoff: BACKOFF, connectTimeoutMs: 5000 });
  try {
    const up: number[] = [];
    const down: number[] = [];
    await roundTrips(client);
    for (let r = 0; r < ROUNDS; r++) {
      up.push(median(await roundTrips(client)));
      await servers[0]!.kill();
      down.push(median(await roundTrips(client)));
      await servers[0]!.restart();
    }
    return { up, down };
  } finally {
    await client.close();
    await worker.stop(1000);
    await Promise.all(servers.map((s) => s.kill()));
  }
}

console.log(`reconnect benchmark (bench/reconnect): ${ROUNDS} rounds, medians`);
for (const kind of JOB_SERVERS) {
  const server = await kind.start();
  try {
    const { restart, register } = await reregistration(server);
    console.log(`\n[1] ${kind.name} restarts: listening again after ${fmt(restart)};`);
    console.log(`    from then, the worker registered again after ${fmt(register)}`);
  } finally {
    await server.kill();
  }
  const { up, down } = await failover(kind.start);
  console.log(`[2] ${kind.name}, a client with two servers: job round trip ${fmt(up)} with both up;`);
  console.log(`    with the first one killed: ${fmt(down)} (per round: the median of ${JOBS} jobs)`);
}
