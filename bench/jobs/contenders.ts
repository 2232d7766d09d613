/**
 * Who runs, and as which processes. Every contender gets the same gearmand, the same number of
 * worker and client connections, the same jobs and jobs in flight. The JS ones run their N
 * worker connections in one child process and their N client connections in another; the Perl
 * library is blocking, one connection per object and process, so its N connections are N
 * worker processes and N client processes (each with 1/N of the jobs and of the in-flight).
 */
import { fileURLToPath } from 'node:url';
import type { Command } from './children.ts';
import type { ClientArgs, WorkerArgs } from './harness/args.ts';
import { MAX_GRABS_PER_LINK } from '../../src/protocol/worker/worker.ts';

export interface Contender {
  readonly name: string;
  /** Goes under the table. */
  readonly about: string;
  /** A library peer (competes for "best library"); ours and raw are not. */
  readonly library: boolean;
  /** How its workers are told to report and exit: a "stop" line, or SIGTERM (Perl blocks in work()). */
  readonly stop: 'stdin' | 'signal';
  workers(args: WorkerArgs): Command[];
  clients(args: ClientArgs): Command[];
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

export type Processes = Pick<Contender, 'workers' | 'clients' | 'stop'>;

/** A JS contender: `workerFile` and `clientFile` (relative to bench/jobs) under this bun; `extra` goes to the worker. */
export function bunPair(name: string, workerFile: string, clientFile: string, extra: Partial<WorkerArgs> = {}): Processes {
  const bun = (side: 'worker' | 'client', file: string, args: object): Command =>
    ({ cmd: process.execPath, args: ['run', here(file), JSON.stringify(args)], label: `${name} ${side}` });
  return {
    stop: 'stdin',
    workers: (args) => [bun('worker', workerFile, { ...args, ...extra })],
    clients: (args) => [bun('client', clientFile, args)],
  };
}

/** Splits `total` into `parts` near-equal shares. */
const share = (total: number, parts: number, k: number): number => Math.floor(total / parts) + (k < total % parts ? 1 : 0);

const perl: Processes = {
  stop: 'signal',
  workers: (args) =>
    Array.from({ length: args.conns }, (_, k) =>
      ({ cmd: 'perl', args: [here('./peers/perl-worker.pl'), args.host, String(args.port), args.fn], label: `perl worker ${k + 1}/${args.conns}` }),
    ),
  clients: (args) => {
    let first = args.first;
    return Array.from({ length: args.conns }, (_, k) => {
      const jobs = share(args.jobs, args.conns, k);
      const command: Command = {
        cmd: 'perl',
        args: [
          here('./peers/perl-client.pl'),
          args.host,
          String(args.port),
          args.fn,
          String(jobs),
          String(share(args.warmup, args.conns, k)),
          String(Math.max(1, share(args.inflight, args.conns, k))),
          String(args.runId),
          String(first),
        ],
        label: `perl client ${k + 1}/${args.conns}`,
      };
      first += jobs;
      return command;
    });
  },
};

export const CONTENDERS: readonly Contender[] = [
  {
    name: 'ours',
    about: 'src/protocol Worker (one Worker, N `servers` entries, 16 slots) + Client (N `servers` entries), 16 concurrent submit()s',
    library: false,
    ...bunPair('ours', './peers/ours-worker.ts', './peers/ours-client.ts'),
  },
  {
    name: 'raw',
    about: 'node:net + hand-built packets: 1 GRAB_JOB_UNIQ per connection, WORK_COMPLETE+GRAB in one write; client pipelines SUBMIT_JOB',
    library: false,
    ...bunPair('raw', './peers/raw-worker.ts', './peers/raw-client.ts'),
  },
  {
    name: 'raw deep',
    about: `raw with ${MAX_GRABS_PER_LINK} GRAB_JOB_UNIQ in flight per connection, as deep as ours (topped up with each WORK_COMPLETE; 1 after NOOP)`,
    library: false,
    ...bunPair('raw deep', './peers/raw-worker.ts', './peers/raw-client.ts', { grabs: MAX_GRABS_PER_LINK }),
  },
  {
    name: 'npm gearman',
    about: 'gearman 2.1.0 as its README shows (PRE_SLEEP after every job, GRAB_JOB on NOOP); N instances per process',
    library: true,
    ...bunPair('npm gearman', './peers/npm-worker.ts', './peers/npm-client.ts'),
  },
  {
    name: 'perl',
    about: 'Gearman::Worker `work while 1` + Gearman::Client taskset refilled from on_complete; N worker and N client processes',
    library: true,
    ...perl,
  },
];
