/**
 * The dashboard and the API under junk (issue 15): markup in reasons and external names is shown
 * as text and never runs (in chromium), bad JSON and huge bodies are refused, traversal in ids
 * and queries is refused before anything is looked up, and after 1,000 concurrent requests the
 * server still answers. The scheduler's HTTP server with its real state file (spec/api's bed).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { type ApiServer, startApiServer } from '../../src/api/server.ts';
import { Activity } from '../../src/dashboard/activity.ts';
import { StateIndex } from '../../src/dashboard/model.ts';
import { dashboardPages } from '../../src/dashboard/routes.ts';
import { sections } from '../../src/dashboard/render.ts';
import { LOG_TAIL_MARK } from '../../src/errors/job-failure.ts';
import { silentLogger } from '../../src/util/log.ts';
import { type Bed, NOW, TOKEN, bed, rawRequest } from '../api/support.ts';
import { launchChromium } from '../support/browser.ts';

const MARKUP = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b class="injected">bold</b>';
const policy = { baseMs: 60_000, capMs: 3_600_000 };

let b: Bed;
let api: ApiServer;
let browser: Browser;

beforeAll(async () => {
  b = bed();
  // Markup where outside text reaches the page: a build's reason and log tail, an upload's reason (its external name too, not shown).
  b.store.recordBuildFailed('b2', `dib exited with 1 ${MARKUP}${LOG_TAIL_MARK}step 1\n${MARKUP}`, NOW - 30_000, policy);
  b.store.recordUploadStarted({ id: 'u3', buildId: 'b1', provider: 'p1', externalId: 'ext-3', externalName: MARKUP }, NOW - 20_000);
  b.store.recordUploadFailed('u3', `Glance said ${MARKUP}`, NOW - 10_000, policy);
  const activity = new Activity();
  api = await startApiServer({
    store: b.store,
    config: b.config,
    listen: { host: '127.0.0.1', port: 0 },
    tokenFile: b.tokenFile,
    isReady: () => true,
    logger: silentLogger,
    clock: () => NOW,
    pages: dashboardPages({ store: b.store, config: () => b.config, activity, clock: () => NOW }),
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  b?.store.close();
  if (b) rmSync(b.dir, { recursive: true, force: true });
});

describe('hostile input to the dashboard and the API', () => {
  test('HTML in reasons and log tails (of builds and uploads) is shown as text and never runs (chromium)', async () => {
    for (const path of ['/', '/?image=debian']) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${api.url}${path}`);
      await page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })");
      expect(await page.evaluate('typeof window.pwned')).toBe('undefined');
      expect(await page.locator('b.injected').count()).toBe(0);
      expect(await page.locator('main img').count()).toBe(0);
      expect(await page.locator('main script').count()).toBe(0);
      expect(await page.locator('#failures').innerText()).toContain(MARKUP);
      expect(errors).toEqual([]);
      await page.close();
    }
  }, 60_000);

  test('names are escaped by the renderer itself (HTML diskimage and provider names, which config and state refuse, in a hand-made state)', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const index = new StateIndex({
      builds: [{ id: 'b<1>', diskimage: evil, state: 'failed', builder: '"><script>', formats: [], createdAt: NOW, stateAt: NOW, readyAt: undefined, reason: MARKUP }],
      uploads: [],
      pauses: [],
      backoffs: [],
      buildRequests: [],
    });
    const config = { ...b.config, diskimages: [], providers: [{ ...b.config.providers[0]!, name: `p${evil}` }] };
    for (const query of [{ page: 1, filter: '', image: undefined }, { page: 1, filter: '', image: evil }]) {
      const all = Object.values(sections(index, config, [evil], query, [], NOW, 30)).join('');
      expect(all).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(all).not.toContain('<img');
      expect(all).not.toContain('<script');
    }
  });

  test('bad JSON, a JSON array and a huge body are refused with JSON errors; nothing changes', async () => {
    const before = b.store.snapshot();
    const post = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
      fetch(`${api.url}/image-pause`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers }, body });
    for (const [body, status, code] of [
      ['{"image": "debian",', 400, 'API_BAD_JSON'],
      ['[1,2,3]', 400, 'API_BAD_JSON'],
      ['{"image": "../../etc/passwd"}', 400, 'API_BAD_ID'],
      ['{"image": "<script>alert(1)</script>"}', 400, 'API_BAD_ID'],
      ['x'.repeat(4 * 1024 * 1024), 413, 'API_BODY_TOO_LARGE'],
    ] as const) {
      const res = await post(body);
      expect({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }).toEqual({ status, code });
    }
    // A huge body sent without a length (chunked) is cut off as well.
    const chunked = await rawRequest(
      api.address.port,
      `POST /image-pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n${'y'.repeat(0x100000)}\r\n0\r\n\r\n`,
    );
    expect(chunked).toStartWith('HTTP/1.1 413');
    expect(b.store.snapshot()).toEqual(before);
  }, 60_000);

  test('traversal and junk in paths and queries: refused before anything is looked up; the page takes only GET', async () => {
    const cases: Array<[string, RequestInit, number]> = [
      ['/?image=../../etc/passwd', {}, 400],
      ['/?image=%2e%2e%2fstate.sqlite', {}, 400],
      ['/dashboard/data?image=..', {}, 400],
      ['/?image=%3Cscript%3E', {}, 400],
      ['/?image=no-such-image', {}, 404],
      ['/dashboard.css/../../etc/passwd', {}, 404],
      ['/..%2F..%2Fetc%2Fpasswd', {}, 404],
      ['/uploads/..%2F..%2Fetc%2Fpasswd', { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } }, 400],
      ['/', { method: 'POST', body: '{}' }, 405],
      ['/dashboard/data', { method: 'DELETE' }, 405],
    ];
    for (const [path, init, status] of cases) {
      const res = await fetch(`${api.url}${path}`, init);
      const body = await res.text();
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(body).not.toContain('root:');
      // Refusals are JSON (never rendered as HTML); a page never echoes a tag it was sent.
      const type = res.headers.get('content-type') ?? '';
      if (type.startsWith('text/html')) expect(body).not.toContain('<script>');
      else expect(type).toBe('application/json');
    }
    // A query of any length, and a page number that is not one, still give the first page.
    for (const path of [`/?q=${'%3C'.repeat(2000)}&page=-1e308`, '/?page=NaN', '/dashboard/data?page=99999999999999999999']) {
      expect((await fetch(`${api.url}${path}`)).status).toBe(200);
    }
  }, 60_000);

  test('1,000 concurrent requests (pages, data, lists, junk) are all answered, and the server keeps serving', async () => {
    const paths = ['/', '/dashboard/data', '/image-list', '/?image=debian', '/dashboard.js', '/nope', '/?image=..'];
    const statuses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        i % 10 === 9
          ? fetch(`${api.url}/image-pause`, { method: 'POST', body: '{"image":', headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.status)
          : fetch(`${api.url}${paths[i % paths.length]}`).then(async (r) => {
              await r.arrayBuffer();
              return r.status;
            }),
      ),
    );
    const counts = new Map<number, number>();
    for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([200, 400, 404]);
    expect(statuses.length).toBe(1000);
    const after = await fetch(`${api.url}/`);
    expect(after.status).toBe(200);
    expect(await after.text()).toContain('id="matrix-table"');
  }, 120_000);
});
