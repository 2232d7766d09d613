import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { eventually, run } from '../support/run.ts';

// Perl's Gearman::Client is an independent implementation of the client side.
const PERL_CLIENT = `
use strict; use warnings;
use Gearman::Client;
my ($server, $mode, $fn, $arg) = @ARGV;
my $client = Gearman::Client->new(job_servers => [$server]);
if ($mode eq 'fg') {
  my $result = $client->do_task($fn, $arg);
  if (defined $result) { print "OK:" . $$result; exit 0 } else { print "FAILED"; exit 3 }
} else {
  my $handle = $client->dispatch_background($fn, $arg);
  print defined $handle ? "QUEUED:$handle" : "NOT QUEUED"; exit(defined $handle ? 0 : 4);
}
`;

const rot13 = (text: string): string =>
  text.replace(/[a-z]/gi, (c) => {
    const base = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });

describe.each(JOB_SERVERS)('Perl Gearman::Client and our worker, via $name', (kind) => {
  let server: JobServer;
  let worker: Worker;
  const backgroundSeen: string[] = [];

  beforeAll(async () => {
    server = await kind.start();
    worker = new Worker({ servers: [server], slots: { default: 2 } });
    worker.register('rot13', (job) => rot13(Buffer.from(job.payload).toString()));
    worker.register('refuse', () => {
      throw new JobFailure('BAD_REQUEST', 'refused on purpose');
    });
    worker.register('note', (job) => {
      backgroundSeen.push(Buffer.from(job.payload).toString());
    });
    worker.start();
  });

  afterAll(async () => {
    await worker.stop(1000);
    await server[Symbol.asyncDispose]();
  });

  const perl = (...args: string[]) => run('perl', ['-e', PERL_CLIENT, `${server.host}:${server.port}`, ...args]);

  test('a foreground job returns our result', async () => {
    expect((await perl('fg', 'rot13', 'Hello')).stdout).toBe('OK:Uryyb');
  });

  test('WORK_FAIL reaches the Perl client as a failure', async () => {
    expect((await perl('fg', 'refuse', 'x')).stdout).toBe('FAILED');
  });

  test('a background job is queued and runs on our worker', async () => {
    const result = await perl('bg', 'note', 'from perl');
    expect(result.stdout).toMatch(/^QUEUED:/);
    await eventually(() => backgroundSeen.includes('from perl'), 5000, 'the background job');
  });
});
