/**
 * `run` embedding the job server with TLS from its config (issue 16): `geard-tls-cert`,
 * `geard-tls-key`, `geard-tls-ca` give the listener a certificate and ask clients for theirs, and
 * `run`'s own worker connects with the same certificate, so rules by CN apply to it as to any
 * builder. Before these keys the embedded server was plain TCP and every connection anonymous.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { FLEET_RULES } from '../support/fleet-rules.ts';
import { freePort } from '../support/ports.ts';
import { eventually, run, stopChild } from '../support/run.ts';
import { type ClientCert, type TestPki, makeClientCert, makeHostCert, makeTestPki } from '../support/tls.ts';
import { RawPeer, Type } from '../protocol/server/raw-peer.ts';

const RULES = `${FLEET_RULES}
[[rule]]
cn = "operator-*"
admin = ["read"]
`;

const COMMAND_IMAGE = ['[[diskimages]]', 'name = "cheap"', 'builder = "command"', 'command = ["true"]'].join('\n');

describe('run with geard-tls-*: its embedded job server serves TLS and knows run\'s own worker by its certificate', () => {
  let pki: TestPki;
  let host: ClientCert;
  let operator: ClientCert;
  let scheduler: ClientCert;
  let dir: string;
  let port: number;
  let builder: ChildProcess;
  let stderr = '';

  const config = (tls: { cert: string; key: string }, extra = ''): string =>
    [
      `images-dir = "${join(dir, 'images')}"`,
      'min-free-space = "0"',
      'client-id = "builder-1"',
      `geard-acl = "${join(dir, 'acl.toml')}"`,
      `geard-tls-cert = "${tls.cert}"`,
      `geard-tls-key = "${tls.key}"`,
      `geard-tls-ca = "${pki.caFile}"`,
      extra,
      COMMAND_IMAGE,
    ].join('\n');

  beforeAll(async () => {
    pki = await makeTestPki();
    host = await makeHostCert(pki, 'builder-1');
    operator = await makeClientCert(pki, 'operator-1');
    scheduler = await makeClientCert(pki, 'scheduler');
    dir = mkdtempSync(join(tmpdir(), 'nodepool-builder-run-tls-'));
    writeFileSync(join(dir, 'acl.toml'), RULES);
    writeFileSync(join(dir, 'builder.toml'), config({ cert: host.certFile, key: host.keyFile }));
    port = await freePort();
    builder = spawn(process.execPath, ['src/cli/main.ts', 'run', '-c', join(dir, 'builder.toml'), '--geard-listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    builder.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await eventually(() => {
      if (builder.exitCode !== null) throw new Error(`run exited with ${builder.exitCode}: ${stderr}`);
      return stderr.includes("this process's own connections are CN=builder-1");
    }, 30_000, 'run to start its TLS job server');
  }, 60_000);

  afterAll(() => stopChild(builder, 'SIGTERM'));

  test('run\'s own worker registers as CN=builder-1 under the fleet rules (anonymous may register nothing); an operator reads workers over TLS', async () => {
    const admin = new AdminClient({ host: '127.0.0.1', port, tls: { ca: pki.ca, cert: operator.cert, key: operator.key, servername: 'localhost' } });
    try {
      const workers = await eventually(async () => {
        const listed = await admin.workers();
        return listed.some((w) => w.functions.includes('image-build:cheap')) ? listed : undefined;
      }, 20_000, 'image-build:cheap to be registered');
      expect(workers.find((w) => w.functions.includes('image-build:cheap'))?.clientId).toBe('builder-1/build');
      expect(stderr).not.toContain('refused to let this worker register');
      expect(stderr).toMatch(/connected as CN=builder-1\b/);
    } finally {
      admin.close();
    }
  }, 60_000);

  test('on the TLS port: no certificate is anonymous and may not submit; the scheduler\'s certificate may not CAN_DO (hijack); plain TCP gets no gearman answer', async () => {
    const anonymous = await RawPeer.openTls(port, { ca: pki.ca });
    const hijacker = await RawPeer.openTls(port, { ca: pki.ca, cert: scheduler.cert, key: scheduler.key });
    const plain = await RawPeer.open(port);
    try {
      anonymous.send(Type.SUBMIT_JOB, ['image-build:cheap', 'u1', '{}']);
      expect((await anonymous.next(Type.ERROR)).args).toEqual(['PERMISSION_DENIED', 'submit image-build:cheap: not granted to anonymous']);
      hijacker.send(Type.CAN_DO, ['image-build:cheap']);
      expect((await hijacker.next(Type.ERROR)).args).toEqual(['PERMISSION_DENIED', 'register image-build:cheap: not granted to CN=scheduler']);
      plain.send(Type.ECHO_REQ, ['plain']);
      expect(await plain.waitClosed(10_000)).toBe(true);
      expect(plain.pending()).toEqual([]);
    } finally {
      anonymous.close();
      hijacker.close();
      plain.close();
    }
  }, 30_000);

  test('a geard-tls-cert that may only serve (no clientAuth) stops run at start with exit 2: its own worker could not connect with it', async () => {
    const conf = join(dir, 'server-only.toml');
    writeFileSync(conf, config({ cert: pki.serverCertFile, key: pki.serverKeyFile }));
    const result = await run(process.execPath, ['src/cli/main.ts', 'run', '-c', conf, '--geard-listen', `127.0.0.1:${await freePort()}`], '', 30_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`geard-tls-cert ${pki.serverCertFile}: this process's own connection to its job server`);
    expect(result.stderr).toContain('allow serverAuth and clientAuth');
  }, 40_000);

  test('geard-tls-require-client-cert = true: a TLS connection without a certificate gets no gearman answer, run\'s own worker still registers', async () => {
    const conf = join(dir, 'require.toml');
    writeFileSync(conf, config({ cert: host.certFile, key: host.keyFile }, 'geard-tls-require-client-cert = true'));
    const strictPort = await freePort();
    let log = '';
    const strict = spawn(process.execPath, ['src/cli/main.ts', 'run', '-c', conf, '--geard-listen', `127.0.0.1:${strictPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    strict.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    try {
      await eventually(() => {
        if (strict.exitCode !== null) throw new Error(`run exited with ${strict.exitCode}: ${log}`);
        return log.includes('serving 1 diskimage(s)');
      }, 30_000, 'run to serve on its strict job server');
      // In TLS 1.3 the client's side of the handshake may end before the server refuses: then the server closes.
      const peer = await RawPeer.openTls(strictPort, { ca: pki.ca }).catch(() => undefined);
      if (peer !== undefined) {
        peer.send(Type.ECHO_REQ, ['no certificate']);
        expect(await peer.waitClosed(10_000)).toBe(true);
        expect(peer.pending()).toEqual([]);
        peer.close();
      }
      await eventually(() => /TLS handshake from 127\.0\.0\.1 refused/.test(log), 10_000, 'the refusal in the log');
      expect(log).not.toContain('refused to let this worker register');
    } finally {
      await stopChild(strict, 'SIGTERM');
    }
  }, 60_000);

  test('a missing geard-tls-key file: run and config-validate exit 2 naming the key and the file', async () => {
    const conf = join(dir, 'missing-key.toml');
    const missing = join(dir, 'no-such.key');
    writeFileSync(conf, config({ cert: host.certFile, key: missing }));
    for (const args of [['run', '-c', conf, '--geard-listen', `127.0.0.1:${await freePort()}`], ['config-validate', '-c', conf]]) {
      const result = await run(process.execPath, ['src/cli/main.ts', ...args], '', 30_000);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`geard-tls-key ${missing}: ENOENT`);
    }
  }, 40_000);

  test('--geard-listen on a network address without geard-tls-* is refused (exit 2) unless --geard-insecure-listen', async () => {
    const conf = join(dir, 'plain.toml');
    writeFileSync(conf, [`images-dir = "${join(dir, 'images')}"`, 'min-free-space = "0"', COMMAND_IMAGE].join('\n'));
    const result = await run(process.execPath, ['src/cli/main.ts', 'run', '-c', conf, '--geard-listen', `0.0.0.0:${await freePort()}`], '', 30_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is reachable from the network: serve TLS (geard-tls-cert, geard-tls-key, geard-tls-ca');
  }, 40_000);
});
