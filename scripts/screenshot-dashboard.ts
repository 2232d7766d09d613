/**
 * Makes docs/dashboard.png (or the file given) from a real running fleet: gearmand, a builder,
 * two providers with real no-auth Glances (p2's behind a slow link), the scheduler, and Debian's
 * chromium. Taken while "big" uploads to p2, after "tiny" is uploaded and "broken" has failed.
 *   node_modules/.bin/bun scripts/screenshot-dashboard.ts [out.png]
 */
import { resolve } from 'node:path';
import { launchChromium } from '../spec/support/browser.ts';
import { startDashboardFleet } from '../spec/support/dashboard-fleet.ts';
import { eventually } from '../spec/support/run.ts';

const out = resolve(process.argv[2] ?? 'docs/dashboard.png');
const { fleet, close } = await startDashboardFleet();
const browser = await launchChromium();
try {
  await eventually(async () => (await fleet.imageList()).filter((r) => r.image === 'tiny' && r.state === 'ready').length === 2, 120_000, 'tiny uploaded to p1 and p2');
  const pause = await fleet.write('image-pause', 'tiny', '--provider', 'p2');
  if (pause.code !== 0) throw new Error(`image-pause: ${pause.stderr}`);
  await eventually(async () => (await fleet.dibImageList()).some((b) => b.image === 'broken' && b.state === 'failed'), 120_000, 'a failed build of broken');
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(fleet.api);
  const uploading = page.locator('#running-uploads tr', { hasText: 'big' }).filter({ hasText: 'p2' }).locator('progress');
  // Part way: the bar of a finished transfer that Glance still stores says 100%.
  const midway = async (): Promise<boolean> => {
    if ((await uploading.count()) !== 1) return false;
    const done = Number(await uploading.getAttribute('value')) / Number(await uploading.getAttribute('max'));
    return done > 0.15 && done < 0.85;
  };
  const request = await fleet.write('image-build-request', 'big');
  if (request.code !== 0) throw new Error(`image-build-request: ${request.stderr}`);
  await eventually(midway, 120_000, 'a new build of big uploading to p2');
  await page.locator('#failures details').first().evaluate((d) => d.setAttribute('open', ''));
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await close();
}
