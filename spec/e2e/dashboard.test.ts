/**
 * The dashboard (issue 15) in a real browser (Debian's chromium through playwright-core) over a
 * real fleet: gearmand, a builder process, two providers each with a real no-auth Glance, the
 * scheduler as a process (spec/support/dashboard-fleet.ts). p2's Glance sits behind a fault
 * proxy that slows request bodies: the stand-in for a slow link, which a real Glance cannot be on
 * demand; it is what lets a browser see an upload's progress bar move.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { BROKEN_SECRET, type DashboardFleet, startDashboardFleet } from '../support/dashboard-fleet.ts';
import { eventually } from '../support/run.ts';
import type { Fleet } from '../support/scheduler-fleet.ts';

const SHOTS = join(tmpdir(), 'dashboard-screenshots');
mkdirSync(SHOTS, { recursive: true });

let fleet: Fleet;
let browser: Browser;
let bed: DashboardFleet;

function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 90_000): Promise<T> {
  return eventually(check, timeoutMs, what).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.logs()}`);
  });
}

/** A page with every confirm() accepted and prompt() answered with `token`. */
async function dashboard(path: string, token: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('dialog', (dialog) => void (dialog.type() === 'prompt' ? dialog.accept(token) : dialog.accept()));
  await page.goto(`${fleet.api}${path}`);
  return page;
}

interface PairStatus {
  readonly provider: string;
  readonly paused: boolean;
  readonly 'paused-by': string | null;
}
interface ImageStatus {
  readonly image: string;
  readonly paused: boolean;
  readonly providers: readonly PairStatus[];
}
async function statusOf(image: string): Promise<ImageStatus> {
  const result = await fleet.cli('image-status', '--json');
  if (result.code !== 0) throw new Error(`image-status exited ${result.code}: ${result.stderr}`);
  return (JSON.parse(result.stdout) as ImageStatus[]).find((s) => s.image === image)!;
}
const storedToken = (page: Page): Promise<string | null> => page.evaluate("sessionStorage.getItem('nodepool-builder-api-token')");

beforeAll(async () => {
  [bed, browser] = await Promise.all([startDashboardFleet(), launchChromium()]);
  fleet = bed.fleet;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await bed?.close();
}, 60_000);

