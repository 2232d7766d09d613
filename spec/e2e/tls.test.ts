import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client } from '../../src/protocol/client/client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { captureLogs } from '../support/log-capture.ts';
import { eventually } from '../support/run.ts';
import { type TestPki, type TlsFront, makeTestPki, startStunnel } from '../support/tls.ts';

describe.each(JOB_SERVERS)('TLS through stunnel4 in front of $name', (kind) => {
  let server: JobServer;
  let pki: TestPki;
  let front: TlsFront;

  beforeAll(async () => {
    server = await kind.start();
    pki = await makeTestPki();
    front = await startStunnel(pki, server);
  });

  afterAll(async () => {
    await front.stop();
    await server.kill();
  });

  const tlsServer = (tls: Record<string, string>) => [{ host: '127.0.0.1', port: front.port, tls }];

  test('a worker and a client with certificates from the test CA run a job over TLS', async () => {
    const tls = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };
    const worker = new Worker({ servers: tlsServer(tls), slots: { default: 1 } });
    worker.register('secret-echo', (job) => job.payload);
    worker.start();
    const client = new Client({ servers: tlsServer(tls), connectTimeoutMs: 5000 });
    try {
      const result = await client.submit('secret-echo', 'over tls', { timeoutMs: 5000 });
      expect(Buffer.from(result.data).toString()).toBe('over tls');
    } finally {
      await client.close();
      await worker.stop(1000);
    }
  });

  test('a wrong CA gives one clear error, then quiet backoff', async () => {
    const logs = captureLogs();
    const tls = { ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey };
    const worker = new Worker({
      servers: tlsServer(tls),
      logger: logs,
      backoff: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    worker.register('never', () => 'x');
    worker.start();
    await eventually(() => logs.at('debug').filter((line) => line.includes('still failing')).length >= 3, 10_000);
    await worker.stop(100);
    const warnings = logs.at('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cannot connect: .*(certificate|self.signed|issuer)/i);
  });

  test('without a client certificate the server refuses the connection', async () => {
    const logs = captureLogs();
    const client = new Client({ servers: tlsServer({ ca: pki.ca }), logger: logs, connectTimeoutMs: 1500 });
    const err = await client.submit('secret-echo', '', { timeoutMs: 1500 }).catch((e: unknown) => e as Error);
    await client.close();
    expect(['NO_SERVER', 'CONNECTION_LOST']).toContain((err as { code?: string }).code ?? '');
  });
});
