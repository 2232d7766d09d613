import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:https';
import { join } from 'node:path';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { HttpConnectionError, HttpStatusError } from '../../src/uploaders/openstack/errors.ts';
import { HttpClient, type TlsSettings, errorDetail } from '../../src/uploaders/openstack/http.ts';
import { freePort } from '../support/ports.ts';
import { type TestPki, makeTestPki } from '../support/tls.ts';
import { silentLogger } from '../../src/util/log.ts';

describe('the HTTP client', () => {
  let pki: TestPki;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    pki = await makeTestPki();
    server = createServer(
      {
        cert: readFileSync(pki.serverCertFile),
        key: readFileSync(pki.serverKeyFile),
        ca: pki.ca,
        // Only clients with a certificate from the test CA get through.
        requestCert: true,
        rejectUnauthorized: true,
      },
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ hello: 'client' }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const clientCert = () => ({ certFile: join(pki.dir, 'client.pem'), keyFile: join(pki.dir, 'client.key') });
  const get = async (tls: TlsSettings) => {
    const http = await HttpClient.create(tls, silentLogger);
    try {
      return await http.send({ method: 'GET', url, signal: AbortSignal.timeout(5_000) });
    } finally {
      await http.close();
    }
  };

  test('cacert verifies the server; cert and key present a client certificate', async () => {
    const response = await get({ verify: true, caFile: pki.caFile, ...clientCert() });
    expect(response.body).toEqual({ hello: 'client' });
    expect(await get({ verify: true, caFile: pki.caFile }).catch((e: unknown) => e)).toBeInstanceOf(Error);
  });

  test('an untrusted server is a TLS failure (a WORK_FAIL that names the settings), not a retry', async () => {
    const err = await get({ verify: true, ...clientCert() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailure);
    expect((err as JobFailure).code).toBe('TLS');
    expect((err as Error).message).toContain('cacert / verify');
  });

  test('verify: false accepts any certificate', async () => {
    expect((await get({ verify: false, ...clientCert() })).status).toBe(200);
  });

  test('a refused connection is an HttpConnectionError (retryable)', async () => {
    const http = await HttpClient.create({ verify: true }, silentLogger);
    const port = await freePort();
    const err = await http.send({ method: 'GET', url: `http://127.0.0.1:${port}/`, signal: AbortSignal.timeout(5_000) }).catch((e: unknown) => e);
    await http.close();
    expect(err).toBeInstanceOf(HttpConnectionError);
    expect((err as HttpConnectionError).systemCode).toBe('ECONNREFUSED');
  });

  test("error bodies: JSON messages and HTML both come out as the server's words", () => {
    expect(errorDetail({ message: 'Image ID x already exists!<br /><br />\n\n\n', code: '409 Conflict' })).toBe('Image ID x already exists!');
    expect(errorDetail({ error: { code: 401, message: 'The request you have made requires authentication.' } })).toBe(
      'The request you have made requires authentication.',
    );
    expect(errorDetail('<html><body><h1>413 Request Entity Too Large</h1>Image exceeds the storage quota</body></html>')).toBe(
      '413 Request Entity Too Large Image exceeds the storage quota',
    );
    expect(new HttpStatusError(503, 'GET', 'http://g/v2', 'busy').transient).toBe(true);
    expect(new HttpStatusError(409, 'GET', 'http://g/v2', 'no').transient).toBe(false);
  });
});
