import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { type ChildServer, childServer } from './child-server.ts';
import { freePort } from './ports.ts';

const MAIN = join(import.meta.dir, 'embedded-server-main.ts');

/** Our job server in a child process on 127.0.0.1 and a random port, like the gearmand helper. */
export type EmbeddedServer = ChildServer;

export interface EmbeddedServerOptions {
  /** Access rules (TOML) the server enforces. */
  readonly accessRules?: string;
}

function launch(port: number, options: EmbeddedServerOptions): Promise<ChildProcess> {
  const env = options.accessRules === undefined ? process.env : { ...process.env, EMBEDDED_SERVER_RULES: options.accessRules };
  const child = spawn(process.execPath, [MAIN, String(port)], { stdio: ['ignore', 'pipe', 'inherit'], env });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the embedded server did not listen on ${port} within 10 s`));
    }, 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('READY')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the embedded server exited early with code ${code}`));
    });
  });
}

export async function startEmbeddedServer(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const port = await freePort();
  return childServer('127.0.0.1', port, () => launch(port, options));
}
