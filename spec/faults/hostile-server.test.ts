import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { type HostileServer, type Misbehaviour, startHostileServer } from '../support/hostile-server.ts';
import { captureLogs } from '../support/log-capture.ts';
import { fdCount, rss } from '../support/process-stats.ts';
import { eventually } from '../support/run.ts';

const MiB = 1024 * 1024;
const RSS_GROWTH_LIMIT = 100 * MiB;
const PROTOCOL_CODES = [
  'BAD_MAGIC',
  'UNEXPECTED_MAGIC',
  'UNKNOWN_TYPE',
  'PACKET_TOO_LARGE',
  'LINE_TOO_LONG',
  'MISSING_ARGUMENT',
  'UNEXPECTED_BODY',
  'BAD_ARGUMENT',
  'WRONG_ARGUMENT_COUNT',
  'DECODER_FAILED',
  'PACKET_TIMEOUT',
  'TRUNCATED',
  'REPLY_TIMEOUT',
] as const;

/**
 * One worker registered on two servers: a fake hostile one that misbehaves on every connection
 * and a real gearmand. It has a single slot, so a GRAB the hostile server leaves unanswered
 * would starve gearmand's jobs if the worker did not give up on it.
 */
describe('(fake hostile server) a worker abused by its job server', () => {
  let hostile: HostileServer;
  let gearmand: Gearmand;
  let worker: Worker;
  let client: Client;
  let baselineRss = 0;
  let baselineFds = 0;
  const logs = captureLogs();

  beforeAll(async () => {
    [hostile, gearmand] = await Promise.all([startHostileServer('bad-magic', { floodMs: 120_000, trickleMs: 5 }), startGearmand()]);
    worker = new Worker({
      servers: [hostile, gearmand],
      slots: { default: 1 },
      clientId: 'hostile-victim',
      logger: logs,
      backoff: { initialDelayMs: 50, maxDelayMs: 500 },
      // Small enough that the test sees each give up, large enough for a loaded machine.
      partialPacketTimeoutMs: 1_000,
      grabTimeoutMs: 5_000,
    });
    worker.register('fault-echo', (job) => job.payload);
    worker.start();
    client = new Client({ servers: [gearmand] });
    await echo('warm-up');
    baselineRss = rss(process.pid);
    baselineFds = fdCount(process.pid);
  });

  afterAll(async () => {
    await client?.close();
    await worker?.stop(1_000);
    await Promise.all([hostile?.close(), gearmand?.kill()]);
  });

  async function echo(text: string): Promise<string> {
    const result = await client.submit('fault-echo', text, { timeoutMs: 60_000 });
    return Buffer.from(result.data).toString();
  }

  /** Lines about the hostile server logged since `from`. */
  const hostileLines = (from: number): string[] =>
    logs.lines.slice(from).map((l) => l.message).filter((m) => m.includes(`:${hostile.port}`));

  /**
   * Plays `misbehaviour`, then: a real job through gearmand succeeds while it goes on, the worker
   * comes back to the hostile server again and again, logs `codes` (a ProtocolError code) about
   * it, keeps its RSS bounded, and serves a job afterwards.
   */
  async function survives(misbehaviour: Misbehaviour, codes: readonly string[]): Promise<string[]> {
    const connectionsBefore = hostile.connections;
    hostile.play(misbehaviour);
    // The previous misbehaviour's connection is cut by play(): what the worker logs about that
    // comes before its next connection, so only lines after that one count.
    await eventually(() => hostile.connections > connectionsBefore, 30_000, `a connection to the ${misbehaviour} server`);
    const fromLine = logs.lines.length;
    expect(await echo(`during ${misbehaviour}`)).toBe(`during ${misbehaviour}`);
    await eventually(() => hostile.connections >= connectionsBefore + 3, 60_000, `the worker to reconnect to the ${misbehaviour} server`);
    if (codes.length > 0) {
      const pattern = new RegExp(`\\b(${codes.join('|')}): `);
      await eventually(() => hostileLines(fromLine).some((line) => pattern.test(line)), 30_000, `a ${codes.join('/')} error in the log`);
    }
    expect(rss(process.pid) - baselineRss).toBeLessThan(RSS_GROWTH_LIMIT);
    expect(await echo(`after ${misbehaviour}`)).toBe(`after ${misbehaviour}`);
    return hostileLines(fromLine);
  }

  test('bad magic: BAD_MAGIC, reconnects, keeps serving', async () => {
    await survives('bad-magic', ['BAD_MAGIC']);
  });

  test('a header declaring 4 GiB: PACKET_TOO_LARGE before anything is buffered', async () => {
    const lines = await survives('huge-header', ['PACKET_TOO_LARGE']);
    expect(lines.some((l) => l.includes('declared size 4294967295'))).toBe(true);
  });

  test('an unknown packet type: UNKNOWN_TYPE', async () => {
    await survives('unknown-type', ['UNKNOWN_TYPE']);
  });

  test('JOB_ASSIGN_UNIQ without its NUL separators: MISSING_ARGUMENT, and no job runs', async () => {
    const lines = await survives('missing-nuls', ['MISSING_ARGUMENT']);
    expect(lines.some((l) => l.includes('JOB_ASSIGN_UNIQ'))).toBe(true);
    expect(worker.stats().busy).toEqual({ default: 0 });
  });

  test('a server that never answers: REPLY_TIMEOUT frees the slot its GRAB held, so the jobs of gearmand still run', async () => {
    await survives('silent', ['REPLY_TIMEOUT']);
  });

  test('an endless NOOP flood: the worker keeps up, serves gearmand during it, gives up on the unanswered GRAB, memory bounded', async () => {
    const sentBefore = hostile.bytesSent;
    const lines = await survives('noop-flood', ['REPLY_TIMEOUT']);
    // Sanity: the flood really happened (megabytes of NOOPs).
    expect(hostile.bytesSent - sentBefore).toBeGreaterThan(MiB);
    // NOOPs are valid: the worker must not refuse the stream as malformed.
    const refused = lines.filter((l) => /\b(BAD_MAGIC|UNKNOWN_TYPE|PACKET_TOO_LARGE|MISSING_ARGUMENT|UNEXPECTED_BODY|DECODER_FAILED): /.test(l));
    expect(refused).toEqual([]);
  });

  test('random bytes: a typed ProtocolError, never a crash', async () => {
    await survives('random-bytes', PROTOCOL_CODES);
  });

  test('a slowloris trickle of a large packet: PACKET_TIMEOUT, the connection is dropped', async () => {
    await survives('slowloris', ['PACKET_TIMEOUT']);
  });

  test('a reset in the middle of a packet: TRUNCATED', async () => {
    await survives('reset-mid-packet', ['TRUNCATED']);
  });

  test('after all the abuse: still registered on gearmand and serving', async () => {
    expect(worker.registered()).toEqual(['fault-echo']);
    expect(await echo('the end')).toBe('the end');
    expect(rss(process.pid) - baselineRss).toBeLessThan(RSS_GROWTH_LIMIT);
    // Dozens of reconnects leave no sockets behind (one per server, plus a few in passing).
    expect(fdCount(process.pid) - baselineFds).toBeLessThan(10);
  });
});
