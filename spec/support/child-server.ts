import type { ChildProcess } from 'node:child_process';
import { stopChild } from './run.ts';

/** A job server running as a child process that a test can SIGKILL and start again on its port. */
export interface ChildServer {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** Kills the server (SIGKILL) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts a fresh server on the same port. */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Wraps `launch` (which resolves once the server listens) into a ChildServer. */
export async function childServer(host: string, port: number, launch: () => Promise<ChildProcess>): Promise<ChildServer> {
  let child = await launch();
  const kill = (): Promise<void> => stopChild(child);
  return {
    host,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    kill,
    async restart() {
      await kill();
      child = await launch();
    },
    [Symbol.asyncDispose]: kill,
  };
}
