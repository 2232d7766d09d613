/**
 * `nodepool-builder geard --acl FILE` (issue 16): the process, its SIGHUP reload, its refusal to
 * serve the network in clear text, and real peers (gearman CLI, gearadmin) holding client
 * certificates through stunnel4.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/ports.ts';
import { eventually, run, stopChild } from '../support/run.ts';
import { type ClientCert, type TestPki, type TlsFront, makeClientCert, makeTestPki, startStunnelClient } from '../support/tls.ts';
import { Buffer } from 'node:buffer';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { encodePacketBuffer } from '../../src/protocol/codec/encoder.ts';
import { RawPeer, Type } from '../protocol/server/raw-peer.ts';
import { FLEET_RULES } from '../support/fleet-rules.ts';

// Perl's Gearman::Client: an independent client implementation.
const PERL_CLIENT = `
use strict; use warnings;
use Gearman::Client;
my ($server, $fn, $arg) = @ARGV;
my $client = Gearman::Client->new(job_servers => [$server]);
my $result = $client->do_task($fn, $arg, { timeout => 10 });
if (defined $result) { print "OK:" . $$result; exit 0 } else { print "FAILED"; exit 3 }
`;

let pki: TestPki;
let builder: ClientCert;
let scheduler: ClientCert;

beforeAll(async () => {
  pki = await makeTestPki();
  builder = await makeClientCert(pki, 'builder-1');
  scheduler = await makeClientCert(pki, 'scheduler');
});

interface Geard {
  readonly child: ChildProcess;
  readonly port: number;
  stderr(): string;
}

async function startGeard(args: string[], ready: string): Promise<Geard> {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/cli/main.ts', 'geard', '--port', String(port), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await eventually(() => {
    if (child.exitCode !== null) throw new Error(`geard exited with ${child.exitCode}: ${stderr}`);
    return stderr.includes(ready);
  }, 20_000, `geard to print ${ready}`);
  return { child, port, stderr: () => stderr };
}

async function stop(geard: Geard | undefined): Promise<void> {
  if (geard !== undefined) await stopChild(geard.child, 'SIGTERM');
}

describe('secure by default', () => {
  test('geard refuses a non-loopback --host without TLS (exit 2), naming --insecure-listen', async () => {
    const result = await run(process.execPath, ['src/cli/main.ts', 'geard', '--host', '0.0.0.0', '--port', String(await freePort())], '', 15_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--insecure-listen');
    expect(result.stderr).not.toContain('listening');
  });

  test('with --insecure-listen it serves, and warns at start', async () => {
    const geard = await startGeard(['--host', '0.0.0.0', '--insecure-listen'], 'listening on');
    try {
      expect(geard.stderr()).toContain('without TLS (--insecure-listen)');
    } finally {
      await stop(geard);
    }
  });

  test('a bad --acl file is a usage error naming the file, the rule and the key', async () => {
    const file = join(pki.dir, 'typo.toml');
    writeFileSync(file, '[[rule]]\ncn = "scheduler"\nsubmits = ["image-*"]\n');
    const result = await run(process.execPath, ['src/cli/main.ts', 'geard', '--port', String(await freePort()), '--acl', file], '', 15_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--acl: ${file}: rule[0].submits: unknown key`);
  });
});

describe('geard --acl over TLS', () => {
  let geard: Geard;
  let rulesFile: string;
  const fronts: TlsFront[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    rulesFile = join(pki.dir, 'acl.toml');
    writeFileSync(rulesFile, FLEET_RULES);
    const tls = ['--tls-cert', pki.serverCertFile, '--tls-key', pki.serverKeyFile, '--tls-ca', pki.caFile];
    geard = await startGeard([...tls, '--acl', rulesFile], 'listening on tls://');
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const front of fronts) await front.stop();
    await stop(geard);
  });

  const tlsWith = (cert: ClientCert) => ({ ca: pki.ca, cert: cert.cert, key: cert.key });

  async function front(cert: ClientCert): Promise<TlsFront> {
    const started = await startStunnelClient(pki, cert, { host: '127.0.0.1', port: geard.port });
    fronts.push(started);
    return started;
  }

  async function reload(rules: string, expected: string): Promise<void> {
    const before = geard.stderr().length;
    writeFileSync(rulesFile, rules);
    geard.child.kill('SIGHUP');
    await eventually(() => geard.stderr().slice(before).includes(expected), 10_000, `"${expected}" after SIGHUP`);
  }

  test('the gearman CLI and gearadmin through stunnel4: a builder serves, the scheduler submits and reads status, each is refused the rest', async () => {
    const asBuilder = await front(builder);
    const asScheduler = await front(scheduler);
    const cli = (port: number, ...args: string[]) => ['-h', '127.0.0.1', '-p', String(port), ...args];
    const worker = spawn('gearman', ['-w', ...cli(asBuilder.port, '-f', 'image-build:cli', '--', 'tr', 'a-z', 'A-Z')], { stdio: 'ignore' });
    children.push(worker);
    const status = async (port: number) => (await run('gearadmin', cli(port, '--status'))).stdout;
    await eventually(async () => /^image-build:cli\t0\t0\t1$/m.test(await status(asScheduler.port)), 10_000, 'the CLI worker to register');

    const submitted = await run('gearman', cli(asScheduler.port, '-f', 'image-build:cli', '--', 'built by the cli'));
    expect(submitted.stdout).toBe('BUILT BY THE CLI');

    // The builder's certificate may not submit: the CLI client gets the ERROR and fails.
    const refused = await run('gearman', cli(asBuilder.port, '-f', 'image-build:cli', '--', 'x'));
    // (The CLI exits 0 even so; what it prints is what counts.)
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('PERMISSION_DENIED:submit image-build:cli: not granted to CN=builder-1');

    // The hijack: a CLI worker holding the scheduler's certificate. Every job still reaches the builder.
    const hijacker = spawn('gearman', ['-w', ...cli(asScheduler.port, '-f', 'image-build:cli', '--', 'echo', 'hijacked')], { stdio: 'ignore' });
    children.push(hijacker);
    await eventually(() => geard.stderr().includes('CN=scheduler: refused "register image-build:cli"'), 10_000, 'the hijack to be refused');
    for (const n of [1, 2, 3]) {
      expect((await run('gearman', cli(asScheduler.port, '-f', 'image-build:cli', '--', `job ${n}`))).stdout).toBe(`JOB ${n}`);
    }
    expect(await status(asScheduler.port)).toMatch(/^image-build:cli\t0\t0\t1$/m);

    // gearadmin reads status as the scheduler; as the builder, admin is refused.
    expect(await status(asScheduler.port)).toContain('image-build:cli');
    const asBuilderAdmin = await run('gearadmin', cli(asBuilder.port, '--status'));
    expect(`${asBuilderAdmin.stdout}${asBuilderAdmin.stderr}`).toContain('PERMISSION_DENIED');
    // A write the scheduler is not granted.
    const drop = await run('gearadmin', cli(asScheduler.port, '--drop-function', 'image-build:cli'));
    expect(`${drop.stdout}${drop.stderr}`).toContain('PERMISSION_DENIED');
    expect(await status(asScheduler.port)).toContain('image-build:cli');
    expect(geard.stderr()).toMatch(/CN=builder-1: refused "submit image-build:cli"/);
  }, 60_000);

  test("Perl's Gearman::Client through stunnel4: the scheduler's certificate gets its result, the builder's is refused", async () => {
    const worker = new Worker({ servers: [{ host: '127.0.0.1', port: geard.port, tls: tlsWith(builder) }] });
    const payloads: string[] = [];
    worker.register('image-upload:perl', (job) => {
      payloads.push(Buffer.from(job.payload).toString());
      return `uploaded ${payloads.at(-1)}`;
    });
    worker.start();
    try {
      const asScheduler = await front(scheduler);
      const asBuilder = await front(builder);
      const perl = (port: number, ...args: string[]) => run('perl', ['-e', PERL_CLIENT, `127.0.0.1:${port}`, ...args]);
      expect((await perl(asScheduler.port, 'image-upload:perl', 'x')).stdout).toBe('OK:uploaded x');
      const refused = await perl(asBuilder.port, 'image-upload:perl', 'y');
      // Gearman::Client dies on any ERROR packet (gearmand's too): refused, loudly, and no job ran.
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain('PERMISSION_DENIED\u0000submit image-upload:perl: not granted to CN=builder-1');
      expect(payloads).toEqual(['x']);
      expect(geard.stderr()).toMatch(/CN=builder-1: refused "submit image-upload:perl"/);
    } finally {
      await worker.stop(500);
    }
  }, 60_000);

  test('openssl s_client sending raw packets: CAN_DO as the scheduler is answered ERROR, and the same connection then echoes', async () => {
    const child = spawn('openssl', ['s_client', '-quiet', '-connect', `127.0.0.1:${geard.port}`, '-CAfile', pki.caFile, '-cert', scheduler.certFile, '-key', scheduler.keyFile], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    children.push(child);
    let out = Buffer.alloc(0);
    child.stdout!.on('data', (chunk: Buffer) => (out = Buffer.concat([out, chunk])));
    child.stdin!.write(Buffer.concat([encodePacketBuffer('REQ', Type.CAN_DO, ['image-upload:raw']), encodePacketBuffer('REQ', Type.ECHO_REQ, ['still here'])]));
    await eventually(() => out.includes('still here'), 10_000, 'the echo');
    child.kill('SIGKILL');
    const error = encodePacketBuffer('RES', Type.ERROR, ['PERMISSION_DENIED', 'register image-upload:raw: not granted to CN=scheduler']);
    const echo = encodePacketBuffer('RES', Type.ECHO_RES, ['still here']);
    expect(out.equals(Buffer.concat([error, echo]))).toBe(true);
  }, 30_000);

  test('SIGHUP swaps the rules; a bad file is refused and the old rules stay; a running job is not disturbed', async () => {
    const worker = await RawPeer.openTls(geard.port, tlsWith(builder));
    const client = await RawPeer.openTls(geard.port, tlsWith(scheduler));
    try {
      worker.send(Type.CAN_DO, ['image-upload:reload']);
      client.send(Type.SUBMIT_JOB, ['image-upload:reload', 'u-reload', 'payload']);
      const handle = (await client.next(Type.JOB_CREATED)).args[0]!;
      worker.send(Type.GRAB_JOB_UNIQ);
      expect((await worker.next(Type.JOB_ASSIGN_UNIQ)).args[0]).toBe(handle);

      // New rules: the scheduler may no longer submit uploads.
      await reload(FLEET_RULES.replace('submit = ["image-*", "provider-image-*", "builder-image-list:*"]', 'submit = ["image-build:*"]'), 'in force');
      client.send(Type.SUBMIT_JOB, ['image-upload:reload', 'u-2', '']);
      expect((await client.next(Type.ERROR)).args).toEqual(['PERMISSION_DENIED', 'submit image-upload:reload: not granted to CN=scheduler']);

      // A broken file: refused, and the rules in force stay.
      await reload('[[rule]]\ncn = 3\n', 'the access rules stay as they were');
      client.send(Type.SUBMIT_JOB, ['image-upload:reload', 'u-3', '']);
      expect((await client.next(Type.ERROR)).args[0]).toBe('PERMISSION_DENIED');

      // The job that ran through both reloads ends as it would have.
      worker.send(Type.WORK_COMPLETE, [handle, 'done']);
      expect((await client.next(Type.WORK_COMPLETE)).args).toEqual([handle, 'done']);
    } finally {
      worker.close();
      client.close();
      writeFileSync(rulesFile, FLEET_RULES);
      geard.child.kill('SIGHUP');
    }
  }, 60_000);
});
