import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { type RunResult, run } from '../support/run.ts';
import { type TestPki, type TlsFront, makeTestPki, startStunnel } from '../support/tls.ts';

const cli = (...args: string[]): Promise<RunResult> => run('env', ['NO_COLOR=1', process.execPath, 'src/cli/main.ts', ...args], '', 60_000);

describe('client commands and geard with TLS files (stunnel4 in front of gearmand)', () => {
  let gearmand: Gearmand;
  let pki: TestPki;
  let front: TlsFront;
  let at: string;

  beforeAll(async () => {
    gearmand = await startGearmand();
    pki = await makeTestPki();
    front = await startStunnel(pki, gearmand);
    at = `127.0.0.1:${front.port}`;
  });

  afterAll(async () => {
    await front.stop();
    await gearmand.kill();
  });

  test('G11: a TLS key that does not belong to its certificate is a usage error naming both files', async () => {
    const cert = pki.serverCertFile;
    const key = join(pki.dir, 'client.key');
    const geard = await cli('geard', '--port', '0', '--tls-cert', cert, '--tls-key', key);
    expect(geard.code).toBe(2);
    expect(geard.stderr).toContain(`--tls-cert ${cert} and --tls-key ${key} are not a certificate and its key`);
    expect(geard.stderr).toContain('KEY_VALUES_MISMATCH');
    const client = await cli('status', '-s', at, '--tls-ca', pki.caFile, '--tls-cert', join(pki.dir, 'client.pem'), '--tls-key', join(pki.dir, 'other-client.key'));
    expect(client.code).toBe(2);
    expect(client.stderr).toContain(`--tls-cert ${join(pki.dir, 'client.pem')} and --tls-key ${join(pki.dir, 'other-client.key')} are not a certificate and its key`);
  });

  test('G11: a file that is not a CA bundle, or is missing, is named with its flag (exit 2)', async () => {
    const notCa = await cli('status', '-s', at, '--tls-ca', join(pki.dir, 'client.key'));
    expect(notCa.code).toBe(2);
    expect(notCa.stderr).toContain(`--tls-ca ${join(pki.dir, 'client.key')} holds no PEM certificate`);
    const missing = await cli('status', '-s', at, '--tls-ca', join(pki.dir, 'nope.pem'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--tls-ca ${join(pki.dir, 'nope.pem')}: ENOENT`);
  });

  test('G11: a wrong --tls-ca on a client command is reported as a certificate problem, not as "no server reachable"', async () => {
    // stunnel requires a client certificate: each command shows the right one.
    const mine = ['--tls-cert', join(pki.dir, 'client.pem'), '--tls-key', join(pki.dir, 'client.key')];
    const results = await Promise.all([
      cli('status', '-s', at, '--tls-ca', pki.otherCaFile, ...mine),
      cli('image-delete', 'some-id', '-s', at, '--tls-ca', pki.otherCaFile, ...mine),
      cli('image-delete', 'some-id', '--wait', '--timeout', '2', '-s', at, '--tls-ca', pki.otherCaFile, ...mine),
    ]);
    for (const result of results) {
      expect(result.code).toBe(3);
      expect(result.stderr).toContain("the server's TLS certificate was refused");
      expect(result.stderr).toContain('check --tls-ca');
    }
    const right = await cli('status', '-s', at, '--tls-ca', pki.caFile, ...mine);
    expect(right.code).toBe(0);
  });
});
