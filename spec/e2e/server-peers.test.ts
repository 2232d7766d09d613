/**
 * Independent peers against our job server: the gearman CLI and Perl's Gearman::Client and
 * Gearman::Worker talk only to each other through it; and gearadmin reads the same state from
 * it as from gearmand.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { RawPeer, Type } from '../protocol/server/raw-peer.ts';
import { startEmbeddedServer } from '../support/embedded-server.ts';
import { startGearmand } from '../support/gearmand.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { eventually, run, stopChild } from '../support/run.ts';

const PERL_WORKER = `
use strict; use warnings;
use Gearman::Worker;
$| = 1;
my ($server) = @ARGV;
my $worker = Gearman::Worker->new(job_servers => [$server]);
$worker->register_function('perl-reverse' => sub { return scalar reverse $_[0]->arg });
$worker->register_function('perl-fail' => sub { die "refused\\n" });
print "READY\\n";
$worker->work while 1;
`;

const PERL_CLIENT = `
use strict; use warnings;
use Gearman::Client;
my ($server, $fn, $arg) = @ARGV;
my $client = Gearman::Client->new(job_servers => [$server]);
my $result = $client->do_task($fn, $arg);
print defined $result ? "OK:" . $$result : "FAILED";
`;

function spawnWorker(command: string, args: string[]): ChildProcess {
  return spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
}

describe.each(JOB_SERVERS)('peers that are not ours, through $name', (kind) => {
  let server: JobServer;
  const children: ChildProcess[] = [];
  const address = () => `${server.host}:${server.port}`;
  const cli = (...args: string[]) => ['-h', server.host, '-p', String(server.port), ...args];

  beforeAll(async () => {
    server = await kind.start();
    children.push(spawnWorker('gearman', ['-w', ...cli('-f', 'cli-upper', '--', 'tr', 'a-z', 'A-Z')]));
    children.push(spawnWorker('perl', ['-e', PERL_WORKER, address()]));
    await eventually(async () => {
      const { stdout } = await run('gearadmin', cli('--status'));
      return stdout.includes('cli-upper\t0\t0\t1') && stdout.includes('perl-reverse\t0\t0\t1');
    }, 10_000, 'the CLI and Perl workers to register');
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => stopChild(child)));
    await server.kill();
  });

  test('the gearman CLI client gets the gearman CLI worker\'s result', async () => {
    const result = await run('gearman', cli('-f', 'cli-upper'), 'from the cli');
    expect(result).toMatchObject({ code: 0, stdout: 'FROM THE CLI' });
  });

  test('CLI submissions at high and low priority, and in the background', async () => {
    expect((await run('gearman', cli('-I', '-f', 'cli-upper'), 'high')).stdout).toBe('HIGH');
    expect((await run('gearman', cli('-L', '-f', 'cli-upper'), 'low')).stdout).toBe('LOW');
    expect((await run('gearman', cli('-b', '-f', 'cli-upper'), 'background')).code).toBe(0);
    await eventually(async () => (await run('gearadmin', cli('--status'))).stdout.includes('cli-upper\t0\t0\t1'));
  });

  test('Perl Gearman::Client gets Perl Gearman::Worker\'s result', async () => {
    expect((await run('perl', ['-e', PERL_CLIENT, address(), 'perl-reverse', 'gearman'])).stdout).toBe('OK:namraeg');
  });

  test('the Perl client drives the CLI worker and the CLI client drives the Perl worker', async () => {
    expect((await run('perl', ['-e', PERL_CLIENT, address(), 'cli-upper', 'mixed'])).stdout).toBe('OK:MIXED');
    expect((await run('gearman', cli('-f', 'perl-reverse'), 'abc')).stdout).toBe('cba');
  });
});

describe('a Perl worker whose job dies, through our server', () => {
  let server: JobServer;
  let worker: ChildProcess;

  beforeAll(async () => {
    server = await startEmbeddedServer();
    worker = spawnWorker('perl', ['-e', PERL_WORKER, `${server.host}:${server.port}`]);
    await eventually(
      async () => (await run('gearadmin', ['-h', server.host, '-p', String(server.port), '--status'])).stdout.includes('perl-fail\t0\t0\t1'),
      10_000,
      'the Perl worker to register',
    );
  });

  afterAll(async () => {
    await stopChild(worker);
    await server.kill();
  });

  // Gearman::Worker sends WORK_EXCEPTION and then WORK_FAIL. gearmand 1.1.20 ends the job on
  // the exception, sends the client a WORK_FAIL whose handle carries a stray NUL (Gearman::Client
  // dies on it), and answers the WORK_FAIL with ERROR (Gearman::Worker dies on that). Our server
  // sends a clean WORK_FAIL and takes the second terminal packet quietly, so both peers live on.
  test('the Perl client gets FAILED and the Perl worker keeps serving', async () => {
    const address = `${server.host}:${server.port}`;
    expect((await run('perl', ['-e', PERL_CLIENT, address, 'perl-fail', 'x'])).stdout).toBe('FAILED');
    expect((await run('perl', ['-e', PERL_CLIENT, address, 'perl-reverse', 'still here'])).stdout).toBe('OK:ereh llits');
    expect(worker.exitCode).toBeNull();
  });
});

/** The same state, built packet by packet on a server: a worker, queued jobs, one running job. */
async function buildState(server: JobServer): Promise<RawPeer[]> {
  const worker = await RawPeer.open(server.port);
  worker.send(Type.SET_CLIENT_ID, ['parity-worker']);
  worker.send(Type.CAN_DO, ['parity:build']);
  worker.send(Type.CAN_DO_TIMEOUT, ['parity:upload', '60000']);
  await worker.sync();
  const idle = await RawPeer.open(server.port);
  idle.send(Type.SET_CLIENT_ID, ['parity-idle']);
  idle.send(Type.CAN_DO, ['parity:delete']);
  await idle.sync();
  const client = await RawPeer.open(server.port);
  for (const [type, fn, unique] of [
    [Type.SUBMIT_JOB, 'parity:build', 'build-1'],
    [Type.SUBMIT_JOB_BG, 'parity:build', 'build-2'],
    [Type.SUBMIT_JOB_HIGH_BG, 'parity:upload', 'upload-1'],
    [Type.SUBMIT_JOB_LOW_BG, 'parity:upload', 'upload-2'],
    [Type.SUBMIT_JOB_BG, 'parity:orphan', 'orphan-1'],
  ] as const) {
    client.send(type, [fn, unique, 'payload']);
    await client.next(Type.JOB_CREATED);
  }
  worker.send(Type.GRAB_JOB_UNIQ);
  await worker.next(Type.JOB_ASSIGN_UNIQ);
  return [worker, idle, client];
}

