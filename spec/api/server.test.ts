import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { ApiError } from '../../src/api/api-error.ts';
import { MAX_BODY_BYTES, type ApiServer, type PageRoute, startApiServer } from '../../src/api/server.ts';
import { silentLogger } from '../../src/util/log.ts';
import { type Bed, NOW, TOKEN, bed, rawRequest } from './support.ts';

let state: Bed;
/** Writes allowed with TOKEN. */
let api: ApiServer;
/** No api-token-file: every write refused. */
let closed: ApiServer;
let ready = false;
let writes = 0;

beforeAll(async () => {
  state = bed();
  const common = { store: state.store, config: () => state.config, listen: { host: '127.0.0.1', port: 0 }, isReady: () => ready, logger: silentLogger, clock: () => NOW };
  const waits = [
    { diskimage: 'debian', provider: 'p2', why: 'backoff' as const, until: NOW + 60_000 },
    { diskimage: 'centos', provider: undefined, why: 'paused' as const, until: undefined },
  ];
  api = await startApiServer({ ...common, tokenFile: state.tokenFile, waits: () => waits, onWrite: () => writes++ });
  closed = await startApiServer({ ...common, tokenFile: undefined });
});

afterAll(async () => {
  await api.close();
  await closed.close();
  state.store.close();
  rmSync(state.dir, { recursive: true, force: true });
});

async function get(path: string, accept?: string, server = api): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(`${server.url}${path}`, { headers: accept ? { accept } : {} });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