describe('the dashboard in chromium over a real scheduler, builder and Glances', () => {
  test("a running upload's progress bar moves between two looks (p2's Glance behind a throttling proxy: the slow-link stand-in)", async () => {
    const page = await dashboard('/', 'unused');
    const bar = page.locator('#running-uploads tr', { hasText: 'p2' }).filter({ hasText: 'big' }).locator('progress');
    const value = async (): Promise<number | undefined> => ((await bar.count()) === 1 ? Number(await bar.getAttribute('value')) : undefined);
    // The first upload of big may be over already: then ask for another build.
    const first = await eventually(value, 30_000, 'an upload of big to p2 with progress').catch(async () => {
      expect((await fleet.write('image-build-request', 'big')).code).toBe(0);
      return waitFor(value, 'an upload of big to p2 with progress');
    });
    const before = await bar.screenshot();
    const later = await waitFor(async () => {
      const now = await value();
      return now !== undefined && now > first ? now : undefined;
    }, 'the progress bar to move (without a reload)');
    expect(later).toBeGreaterThan(first);
    const after = await bar.screenshot();
    expect(Buffer.compare(before, after)).not.toBe(0);
    // The row also shows a throughput.
    expect(await page.locator('#running-uploads tr', { hasText: 'big' }).first().innerText()).toMatch(/[\d.]+ (KiB|MiB)\/s/);
    await page.context().close();
  }, 120_000);

  test('the page shows the uploaded image with its Glance id, with JavaScript off too', async () => {
    const active = await waitFor(async () => (await fleet.tagged('p1')).find((i) => i.name.startsWith('tiny') && i.status === 'active'), 'tiny uploaded to p1');
    await waitFor(async () => (await fleet.imageList()).some((r) => r.image === 'tiny' && r.provider === 'p1' && r.state === 'ready'), 'tiny ready in image-list');
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(fleet.api);
    const cell = page.locator('#matrix-table tr[data-image="tiny"] td[data-provider="p1"]');
    await expect(cell.innerText()).resolves.toContain(active.id);
    expect(await cell.innerText()).toMatch(/ready/);
    expect(await cell.getAttribute('class')).toContain('fresh');
    await context.close();
  }, 120_000);

  test("a failing build's reason and log tail appear: markup as text, never run; secrets redacted", async () => {
    await waitFor(async () => (await fleet.dibImageList()).some((b) => b.image === 'broken' && b.state === 'failed'), 'a failed build of broken');
    const page = await dashboard('/', 'unused');
    const row = page.locator('#failures-table tr', { hasText: 'broken' }).first();
    await waitFor(async () => (await row.count()) === 1, 'the failure listed');
    expect(await row.locator('.reason').innerText()).toContain('exited with 3');
    await row.locator('summary').click();
    const log = await row.locator('pre.log').innerText();
    const lines = log.split('\n');
    expect(lines.length).toBeLessThanOrEqual(50);
    expect(log).toContain('step 70 of the broken build');
    expect(log).not.toContain('step 1 of the broken build\n');
    expect(log).toContain('<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b>bold</b>');
    expect(log).toContain('token from env: <redacted>');
    expect(log).toContain('password=<redacted>');
    const markup = await page.content();
    for (const secret of [BROKEN_SECRET, 's3cr3t-value']) expect(markup).not.toContain(secret);
    expect(await page.evaluate('typeof window.pwned')).toBe('undefined');
    expect(await page.locator('#failures b', { hasText: 'bold' }).count()).toBe(0);
    await page.context().close();
  }, 120_000);

  test('pause with the token: the cell shows paused, and image-status --json agrees; unpause clears both', async () => {
    const page = await dashboard('/?image=tiny', 'fleet-token');
    const cell = page.locator('#matrix-table td[data-provider="p1"]');
    await cell.locator('button[data-act="pause"]').click();
    await waitFor(async () => (await page.locator('#notice').innerText()).includes('done'), 'the pause confirmed');
    await waitFor(async () => (await cell.innerText()).includes('paused'), 'the cell to show paused');
    const paused = (await statusOf('tiny')).providers.find((p) => p.provider === 'p1')!;
    expect(paused).toMatchObject({ paused: true, 'paused-by': 'operator' });
    // The token was asked once: the unpause goes without a prompt answer (a wrong one would be refused).
    page.removeAllListeners('dialog');
    page.on('dialog', (dialog) => void (dialog.type() === 'prompt' ? dialog.accept('wrong') : dialog.accept()));
    await cell.locator('button[data-act="unpause"]').click();
    await waitFor(async () => !(await cell.innerText()).includes('paused'), 'the cell to show unpaused');
    expect((await statusOf('tiny')).providers.find((p) => p.provider === 'p1')!.paused).toBe(false);
    expect(await storedToken(page)).toBe('fleet-token');
    await page.context().close();
  }, 120_000);

  test('every action asks first: a dismissed confirmation sends nothing; build now and delete an upload go through and show their result', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    let answer = false;
    const asked: string[] = [];
    page.on('dialog', (dialog) => {
      asked.push(dialog.message());
      void (dialog.type() === 'prompt' ? dialog.accept('fleet-token') : answer ? dialog.accept() : dialog.dismiss());
    });
    await page.goto(`${fleet.api}/?image=tiny`);
    const upload = (await fleet.imageList()).find((r) => r.image === 'tiny' && r.provider === 'p1' && r.state === 'ready')!;
    const remove = page.locator(`#history tr`, { hasText: upload['upload-id'] }).locator('button[data-act="delete"]');
    await remove.click();
    expect(asked).toEqual([`Delete upload ${upload['upload-id']}?`]);
    expect((await fleet.imageList()).find((r) => r['upload-id'] === upload['upload-id'])!.state).toBe('ready');
    answer = true;
    await remove.click();
    await waitFor(async () => (await page.locator('#notice').innerText()).includes(`Delete upload ${upload['upload-id']}: done`), 'the delete confirmed');
    expect((await fleet.imageList()).find((r) => r['upload-id'] === upload['upload-id'])?.state ?? 'gone').toMatch(/deleting|gone/);
    await page.locator('#matrix button[data-act="build"]').click();
    await waitFor(async () => (await page.locator('#notice').innerText()).includes('Build tiny now: done'), 'the build request confirmed');
    expect(asked).toContain('Build tiny now?');
    await context.close();
  }, 120_000);

  test('a wrong token shows an error and changes nothing', async () => {
    const page = await dashboard('/?image=tiny', 'not-the-token');
    await page.locator('#matrix button[data-act="pause"]').first().click();
    await waitFor(async () => /refused \(401\)/.test(await page.locator('#notice').innerText()), 'the refusal shown');
    const status = await statusOf('tiny');
    expect(status.paused).toBe(false);
    expect(status.providers.every((p) => !p.paused)).toBe(true);
    expect(await storedToken(page)).toBeNull();
    await page.context().close();
  }, 60_000);

  test('screenshots at desktop and phone width: no text overflows its cell', async () => {
    for (const [name, viewport] of [
      ['desktop', { width: 1280, height: 900 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      for (const path of ['/', '/?image=broken']) {
        const page = await dashboard(path, 'unused', viewport);
        await page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })");
        await page.screenshot({ path: join(SHOTS, `${name}${path === '/' ? '' : '-broken'}.png`), fullPage: true });
        const overflowing = await page.locator('th, td').evaluateAll((cells) =>
          cells.filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => `${c.tagName} ${c.textContent?.slice(0, 60)} (${c.scrollWidth} > ${c.clientWidth})`),
        );
        expect({ name, path, overflowing }).toEqual({ name, path, overflowing: [] });
        expect(await page.locator('#matrix-table th').count()).toBeGreaterThan(2);
        await page.context().close();
      }
    }
  }, 120_000);
});
