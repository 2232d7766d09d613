/**
 * `nodepool-builder scheduler` as a process, against real gearmand and a stand-in builder (our
 * Worker in this process over a stand-in cloud; see spec/scheduler/support/stand-in-builder.ts):
 * it serves /ready once reconciled, builds and uploads, survives a SIGHUP with a bad file, and
 * stops on SIGTERM with exit 0. Then export-state and import-state round-trip its state file.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../../src/scheduler/state-store.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { schedulerConfigText } from '../support/scheduler-config.ts';
import { freePort } from '../support/ports.ts';
import { eventually, run, stopChild } from '../support/run.ts';
import { StandInBuilder } from '../scheduler/support/stand-in-builder.ts';

describe('nodepool-builder scheduler', () => {
  let gearmand: Gearmand;
  let builder: StandInBuilder;
  let dir: string;
  let configFile: string;
  let stateFile: string;
  let port: number;
  let child: ChildProcess;
  let stderr = '';

  const configText = (extra = ''): string =>
    schedulerConfigText({ dir, gearmandPort: gearmand.port, listenPort: port, stateFile, tokenFile: join(dir, 'token'), systemId: 'cli-test', extra });

  beforeAll(async () => {
    gearmand = await startGearmand();
    builder = new StandInBuilder(gearmand, 'stand-in-1', ['debian'], ['p1']);
    builder.start();
    dir = mkdtempSync(join(tmpdir(), 'scheduler-cli-'));
    configFile = join(dir, 'scheduler.toml');
    stateFile = join(dir, 'state.sqlite');
    port = await freePort();
    writeFileSync(configFile, configText());
    writeFileSync(join(dir, 'token'), 'sesame\n');
  });

  afterAll(async () => {
    if (child) await stopChild(child);
    await builder.stop();
    await gearmand[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves /ready once reconciled, builds and uploads, starts a pass on an API write, keeps its config on a bad SIGHUP, and exits 0 on SIGTERM', async () => {
    child = spawn(process.execPath, ['src/cli/main.ts', 'scheduler', '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, 20_000, '/ready to answer 200');
    await eventually(() => builder.cloud('p1').some((image) => image.status === 'active'), 20_000, 'an upload to p1');
    const uploads = await eventually(async () => {
      const body = (await (await fetch(`http://127.0.0.1:${port}/image-list`)).json()) as unknown;
      const list = JSON.stringify(body);
      return list.includes(builder.cloud('p1')[0]!.externalId) && list.includes('ready') ? list : undefined;
    }, 20_000, 'the upload in /image-list as ready');
    expect(uploads).toContain('p1');

    // An operator's build request through the API is acted on at once, not at the next cleanup-interval.
    const builds = () => builder.seen.filter((s) => s.functionName === 'image-build:debian').length;
    expect(builds()).toBe(1);
    const asked = await fetch(`http://127.0.0.1:${port}/image-build-request`, {
      method: 'POST',
      headers: { authorization: 'Bearer sesame', 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'debian' }),
    });
    expect(asked.status).toBe(202);
    await eventually(() => builds() === 2, 20_000, 'the requested build to reach the builder');

    writeFileSync(configFile, 'this is = not [toml');
    child.kill('SIGHUP');
    await eventually(() => stderr.includes('reload refused, the running configuration stays'), 10_000, 'the reload to be refused');
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopped');
  });

  test('export-state writes the state as a document; import-state loads it into another state file, and refuses a second import without --replace', async () => {
    writeFileSync(configFile, configText()); // the test above left a broken one
    const out = join(dir, 'export.json');
    const exported = await run(process.execPath, ['src/cli/main.ts', 'export-state', '-c', configFile, '-o', out]);
    expect(exported.code).toBe(0);
    const document = JSON.parse(readFileSync(out, 'utf8')) as { format: string; 'system-id': string | null; builds: { id: string }[]; uploads: unknown[] };
    // The config sets the system id, so the state file made none of its own.
    expect(document).toMatchObject({ format: 'nodepool-builder-state', 'system-id': null });
    const source = StateStore.open(stateFile);
    const held = source.snapshot();
    source.close();
    expect(document.builds.map((b) => b.id)).toEqual(held.builds.map((b) => b.id));
    expect(document.uploads).toHaveLength(held.uploads.length);
    expect(held.uploads.length).toBeGreaterThan(0);

    const otherState = join(dir, 'other.sqlite');
    const otherConfig = join(dir, 'other.toml');
    writeFileSync(otherConfig, configText().replace(stateFile, otherState));
    const imported = await run(process.execPath, ['src/cli/main.ts', 'import-state', '-c', otherConfig, out]);
    expect(imported.code).toBe(0);
    const store = StateStore.open(otherState);
    expect(store.snapshot().builds.map((b) => b.id)).toEqual(document.builds.map((b) => b.id));
    store.close();

    const again = await run(process.execPath, ['src/cli/main.ts', 'import-state', '-c', otherConfig, out]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('already holds records');
    expect((await run(process.execPath, ['src/cli/main.ts', 'import-state', '-c', otherConfig, out, '--replace'])).code).toBe(0);
  });
});
