import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { eventually, run, stopChild } from './run.ts';

export interface TestPki {
  readonly dir: string;
  readonly ca: string;
  readonly otherCa: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly caFile: string;
  readonly otherCaFile: string;
  /** A client certificate from the second CA: valid, but not from the CA a server was told to trust. */
  readonly otherClientCert: string;
  readonly otherClientKey: string;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const result = await run('openssl', args.map((a) => a.replaceAll('$DIR', dir)));
  if (result.code !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-keyout', `$DIR/${name}.key`, '-out', `$DIR/${name}.pem`);
}

async function makeLeaf(dir: string, ca: string, name: string, extension: string, cn = name, days = 2): Promise<void> {
  await openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`,
    '-keyout', `$DIR/${name}.key`, '-out', `$DIR/${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), extension);
  await openssl(dir, 'x509', '-req', '-in', `$DIR/${name}.csr`, '-CA', `$DIR/${ca}.pem`, '-CAkey', `$DIR/${ca}.key`,
    '-CAcreateserial', '-days', String(days), '-extfile', `$DIR/${name}.ext`, '-out', `$DIR/${name}.pem`);
}

export interface ClientCert {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * One more client certificate with common name `cn`, from the test CA or the other one; `days`
 * below 0 makes one that has already expired. Make them one at a time: openssl shares the CA's serial file.
 */
export async function makeClientCert(pki: TestPki, cn: string, options: { ca?: 'test-ca' | 'other-ca'; days?: number } = {}): Promise<ClientCert> {
  const name = `client-${cn.replace(/[^A-Za-z0-9-]/g, '_')}-${options.ca ?? 'test-ca'}-${options.days ?? 2}`;
  await makeLeaf(pki.dir, options.ca ?? 'test-ca', name, 'extendedKeyUsage=clientAuth\n', cn, options.days ?? 2);
  const certFile = join(pki.dir, `${name}.pem`);
  const keyFile = join(pki.dir, `${name}.key`);
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

/**
 * A host certificate from the test CA that serves and connects alike (serverAuth and clientAuth,
 * names localhost and 127.0.0.1), CN `cn`: what `run` or `scheduler` embedding the job server
 * with TLS present on their own connections. Make them one at a time (the CA's serial file).
 */
export async function makeHostCert(pki: TestPki, cn: string): Promise<ClientCert> {
  const name = `host-${cn.replace(/[^A-Za-z0-9-]/g, '_')}`;
  await makeLeaf(pki.dir, 'test-ca', name, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n', cn);
  const certFile = join(pki.dir, `${name}.pem`);
  const keyFile = join(pki.dir, `${name}.key`);
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

/** A throwaway CA with a server and a client certificate, plus an unrelated second CA. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'nodepool-builder-pki-'));
  await makeCa(dir, 'test-ca');
  await makeCa(dir, 'other-ca');
  await makeLeaf(dir, 'test-ca', 'server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await makeLeaf(dir, 'test-ca', 'client', 'extendedKeyUsage=clientAuth\n');
  await makeLeaf(dir, 'other-ca', 'other-client', 'extendedKeyUsage=clientAuth\n');
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return {
    dir,
    ca: read('test-ca.pem'),
    otherCa: read('other-ca.pem'),
    clientCert: read('client.pem'),
    clientKey: read('client.key'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    caFile: join(dir, 'test-ca.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
    otherClientCert: read('other-client.pem'),
    otherClientKey: read('other-client.key'),
  };
}

export interface TlsFront {
  readonly port: number;
  stop(): Promise<void>;
}

/** stunnel4 terminating TLS in front of a plain job server; it requires a client certificate. */
export async function startStunnel(pki: TestPki, target: { host: string; port: number }): Promise<TlsFront> {
  const port = await freePort();
  const conf = join(pki.dir, `stunnel-${port}.conf`);
  writeFileSync(
    conf,
    [
      'foreground = yes',
      'pid =',
      'debug = 3',
      '[gearman]',
      `accept = 127.0.0.1:${port}`,
      `connect = ${target.host}:${target.port}`,
      `cert = ${pki.serverCertFile}`,
      `key = ${pki.serverKeyFile}`,
      `CAfile = ${pki.caFile}`,
      'verifyChain = yes',
      'requireCert = yes',
      '',
    ].join('\n'),
  );
  return runStunnel(conf, port);
}

/**
 * stunnel4 as a TLS client: a plain port on 127.0.0.1 whose connections it carries over TLS to
 * `target`, showing `client`'s certificate. Peers that speak no TLS (the gearman CLI, gearadmin,
 * Perl's client) reach a TLS server through it.
 */
export async function startStunnelClient(pki: TestPki, client: { certFile: string; keyFile: string } | undefined, target: { host: string; port: number }): Promise<TlsFront> {
  const port = await freePort();
  const conf = join(pki.dir, `stunnel-client-${port}.conf`);
  writeFileSync(
    conf,
    [
      'foreground = yes',
      'pid =',
      'debug = 3',
      '[gearman]',
      'client = yes',
      `accept = 127.0.0.1:${port}`,
      `connect = ${target.host}:${target.port}`,
      ...(client ? [`cert = ${client.certFile}`, `key = ${client.keyFile}`] : []),
      `CAfile = ${pki.caFile}`,
      'verifyChain = yes',
      '',
    ].join('\n'),
  );
  return runStunnel(conf, port);
}

/** Runs stunnel4 with `conf` until it listens on `port`. */
async function runStunnel(conf: string, port: number): Promise<TlsFront> {
  const child = spawn('stunnel4', [conf], { stdio: 'ignore' });
  await eventually(async () => (await run('ss', ['-ltn', `sport = :${port}`])).stdout.includes(`:${port}`), 10_000, 'stunnel to listen');
  return { port, stop: () => stopChild(child) };
}
