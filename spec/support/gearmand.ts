import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './ports.ts';

/** A real gearmand on 127.0.0.1 and a random port, for e2e tests. */
export interface Gearmand {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** Kills the server (SIGKILL) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts a fresh gearmand on the same port. */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitListening(host: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`gearmand exited early with code ${child.exitCode}`);
    if (await canConnect(host, port)) return;
    await Bun.sleep(20);
  }
  throw new Error(`gearmand did not listen on ${host}:${port} within 10 s`);
}

function launch(host: string, port: number): ChildProcess {
  return spawn('gearmand', [`--listen=${host}`, `--port=${port}`, '--log-file=none', '--threads=2'], {
    stdio: 'ignore',
  });
}

export async function startGearmand(): Promise<Gearmand> {
  const host = '127.0.0.1';
  const port = await freePort();
  let child = launch(host, port);
  await waitListening(host, port, child);

  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  return {
    host,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    kill,
    async restart() {
      await kill();
      child = launch(host, port);
      await waitListening(host, port, child);
    },
    [Symbol.asyncDispose]: kill,
  };
}
