/** The two job servers under test, each in its own process on 127.0.0.1 and a free port. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort, waitListening } from '../../spec/support/ports.ts';
import { stopChild } from '../../spec/support/run.ts';

export interface RunningServer {
  readonly name: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface ServerKind {
  readonly name: string;
  start(): Promise<RunningServer>;
}

async function launch(name: string, command: string, args: (port: number) => string[]): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn(command, args(port), { stdio: 'ignore' });
  await waitListening(name, '127.0.0.1', port, child);
  return { name, port, stop: () => stopChild(child) };
}

export const GEARMAND: ServerKind = {
  name: 'gearmand',
  // The same command line as the e2e tests and DESIGN.md §4.
  start: () => launch('gearmand', 'gearmand', (port) => ['--listen=127.0.0.1', `--port=${port}`, '--log-file=none', '--threads=2']),
};

export const EMBEDDED: ServerKind = {
  name: 'ours',
  start: () => launch('ours', process.execPath, (port) => [join(import.meta.dir, 'server-main.ts'), String(port)]),
};

/** Ours with access rules loaded (BENCH_ACL=1 adds it to the run). */
export const EMBEDDED_ACL: ServerKind = {
  name: 'ours+acl',
  start: () => launch('ours+acl', process.execPath, (port) => [join(import.meta.dir, 'server-main.ts'), String(port), 'acl']),
};
