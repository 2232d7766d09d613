/**
 * The whole product on one host (README command 1, run by scripts/quickstart.sh after it built
 * the binary): a local no-auth Glance (started as the tests start it), the scheduler with its
 * embedded job server, a builder connected to it, and the tiny image of
 * fixtures/config/quickstart.toml. Waits until the scheduler's first upload is active in Glance,
 * prints `image-list`, and stops everything; with --stay, keeps it all running until Ctrl-C.
 *
 * Usage: bun scripts/quickstart.ts BINARY [--stay]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type OpenStackPeers, startOpenStack } from '../spec/support/openstack/openstack-peers.ts';
import { freePort } from '../spec/support/ports.ts';

const SYSTEM_ID = 'quickstart';
/** The tiny image builds in seconds; a cold DIB cache and a busy machine take longer. */
const DEADLINE_MS = 15 * 60_000;

const [binaryArg, ...flags] = process.argv.slice(2);
if (binaryArg === undefined || flags.some((flag) => flag !== '--stay')) {
  process.stderr.write('usage: bun scripts/quickstart.ts BINARY [--stay]\n');
  process.exit(2);
}
const binary = resolve(binaryArg);
const stay = flags.includes('--stay');
const work = mkdtempSync(join(tmpdir(), 'nodepool-builder-quickstart-'));
const children: { name: string; child: ChildProcess; log: string }[] = [];
let peers: OpenStackPeers | undefined;

function say(line: string): void {
  process.stdout.write(`quickstart: ${line}\n`);
}

function start(name: string, args: string[]): void {
  const log = join(work, `${name}.log`);
  const out = createWriteStream(log);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  children.push({ name, child, log });
  say(`${name} started (pid ${child.pid}, log ${log})`);
}

function exited(): string | undefined {
  const dead = children.find((c) => c.child.exitCode !== null || c.child.signalCode !== null);
  return dead && `${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}):\n${readFileSync(dead.log, 'utf8')}`;
}

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('close', (c) => done(c)));
  return { code, stdout, stderr };
}

async function stopAll(): Promise<void> {
  // SIGTERM: the builder kills its DIB process groups, the scheduler leaves its state file whole.
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
          child.once('exit', () => {
            clearTimeout(force);
            done();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  await peers?.stop();
}

/** The config both processes read: the builder's file adds the job server it connects to. */
function configText(cloudsFile: string, apiPort: number): string {
  const fixture = readFileSync('fixtures/config/quickstart.toml', 'utf8');
  const diskimages = fixture.slice(fixture.search(/^\[\[diskimages\]\]/m));
  return [
    '# Written by scripts/quickstart.ts from fixtures/config/quickstart.toml.',
    `images-dir = "${join(work, 'images')}"`,
    `elements-path = ["${resolve('fixtures/elements')}"]`,
    'min-free-space = "1G"',
    'client-id = "quickstart"',
    `clouds-file = "${cloudsFile}"`,
    diskimages.trim(),
    '',
    '[[providers]]',
    'name = "local"',
    'cloud = "noauth"',
    '',
    '[scheduler]',
    `state-file = "${join(work, 'scheduler.sqlite')}"`,
    `listen = "127.0.0.1:${apiPort}"`,
    `system-id = "${SYSTEM_ID}"`,
    'cleanup-interval = "5s"',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  say(`working in ${work}; starting a local no-auth Glance`);
  peers = await startOpenStack({ keystone: false });
  say(`Glance at ${peers.glance.url}`);
  const [geardPort, apiPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${apiPort}`;
  const schedulerConfig = join(work, 'quickstart.toml');
  const builderConfig = join(work, 'quickstart-builder.toml');
  const text = configText(peers.cloudsFile, apiPort);
  writeFileSync(schedulerConfig, text);
  writeFileSync(builderConfig, `${text}\n[[gearman-servers]]\nhost = "127.0.0.1"\nport = ${geardPort}\n`);

  // No [[gearman-servers]] in its file: the scheduler runs the embedded job server.
  start('scheduler', ['scheduler', '-c', schedulerConfig, '--geard-listen', `127.0.0.1:${geardPort}`]);
  start('builder', ['run', '-c', builderConfig]);

  say('waiting for the scheduler to build "tiny" and upload it to Glance ...');
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const dead = exited();
    if (dead) throw new QuickstartError(dead);
    if (Date.now() > deadline) throw new QuickstartError(`no active image in Glance after ${DEADLINE_MS / 60_000} minutes; logs in ${work}`);
    const listed = await cli(['image-list', '--api', api, '--json']);
    const rows = listed.code === 0 ? (JSON.parse(listed.stdout) as { 'external-id': string | null; state: string }[]) : [];
    const ready = rows.find((row) => row.state === 'ready');
    if (ready) {
      const image = (await peers.images('noauth')).find((i) => i.id === ready['external-id']);
      if (image?.status === 'active') {
        say(`image ${String(image.id)} (${String(image.name)}) is active in Glance`);
        break;
      }
    }
    await Bun.sleep(1_000);
  }
  process.stdout.write((await cli(['dib-image-list', '--api', api])).stdout);
  process.stdout.write((await cli(['image-list', '--api', api])).stdout);
  if (stay) {
    say(`running; API ${api}, job server 127.0.0.1:${geardPort}, Glance ${peers.glance.url}, config ${schedulerConfig}. Ctrl-C stops everything.`);
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
  }
}

class QuickstartError extends Error {
  readonly code = 'QUICKSTART_FAILED';
}

let status = 0;
try {
  await main();
} catch (err) {
  status = 1;
  process.stderr.write(`quickstart: ${err instanceof Error ? err.message : String(err)}\n`);
  for (const { name, log } of children) process.stderr.write(`--- ${name} (${log}) ---\n${readFileSync(log, 'utf8').slice(-4_000)}\n`);
} finally {
  say('stopping');
  await stopAll();
  if (status === 0) rmSync(work, { recursive: true, force: true });
}
process.exit(status);
