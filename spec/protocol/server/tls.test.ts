/** Our server's own TLS listener, with client certificates required, next to a plain one. */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { Client } from '../../../src/protocol/client/client.ts';
import { GearmanServer, ServerStateError } from '../../../src/protocol/server/index.ts';
import { Worker } from '../../../src/protocol/worker/worker.ts';
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
