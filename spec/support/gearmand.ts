import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { type ChildServer, childServer } from './child-server.ts';
import { freePort } from './ports.ts';

/** A real gearmand on 127.0.0.1 and a random port, for e2e tests. */
export type Gearmand = ChildServer;

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
  return childServer(host, port, async () => {
    const child = launch(host, port);
    await waitListening(host, port, child);
    return child;
  });
}
