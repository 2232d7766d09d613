/** Our server's own TLS listener, with client certificates required, next to a plain one. */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { Client } from '../../../src/protocol/client/client.ts';
import { GearmanServer, ServerStateError } from '../../../src/protocol/server/index.ts';
import { Worker } from '../../../src/protocol/worker/worker.ts';
import { eventually } from '../../support/run.ts';
import { type TestPki, makeTestPki } from '../../support/tls.ts';

let pki: TestPki;
let server: GearmanServer;
let tlsPort: number;
let plainPort: number;

beforeAll(async () => {
  pki = await makeTestPki();
  server = new GearmanServer({ handleHost: 'tls-test' });
  plainPort = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
  const bound = await server.listen({
    host: '127.0.0.1',
    port: 0,
    tls: {
      cert: readFileSync(pki.serverCertFile, 'utf8'),
      key: readFileSync(pki.serverKeyFile, 'utf8'),
      ca: pki.ca,
      requireClientCert: true,
    },
  });
  tlsPort = bound.port;
  expect(server.addresses.map((a) => a.tls)).toEqual([false, true]);
});

afterAll(async () => {
  await server.close();
});

const withCert = () => ({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });

test('a worker over TLS serves a client over TLS and one over plain TCP: one job store', async () => {
  const worker = new Worker({ servers: [{ host: '127.0.0.1', port: tlsPort, tls: withCert() }] });
  worker.register('tls-echo', (job) => job.payload);
  worker.start();
  const overTls = new Client({ servers: [{ host: '127.0.0.1', port: tlsPort, tls: withCert() }] });
  const plain = new Client({ servers: [{ host: '127.0.0.1', port: plainPort }] });
  try {
    expect(Buffer.from((await overTls.submit('tls-echo', 'secret', { timeoutMs: 5000 })).data).toString()).toBe('secret');
    expect(Buffer.from((await plain.submit('tls-echo', 'in clear', { timeoutMs: 5000 })).data).toString()).toBe('in clear');
  } finally {
    await overTls.close();
    await plain.close();
    await worker.stop(500);
  }
});

test('without a client certificate the TLS listener refuses the connection', async () => {
  const client = new Client({
    servers: [{ host: '127.0.0.1', port: tlsPort, tls: { ca: pki.ca } }],
    connectTimeoutMs: 1500,
    backoff: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  const err = await client.submit('tls-echo', '', { timeoutMs: 1500 }).then(
    () => undefined,
    (e: unknown) => e as { code?: string },
  );
  await client.close();
  expect(['NO_SERVER', 'CONNECTION_LOST']).toContain(err?.code ?? 'resolved');
  // A refused handshake costs the server nothing: it still serves.
  expect(server.stats().connections).toBe(0);
});

test('G1: a listener that requires client certificates without a CA of its own is refused (BAD_OPTIONS)', async () => {
  const lax = new GearmanServer({ handleHost: 'tls-test' });
  const tls = { cert: readFileSync(pki.serverCertFile, 'utf8'), key: readFileSync(pki.serverKeyFile, 'utf8'), requireClientCert: true };
  const refused = await lax.listen({ host: '127.0.0.1', port: 0, tls }).then(
    () => undefined,
    (err: unknown) => err,
  );
  await lax.close();
  expect(refused).toBeInstanceOf(ServerStateError);
  expect((refused as ServerStateError).code).toBe('BAD_OPTIONS');
});

/** A raw TCP connection that will never send a ClientHello. */
function idleConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function closed(socket: Socket): Promise<'closed'> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve('closed');
    socket.once('close', () => resolve('closed'));
  });
}

async function tlsServer(options: { handshakeTimeoutMs: number; maxConnections?: number }): Promise<{ server: GearmanServer; port: number }> {
  const server = new GearmanServer({ handleHost: 'tls-test', ...options });
  const tls = { cert: readFileSync(pki.serverCertFile, 'utf8'), key: readFileSync(pki.serverKeyFile, 'utf8'), ca: pki.ca, requireClientCert: true };
  const { port } = await server.listen({ host: '127.0.0.1', port: 0, tls });
  return { server, port };
}

test('G2: a TCP connect that never sends a ClientHello is closed at the handshake timeout', async () => {
  const { server: strict, port } = await tlsServer({ handshakeTimeoutMs: 200 });
  try {
    const idle = await Promise.all([idleConnect(port), idleConnect(port), idleConnect(port), idleConnect(port)]);
    // The server closes them; nothing on this side does (the test's own bound is the only other end).
    expect(await Promise.all(idle.map(closed))).toEqual(['closed', 'closed', 'closed', 'closed']);
    expect(strict.stats().handshakes).toBe(0);
  } finally {
    await strict.close();
  }
});

test('G2: connections still in their TLS handshake count against maxConnections', async () => {
  const { server: small, port } = await tlsServer({ handshakeTimeoutMs: 60_000, maxConnections: 2 });
  try {
    const idle = [await idleConnect(port), await idleConnect(port)];
    await eventually(() => small.stats().handshakes === 2, 5000, 'two handshakes pending');
    const third = await idleConnect(port);
    expect(await closed(third)).toBe('closed');
    expect(idle.map((s) => s.destroyed)).toEqual([false, false]);
    // Once the idle ones leave, a real client is served again.
    for (const socket of idle) socket.destroy();
    await eventually(() => small.stats().handshakes === 0, 5000, 'the idle handshakes to go');
    const worker = new Worker({ servers: [{ host: '127.0.0.1', port, tls: withCert() }] });
    worker.register('tls-echo', (job) => job.payload);
    worker.start();
    const client = new Client({ servers: [{ host: '127.0.0.1', port, tls: withCert() }] });
    try {
      expect(Buffer.from((await client.submit('tls-echo', 'served', { timeoutMs: 5000 })).data).toString()).toBe('served');
    } finally {
      await client.close();
      await worker.stop(500);
    }
  } finally {
    await small.close();
  }
});
