/**
 * The operator interface end to end: `nodepool-builder scheduler` as a process against real
 * gearmand and a stand-in builder (spec/scheduler/support/stand-in-builder.ts), driven only by
 * the CLI's API commands. cleanup-interval is an hour, so whatever happens after the first
 * passes is the work of the writes' own kick.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Gearmand, startGearmand } from '../support/gearmand.ts';
import { schedulerConfigText } from '../support/scheduler-config.ts';
import { freePort } from '../support/ports.ts';
import { eventually, run, stopChild } from '../support/run.ts';
import { StandInBuilder } from '../scheduler/support/stand-in-builder.ts';

let gearmand: Gearmand;
let builder: StandInBuilder;
let dir: string;
let api: string;
let tokenFile: string;
let child: ChildProcess;
let stderr = '';

beforeAll(async () => {
  gearmand = await startGearmand();
  builder = new StandInBuilder(gearmand, 'stand-in-1', ['debian'], ['p1']);
  builder.start();
  dir = mkdtempSync(join(tmpdir(), 'scheduler-api-'));
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  tokenFile = join(dir, 'api-token');
  writeFileSync(tokenFile, 'e2e-token\n', { mode: 0o600 });
  const config = join(dir, 'scheduler.toml');
  writeFileSync(
    config,
    schedulerConfigText({ dir, gearmandPort: gearmand.port, listenPort: port, stateFile: join(dir, 'state.sqlite'), tokenFile, systemId: 'api-e2e' }),
  );
  child = spawn(process.execPath, ['src/cli/main.ts', 'scheduler', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
});

afterAll(async () => {
  if (child) await stopChild(child);
  await builder.stop();
  await gearmand[Symbol.asyncDispose]();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => run(process.execPath, ['src/cli/main.ts', ...args, '--api', api]);

interface Row {
  readonly 'upload-id': string;
  readonly 'external-id': string | null;
  readonly state: string;
}

async function rows(): Promise<Row[]> {
  const result = await cli('image-list', '--json');
  return result.code === 0 ? (JSON.parse(result.stdout) as Row[]) : [];
}

test('image-list, image-upload-delete (the image goes and a new upload replaces it at once), image-pause and image-status through a running scheduler', async () => {
  await eventually(async () => (await fetch(`${api}/ready`)).status === 200, 30_000, '/ready to answer 200');
  const first = await eventually(async () => (await rows()).find((r) => r.state === 'ready'), 30_000, `a ready upload in image-list (stderr: ${stderr})`);
  expect(builder.cloud('p1').map((image) => image.externalId)).toEqual([first['external-id']!]);
  const table = await cli('image-list');
  expect(table.stdout.split('\n')[0]!.split(/ {2,}/)).toEqual(['Build ID', 'Upload ID', 'Provider', 'Image', 'Provider Image Name', 'Provider Image ID', 'State', 'Age']);

  const deleted = await cli('image-upload-delete', first['upload-id'], '--token-file', tokenFile);
  expect(deleted).toMatchObject({ code: 0, stdout: `upload ${first['upload-id']}: deleting\n` });
  const replaced = await eventually(
    async () => {
      const cloud = builder.cloud('p1').filter((image) => image.status === 'active');
      const ready = (await rows()).filter((r) => r.state === 'ready');
      return cloud.length === 1 && cloud[0]!.externalId !== first['external-id'] && ready.length === 1 && ready[0]!['external-id'] === cloud[0]!.externalId ? ready[0] : undefined;
    },
    30_000,
    'the deleted image gone from the cloud and a new upload ready',
  );
  expect(replaced['upload-id']).not.toBe(first['upload-id']);

  expect(await cli('image-pause', 'debian', '--provider', 'p1', '--token-file', tokenFile)).toMatchObject({ code: 0, stdout: 'debian on p1: paused\n' });
  const status = JSON.parse((await cli('image-status', '--json')).stdout) as { image: string; providers: { provider: string; 'paused-by': string | null }[] }[];
  expect(status).toMatchObject([{ image: 'debian', providers: [{ provider: 'p1', 'paused-by': 'operator' }] }]);

  const refused = await cli('image-unpause', 'debian', '--provider', 'p1');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('401 API_UNAUTHORIZED');
}, 120_000);
