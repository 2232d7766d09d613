/**
 * (fake silent server) Client-side waits for a TLS handshake are bounded (issue 19, G2): a server
 * that takes the TCP connection and never answers the ClientHello does not hold a command or a
 * worker forever. The fake stands in for a stalled TLS server, which no real peer produces on demand.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { type HostileServer, startHostileServer } from '../support/hostile-server.ts';
import { eventually, run } from '../support/run.ts';
import { type TestPki, makeTestPki } from '../support/tls.ts';

let pki: TestPki;
let silent: HostileServer;

beforeAll(async () => {
  pki = await makeTestPki();
  silent = await startHostileServer('silent');
});

afterAll(async () => {
  await silent.close();
});

test('G2: status --tls-ca against a server that never finishes the TLS handshake exits 3, naming the server', async () => {
  const where = `${silent.host}:${silent.port}`;
  // The bound only keeps a hanging command from stalling the suite; the default connect timeout is 10 s.
  const result = await run(process.execPath, ['src/cli/main.ts', 'status', '--server', where, '--tls-ca', pki.caFile], '', 60_000);
  expect(result.code).toBe(3);
  expect(result.stderr).toContain(where);
});

test('a worker whose TLS handshake is never answered gives up on the connection and connects again', async () => {
  const before = silent.connections;
  const worker = new Worker({
    servers: [{ host: silent.host, port: silent.port, tls: { ca: pki.ca } }],
    connectTimeoutMs: 100,
    backoff: { initialDelayMs: 20, maxDelayMs: 50 },
  });
  worker.register('never', () => '');
  worker.start();
  try {
    await eventually(() => silent.connections >= before + 3, 10_000, 'the worker to retry the handshake');
  } finally {
    await worker.stop(100);
  }
});
