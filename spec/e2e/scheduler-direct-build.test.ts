/**
 * Builds made by a nodepool-0.3-style client (the gearman CLI submitting image-build:<name>
 * itself), with real gearmand, a real builder process (`run`, a command-built qcow2 made by
 * qemu-img: no DIB) and `nodepool-builder scheduler` as a process. The build result names the
 * builder and the diskimage; the scheduler, which never started such a build, learns its
 * diskimage from builder-image-list:<client-id>, adopts it, and keeps or deletes it by keep-builds.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { type BuilderProcess, startBuilder } from '../support/builder-process.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { freePort } from '../support/ports.ts';
import { eventually, run, stopChild } from '../support/run.ts';

const DISKIMAGE = [
  '[[diskimages]]',
  'name = "debian"',
  'builder = "command"',
  'formats = ["qcow2"]',
  'command = ["sh", "-c", "qemu-img create -q -f qcow2 \\"$OUTPUT_DIR/$IMAGE_NAME.qcow2\\" 1M"]',
  'rebuild-age = "10d"',
].join('\n');

interface DibRow {
  readonly id: string;
  readonly image: string;
  readonly builder: string | null;
  readonly formats: string[];
  readonly state: string;
}

describe('a direct image-build from the gearman CLI, with the scheduler running', () => {
  let gearmand: Gearmand;
  let builder: BuilderProcess;
  let admin: AdminClient;
  let dir: string;
  let api: string;
  let scheduler: ChildProcess | undefined;
  let log = '';

  /** What the gearman CLI prints for image-build:debian: the WORK_COMPLETE data. */
  const directBuild = async (id: string): Promise<Record<string, unknown>> => {
    const result = await run('gearman', ['-h', gearmand.host, '-p', String(gearmand.port), '-f', 'image-build:debian'], JSON.stringify({ 'image-id': id }), 120_000);
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };

  const dibImageList = async (): Promise<DibRow[]> => {
    const result = await run(process.execPath, ['src/cli/main.ts', 'dib-image-list', '--api', api, '--json']);
    if (result.code !== 0) throw new Error(`dib-image-list --api exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as DibRow[];
  };

  const registered = async (): Promise<string[]> => (await admin.workers()).filter((w) => w.clientId.startsWith('e2e-builder/')).flatMap((w) => w.functions);

  beforeAll(async () => {
    gearmand = await startGearmand();
    admin = new AdminClient(gearmand);
    builder = await startBuilder(gearmand, DISKIMAGE, ['image-build:debian', 'builder-image-list:e2e-builder']);
    dir = mkdtempSync(join(tmpdir(), 'scheduler-direct-'));
    writeFileSync(join(dir, 'api-token'), 'direct-e2e-token\n', { mode: 0o600 });
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'scheduler.toml'),
      [
        `images-dir = "${join(dir, 'unused-images')}"`,
        '[[gearman-servers]]',
        'host = "127.0.0.1"',
        `port = ${gearmand.port}`,
        DISKIMAGE,
        '[scheduler]',
        `state-file = "${join(dir, 'state.sqlite')}"`,
        `listen = "127.0.0.1:${port}"`,
        'system-id = "direct-e2e"',
        'cleanup-interval = "1s"',
        'keep-builds = 1',
        `api-token-file = "${join(dir, 'api-token')}"`,
      ].join('\n'),
    );
  }, 120_000);

  afterAll(async () => {
    if (scheduler) await stopChild(scheduler, 'SIGTERM', 10_000);
    await builder?.[Symbol.asyncDispose]();
    admin?.close();
    await gearmand?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test("image-build's result names the diskimage and the builder (its client id), beside nodepool 0.3's keys", async () => {
    const result = await directBuild('direct-1');
    expect(result).toMatchObject({ 'image-id': 'direct-1', diskimage: 'debian', builder: 'e2e-builder' });
    expect(Object.keys(result.formats as object)).toEqual(['qcow2']);
    // What admin `workers` shows of it: the image's functions only, not its diskimage.
    expect(await registered()).toEqual(expect.arrayContaining(['image-upload:direct-1', 'image-delete:direct-1']));
  }, 120_000);

  test('the scheduler adopts the direct build (no build of its own), then deletes it by keep-builds (1) once a newer direct build is adopted', async () => {
    scheduler = spawn(process.execPath, ['src/cli/main.ts', 'scheduler', '-c', join(dir, 'scheduler.toml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    scheduler.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const context = (err: unknown): never => {
      throw new Error(`${String(err)}\n--- scheduler ---\n${log}\n--- builder ---\n${builder.log()}`);
    };
    const adopted = await eventually(async () => (await dibImageList().catch(() => [])).find((row) => row.id === 'direct-1'), 30_000, 'direct-1 in dib-image-list').catch(context);
    expect(adopted).toMatchObject({ image: 'debian', builder: 'e2e-builder', formats: ['qcow2'], state: 'ready' });

    await directBuild('direct-2');
    await eventually(
      async () => {
        const rows = await dibImageList();
        return rows.length === 1 && rows[0]!.id === 'direct-2' && rows[0]!.state === 'ready' && !(await registered()).includes('image-upload:direct-1');
      },
      30_000,
      'direct-2 adopted and direct-1 deleted on the builder',
    ).catch(context);
    // The scheduler never built debian itself: it had a ready build from the first pass on.
    expect(log).toContain('adopt-build buildId=direct-1');
    expect(log).not.toContain('start-build');
    expect(await registered()).toEqual(expect.arrayContaining(['image-upload:direct-2', 'image-delete:direct-2']));
  }, 120_000);

  test("a build the scheduler starts itself (an operator's request) is recorded with the builder its result names", async () => {
    const requested = await run(process.execPath, ['src/cli/main.ts', 'image-build-request', 'debian', '--api', api, '--token-file', join(dir, 'api-token')]);
    expect(requested.code).toBe(0);
    const own = await eventually(
      async () => (await dibImageList()).find((row) => !row.id.startsWith('direct-') && row.state === 'ready'),
      60_000,
      "the scheduler's own build ready",
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- scheduler ---\n${log}`);
    });
    expect(log).toContain(`start-build diskimage=debian why=requested`);
    expect(own).toMatchObject({ image: 'debian', builder: 'e2e-builder', formats: ['qcow2'] });
  }, 120_000);
});
