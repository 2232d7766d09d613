import { type ChildProcess, spawn } from 'node:child_process';
import { type ChildServer, childServer } from './child-server.ts';
import { freePort, waitListening } from './ports.ts';

/** A real gearmand on 127.0.0.1 and a random port, for e2e tests. */
export type Gearmand = ChildServer;

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
    await waitListening('gearmand', host, port, child);
    return child;
  });
}
