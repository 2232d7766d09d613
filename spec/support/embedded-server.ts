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
  /** An executable built from embedded-server-main.ts (compiledEmbeddedServer) instead of bun running the sources. */
  readonly executable?: string;
}

function launch(port: number, options: EmbeddedServerOptions): Promise<ChildProcess> {
  const env = options.accessRules === undefined ? process.env : { ...process.env, EMBEDDED_SERVER_RULES: options.accessRules };
  const [cmd, args] = options.executable === undefined ? [process.execPath, [MAIN, String(port)]] : [options.executable, [String(port)]];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
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

/**
 * embedded-server-main.ts built the way `npm run build` ships the product (one executable,
 * bytecode, minified), into `dir`: it starts in ~10 ms where bun running the TypeScript sources
 * takes ~35 ms, transpiling them on every start.
 */
export async function compiledEmbeddedServer(dir: string): Promise<string> {
  const outfile = join(dir, 'embedded-server');
  const build = spawn(process.execPath, ['build', MAIN, '--compile', '--minify', '--bytecode', '--format=esm', '--outfile', outfile], { stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise<number | null>((resolve) => build.once('exit', resolve));
  if (code !== 0) throw new Error(`bun build of the embedded server exited with ${code}`);
  return outfile;
}
