/**
 * Access rules over real TLS: a test CA made here by openssl, our server requesting client
 * certificates, and our worker, our client and raw packets on the other end.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { AccessDeniedError, type ClientError } from '../../../../src/protocol/client/client-errors.ts';
import { Client } from '../../../../src/protocol/client/client.ts';
import { GearmanServer, parseAccessRules } from '../../../../src/protocol/server/index.ts';
import { Worker } from '../../../../src/protocol/worker/worker.ts';
import { captureLogs } from '../../../support/log-capture.ts';
import { eventually } from '../../../support/run.ts';
import { type ClientCert, type TestPki, makeClientCert, makeTestPki } from '../../../support/tls.ts';
import { RawPeer, Type } from '../raw-peer.ts';
import { FLEET_RULES as FLEET_BASE } from '../../../support/fleet-rules.ts';

const FLEET_RULES = `${FLEET_BASE}
[[rule]]
cn = "operator"
admin = ["read"]
`;

let pki: TestPki;
let builder: ClientCert;
let scheduler: ClientCert;
let operator: ClientCert;
let expired: ClientCert;
let foreign: ClientCert;
let twoNames: ClientCert;
let server: GearmanServer;
let port: number;
const logs = captureLogs();

beforeAll(async () => {
  pki = await makeTestPki();
  // One at a time: openssl shares each CA's serial file.
  builder = await makeClientCert(pki, 'builder-1');
  scheduler = await makeClientCert(pki, 'scheduler');
  operator = await makeClientCert(pki, 'operator');
  expired = await makeClientCert(pki, 'builder-2', { days: -1 });
  foreign = await makeClientCert(pki, 'builder-1', { ca: 'other-ca' });
  twoNames = await makeClientCert(pki, 'scheduler/CN=builder-1');
  server = new GearmanServer({ handleHost: 'acl-test', logger: logs, acl: parseAccessRules(FLEET_RULES, 'fleet.toml') });
  const tls = { cert: readFileSync(pki.serverCertFile, 'utf8'), key: readFileSync(pki.serverKeyFile, 'utf8'), ca: pki.ca };
  port = (await server.listen({ host: '127.0.0.1', port: 0, tls })).port;
});

afterAll(async () => {
  await server.close();
});

const tlsWith = (cert?: ClientCert) => ({ ca: pki.ca, ...(cert ? { cert: cert.cert, key: cert.key } : {}) });
const serverWith = (cert?: ClientCert) => [{ host: '127.0.0.1', port, tls: tlsWith(cert) }];
const text = (data: Uint8Array): string => Buffer.from(data).toString();

async function rawPeer(cert?: ClientCert): Promise<RawPeer> {
  return RawPeer.openTls(port, tlsWith(cert));
}

async function adminLines(peer: RawPeer, line: string, until: (lines: string[]) => boolean): Promise<string[]> {
  const from = peer.lines.length;
  peer.write(`${line}\n`);
  await eventually(() => until(peer.lines.slice(from)), 5000, `the reply to ${line}`);
  return peer.lines.slice(from);
}

test("a builder's certificate registers its functions and serves jobs; the same certificate submitting image-delete is refused and the image stays", async () => {
  const deleted: string[] = [];
  const worker = new Worker({ servers: serverWith(builder) });
  worker.register('image-upload:img1', () => '{"external-id": "e1"}');
  worker.register('image-delete:img1', (job) => {
    deleted.push(job.functionName);
    return '';
  });
  worker.start();
  const client = new Client({ servers: serverWith(scheduler) });
  const sneaky = new Client({ servers: serverWith(builder) });
  try {
    expect(text((await client.submit('image-upload:img1', '{}', { timeoutMs: 5000 })).data)).toBe('{"external-id": "e1"}');
    const refused = await sneaky.submit('image-delete:img1', '', { timeoutMs: 5000 }).then(
      () => undefined,
      (err: ClientError) => err,
    );
    expect(refused).toBeInstanceOf(AccessDeniedError);
    expect(refused?.code).toBe('ACCESS_DENIED');
    expect(refused?.message).toContain('submit image-delete:img1: not granted to CN=builder-1');
    expect(deleted).toEqual([]);
    // The refused client's connection stays usable: a second refusal is answered the same way.
    const again = await sneaky.submit('image-delete:img1', '', { timeoutMs: 5000 }).then(
      () => undefined,
      (err: ClientError) => err,
    );
    expect(again?.code).toBe('ACCESS_DENIED');
    expect(logs.at('warn')).toContainEqual(expect.stringMatching(/CN=builder-1: refused "submit image-delete:img1"/));
  } finally {
    await client.close();
    await sneaky.close();
    await worker.stop(500);
  }
});

test("a scheduler's certificate sending CAN_DO image-upload (the hijack) is refused, stays connected, and the next upload still reaches the builder", async () => {
  const served: string[] = [];
  const worker = new Worker({ servers: serverWith(builder) });
  worker.register('image-upload:img2', (job) => {
    served.push(job.handle);
    return 'from the builder';
  });
  worker.start();
  const hijacker = await rawPeer(scheduler);
  const client = new Client({ servers: serverWith(scheduler) });
  try {
    hijacker.send(Type.CAN_DO, ['image-upload:img2']);
    const error = await hijacker.next(Type.ERROR);
    expect(error.args).toEqual(['PERMISSION_DENIED', 'register image-upload:img2: not granted to CN=scheduler']);
    hijacker.send(Type.PRE_SLEEP);
    await hijacker.sync();
    expect(text((await client.submit('image-upload:img2', '{}', { timeoutMs: 5000 })).data)).toBe('from the builder');
    expect(served).toHaveLength(1);
    // Never woken, never assigned: the function was not routed to the hijacker.
    hijacker.send(Type.GRAB_JOB_UNIQ);
    expect((await hijacker.next()).name).toBe('NO_JOB');
    expect(hijacker.pending()).toEqual([]);
    const workers = await adminLines(hijacker, 'workers', (lines) => lines.includes('.'));
    expect(workers.filter((l) => l.includes('image-upload:img2'))).toHaveLength(1);
    expect(logs.at('warn')).toContainEqual(expect.stringMatching(/CN=scheduler: refused "register image-upload:img2"/));
  } finally {
    hijacker.close();
    await client.close();
    await worker.stop(500);
  }
});

test('no CN spoofing: SET_CLIENT_ID "builder-1" changes nothing a rule grants', async () => {
  const spoofer = await rawPeer(scheduler);
  try {
    spoofer.send(Type.SET_CLIENT_ID, ['builder-1']);
    spoofer.send(Type.CAN_DO, ['image-build:debian']);
    expect((await spoofer.next(Type.ERROR)).args).toEqual(['PERMISSION_DENIED', 'register image-build:debian: not granted to CN=scheduler']);
  } finally {
    spoofer.close();
  }
});

test('without a certificate a connection is anonymous, and the default rules grant it nothing', async () => {
  const anonymous = await rawPeer();
  try {
    anonymous.send(Type.CAN_DO, ['image-upload:img1']);
    expect((await anonymous.next(Type.ERROR)).args).toEqual(['PERMISSION_DENIED', 'register image-upload:img1: not granted to anonymous']);
    anonymous.send(Type.SUBMIT_JOB, ['image-delete:img1', 'u1', '']);
    expect((await anonymous.next(Type.ERROR)).args).toEqual(['PERMISSION_DENIED', 'submit image-delete:img1: not granted to anonymous']);
    anonymous.send(Type.GET_STATUS, ['H:acl-test:1']);
    expect((await anonymous.next(Type.ERROR)).args[0]).toBe('PERMISSION_DENIED');
    expect(await adminLines(anonymous, 'status', (lines) => lines.length > 0)).toEqual(['ERR PERMISSION_DENIED admin+status:+not+granted+to+anonymous']);
  } finally {
    anonymous.close();
  }
});

test('a certificate with two CNs (scheduler and builder-1) is neither: it is anonymous', async () => {
  const peer = await rawPeer(twoNames);
  try {
    peer.send(Type.CAN_DO, ['image-upload:img1']);
    expect((await peer.next(Type.ERROR)).args).toEqual(['PERMISSION_DENIED', 'register image-upload:img1: not granted to anonymous']);
    peer.send(Type.SUBMIT_JOB, ['image-upload:img1', 'u2', '']);
    expect((await peer.next(Type.ERROR)).args).toEqual(['PERMISSION_DENIED', 'submit image-upload:img1: not granted to anonymous']);
  } finally {
    peer.close();
  }
});

test.each([
  ['a certificate from another CA', () => foreign, /UNABLE_TO_(GET|VERIFY)/],
  ['an expired certificate', () => expired, /CERT_HAS_EXPIRED/],
])('%s is refused at the handshake', async (_what, cert, reason) => {
  const peer = await rawPeer(cert()).catch(() => undefined);
  // With TLS 1.3 the client may finish its side before the server has judged its certificate.
  if (peer !== undefined) {
    peer.send(Type.CAN_DO, ['image-upload:img1']);
    expect(await peer.waitClosed()).toBe(true);
    expect(peer.pending()).toEqual([]);
  }
  await eventually(() => server.stats().connections === 0, 5000, 'no connection left');
  const refusals = logs.at('info').filter((l) => /TLS handshake from 127\.0\.0\.1 refused: client certificate not accepted/.test(l));
  expect(refusals).toContainEqual(expect.stringMatching(reason));
});

test('admin writes without a grant are refused and the connection stays usable; reads with a grant work', async () => {
  const ops = await rawPeer(operator);
  const sched = await rawPeer(scheduler);
  try {
    expect(await adminLines(ops, 'cancel job H:acl-test:1', (l) => l.length > 0)).toEqual(['ERR PERMISSION_DENIED admin+cancel+job:+not+granted+to+CN=operator']);
    expect(await adminLines(ops, 'maxqueue image-upload:img1 1', (l) => l.length > 0)).toEqual(['ERR PERMISSION_DENIED admin+maxqueue:+not+granted+to+CN=operator']);
    expect((await adminLines(ops, 'drop function image-upload:img1', (l) => l.length > 0))[0]).toStartWith('ERR PERMISSION_DENIED');
    expect((await adminLines(ops, 'version', (l) => l.length > 0))[0]).toStartWith('OK ');
    expect((await adminLines(ops, 'status', (l) => l.includes('.'))).at(-1)).toBe('.');
    expect((await adminLines(ops, 'show jobs', (l) => l.includes('.'))).at(-1)).toBe('.');
    // The scheduler reads status and workers, and nothing else.
    expect((await adminLines(sched, 'status', (l) => l.includes('.'))).at(-1)).toBe('.');
    expect(await adminLines(sched, 'version', (l) => l.length > 0)).toEqual(['ERR PERMISSION_DENIED admin+version:+not+granted+to+CN=scheduler']);
    expect(await adminLines(sched, 'create function image-x', (l) => l.length > 0)).toEqual(['ERR PERMISSION_DENIED admin+create+function:+not+granted+to+CN=scheduler']);
  } finally {
    ops.close();
    sched.close();
  }
});

test('our worker logs a refused registration once, as an error naming the function', async () => {
  const workerLogs = captureLogs();
  const worker = new Worker({ servers: serverWith(scheduler), logger: workerLogs });
  worker.register('image-upload:img3', () => '');
  worker.start();
  try {
    await eventually(() => workerLogs.at('error').length > 0, 5000, 'the refusal to be logged');
    // Registering another function may send CAN_DOs again; still one line per function.
    worker.register('provider-image-list:cloud-a', () => '');
    await eventually(() => workerLogs.at('error').length > 1, 5000, 'the second refusal');
    const errors = workerLogs.at('error');
    expect(errors.filter((l) => l.includes('register image-upload:img3'))).toHaveLength(1);
    expect(errors.filter((l) => l.includes('register provider-image-list:cloud-a'))).toHaveLength(1);
    expect(errors[0]).toContain('the server refused to let this worker register image-upload:img3');
  } finally {
    await worker.stop(500);
  }
});

test('new rules apply to open connections; a function no longer granted is unregistered while its running job finishes', async () => {
  let release!: () => void;
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const worker = new Worker({ servers: serverWith(builder) });
  worker.register('image-build:slow', async () => {
    started();
    await new Promise<void>((r) => (release = r));
    return 'built';
  });
  worker.start();
  const client = new Client({ servers: serverWith(scheduler) });
  const admin = await rawPeer(operator);
  try {
    const result = client.submit('image-build:slow', '{}', { timeoutMs: 10_000 });
    await running;
    server.setAccessRules(parseAccessRules(FLEET_RULES.replace('register = ["image-*", "provider-image-*", "builder-image-list:*"]', 'register = ["provider-image-*"]'), 'fleet-2.toml'));
    // Unregistered at once: status shows the running job with no worker left for the function.
    const status = await adminLines(admin, 'status', (l) => l.includes('.'));
    expect(status).toContain('image-build:slow\t1\t1\t0');
    release();
    expect(text((await result).data)).toBe('built');
  } finally {
    server.setAccessRules(parseAccessRules(FLEET_RULES, 'fleet.toml'));
    await client.close();
    await worker.stop(500);
    admin.close();
  }
});
