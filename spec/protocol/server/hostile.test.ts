/** Hostile peers cannot take the server down or make its memory grow without bound. */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { Buffer } from 'node:buffer';
import { type Socket, connect } from 'node:net';
import { Decoder } from '../../../src/protocol/codec/decoder.ts';
import { encodePacketBuffer } from '../../../src/protocol/codec/encoder.ts';
import type { GearmanServer } from '../../../src/protocol/server/index.ts';
import { captureLogs } from '../../support/log-capture.ts';
import { RawPeer, Type, adminRaw, startServer } from './raw-peer.ts';

const MAX_QUEUED_JOBS = 1000;
const MAX_OUTBOUND = 1024 * 1024;
const PARTIAL_TIMEOUT_MS = 300;

let server: GearmanServer;
let port: number;
const logs = captureLogs();
let rssBefore = 0;

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function rawSocket(to = port): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: to });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the server has closed the socket (the test's own timeout bounds the wait). */
function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

const drops = (): number => logs.at('warn').filter((line) => line.includes('dropping the connection')).length;

/** The server still does its job for a well-behaved worker and client. */
async function stillServes(to = port): Promise<void> {
  const worker = await RawPeer.open(to);
  const client = await RawPeer.open(to);
  worker.send(Type.CAN_DO, ['healthy']);
  await worker.sync();
  client.send(Type.SUBMIT_JOB, ['healthy', '', 'ping']);
  const { args: [handle] } = await client.next(Type.JOB_CREATED);
  worker.send(Type.GRAB_JOB);
  await worker.next(Type.JOB_ASSIGN);
  worker.send(Type.WORK_COMPLETE, [handle!, 'pong']);
  expect((await client.next(Type.WORK_COMPLETE)).args[1]).toBe('pong');
  worker.close();
  client.close();
}

beforeAll(async () => {
  Bun.gc(true);
  rssBefore = process.memoryUsage().rss;
  ({ server, port } = await startServer({
    maxQueuedJobs: MAX_QUEUED_JOBS,
    maxOutboundBytes: MAX_OUTBOUND,
    partialPacketTimeoutMs: PARTIAL_TIMEOUT_MS,
    maxPacketSize: 16 * 1024 * 1024,
    logger: logs,
  }));
});

afterAll(async () => {
  await server.close();
});

test('bad magic: ERROR INVALID_MAGIC, then the connection is closed; others are served', async () => {
  const peer = await RawPeer.open(port);
  peer.write(Buffer.from('\0XYZ\0\0\0\x01\0\0\0\0', 'latin1'));
  expect((await peer.next(Type.ERROR)).args[0]).toBe('INVALID_MAGIC');
  expect(await peer.waitClosed()).toBe(true);
  await stillServes();
});

test('an unknown packet type closes the connection', async () => {
  const peer = await RawPeer.open(port);
  peer.write(Buffer.from('\0REQ\0\0\0\x63\0\0\0\0', 'latin1'));
  expect((await peer.next(Type.ERROR)).args[0]).toBe('INVALID_COMMAND');
  expect(await peer.waitClosed()).toBe(true);
});

test('a header declaring 4 GiB is refused at once, before any body is buffered', async () => {
  const peer = await RawPeer.open(port);
  const dropsBefore = drops();
  // Only the header goes out: an answer can come from the header alone, not from a timeout
  // (a timed-out connection is dropped without an ERROR).
  peer.write(Buffer.from('\0REQ\0\0\0\x07\xff\xff\xff\xff', 'latin1'));
  expect((await peer.next(Type.ERROR)).args[0]).toBe('ARGUMENT_TOO_LARGE');
  expect(await peer.waitClosed()).toBe(true);
  expect(drops()).toBe(dropsBefore);
});

test('a flood of 100,000 SUBMIT_JOB_BG: the queue stops at maxQueuedJobs, the rest get QUEUE_ERROR', async () => {
  // A server of its own without the tight partial-packet timeout: this process both floods and
  // serves, so on a busy machine a packet cut by TCP can wait longer than 300 ms for its rest.
  const { server: flooded, port: floodPort } = await startServer({
    maxQueuedJobs: MAX_QUEUED_JOBS,
    maxOutboundBytes: MAX_OUTBOUND,
    maxPacketSize: 16 * 1024 * 1024,
    logger: logs,
  });
  const socket = await rawSocket(floodPort);
  let created = 0;
  let refused = 0;
  let other = 0;
  let allAnswered: () => void = () => {};
  const answered = new Promise<void>((resolve) => (allAnswered = resolve));
  const counted = (): void => {
    if (created + refused + other === 100_000) allAnswered();
  };
  const decoder = new Decoder(
    {
      packet: (p) => {
        if (p.type === Type.JOB_CREATED) created++;
        else if (p.type === Type.ERROR && Buffer.from(p.args[0]!).toString() === 'QUEUE_ERROR') refused++;
        else other++;
        counted();
      },
      text: () => {
        other++;
        counted();
      },
    },
    { expect: 'RES' },
  );
  socket.once('close', allAnswered);
  socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  const payload = Buffer.alloc(512, 'x');
  const batch: Uint8Array[] = [];
  for (let i = 0; i < 100_000; i++) {
    batch.push(encodePacketBuffer('REQ', Type.SUBMIT_JOB_BG, ['flood', `u${i}`, payload]));
    if (batch.length === 5_000) socket.write(Buffer.concat(batch.splice(0)));
  }
  await answered;
  expect(other).toBe(0);
  expect(created).toBe(MAX_QUEUED_JOBS);
  expect(refused).toBe(100_000 - MAX_QUEUED_JOBS);
  expect(flooded.stats()).toMatchObject({ jobs: MAX_QUEUED_JOBS, queued: MAX_QUEUED_JOBS });
  expect(flooded.stats().heldBytes).toBe(MAX_QUEUED_JOBS * payload.length);
  socket.destroy();
  // A worker drains the queue, so the jobs' room is free again.
  const drain = await RawPeer.open(floodPort);
  drain.send(Type.CAN_DO, ['flood']);
  for (let i = 0; i < MAX_QUEUED_JOBS; i++) {
    drain.send(Type.GRAB_JOB);
    const { args: [handle] } = await drain.next(Type.JOB_ASSIGN);
    drain.send(Type.WORK_COMPLETE, [handle!, '']);
  }
  await drain.sync();
  drain.close();
  expect(flooded.stats().jobs).toBe(0);
  await stillServes(floodPort);
  await flooded.close();
}, 30_000);

test('slowloris: a packet trickled a byte at a time is dropped after partialPacketTimeoutMs', async () => {
  const socket = await rawSocket();
  socket.on('error', () => {});
  // Trickling it all would take 10 s, far past the timeout; the last byte is never sent.
  const packet = encodePacketBuffer('REQ', Type.SUBMIT_JOB, ['f', 'u', 'a payload that never ends '.repeat(8)]);
  const dropsBefore = drops();
  let at = 0;
  const trickle = setInterval(() => {
    if (at < packet.length - 1 && !socket.destroyed) socket.write(packet.subarray(at, ++at));
  }, 50);
  try {
    await closed(socket);
  } finally {
    clearInterval(trickle);
  }
  // Dropped while bytes were still coming: arriving bytes do not keep a packet alive. Yet not at
  // its first byte: the trickle's earlier timers ran first.
  expect(at).toBeLessThan(packet.length - 1);
  expect(at).toBeGreaterThan(1);
  expect(drops()).toBe(dropsBefore + 1);
  expect(logs.at('warn').some((line) => line.includes('still incomplete'))).toBe(true);
});

test('slowloris on the text protocol: an admin line that never ends is dropped too', async () => {
  const socket = await rawSocket();
  socket.on('error', () => {});
  const dropsBefore = drops();
  socket.write('stat');
  await closed(socket);
  expect(drops()).toBe(dropsBefore + 1);
  expect(await adminRaw(port, 'version')).toMatch(/^OK /);
});

test('an idle connection between packets is not dropped', async () => {
  const idle = await RawPeer.open(port);
  // Another connection that starts a packet and never ends it is dropped after the timeout:
  // the idle one, open all that time, is still served.
  const trickler = await rawSocket();
  trickler.on('error', () => {});
  trickler.write(encodePacketBuffer('REQ', Type.ECHO_REQ, ['never ends']).subarray(0, 14));
  await closed(trickler);
  await idle.sync();
  expect(idle.closed).toBe(false);
  idle.close();
});

test('a client that pipelines without reading is no longer read from: its output stays bounded', async () => {
  const socket = await rawSocket();
  socket.on('error', () => {});
  socket.pause();
  const echo = encodePacketBuffer('REQ', Type.ECHO_REQ, [Buffer.alloc(60 * 1024, 'e')]);
  let sent = 0;
  // Kernel buffers on both sides absorb some megabytes; then the server stops reading, and so
  // our writes stop draining.
  while (sent < 64 * 1024 * 1024) {
    const ok = socket.write(echo);
    sent += echo.length;
    if (!ok && !(await Promise.race([new Promise((resolve) => socket.once('drain', () => resolve(true))), Bun.sleep(500)]))) break;
  }
  expect(sent).toBeLessThan(64 * 1024 * 1024);
  // Paused, not dropped: it is served again once it reads.
  expect(logs.at('warn').some((line) => line.includes('unread'))).toBe(false);
  await stillServes();
  socket.destroy();
}, 20_000);

test('a client that never reads while its job streams WORK_DATA is dropped at maxOutboundBytes', async () => {
  const client = await rawSocket();
  client.on('error', () => {});
  client.pause();
  client.write(encodePacketBuffer('REQ', Type.SUBMIT_JOB, ['chatty', '', '']));
  const worker = await RawPeer.open(port);
  worker.send(Type.CAN_DO, ['chatty']);
  worker.send(Type.GRAB_JOB);
  const { args: [handle] } = await worker.next(Type.JOB_ASSIGN);
  const chunk = Buffer.alloc(64 * 1024, 'd');
  let sent = 0;
  const unread = (): number => logs.at('warn').filter((line) => line.includes('unread')).length;
  const before = unread();
  const dropped = (): boolean => unread() > before;
  while (!dropped() && sent < 128 * 1024 * 1024) {
    worker.send(Type.WORK_DATA, [handle!, chunk]);
    sent += chunk.length;
    if (sent % (4 * 1024 * 1024) === 0) await worker.sync();
  }
  expect(dropped()).toBe(true);
  // The kernel buffers hold a few megabytes; past them the server held at most maxOutboundBytes.
  expect(sent).toBeLessThan(64 * 1024 * 1024);
  // The server let go of it (the client may take a while to read what the kernel holds).
  client.resume();
  await closed(client);
  // The worker is unharmed; its job's only client is gone, so the result goes nowhere.
  worker.send(Type.WORK_COMPLETE, [handle!, 'done']);
  await worker.sync();
  worker.close();
  await stillServes();
}, 20_000);

test('an admin line longer than the limit closes the connection', async () => {
  const socket = await rawSocket();
  socket.on('error', () => {});
  socket.resume();
  socket.write(`status ${'x'.repeat(70 * 1024)}`);
  await closed(socket);
  expect(await adminRaw(port, 'version')).toMatch(/^OK /);
});

test('after all of that, the server is well and its memory stayed bounded', async () => {
  await stillServes();
  Bun.gc(true);
  const rssAfter = process.memoryUsage().rss;
  const growth = rssAfter - rssBefore;
  console.log(`RSS ${mib(rssBefore)} → ${mib(rssAfter)} (${growth >= 0 ? '+' : ''}${mib(growth)}); jobs held: ${mib(server.stats().heldBytes)}`);
  // 100,000 submissions of 512 bytes is ~54 MiB of input, and megabytes of echo went through;
  // what stays is 1,000 jobs (0.5 MiB) plus allocator slack.
  expect(growth).toBeLessThan(200 * 1024 * 1024);
});
