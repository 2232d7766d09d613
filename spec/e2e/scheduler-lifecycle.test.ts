/**
 * The scheduler end to end: real gearmand, one real builder process (`run`, DIB's tiny image),
 * a real no-auth Glance, and `nodepool-builder scheduler` as a process. It builds and uploads;
 * after a rebuild (short rebuild-age) it deletes the superseded upload, leaving exactly
 * keep-uploads of this system's images in Glance. Then a kill -9 of the scheduler in the middle
 * of an upload, and a restart: the system converges (the upload is attached to or adopted, and
 * nothing tagged is left unaccounted for).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../../src/scheduler/state-store.ts';
import type { SchedulerState } from '../../src/scheduler/state.ts';
import { type BuilderProcess, startBuilder, tinyImage } from '../support/builder-process.ts';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { type OpenStackPeers, startOpenStack } from '../support/openstack/openstack-peers.ts';
import { freePort } from '../support/ports.ts';
import { eventually, stopChild } from '../support/run.ts';

const SYSTEM_ID = 'e2e-lifecycle';

describe('the scheduler with a real builder and Glance', () => {
  let gearmand: Gearmand;
  let peers: OpenStackPeers;
  let builder: BuilderProcess;
  let dir: string;
  let configFile: string;
  let stateFile: string;
  let scheduler: ChildProcess | undefined;
  let log = '';

  const writeConfig = async (rebuildAge: string): Promise<void> => {
    writeFileSync(
      configFile,
      [
        `images-dir = "${join(dir, 'unused-images')}"`,
        '[[gearman-servers]]',
        'host = "127.0.0.1"',
        `port = ${gearmand.port}`,
        tinyImage('tiny', { extra: `rebuild-age = "${rebuildAge}"` }),
        '[[providers]]',
        'name = "glance"',
        'cloud = "noauth"',
        '[scheduler]',
        `state-file = "${stateFile}"`,
        `listen = "127.0.0.1:${await freePort()}"`,
        `system-id = "${SYSTEM_ID}"`,
        'cleanup-interval = "2s"',
        'keep-builds = 1',
        'keep-uploads = 1',
        'backoff-base = "2s"',
      ].join('\n'),
    );
  };

  const startScheduler = (): void => {
    const child = spawn(process.execPath, ['src/cli/main.ts', 'scheduler', '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    scheduler = child;
  };

  const state = (): SchedulerState => {
    const store = StateStore.open(stateFile);
    try {
      return store.snapshot();
    } finally {
      store.close();
    }
  };

  /** This system's images in Glance (tagged with its system id), not deleted. */
  const tagged = async (): Promise<Array<Record<string, unknown>>> =>
    (await peers.images('noauth')).filter((image) => image.nodepool_system_id === SYSTEM_ID && image.status !== 'deleted');

  beforeAll(async () => {
    [gearmand, peers] = await Promise.all([startGearmand(), startOpenStack({ keystone: false })]);
    dir = mkdtempSync(join(tmpdir(), 'scheduler-e2e-'));
    configFile = join(dir, 'scheduler.toml');
    stateFile = join(dir, 'state.sqlite');
    builder = await startBuilder(
      gearmand,
      [`clouds-file = "${peers.cloudsFile}"`, tinyImage('tiny'), '[[providers]]', 'name = "glance"', 'cloud = "noauth"'].join('\n'),
      ['image-build:tiny', 'provider-image-list:glance', 'provider-image-delete:glance'],
    );
  }, 300_000);

  afterAll(async () => {
    if (scheduler) await stopChild(scheduler);
    await builder?.[Symbol.asyncDispose]();
    await gearmand?.kill();
    await peers?.stop();
  }, 60_000);

  test('build, upload, rebuild: the superseded upload is deleted from Glance, exactly keep-uploads (1) left', async () => {
    await writeConfig('30s');
    startScheduler();
    const context = () => `${log}\n--- builder ---\n${builder.log()}`;
    // Two builds made ready, the older one gone with its upload.
    const settled = await eventually(
      () => {
        const s = state();
        const ready = s.uploads.filter((u) => u.state === 'ready');
        const goneUploads = s.uploads.filter((u) => u.state === 'gone');
        return ready.length === 1 && goneUploads.length >= 1 && s.builds.some((b) => b.state === 'gone') ? s : undefined;
      },
      240_000,
      'a rebuild that supersedes the first upload',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${context()}`);
    });
    scheduler!.kill('SIGTERM');
    await new Promise<void>((resolve) => scheduler!.once('exit', () => resolve()));
    scheduler = undefined;

    const ready = state().uploads.filter((u) => u.state === 'ready');
    const images = await tagged();
    // Exactly keep-uploads of this system's images, plus at most one that was being uploaded when it stopped.
    const active = images.filter((image) => image.status === 'active');
    expect(active.map((image) => image.id)).toContain(ready[ready.length - 1]!.externalId);
    expect(active.length).toBeLessThanOrEqual(2);
    for (const gone of settled.uploads.filter((u) => u.state === 'gone')) expect(images.map((image) => image.id)).not.toContain(gone.externalId);
    // Each tagged image is one the state has as ready or in progress.
    const live = new Set(state().uploads.filter((u) => u.state === 'ready' || u.state === 'uploading').map((u) => u.externalId));
    for (const image of images) expect(live.has(String(image.id)), `${String(image.id)} is tagged but not ready or uploading`).toBe(true);
  }, 300_000);

  test('kill -9 of the scheduler mid-upload, then a restart: it converges with nothing lost and nothing leaked', async () => {
    // A rebuild is due at once; no further one afterwards.
    await writeConfig('1s');
    const before = new Set(state().uploads.map((u) => u.id));
    startScheduler();
    const inFlight = await eventually(() => state().uploads.find((u) => !before.has(u.id) && u.state === 'uploading'), 240_000, 'a new upload in flight');
    scheduler!.kill('SIGKILL');
    await new Promise<void>((resolve) => scheduler!.once('exit', () => resolve()));
    await writeConfig('1h');
    startScheduler();
    const converged = await eventually(
      async () => {
        const s = state();
        const upload = s.uploads.find((u) => u.id === inFlight.id);
        if (upload?.state !== 'ready' && upload?.state !== 'failed') return undefined;
        if (s.uploads.some((u) => u.state === 'uploading' || u.state === 'deleting')) return undefined;
        const images = await tagged();
        const ready = s.uploads.filter((u) => u.state === 'ready');
        // keep-uploads = 1: the superseded upload must be gone too.
        return ready.length === 1 && images.length === 1 ? { s, images, ready } : undefined;
      },
      240_000,
      'convergence after the restart',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${log}\n--- builder ---\n${builder.log()}`);
    });
    // The one ready upload is the one Glance holds, and the upload cut off by the kill was not lost.
    expect(converged.s.uploads.find((u) => u.id === inFlight.id)?.state).toBe('ready');
    expect(converged.images.map((image) => image.id)).toEqual([converged.ready[0]!.externalId]);
    expect(converged.images[0]).toMatchObject({ status: 'active' });
  }, 300_000);
});
