import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { stopChild } from '../run.ts';

/** A long-running OpenStack service started for a test, its output in a log file. */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  readonly running: boolean;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL at once: a crash. */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
// A test run that dies without its afterAll must not leave services listening.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function logTail(log: string): string {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

export function startService(name: string, command: string, args: readonly string[], options: { cwd: string; log: string; env?: NodeJS.ProcessEnv }): ServiceProcess {
  const fd = openSync(options.log, 'a');
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  live.add(child);
  child.once('exit', () => live.delete(child));
  return {
    name,
    pid: child.pid ?? -1,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    stop: () => stopChild(child, 'SIGTERM', 5_000),
    kill: () => stopChild(child),
  };
}

/** Runs a setup tool (db_sync, bootstrap…) to completion; a failure shows the end of its log. */
export function runTool(command: string, args: readonly string[], options: { cwd: string; log: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(options.log, 'a');
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${logTail(options.log)}`)),
    );
  });
}

/** Polls a URL until it answers (any status below 500), or fails with the service's log. */
export async function waitForHttp(url: string, service: ServiceProcess, log: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!service.running) throw new Error(`${service.name} exited before answering ${url}:\n${logTail(log)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  throw new Error(`${service.name} did not answer ${url} within ${timeoutMs} ms:\n${logTail(log)}`);
}
