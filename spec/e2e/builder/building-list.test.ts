/**
 * builder-image-list:<client-id>'s "building" list on a real builder process (`run`, a command
 * build that waits for a file the test writes), real gearmand and the gearman CLI: the scheduler
 * learns from it which builder took its build job, which gearman does not tell a client.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BuilderProcess, startBuilder } from '../../support/builder-process.ts';
import { type Gearmand, startGearmand } from '../../support/gearmand.ts';
import { eventually, run } from '../../support/run.ts';

describe('builder-image-list on a real builder with a build running', () => {
  let gearmand: Gearmand;
  let builder: BuilderProcess;
  let gate: string;

  const gearman = (fn: string, data: string) => run('gearman', ['-h', gearmand.host, '-p', String(gearmand.port), '-f', fn], data, 120_000);

  beforeAll(async () => {
    gearmand = await startGearmand();
    gate = mkdtempSync(join(tmpdir(), 'building-gate-'));
    const diskimage = [
      '[[diskimages]]',
      'name = "debian"',
      'builder = "command"',
      'formats = ["qcow2"]',
      `command = ["sh", "-c", "while [ ! -e ${gate}/go ]; do sleep 0.05; done; qemu-img create -q -f qcow2 \\"$OUTPUT_DIR/$IMAGE_NAME.qcow2\\" 1M"]`,
    ].join('\n');
    builder = await startBuilder(gearmand, diskimage, ['image-build:debian', 'builder-image-list:e2e-builder']);
  });

  afterAll(async () => {
    writeFileSync(join(gate, 'go'), '');
    await builder?.[Symbol.asyncDispose]();
    await gearmand?.[Symbol.asyncDispose]();
    rmSync(gate, { recursive: true, force: true });
  });

  test('"building" lists the build running now (image id, diskimage, started-at) and, once it has ended, not any more', async () => {
    const before = JSON.parse((await gearman('builder-image-list:e2e-builder', '')).stdout) as Record<string, unknown>;
    expect(before).toMatchObject({ builder: 'e2e-builder', images: [], building: [] });
    const build = gearman('image-build:debian', JSON.stringify({ 'image-id': 'running1' }));
    const listed = await eventually(async () => {
      const reply = JSON.parse((await gearman('builder-image-list:e2e-builder', '')).stdout) as { building: { 'image-id': string; diskimage: string; 'started-at': string }[] };
      return reply.building.length > 0 && reply.building;
    }, 60_000, 'the build in "building"');
    expect(listed.map((b) => [b['image-id'], b.diskimage])).toEqual([['running1', 'debian']]);
    expect(Number.isNaN(Date.parse(listed[0]!['started-at']))).toBe(false);
    writeFileSync(join(gate, 'go'), '');
    expect((await build).code).toBe(0);
    const after = JSON.parse((await gearman('builder-image-list:e2e-builder', '')).stdout) as { images: { 'image-id': string }[]; building: unknown[] };
    expect([after.images.map((i) => i['image-id']), after.building]).toEqual([['running1'], []]);
  });
});
