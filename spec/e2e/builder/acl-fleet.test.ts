/**
 * Two real builders (`run` processes) on our job server with access rules loaded, each with its
 * own client certificate over TLS; a scheduler's certificate drives build and delete. The rules
 * are the README's fleet rules: builders register, the scheduler submits.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Buffer } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '../../../src/protocol/client/admin-client.ts';
import { type ClientError } from '../../../src/protocol/client/client-errors.ts';
import { Client } from '../../../src/protocol/client/client.ts';
import { GearmanServer, parseAccessRules } from '../../../src/protocol/server/index.ts';
import { type BuilderProcess, startBuilder, tinyImage } from '../../support/builder-process.ts';
import { captureLogs } from '../../support/log-capture.ts';
import { eventually } from '../../support/run.ts';
import { type ClientCert, type TestPki, makeClientCert, makeTestPki } from '../../support/tls.ts';
import { RawPeer, Type } from '../../protocol/server/raw-peer.ts';
import { FLEET_RULES as FLEET_BASE } from '../../support/fleet-rules.ts';

const FLEET_RULES = `${FLEET_BASE}
# The test's own admin view, over the plain listener.
[[rule]]
cn = "anonymous"
admin = ["read"]
`;

describe('a fleet with access rules: two builders over TLS, a scheduler certificate submitting', () => {
  let pki: TestPki;
  let certs: Record<'a' | 'b' | 'scheduler', ClientCert>;
  let server: GearmanServer;
  let tlsPort: number;
  let plainPort: number;
  let builderA: BuilderProcess;
  let builderB: BuilderProcess;
  let admin: AdminClient;
  const logs = captureLogs();

  beforeAll(async () => {
    pki = await makeTestPki();
    certs = {
      a: await makeClientCert(pki, 'builder-a'),
      b: await makeClientCert(pki, 'builder-b'),
      scheduler: await makeClientCert(pki, 'scheduler'),
    };
    server = new GearmanServer({ handleHost: 'acl-fleet', logger: logs, acl: parseAccessRules(FLEET_RULES, 'fleet.toml') });
    plainPort = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
    const tls = { cert: readFileSync(pki.serverCertFile, 'utf8'), key: readFileSync(pki.serverKeyFile, 'utf8'), ca: pki.ca };
    tlsPort = (await server.listen({ host: '127.0.0.1', port: 0, tls })).port;
    const tlsServer = { host: '127.0.0.1', port: tlsPort };
    const plain = { host: '127.0.0.1', port: plainPort };
    const settings = (name: 'a' | 'b') => ({ clientId: `builder-${name}`, admin: plain, serverTls: { ca: pki.caFile, cert: certs[name].certFile, key: certs[name].keyFile } });
    builderA = await startBuilder(tlsServer, tinyImage('tiny-a'), [], settings('a'));
    builderB = await startBuilder(tlsServer, tinyImage('tiny-b'), [], settings('b'));
    admin = new AdminClient(plain);
  }, 120_000);

  afterAll(async () => {
    admin?.close();
    await builderA?.[Symbol.asyncDispose]();
    await builderB?.[Symbol.asyncDispose]();
    await server?.close();
  });

  const serverWith = (cert: ClientCert) => [{ host: '127.0.0.1', port: tlsPort, tls: { ca: pki.ca, cert: cert.cert, key: cert.key } }];
  const functionsOf = async (clientId: string) => (await admin.workers()).filter((w) => w.clientId.startsWith(`${clientId}/`)).flatMap((w) => w.functions);

  test('build, a refused delete by the other builder, a refused hijack, then the delete: the rules change nothing the fleet is meant to do', async () => {
    const scheduler = new Client({ servers: serverWith(certs.scheduler) });
    const otherBuilder = new Client({ servers: serverWith(certs.b) });
    const hijacker = await RawPeer.openTls(tlsPort, { ca: pki.ca, cert: certs.scheduler.cert, key: certs.scheduler.key });
    try {
      const built = await scheduler.submit('image-build:tiny-a', JSON.stringify({ 'image-id': 'acl-1' }), { timeoutMs: 240_000 });
      expect(JSON.parse(Buffer.from(built.data).toString())).toMatchObject({ 'image-id': 'acl-1' });
      await eventually(async () => (await functionsOf('builder-a')).includes('image-delete:acl-1'), 20_000, 'builder-a to register image-delete:acl-1');
      expect((await functionsOf('builder-b')).sort()).toEqual(['builder-image-list:builder-b', 'image-build:tiny-b']);

      // builder-b's certificate may register but not submit: the image stays.
      const refused = await otherBuilder.submit('image-delete:acl-1', '""', { timeoutMs: 10_000 }).then(
        () => undefined,
        (err: ClientError) => err,
      );
      expect(refused?.code).toBe('ACCESS_DENIED');
      expect(existsSync(join(builderA.imagesDir, 'images', 'acl-1'))).toBe(true);

      // The scheduler's certificate may not take builder-a's delete job.
      hijacker.send(Type.CAN_DO, ['image-delete:acl-1']);
      expect((await hijacker.next(Type.ERROR)).args[0]).toBe('PERMISSION_DENIED');

      const deleted = await scheduler.submit('image-delete:acl-1', '""', { timeoutMs: 60_000 });
      expect(JSON.parse(Buffer.from(deleted.data).toString())).toEqual({});
      expect(existsSync(join(builderA.imagesDir, 'images', 'acl-1'))).toBe(false);
      expect(hijacker.pending()).toEqual([]);

      // Neither builder was refused anything, and the server knew each by its certificate.
      for (const builder of [builderA, builderB]) expect(builder.log()).not.toContain('refused to let this worker register');
      expect(logs.at('info')).toContainEqual(expect.stringMatching(/connected as CN=builder-a$/));
      expect(logs.at('info')).toContainEqual(expect.stringMatching(/connected as CN=builder-b$/));
    } finally {
      hijacker.close();
      await scheduler.close();
      await otherBuilder.close();
    }
  }, 300_000);
});
