/**
 * The dashboard from the compiled binary (NODEPOOL_BUILDER_BIN, which scripts/test.sh builds
 * first; otherwise this file builds one): its stylesheet and script are embedded at build time,
 * so the page works with nothing but the binary.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { freePort } from '../support/ports.ts';
import { eventually, run, stopChild } from '../support/run.ts';
import { schedulerConfigText } from '../support/scheduler-config.ts';

let dir: string;
let gearmand: Gearmand;
let scheduler: ChildProcess;
let api: string;
let log = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dashboard-binary-'));
  const bin = process.env.NODEPOOL_BUILDER_BIN ? resolve(process.env.NODEPOOL_BUILDER_BIN) : join(dir, 'nodepool-builder');
  const building = existsSync(bin)
    ? Promise.resolve()
    : run('node_modules/.bin/bun', ['build', 'src/cli/main.ts', '--compile', '--minify', '--bytecode', '--format=esm', '--outfile', bin], '', 180_000).then((r) => expect(r.code, r.stderr).toBe(0));
  const [server, listenPort] = await Promise.all([startGearmand(), freePort(), building]);
  gearmand = server;
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'binary-token\n', { mode: 0o600 });
  const configFile = join(dir, 'scheduler.toml');
  writeFileSync(configFile, schedulerConfigText({ dir, gearmandPort: gearmand.port, listenPort, stateFile: join(dir, 'state.sqlite'), tokenFile, systemId: 'binary' }));
  api = `http://127.0.0.1:${listenPort}`;
  // Run from another directory: nothing may be read from the source tree.
  scheduler = spawn(bin, ['scheduler', '-c', configFile], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  scheduler.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await eventually(async () => (await fetch(`${api}/`).catch(() => undefined))?.status === 200, 60_000, `the binary's dashboard to answer\n${log}`);
}, 240_000);

afterAll(async () => {
  if (scheduler) await stopChild(scheduler, 'SIGTERM', 20_000);
  await gearmand?.[Symbol.asyncDispose]();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

test('the compiled binary serves the dashboard: the page with the configured diskimage, its stylesheet and script as in the source', async () => {
  const page = await fetch(`${api}/`);
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  const html = await page.text();
  expect(html).toContain('<tr data-image="debian">');
  expect(html).toContain('href="dashboard.css"');
  expect(html).toContain('src="dashboard.js"');
  for (const [path, file] of [
    ['/dashboard.css', 'src/dashboard/assets/dashboard.css'],
    ['/dashboard.js', 'src/dashboard/assets/dashboard.client.js'],
  ] as const) {
    const res = await fetch(`${api}${path}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(readFileSync(file, 'utf8'));
  }
  const data = (await (await fetch(`${api}/dashboard/data`)).json()) as { sections: Record<string, string> };
  expect(data.sections.matrix).toContain('debian');
}, 60_000);
