/** `nodepool-builder geard`'s TLS flags fail closed (issue 19, G1). */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:tls';
import { encodePacketBuffer } from '../../src/protocol/codec/encoder.ts';
import { Type } from '../../src/protocol/codec/packets.ts';
import { freePort } from '../support/ports.ts';
import { run } from '../support/run.ts';
import { type TestPki, makeTestPki } from '../support/tls.ts';

let pki: TestPki;

beforeAll(async () => {
  pki = await makeTestPki();
});

async function geard(...args: string[]) {
  const port = await freePort();
  // A geard that wrongly starts would serve until killed: the bound turns that into a failure.
  return run(process.execPath, ['src/cli/main.ts', 'geard', '--port', String(port), ...args], '', 15_000);
}

test('G1: a TLS flag without --tls-cert and --tls-key is a usage error (exit 2) naming what is missing', async () => {
  const cases: [string[], string][] = [
    [['--tls-ca', pki.caFile, '--tls-require-client-cert'], '--tls-cert and --tls-key'],
    [['--tls-ca', pki.caFile], '--tls-cert and --tls-key'],
    [['--tls-require-client-cert'], '--tls-cert and --tls-key'],
    [['--tls-cert', pki.serverCertFile], 'needs --tls-key'],
    [['--tls-key', pki.serverKeyFile, '--tls-require-client-cert'], 'needs --tls-cert'],
  ];
  for (const [flags, named] of cases) {
    const result = await geard(...flags);
    expect({ flags, code: result.code }).toEqual({ flags, code: 2 });
    expect(result.stderr).toContain(named);
    expect(result.stderr).not.toContain('listening');
  }
});

test('G1: --tls-require-client-cert without --tls-ca is a usage error: public roots never let a client in', async () => {
  const result = await geard('--tls-cert', pki.serverCertFile, '--tls-key', pki.serverKeyFile, '--tls-require-client-cert');
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('--tls-require-client-cert needs --tls-ca');
});

test('G1: --tls-ca without --tls-require-client-cert is a usage error: the CA would check nothing', async () => {
  const result = await geard('--tls-cert', pki.serverCertFile, '--tls-key', pki.serverKeyFile, '--tls-ca', pki.caFile);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('--tls-ca needs --tls-require-client-cert');
});

describe('geard requiring client certificates', () => {
  let child: ChildProcess;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    const flags = ['--tls-cert', pki.serverCertFile, '--tls-key', pki.serverKeyFile, '--tls-ca', pki.caFile, '--tls-require-client-cert'];
    child = spawn(process.execPath, ['src/cli/main.ts', 'geard', '--port', String(port), ...flags], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // A CA the process trusts for everything else must not let a client in.
      env: { ...process.env, NODE_EXTRA_CA_CERTS: pki.otherCaFile },
    });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes(`tls://127.0.0.1:${port}`)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`geard exited with ${code}: ${stderr}`)));
    });
  });

  afterAll(() => {
    child.kill('SIGKILL');
  });

  /** ECHO over TLS with this client certificate: the echo, or how the connection ended. */
  function echo(cert: string, key: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, ca: pki.ca, cert, key, servername: 'localhost' });
      let got = Buffer.alloc(0);
      socket.once('secureConnect', () => socket.write(encodePacketBuffer('REQ', Type.ECHO_REQ, ['ping'])));
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 16) {
          socket.destroy();
          resolve(got.subarray(12).toString());
        }
      });
      socket.on('error', () => {});
      socket.once('close', () => resolve('closed'));
    });
  }

  test('a client certificate from --tls-ca gets in; one from a CA in NODE_EXTRA_CA_CERTS does not', async () => {
    expect(await echo(pki.clientCert, pki.clientKey)).toBe('ping');
    expect(await echo(pki.otherClientCert, pki.otherClientKey)).toBe('closed');
  });
});
