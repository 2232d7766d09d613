import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'smol-toml';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import type { ServerAddress } from '../../src/protocol/transport/connect-address.ts';
import { eventually, stopChild } from './run.ts';

export const TINY_ELEMENTS = resolve('fixtures/elements');

/** A tiny-root diskimage in TOML; `env` adds env-vars, `extra` adds keys to its table. */
export function tinyImage(name: string, options: { env?: Record<string, string>; extra?: string } = {}): string {
  const env = Object.entries({ DIB_JOURNAL_SIZE: '4', ...options.env }).map(([k, v]) => `${k} = "${v}"`);
  return [
    '[[diskimages]]',
    `name = "${name}"`,
    'elements = ["tiny-root"]',
    'formats = ["qcow2"]',
    'dib-trace = false',
    'no-tmpfs = true',
    'dib-args = ["-n", "--image-size", "0.1"]',
    `env-vars = { ${env.join(', ')} }`,
    options.extra ?? '',
  ].join('\n');
}

export interface BuilderProcess {
  readonly dir: string;
  readonly imagesDir: string;
  readonly configFile: string;
  readonly pid: number;
  /** Everything the builder logged so far. */
  log(): string;
  signal(name: NodeJS.Signals): void;
  /** Resolves with the exit code once the process is gone. */
  exited(): Promise<number | null>;
  start(): Promise<void>;
  writeConfig(body: string): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Top-level settings startBuilder writes itself; a test may choose them. */
export interface BuilderSettings {
  /** Default: `images` in the builder's temp dir. */
  readonly imagesDir?: string;
  /** Default: "0" (the check off). */
  readonly minFreeSpace?: string;
  /** Default: "e2e-builder". */
  readonly clientId?: string;
  /** TLS files for the connection to `server` (PEM paths): tls-ca, and a client certificate. */
  readonly serverTls?: { readonly ca: string; readonly cert?: string; readonly key?: string };
  /** Where registration is checked with admin `workers` (TLS settings included); default `server` itself. */
  readonly admin?: ServerAddress;
}

/**
 * Runs `nodepool-builder run` from the sources in a child process, against the given job
 * server, with its own images-dir; resolves once it has registered its build functions.
 */
export async function startBuilder(
  server: { host: string; port: number },
  body: string,
  waitFor: string[] = [],
  settings: BuilderSettings = {},
): Promise<BuilderProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'nodepool-builder-e2e-'));
  const imagesDir = settings.imagesDir ?? join(dir, 'images');
  const configFile = join(dir, 'builder.toml');
  const logFile = join(dir, 'builder.log');
  // The body's own top-level keys must come before any table, so the server table goes last.
  const writeConfig = (text: string) =>
    writeFileSync(
      configFile,
      [
        `images-dir = "${imagesDir}"`,
        `elements-path = ["${TINY_ELEMENTS}"]`,
        `min-free-space = "${settings.minFreeSpace ?? '0'}"`,
        `client-id = "${settings.clientId ?? 'e2e-builder'}"`,
        'shutdown-grace = "10s"',
        text,
        '[[gearman-servers]]',
        `host = "${server.host}"`,
        `port = ${server.port}`,
        ...(settings.serverTls === undefined
          ? []
          : [
              `tls-ca = "${settings.serverTls.ca}"`,
              ...(settings.serverTls.cert ? [`tls-cert = "${settings.serverTls.cert}"`, `tls-key = "${settings.serverTls.key}"`] : []),
            ]),
      ].join('\n'),
    );
  writeConfig(body);
  let child: ChildProcess | undefined;
  let exit: Promise<number | null> = Promise.resolve(null);
  const admin = new AdminClient(settings.admin ?? server);

  const handle: BuilderProcess = {
    dir,
    imagesDir,
    configFile,
    get pid() {
      return child?.pid ?? -1;
    },
    log: () => readFileSync(logFile, 'utf8'),
    signal: (name) => child?.kill(name),
    exited: () => exit,
    writeConfig,
    async start() {
      const out = createWriteStream(logFile, { flags: 'a' });
      child = spawn(process.execPath, ['src/cli/main.ts', 'run', '-c', configFile, '--debug'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.pipe(out);
      child.stderr?.pipe(out);
      const current = child;
      exit = new Promise((done) => current.once('exit', (code) => done(code)));
      const names = waitFor.length ? waitFor : diskimageNames(body).map((name) => `image-build:${name}`);
      // A builder that never registers must not outlive the test that gave up on it.
      const registering = eventually(
        async () => {
          if (current.exitCode !== null) throw new Error(`the builder exited (${current.exitCode}):\n${handle.log()}`);
          const workers = await admin.workers();
          const clientId = `${settings.clientId ?? 'e2e-builder'}/`;
          const registered = new Set(workers.filter((w) => w.clientId.startsWith(clientId)).flatMap((w) => w.functions));
          return names.every((name) => registered.has(name));
        },
        20_000,
        `the builder to register ${names.join(', ')}`,
      );
      await registering.catch(async (err: unknown) => {
        current.kill('SIGKILL');
        await exit;
        throw err;
      });
    },
    async [Symbol.asyncDispose]() {
      admin.close();
      // SIGTERM first: the builder kills its DIB process groups on the way out.
      if (child) await stopChild(child, 'SIGTERM', 20_000);
    },
  };
  await handle.start();
  return handle;
}

/** The [[diskimages]] names of a config body (not its providers'). */
function diskimageNames(body: string): string[] {
  const { diskimages } = parse(body) as { diskimages?: Array<{ name?: unknown }> };
  return (diskimages ?? []).map((image) => String(image.name));
}
