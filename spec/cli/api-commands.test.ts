import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiServer, startApiServer } from '../../src/api/server.ts';
import { silentLogger } from '../../src/util/log.ts';
import { type Bed, NOW, bed } from '../api/support.ts';
import { run } from '../support/run.ts';

/** The CLI as a separate process, talking real HTTP to a real API over a real state file. */
let state: Bed;
let api: ApiServer;

beforeAll(async () => {
  state = bed();
  api = await startApiServer({
    store: state.store,
    config: state.config,
    listen: { host: '127.0.0.1', port: 0 },
    tokenFile: state.tokenFile,
    isReady: () => true,
    logger: silentLogger,
    clock: () => NOW,
  });
});

afterAll(async () => {
  await api.close();
  state.store.close();
  rmSync(state.dir, { recursive: true, force: true });
});

function cli(...args: string[]) {
  return run('env', ['NO_COLOR=1', process.execPath, 'src/cli/main.ts', ...args]);
}

const withApi = (...args: string[]) => cli(...args, '--api', api.url);
const withToken = (...args: string[]) => withApi(...args, '--token-file', state.tokenFile);

describe('reads through the API', () => {
  test("image-list prints nodepool's columns; --json the API's rows", async () => {
    const text = await withApi('image-list');
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe('Build ID  Upload ID  Provider  Image   Provider Image Name  Provider Image ID  State   Age');
    expect(text.stdout).toContain('b1        u1         p1        debian  debian-1767222000    ext-1              ready   00:57:00');
    const json = await withApi('image-list', '--json');
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(rows.map((r) => [r['build-id'], r['upload-id'], r.provider, r.image, r['external-id'], r.state, r['state-time']])).toEqual([
      ['b1', 'u1', 'p1', 'debian', 'ext-1', 'ready', '2025-12-31T23:03:00.000Z'],
      ['b1', 'u2', 'p2', 'debian', 'ext-2', 'failed', '2025-12-31T23:04:00.000Z'],
    ]);
  });

  test('image-status prints a row per diskimage and provider', async () => {
    const result = await withApi('image-status');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('centos  ');
    expect(result.stdout).toContain('yes (config)');
    expect(JSON.parse((await withApi('image-status', '--json')).stdout)).toHaveLength(2);
  });

  test("dib-image-list --api lists the scheduler's builds; with neither -c nor --api, or both, it is a usage error", async () => {
    const result = await withApi('dib-image-list');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('ID  Image   Builder    Formats    State     Age');
    expect((JSON.parse((await withApi('dib-image-list', '--json')).stdout) as { id: string }[]).map((b) => b.id)).toEqual(['b1', 'b2']);
    for (const args of [['dib-image-list'], ['dib-image-list', '-c', join(state.dir, 'scheduler.toml'), '--api', api.url]]) {
      const refused = await cli(...args);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('either -c FILE (the local repository) or --api URL');
    }
  });
});

describe('writes through the API', () => {
  test('image-pause and image-unpause, of builds and of one provider', async () => {
    expect(await withToken('image-pause', 'debian', '--provider', 'p1')).toMatchObject({ code: 0, stdout: 'debian on p1: paused\n' });
    expect(await withToken('image-pause', 'centos', '--json')).toMatchObject({ code: 0 });
    expect(state.store.snapshot().pauses).toEqual([
      { diskimage: 'centos', provider: undefined, pausedAt: NOW },
      { diskimage: 'debian', provider: 'p1', pausedAt: NOW },
    ]);
    expect(await withToken('image-unpause', 'debian', '--provider', 'p1')).toMatchObject({ code: 0, stdout: 'debian on p1: unpaused\n' });
    const json = await withToken('image-unpause', 'centos', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ image: 'centos', provider: null, paused: false, 'was-paused': true });
    expect(state.store.snapshot().pauses).toEqual([]);
  });

  test('image-build-request records a request', async () => {
    expect(await withToken('image-build-request', 'centos')).toMatchObject({ code: 0, stdout: 'centos: build requested\n' });
    expect(state.store.snapshot().buildRequests).toEqual([{ diskimage: 'centos', requestedAt: NOW }]);
  });

  test('image-upload-delete and image-build-delete mark records for deletion; a refusal is exit 1 with the code', async () => {
    expect(await withToken('image-upload-delete', 'u1')).toMatchObject({ code: 0, stdout: 'upload u1: deleting\n' });
    expect(state.store.upload('u1')?.state).toBe('deleting');
    const refused = await withToken('image-build-delete', 'b2');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toStartWith("nodepool-builder: the scheduler's API refused (409 API_CONFLICT): build b2 is building");
    expect(state.store.build('b2')?.state).toBe('building');
    expect(await withToken('image-build-delete', 'b1', '--json')).toMatchObject({ code: 0 });
    expect(state.store.build('b1')?.state).toBe('deleting');
  });

  test('without --token-file the write is refused (exit 1, API_UNAUTHORIZED) and nothing changes', async () => {
    const result = await withApi('image-pause', 'debian');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('401 API_UNAUTHORIZED');
    expect(state.store.snapshot().pauses).toEqual([]);
  });
});

describe('exit codes', () => {
  test.each([
    [['image-upload-delete', '../../etc/passwd'], 'UPLOAD_ID must match'],
    [['image-pause', 'debian', '--provider', 'a/b'], '--provider must match'],
    [['image-list', '--api', 'not a url'], '--api must be a URL'],
    [['image-pause', 'debian', '--token-file', '/nonexistent/token', '--api', 'http://127.0.0.1:1'], '--token-file /nonexistent/token: cannot read it'],
  ])('%p is a usage error (exit 2), nothing sent', async (args, message) => {
    const result = await cli(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  test('an API nobody answers is exit 3', async () => {
    const result = await cli('image-list', '--api', 'http://127.0.0.1:1');
    expect(result.code).toBe(3);
    expect(result.stderr.trim()).toBe("nodepool-builder: cannot reach the scheduler's API at http://127.0.0.1:1: ECONNREFUSED");
  });
});