/** gearadmin's output, read without our parsers, in an order that does not depend on hashing. */
async function gearadminView(server: JobServer): Promise<Record<string, string[]>> {
  const view: Record<string, string[]> = {};
  for (const option of ['--status', '--priority-status', '--workers', '--show-jobs', '--show-unique-jobs']) {
    const { code, stdout } = await run('gearadmin', ['-h', server.host, '-p', String(server.port), option]);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines.slice(-2)).toEqual(['.', '']);
    let rows = lines.slice(0, -2);
    if (option === '--workers') {
      // "fd address client-id : functions": fds differ between servers; function order is kept.
      rows = rows.map((row) => row.replace(/^\d+ /, 'FD '));
    }
    if (option === '--show-jobs') rows = rows.map((row) => row.replace(/^H:[^:]+:/, 'H:HOST:'));
    view[option] = rows.sort();
  }
  return view;
}

describe('gearadmin reads the same state from our server as from gearmand', () => {
  const servers: JobServer[] = [];
  const peers: RawPeer[] = [];

  beforeAll(async () => {
    servers.push(await startGearmand(), await startEmbeddedServer());
    for (const server of servers) peers.push(...(await buildState(server)));
  });

  afterAll(async () => {
    for (const peer of peers) peer.close();
    await Promise.all(servers.map((s) => s.kill()));
  });

  test('--status, --priority-status, --workers, --show-jobs and --show-unique-jobs agree', async () => {
    const [theirs, ours] = await Promise.all(servers.map(gearadminView));
    expect(ours).toEqual(theirs!);
    expect(ours!['--status']).toEqual([
      'parity:build\t2\t0\t1',
      'parity:delete\t0\t0\t1',
      'parity:orphan\t1\t0\t0',
      // The worker grabbed the high-priority upload first.
      'parity:upload\t2\t1\t1',
    ]);
    expect(ours!['--workers']).toContain('FD 127.0.0.1 parity-worker : parity:upload parity:build');
  });
});
