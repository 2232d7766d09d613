import { type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { TINY_ELEMENTS, tinyImage } from '../../support/builder-process.ts';
import type { Lan } from '../../support/netns.ts';
import { eventually, stopChild } from '../../support/run.ts';

/** The CLI entry point, absolute: commands run through `ip netns exec`. */
export const MAIN = resolve('src/cli/main.ts');
export const GEARMAN_PORT = 4730;

/** A long-running process inside one host's namespace, its output in a log file. */
export interface HostProcess {
  readonly host: string;
  readonly ip: string;
  readonly pid: number;
  readonly logFile: string;
  log(): string;
  running(): boolean;
  stop(): Promise<void>;
}

function hostProcess(lan: Lan, host: string, dir: string, command: string, args: readonly string[]): HostProcess {
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${host}.log`);
  const fd = openSync(logFile, 'a');
  const child: ChildProcess = lan.spawn(host, command, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return {
    host,
    ip: lan.host(host).ip,
    pid: child.pid ?? -1,
    logFile,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    running: () => child.exitCode === null && child.signalCode === null,
    // SIGTERM first: the builder kills its DIB process groups on the way out.
    stop: () => stopChild(child, 'SIGTERM', 15_000),
  };
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/**
 * A real gearmand listening on the host's LAN address. Its TCP keepalive is what lets it drop
 * a worker whose host vanished without a FIN or RST; without it a silent link cut leaves the
 * worker (and its functions) registered until a write to it times out.
 */
export async function startGearmandOn(lan: Lan, host: string, dir: string): Promise<HostProcess> {
  const ip = lan.host(host).ip;
  const server = hostProcess(lan, host, dir, 'gearmand', [
    `--listen=${ip}`,
    `--port=${GEARMAN_PORT}`,
    '--log-file=none',
    '--threads=2',
    '--keepalive',
    '--keepalive-idle=3',
    '--keepalive-interval=1',
    '--keepalive-count=3',
  ]);
  await eventually(
    async () => {
      if (!server.running()) throw new Error(`gearmand on ${host} exited`);
      return listening(ip, GEARMAN_PORT);
    },
    15_000,
    `gearmand on ${host} to listen`,
  );
  return server;
}

export interface BuilderHost extends HostProcess {
  readonly clientId: string;
  readonly imagesDir: string;
  readonly configFile: string;
  /** Image ids in the repository (images-dir/images). */
  images(): string[];
}

/** `nodepool-builder run` from the sources inside the host's namespace, on every given server. */
export function startBuilderOn(
  lan: Lan,
  host: string,
  dir: string,
  options: { clientId: string; diskimages: readonly string[]; servers: readonly string[] },
): BuilderHost {
  mkdirSync(dir, { recursive: true });
  const imagesDir = join(dir, 'images-dir');
  const configFile = join(dir, 'builder.toml');
  writeFileSync(
    configFile,
    [
      `images-dir = "${imagesDir}"`,
      `elements-path = ["${TINY_ELEMENTS}"]`,
      'min-free-space = "0"',
      `client-id = "${options.clientId}"`,
      'shutdown-grace = "10s"',
      'build-workers = 1',
      ...options.diskimages.map((name) => tinyImage(name)),
      ...options.servers.flatMap((server) => ['[[gearman-servers]]', `host = "${lan.host(server).ip}"`, `port = ${GEARMAN_PORT}`]),
    ].join('\n'),
  );
  const builder = hostProcess(lan, host, dir, process.execPath, [MAIN, 'run', '-c', configFile, '--debug']);
  return {
    ...builder,
    clientId: options.clientId,
    imagesDir,
    configFile,
    images: () => {
      const images = join(imagesDir, 'images');
      return existsSync(images) ? readdirSync(images).sort() : [];
    },
  };
}