async function send(method: string, path: string, options: { body?: string | undefined; token?: string; server?: ApiServer } = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(`${(options.server ?? api).url}${path}`, { method, headers, body: options.body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const errorCode = (reply: { json: Record<string, unknown> }): unknown => (reply.json.error as { code?: unknown } | undefined)?.code;

describe('reads', () => {
  test('GET /image-list: one JSON row per upload, with the fields scripts rely on', async () => {
    const reply = await get('/image-list');
    expect(reply.status).toBe(200);
    expect(reply.type).toBe('application/json');
    expect(JSON.parse(reply.body)).toEqual([
      {
        'build-id': 'b1',
        'upload-id': 'u1',
        provider: 'p1',
        image: 'debian',
        'external-name': 'debian-1767222000',
        'external-id': 'ext-1',
        state: 'ready',
        'state-time': '2025-12-31T23:03:00.000Z',
        'age-seconds': 3420,
        reason: null,
      },
      {
        'build-id': 'b1',
        'upload-id': 'u2',
        provider: 'p2',
        image: 'debian',
        'external-name': 'debian-1767222000',
        'external-id': 'ext-2',
        state: 'failed',
        'state-time': '2025-12-31T23:04:00.000Z',
        'age-seconds': 3360,
        reason: 'Glance said 503\nService Unavailable',
      },
    ]);
  });

  test("GET /image-list with Accept: text/plain: nodepool's columns as a table", async () => {
    const reply = await get('/image-list', 'text/plain');
    expect(reply.type).toBe('text/plain; charset=utf-8');
    expect(reply.body).toBe(
      [
        'Build ID  Upload ID  Provider  Image   Provider Image Name  Provider Image ID  State   Age',
        'b1        u1         p1        debian  debian-1767222000    ext-1              ready   00:57:00',
        'b1        u2         p2        debian  debian-1767222000    ext-2              failed  00:56:00',
        '',
      ].join('\n'),
    );
  });

  test('GET /dib-image-list: one row per build, JSON and text', async () => {
    const json = JSON.parse((await get('/dib-image-list')).body) as unknown[];
    expect(json).toEqual([
      { id: 'b1', image: 'debian', builder: 'builder-1', formats: ['qcow2', 'raw'], state: 'ready', 'state-time': '2025-12-31T23:01:00.000Z', 'age-seconds': 3540, reason: null },
      { id: 'b2', image: 'debian', builder: null, formats: [], state: 'building', 'state-time': '2025-12-31T23:59:00.000Z', 'age-seconds': 60, reason: null },
    ]);
    expect((await get('/dib-image-list', 'text/plain')).body).toBe(
      ['ID  Image   Builder    Formats    State     Age', 'b1  debian  builder-1  qcow2,raw  ready     00:59:00', 'b2  debian                        building  00:01:00', ''].join('\n'),
    );
  });

  test('GET /image-status: pauses (file and operator), newest records, failures with their reason', async () => {
    const json = JSON.parse((await get('/image-status')).body) as Record<string, unknown>[];
    expect(json.map((s) => s.image)).toEqual(['centos', 'debian']);
    expect(json[0]).toMatchObject({
      image: 'centos',
      paused: true,
      'paused-by': 'config',
      'newest-build': null,
      waiting: { why: 'paused', until: null },
      providers: [{ provider: 'p1', paused: false, 'newest-upload': null, waiting: null }],
    });
    expect(json[1]).toMatchObject({
      image: 'debian',
      configured: true,
      paused: false,
      'newest-build': { id: 'b2', state: 'building' },
      'newest-ready-build': { id: 'b1', state: 'ready' },
      failures: null,
      providers: [
        { provider: 'p1', paused: false, 'newest-upload': { id: 'u1', state: 'ready' }, 'newest-ready-upload': { id: 'u1' }, failures: null },
        {
          provider: 'p2',
          paused: true,
          'paused-by': 'config',
          'newest-upload': { id: 'u2', state: 'failed' },
          'newest-ready-upload': null,
          failures: { count: 1, reason: 'Glance said 503\nService Unavailable', 'failed-at': '2025-12-31T23:04:00.000Z', 'retry-at': '2025-12-31T23:05:00.000Z' },
          waiting: { why: 'backoff', until: '2026-01-01T00:01:00.000Z' },
        },
      ],
    });
    const text = (await get('/image-status', 'text/plain')).body;
    expect(text.split('\n')[0]).toBe('Image   Provider  Paused        Newest  State     Age       Waiting  Failures  Reason');
    // A reason's control characters are escaped: one row stays one line.
    expect(text).toContain('debian  p2        yes (config)  u2      failed    00:56:00  backoff  1         Glance said 503\\x0aService Unavailable\n');
  });

  test('GET /ready: 503 before the first reconciliation, 200 after', async () => {
    ready = false;
    const before = await get('/ready');
    expect(before.status).toBe(503);
    expect(JSON.parse(before.body)).toEqual({ error: { code: 'API_NOT_READY', message: 'the scheduler has not finished its first reconciliation' } });
    ready = true;
    expect(await get('/ready')).toMatchObject({ status: 200, body: '{"ready":true}\n' });
    expect((await get('/ready', 'text/plain')).body).toBe('ready\n');
  });

  test('Accept: application/json first, or anything else, gives JSON', async () => {
    expect((await get('/image-list', 'application/json, text/plain')).type).toBe('application/json');
    expect((await get('/image-list', '*/*')).type).toBe('application/json');
  });
});

describe('auth for writes', () => {
  const pause = JSON.stringify({ image: 'debian' });

  test('without an api-token-file every write is refused (403), even with a token, and nothing changes', async () => {
    for (const [method, path, body] of [
      ['POST', '/image-pause', pause],
      ['POST', '/image-unpause', pause],
      ['POST', '/image-build-request', pause],
      ['DELETE', '/uploads/u1', undefined],
      ['DELETE', '/builds/b1', undefined],
    ] as const) {
      const reply = await send(method, path, { body, token: TOKEN, server: closed });
      expect({ path, status: reply.status, code: errorCode(reply) }).toEqual({ path, status: 403, code: 'API_WRITES_DISABLED' });
    }
    expect(state.store.snapshot()).toMatchObject({ pauses: [], buildRequests: [] });
    expect(state.store.upload('u1')?.state).toBe('ready');
  });

  test('no token or a wrong one is 401 and nothing changes; the right one writes', async () => {
    expect(await send('POST', '/image-pause', { body: pause })).toMatchObject({ status: 401, json: { error: { code: 'API_UNAUTHORIZED' } } });
    expect(await send('POST', '/image-pause', { body: pause, token: 'wrong' })).toMatchObject({ status: 401, json: { error: { code: 'API_UNAUTHORIZED' } } });
    expect(await send('POST', '/image-pause', { body: pause, token: `${TOKEN}x` })).toMatchObject({ status: 401 });
    expect(await send('POST', '/image-pause', { body: pause, token: TOKEN.slice(0, -1) })).toMatchObject({ status: 401 });
    expect(state.store.snapshot().pauses).toEqual([]);
    expect(await send('POST', '/image-pause', { body: pause, token: TOKEN })).toEqual({ status: 200, json: { image: 'debian', provider: null, paused: true } });
    expect(state.store.snapshot().pauses).toEqual([{ diskimage: 'debian', provider: undefined, pausedAt: NOW }]);
    expect(await send('POST', '/image-unpause', { body: pause, token: TOKEN })).toEqual({ status: 200, json: { image: 'debian', provider: null, paused: false, 'was-paused': true } });
  });
});

describe('writes', () => {
  test('each accepted write asks the scheduler for a pass (onWrite); reads and refusals do not', async () => {
    const before = writes;
    await get('/image-list');
    await send('POST', '/image-pause', { body: JSON.stringify({ image: 'debian' }), token: 'wrong' });
    await send('POST', '/image-pause', { body: JSON.stringify({ image: 'fedora' }), token: TOKEN });
    expect(writes).toBe(before);
    await send('POST', '/image-unpause', { body: JSON.stringify({ image: 'debian' }), token: TOKEN });
    expect(writes).toBe(before + 1);
  });

  test('pause and unpause of one provider show in image-status as paused by an operator', async () => {
    const body = JSON.stringify({ image: 'debian', provider: 'p1' });
    expect((await send('POST', '/image-pause', { body, token: TOKEN })).status).toBe(200);
    const status = JSON.parse((await get('/image-status')).body) as { image: string; providers: { provider: string; paused: boolean; 'paused-by': string | null }[] }[];
    expect(status.find((s) => s.image === 'debian')?.providers[0]).toMatchObject({ provider: 'p1', paused: true, 'paused-by': 'operator' });
    expect(await send('POST', '/image-unpause', { body, token: TOKEN })).toMatchObject({ status: 200, json: { 'was-paused': true } });
    expect(await send('POST', '/image-unpause', { body, token: TOKEN })).toMatchObject({ status: 200, json: { 'was-paused': false } });
    expect(state.store.snapshot().pauses).toEqual([]);
  });

  test('a build request is recorded for the planner', async () => {
    expect(await send('POST', '/image-build-request', { body: JSON.stringify({ image: 'centos' }), token: TOKEN })).toEqual({ status: 202, json: { image: 'centos', 'requested-at': '2026-01-01T00:00:00.000Z' } });
    expect(state.store.snapshot().buildRequests).toEqual([{ diskimage: 'centos', requestedAt: NOW }]);
    expect(JSON.parse((await get('/image-status')).body)[0]).toMatchObject({ image: 'centos', 'build-requested': '2026-01-01T00:00:00.000Z' });
  });

  test('names the config does not hold are 404 API_UNKNOWN_NAME', async () => {
    expect(await send('POST', '/image-pause', { body: JSON.stringify({ image: 'fedora' }), token: TOKEN })).toMatchObject({ status: 404, json: { error: { code: 'API_UNKNOWN_NAME' } } });
    expect(await send('POST', '/image-pause', { body: JSON.stringify({ image: 'debian', provider: 'p9' }), token: TOKEN })).toMatchObject({ status: 404, json: { error: { code: 'API_UNKNOWN_NAME' } } });
  });

  test('DELETE /builds/<id> of a running build is 409 and changes nothing; of an unknown id 404', async () => {
    expect(await send('DELETE', '/builds/b2', { token: TOKEN })).toMatchObject({ status: 409, json: { error: { code: 'API_CONFLICT' } } });
    expect(state.store.build('b2')?.state).toBe('building');
    expect(await send('DELETE', '/builds/nope', { token: TOKEN })).toMatchObject({ status: 404, json: { error: { code: 'API_UNKNOWN_RECORD' } } });
    expect(await send('DELETE', '/uploads/nope', { token: TOKEN })).toMatchObject({ status: 404, json: { error: { code: 'API_UNKNOWN_RECORD' } } });
    expect(await send('DELETE', '/uploads/u2', { token: TOKEN })).toMatchObject({ status: 409, json: { error: { code: 'API_CONFLICT' } } });
  });

  test('DELETE /uploads/<id> marks a ready upload for deletion; image-list shows it deleting', async () => {
    expect(await send('DELETE', '/uploads/u1', { token: TOKEN })).toEqual({ status: 202, json: { 'upload-id': 'u1', state: 'deleting' } });
    expect(state.store.upload('u1')).toMatchObject({ state: 'deleting', reason: 'operator request' });
    const list = JSON.parse((await get('/image-list')).body) as { 'upload-id': string; state: string }[];
    expect(list.find((r) => r['upload-id'] === 'u1')?.state).toBe('deleting');
  });

  test('DELETE /builds/<id> marks a ready build for deletion', async () => {
    expect(await send('DELETE', '/builds/b1', { token: TOKEN })).toEqual({ status: 202, json: { 'build-id': 'b1', state: 'deleting' } });
    expect(state.store.build('b1')?.state).toBe('deleting');
  });
});

describe('junk requests get JSON errors with stable codes, and the server keeps serving', () => {
  test.each([
    ['not JSON', '{"image": ', 'API_BAD_JSON'],
    ['a JSON array', '["debian"]', 'API_BAD_JSON'],
    ['no image', '{}', 'API_BAD_REQUEST'],
    ['an image that is not a string', '{"image": 7}', 'API_BAD_REQUEST'],
    ['a traversal as the image', '{"image": "../../etc"}', 'API_BAD_ID'],
    ['a provider with a slash', '{"image": "debian", "provider": "a/b"}', 'API_BAD_ID'],
  ])('%s', async (_, body, code) => {
    const reply = await send('POST', '/image-pause', { body, token: TOKEN });
    expect(reply.status).toBe(400);
    expect(errorCode(reply)).toBe(code);
  });

  test('an unknown path is 404 API_NOT_FOUND; a known one with the wrong method is 405 API_METHOD_NOT_ALLOWED', async () => {
    expect(await send('GET', '/nope')).toMatchObject({ status: 404, json: { error: { code: 'API_NOT_FOUND' } } });
    expect(await send('POST', '/image-list', { token: TOKEN })).toMatchObject({ status: 405, json: { error: { code: 'API_METHOD_NOT_ALLOWED' } } });
    expect(await send('GET', '/image-pause')).toMatchObject({ status: 405, json: { error: { code: 'API_METHOD_NOT_ALLOWED' } } });
    expect(await send('PUT', '/uploads/u1', { token: TOKEN })).toMatchObject({ status: 405 });
  });

  test('traversal and bad encoding in a path id are 400 API_BAD_ID, before anything is looked up', async () => {
    expect(await send('DELETE', '/uploads/..%2F..%2Fetc%2Fpasswd', { token: TOKEN })).toMatchObject({ status: 400, json: { error: { code: 'API_BAD_ID' } } });
    expect(await send('DELETE', '/builds/.hidden', { token: TOKEN })).toMatchObject({ status: 400, json: { error: { code: 'API_BAD_ID' } } });
    expect(await send('DELETE', '/builds/%E0%A4%A', { token: TOKEN })).toMatchObject({ status: 400, json: { error: { code: 'API_BAD_ID' } } });
    const raw = await rawRequest(api.address.port, `DELETE /uploads/../../etc/passwd HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
    expect(raw).toStartWith('HTTP/1.1 400');
    expect(raw).toContain('"API_BAD_ID"');
  });

  test('a body over the limit is 413 API_BODY_TOO_LARGE, declared or streamed', async () => {
    const big = JSON.stringify({ image: 'debian', pad: 'x'.repeat(MAX_BODY_BYTES) });
    expect(await send('POST', '/image-pause', { body: big, token: TOKEN })).toMatchObject({ status: 413, json: { error: { code: 'API_BODY_TOO_LARGE' } } });
    const chunk = 'x'.repeat(MAX_BODY_BYTES + 10);
    const raw = await rawRequest(
      api.address.port,
      `POST /image-pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    expect(raw).toStartWith('HTTP/1.1 413');
    expect(raw).toContain('"API_BODY_TOO_LARGE"');
  });

  test('after all that, reads still answer', async () => {
    expect((await get('/image-list')).status).toBe(200);
  });
});

describe('pages: extra GET paths that write their own reply', () => {
  test('a page is served at its exact path only, takes GET only, and an ApiError it throws before writing is a JSON error', async () => {
    const pages = new Map<string, PageRoute>([
      ['/hello', (_raw, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<p>hi</p>')],
      ['/broken', () => {
        throw new ApiError('API_NOT_FOUND', 'nothing here');
      }],
    ]);
    const server = await startApiServer({ store: state.store, config: () => state.config, listen: { host: '127.0.0.1', port: 0 }, isReady: () => true, logger: silentLogger, tokenFile: undefined, pages });
    try {
      expect(await get('/hello', undefined, server)).toEqual({ status: 200, type: 'text/html', body: '<p>hi</p>' });
      expect((await get('/hello/x', undefined, server)).status).toBe(404);
      expect(errorCode(await send('POST', '/hello', { server }))).toBe('API_METHOD_NOT_ALLOWED');
      const broken = await get('/broken', undefined, server);
      expect([broken.status, JSON.parse(broken.body).error.code]).toEqual([404, 'API_NOT_FOUND']);
      // The JSON API is unchanged beside them.
      expect((await get('/image-list', undefined, server)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
